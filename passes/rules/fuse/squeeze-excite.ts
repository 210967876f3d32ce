/**
 * Squeeze-and-excitation blocks -> aic.SqueezeExcite (ir-spec/ops/squeeze-excite.ts), one kernel:
 *   Mul(y, gate(Conv(act(Conv(GlobalAveragePool(y), W1, B1)), W2, B2)))
 * as the epilogue phase leaves it: each Conv plain or an aic.FusedConv carrying its activation
 * (MobileNetV3: Relu, HardSigmoid; EfficientNet: Silu, Sigmoid). Runs after the epilogue phase, so
 * the activations are already attributes of the convolutions.
 * Guards: the convolutions are 1x1 with default attributes and no residual input, the pooled, squeezed
 * and gate tensors have no other consumer, the gate broadcasts over y's spatial dims without changing
 * y's shape, static shapes, float dtypes.
 */
import type { Attr, Node } from '@aic/core';
import { P, type Match, type OpPattern, type Rule, type RuleEnv } from '../../rewrite/pattern.ts';
import { FLOAT_DTYPES, all, attrStr, broadcastsInto, dtypeIn, kernel, staticShape, type Guard } from './util.ts';

/** Conv or aic.FusedConv (its activation comes along) */
const convs = (input: ReturnType<typeof P.op>, bind: string): OpPattern[] => [
  P.op('Conv', [input, P.any(`${bind}_w`), P.any(`${bind}_b`)], { bind }),
  P.op('FusedConv', [input, P.any(`${bind}_w`), P.any(`${bind}_b`)], { bind, domain: 'aic' }),
];

const ints = (n: Node, k: string): number[] => (n.attrs[k]?.value as number[] | undefined) ?? [];

/** a 1x1 convolution with default attributes and no residual input */
function pointwise(n: Node): Guard {
  const w = n.inputs[1]!;
  return all(
    () => (n.inputs[3] ? `${n.label} has a residual input` : true),
    () => staticShape(w),
    () => ((w.shape as number[]).slice(2).every((d) => d === 1) ? true : `${n.label} is not a 1x1 convolution`),
    () => ((n.attrs.group?.value as number | undefined) ?? 1) === 1 ? true : `${n.label} is grouped`,
    () => (['NOTSET', 'VALID'].includes(attrStr(n, 'auto_pad', 'NOTSET')) ? true : `${n.label} pads automatically`),
    () => (ints(n, 'pads').every((p) => p === 0) ? true : `${n.label} pads`),
    () => (ints(n, 'strides').every((s) => s === 1) && ints(n, 'dilations').every((s) => s === 1) ? true : `${n.label} has strides or dilations`),
  );
}

function guard(m: Match, env: RuleEnv): Guard {
  const y = m.values.y, gate = m.nodes.c2.outputs[0];
  return all(
    () => dtypeIn(y, FLOAT_DTYPES),
    () => staticShape(y),
    () => staticShape(gate),
    () => ((y.shape?.length ?? 0) >= 3 ? true : 'y is not an image [N, C, D1, ...]'),
    () => pointwise(m.nodes.c1),
    () => pointwise(m.nodes.c2),
    () => broadcastsInto(gate.shape!, y.shape!),
    () => (gate.shape!.length === y.shape!.length && gate.shape![1] === y.shape![1] ? true : 'the gate is not one value per channel'),
    () => kernel(env, 'SqueezeExcite'),
  );
}

/** activation / activation_params of a (fused) convolution, under the SqueezeExcite attribute `as` */
function actOf(n: Node, as: 'activation' | 'gate'): Record<string, Attr> {
  const out: Record<string, Attr> = {};
  if (n.attrs.activation) out[as] = n.attrs.activation;
  if (n.attrs.activation_params) out[`${as}_params`] = n.attrs.activation_params;
  return out;
}

function rules(): Rule[] {
  const out: Rule[] = [];
  for (const c1 of convs(P.op('GlobalAveragePool', [P.any('y')]), 'c1')) {
    for (const c2 of convs(c1, 'c2')) {
      out.push({
        name: 'squeeze-excite', family: 'fuse',
        summary: 'Mul(y, gate(Conv(act(Conv(GlobalAveragePool(y), W1, B1)), W2, B2))) -> aic.SqueezeExcite(y, W1, B1, W2, B2)',
        pattern: P.op('Mul', [P.any('y'), c2], { commutative: true }),
        guard,
        replace: (m, b) => {
          const ins = [m.values.y, m.values.c1_w, m.values.c1_b ?? null, m.values.c2_w, m.values.c2_b ?? null];
          while (ins[ins.length - 1] === null) ins.pop();
          return b.op('SqueezeExcite', ins, { ...actOf(m.nodes.c1, 'activation'), ...actOf(m.nodes.c2, 'gate') }, { domain: 'aic' });
        },
      });
    }
  }
  return out;
}

export const squeezeExciteRules: Rule[] = rules();
