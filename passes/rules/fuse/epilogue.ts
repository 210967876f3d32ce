/**
 * Epilogues fused into the producing Conv / Gemm / MatMul: a residual Add (Z input) and then an
 * activation (Relu, Clip, Sigmoid, SiLU = x * Sigmoid(x), HardSigmoid, HardSwish, Mish, LeakyRelu, Gelu, Tanh).
 * The fused ops are aic.FusedConv / aic.FusedGemm / aic.FusedMatMul (ir-spec/ops/fused.ts).
 */
import type { Attr, Node, Value } from '@aic/core';
import { P, type Builder, type Match, type Rule, type RuleEnv } from '../../rewrite/pattern.ts';
import {
  BASE_OF, FLOAT_DTYPES, FUSED_OF, PRODUCERS, all, attrStr, bothOrders, broadcastsInto, dtypeIn, hasEpilogue, kernel,
  onlyUsedBy, staticShape, type Guard,
} from './util.ts';

const FAMILY = 'fuse';
const ANY_PRODUCER = [...PRODUCERS, ...Object.keys(BASE_OF)];

const producerPattern = (bind: string) => P.op(PRODUCERS, undefined, { bind, shared: true });
const fusedPattern = (bind: string) => P.op(Object.keys(BASE_OF), undefined, { bind, shared: true, domain: 'aic' });

/** The fused form of `p` with `extra` attributes / residual `z`. */
function rebuild(b: Builder, p: Node, opts: { z?: Value; act?: string; params?: number[] }): Value[] {
  const fused = p.domain === 'aic' ? p.op : FUSED_OF[p.op];
  const ins: (Value | null)[] = [p.inputs[0], p.inputs[1], p.inputs[2] ?? null, p.inputs[3] ?? null];
  if (opts.z) ins[3] = opts.z;
  while (ins.length > 2 && ins[ins.length - 1] === null) ins.pop();
  const attrs: Record<string, Attr> = { ...p.attrs };
  if (opts.act !== undefined) {
    attrs.activation = { type: 'string', value: opts.act };
    if (opts.params?.length) attrs.activation_params = { type: 'floats', value: opts.params };
  }
  return b.op(fused, ins, attrs, { domain: 'aic', name: p.name || undefined });
}

function producerGuard(m: Match, env: RuleEnv, p: Node, consumers: Node[], residual = false): Guard {
  return all(
    () => onlyUsedBy(env, p.outputs[0], consumers),
    () => dtypeIn(p.outputs[0], FLOAT_DTYPES),
    () => (attrStr(p, 'activation', '') !== '' ? `${p.op} already has an activation` : true),
    () => (residual && hasEpilogue(p) ? `${p.op} already has a residual input` : true),
    () => kernel(env, p.domain === 'aic' ? p.op : FUSED_OF[p.op]),
  );
}

function residualRule(pattern: ReturnType<typeof P.op>, name: string): Rule {
  return {
    name, family: FAMILY,
    summary: 'Add(Conv|Gemm|MatMul(...), z) -> aic.Fused*(..., Z = z): the residual add runs in the producer\'s epilogue',
    pattern: P.op('Add', [pattern, P.any('z')], { commutative: true, bind: 'add' }),
    guard: (m, env) => {
      const p = m.nodes.p, z = m.values.z, y = p.outputs[0];
      return all(
        () => producerGuard(m, env, p, [m.nodes.add], true),
        () => (z.dtype === y.dtype ? true : 'dtype of the residual differs'),
        () => staticShape(y),
        () => staticShape(z),
        () => broadcastsInto(z.shape, y.shape),
      );
    },
    replace: (m, b) => rebuild(b, m.nodes.p, { z: m.values.z }),
  };
}

/** An activation node on a producer's result. */
function activationRule(op: string, act: (n: Node, m: Match) => { act: string; params?: number[] } | string): Rule[] {
  return [producerPattern('p'), fusedPattern('p')].map((pp) => ({
    name: `${op.toLowerCase()}-epilogue`, family: FAMILY,
    summary: `${op}(Conv|Gemm|MatMul(...)) -> aic.Fused*(..., activation = ${op})`,
    pattern: P.op(op, [pp, ...(op === 'Clip' ? [P.any('lo'), P.any('hi')] : [])], { bind: 'act' }),
    guard: (m: Match, env: RuleEnv) => all(
      () => producerGuard(m, env, m.nodes.p, [m.nodes.act]),
      () => { const a = act(m.nodes.act, m); return typeof a === 'string' ? a : true; },
    ),
    replace: (m: Match, b: Builder) => rebuild(b, m.nodes.p, act(m.nodes.act, m) as { act: string; params?: number[] }),
  }));
}

const f = (n: Node, k: string, d: number) => (n.attrs[k]?.value as number | undefined) ?? d;

const activations: Rule[] = [
  ...activationRule('Relu', () => ({ act: 'Relu' })),
  ...activationRule('Sigmoid', () => ({ act: 'Sigmoid' })),
  ...activationRule('Tanh', () => ({ act: 'Tanh' })),
  ...activationRule('HardSwish', () => ({ act: 'HardSwish' })),
  ...activationRule('Mish', () => ({ act: 'Mish' })),
  ...activationRule('LeakyRelu', (n) => ({ act: 'LeakyRelu', params: [f(n, 'alpha', 0.01)] })),
  ...activationRule('HardSigmoid', (n) => ({ act: 'HardSigmoid', params: [f(n, 'alpha', 0.2), f(n, 'beta', 0.5)] })),
  ...activationRule('Gelu', (n) => {
    const a = attrStr(n, 'approximate', 'none');
    return a === 'tanh' ? { act: 'GeluTanh' } : a === 'none' ? { act: 'Gelu' } : `Gelu approximate=${a}`;
  }),
  ...activationRule('Clip', (_n, m) => {
    const lo = m.values.lo, hi = m.values.hi;
    if (!lo) return 'Clip without a lower bound';
    if (!lo.const || (hi && !hi.const)) return 'Clip bounds are not constant';
    if (lo.const.size !== 1 || (hi && hi.const!.size !== 1)) return 'Clip bounds are not scalars';
    return { act: 'Clip', params: hi ? [lo.const.num[0], hi.const!.num[0]] : [lo.const.num[0]] };
  }),
];

/** SiLU: Mul(y, Sigmoid(y)) with y = producer result used by exactly those two nodes. */
const silu: Rule[] = [producerPattern('p'), fusedPattern('p')].map((pp) => ({
  name: 'silu-epilogue', family: FAMILY,
  summary: 'Mul(y, Sigmoid(y)), y = Conv|Gemm|MatMul(...) -> aic.Fused*(..., activation = Silu)',
  pattern: P.op('Mul', [pp, P.op('Sigmoid', [P.any('y')], { bind: 'sig' })], { commutative: true, bind: 'mul' }),
  guard: (m: Match, env: RuleEnv) => all(
    () => (m.values.y === m.nodes.p.outputs[0] ? true : 'Sigmoid input is not the multiplied value'),
    () => producerGuard(m, env, m.nodes.p, [m.nodes.mul, m.nodes.sig]),
  ),
  replace: (m: Match, b: Builder) => rebuild(b, m.nodes.p, { act: 'Silu' }),
}));

export const epilogueRules: Rule[] = [
  ...bothOrders(residualRule(producerPattern('p'), 'residual-add')),
  ...bothOrders(residualRule(fusedPattern('p'), 'residual-add')),
  ...silu,
  ...activations,
];
export { ANY_PRODUCER };
