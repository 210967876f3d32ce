/**
 * Activations written as products or decomposed by exporters, recognized as the one ONNX op they
 * compute, so that the epilogue phase can fuse them into the producing Conv / Gemm / MatMul:
 *  - HardSwish: x * HardSigmoid(x, 1/6, 1/2) (torch.onnx below opset 14), x * Clip(x + 3, 0, 6) / 6
 *  - HardSigmoid: Clip(x + 3, 0, 6) / 6 (and * 1/6): "relu6(x + 3) / 6"
 *  - Mish: x * Tanh(Softplus(x))
 * (SiLU, x * Sigmoid(x), has no ONNX op before opset 24: it is fused straight into the producer's
 * epilogue, passes/rules/fuse/epilogue.ts, or into an elementwise chain.)
 * Each replacement computes the same function with fewer nodes and no more work; the constants are
 * checked to the precision float32 stores them with.
 */
import { shapeEquals, type Attr, type Node } from '@aic/core';
import { P, type Match, type Pattern, type Rule, type RuleEnv } from '../../rewrite/pattern.ts';
import { FLOAT_DTYPES, all, dtypeIn, kernel, scalarNear, type Guard } from './util.ts';

const FAMILY = 'fuse';
const SIXTH = 1 / 6;
/** a float32 constant within a few ulp of v */
const near = (v: number, bind?: string) => P.const(bind, scalarNear(v, 1e-6));
const attrF = (n: Node, k: string, d: number) => (n.attrs[k]?.value as number | undefined) ?? d;
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.abs(b);

/** relu6(x + 3): Clip(Add(x, 3), 0, 6) */
const relu6Plus3 = (): Pattern => P.op('Clip', [P.op('Add', [P.any('x'), near(3)], { commutative: true }), near(0), near(6)]);
/** t / 6 and t * (1/6) */
const sixths = (t: () => Pattern, opts: { bind?: string; commutative?: boolean } = {}): Pattern[] => [
  P.op('Div', [t(), near(6)], { bind: opts.bind ?? 'root' }),
  P.op('Mul', [t(), near(SIXTH)], { bind: opts.bind ?? 'root', commutative: true }),
];

const floatGuard = (m: Match, env: RuleEnv, op: string): Guard => all(
  () => dtypeIn(m.values.x, FLOAT_DTYPES),
  () => dtypeIn(m.root.outputs[0], FLOAT_DTYPES),
  // a constant of higher rank ([1, 1] + x) broadcasts x up: the unary op would lose that shape
  () => (m.values.x.shape && shapeEquals(m.values.x.shape, m.root.outputs[0].shape) ? true : 'a constant operand changes the shape'),
  () => kernel(env, op, ''),
);
const hardSigmoidAttrs: Record<string, Attr> = { alpha: { type: 'float', value: Math.fround(SIXTH) }, beta: { type: 'float', value: 0.5 } };

const hardSwishProduct: Rule = {
  name: 'hardswish-product', family: FAMILY,
  summary: 'Mul(x, HardSigmoid(x, alpha = 1/6, beta = 1/2)) -> HardSwish(x)',
  pattern: P.op('Mul', [P.any('x'), P.op('HardSigmoid', [P.any('x')], { bind: 'hs' })], { commutative: true }),
  guard: (m, env) => all(
    () => (close(attrF(m.nodes.hs, 'alpha', 0.2), SIXTH) && close(attrF(m.nodes.hs, 'beta', 0.5), 0.5) ? true
      : `HardSigmoid alpha = ${attrF(m.nodes.hs, 'alpha', 0.2)}, beta = ${attrF(m.nodes.hs, 'beta', 0.5)} (HardSwish needs 1/6, 1/2)`),
    () => floatGuard(m, env, 'HardSwish'),
  ),
  replace: (m, b) => b.op('HardSwish', [m.values.x]),
};

const hardSigmoidDecomposed: Rule[] = sixths(relu6Plus3).map((pattern) => ({
  name: 'hardsigmoid-decomposed', family: FAMILY,
  summary: 'Clip(x + 3, 0, 6) / 6 -> HardSigmoid(x, alpha = 1/6, beta = 1/2)',
  pattern: pattern as Rule['pattern'],
  guard: (m, env) => floatGuard(m, env, 'HardSigmoid'),
  replace: (m, b) => b.op('HardSigmoid', [m.values.x], hardSigmoidAttrs),
}));

const hardSwishDecomposed: Rule[] = sixths(() => P.op('Mul', [P.any('x'), relu6Plus3()], { commutative: true })).map((pattern) => ({
  name: 'hardswish-decomposed', family: FAMILY,
  summary: 'x * Clip(x + 3, 0, 6) / 6 -> HardSwish(x)',
  pattern: pattern as Rule['pattern'],
  guard: (m, env) => floatGuard(m, env, 'HardSwish'),
  replace: (m, b) => b.op('HardSwish', [m.values.x]),
}));

const mishProduct: Rule = {
  name: 'mish-product', family: FAMILY,
  summary: 'Mul(x, Tanh(Softplus(x))) -> Mish(x)',
  pattern: P.op('Mul', [P.any('x'), P.op('Tanh', [P.op('Softplus', [P.any('x')])])], { commutative: true }),
  guard: (m, env) => floatGuard(m, env, 'Mish'),
  replace: (m, b) => b.op('Mish', [m.values.x]),
};

/** Order: the decomposed HardSwish before the HardSigmoid inside it is taken on its own. */
export const activationRules: Rule[] = [...hardSwishDecomposed, ...hardSigmoidDecomposed, hardSwishProduct, mishProduct];
