/**
 * aic.SqueezeExcite(X, W1, B1?, W2, B2?) = X * gate(Conv(act(Conv(GlobalAveragePool(X), W1, B1)), W2, B2)):
 * a squeeze-and-excitation block (MobileNetV3, EfficientNet) as one kernel, produced by the `fuse`
 * pass (passes/rules/fuse/squeeze-excite.ts). The two convolutions are 1x1 with default attributes
 * (stride 1, no padding, one group) on the pooled [N, C, 1, ...] tensor; `activation` follows the
 * first, `gate` the second (each one of aic.FusedConv's activations, parameters in `*_params`).
 *
 * Semantics, shape inference and the compute definition are the base ops' own, run in sequence
 * (GlobalAveragePool, aic.FusedConv twice, Mul) through views, like the other fused ops (fused.ts).
 * Lowered as four compute stages of one kernel: the pooled means, the squeezed vector and the gate
 * are kernel temps, each stage scheduled like a node of its own (one dispatch each on WGSL), and the
 * last stage scales X.
 */
import { Tensor, diag, nodeLocation, type Attr } from '@aic/core';
import type { Expr, TensorRef } from '@aic/loop-ir';
import { defineOp } from '../registry.ts';
import type { EvalCtx, InferCtx, LowerCtx, OutType } from '../types.ts';
import { FLOATS } from '../lib/infer-helpers.ts';
import { scalarOf } from '../lib/lower.ts';
import {
  ACT_FLOPS, ACTIVATIONS, actAttrs, activationExpr, checkActivation, evalBase, inferBase, lowerThroughBase, numel,
} from './fused.ts';

const OP = 'SqueezeExcite';

/** The aic.FusedConv attributes of the first (`activation`) or second (`gate`) convolution. */
function convAttrs(ctx: { attrs: { raw(n: string): Attr | undefined } }, attr: 'activation' | 'gate'): Record<string, Attr> {
  const out: Record<string, Attr> = {};
  const a = ctx.attrs.raw(attr), p = ctx.attrs.raw(`${attr}_params`);
  if (a) out.activation = a;
  if (p) out.activation_params = p;
  return out;
}

function infer(ctx: InferCtx): OutType[] {
  checkActivation(ctx, OP);
  checkActivation(ctx, OP, 'gate');
  const x = ctx.type(0);
  const l = nodeLocation(ctx.node);
  if (x.shape && x.shape.length < 3) throw diag.verify(OP, `X must be [N, C, D1, ...], got rank ${x.shape.length}`, l);
  const pooled = inferBase(ctx, 'GlobalAveragePool', [x]);
  const h = inferBase(ctx, 'Conv', [pooled, ctx.type(1), ctx.inputTypes[2]], [undefined, ctx.constValue(1), ctx.constValue(2)]);
  const s = inferBase(ctx, 'Conv', [h, ctx.type(3), ctx.inputTypes[4]], [undefined, ctx.constValue(3), ctx.constValue(4)]);
  const y = inferBase(ctx, 'Mul', [x, s]);
  if (x.shape && y.shape && (y.shape.length !== x.shape.length || y.shape.some((d, i) => typeof d === 'number' && typeof x.shape![i] === 'number' && d !== x.shape![i]))) {
    throw diag.shapeMismatch(OP, `the gate [${s.shape?.join(', ')}] would change the shape of X [${x.shape.join(', ')}]`, l);
  }
  return [{ dtype: x.dtype, shape: x.shape ?? y.shape }];
}

function evaluate(ctx: EvalCtx): Tensor[] {
  const x = ctx.input(0);
  const pooled = evalBase(ctx, 'GlobalAveragePool', [x]);
  const h = evalBase(ctx, 'FusedConv', [pooled, ctx.input(1), ctx.optInput(2)], convAttrs(ctx, 'activation'), 'aic');
  const s = evalBase(ctx, 'FusedConv', [h, ctx.input(3), ctx.optInput(4)], convAttrs(ctx, 'gate'), 'aic');
  return [evalBase(ctx, 'Mul', [x, s])];
}

function lower(ctx: LowerCtx): void {
  const [x, w1, b1, w2, b2] = ctx.inputs;
  if (!x || !w1 || !w2) return ctx.unsupported('X, W1 and W2 are required');
  if (x.shape.length < 3 || w1.shape.length !== x.shape.length || w2.shape.length !== x.shape.length) {
    return ctx.unsupported('X must be [N, C, D1, ...] and W1, W2 of the same rank');
  }
  const dt = (i: number) => ctx.node.inputs[i]!.dtype;
  const d = dt(0), st = scalarOf(d);
  const ones = x.shape.slice(2).map(() => 1);
  const pooledShape = [x.shape[0], x.shape[1], ...ones];
  const hShape = [x.shape[0], w1.shape[0], ...ones];
  const stage = (op: string, ins: (TensorRef | undefined)[], idx: number[], out: TensorRef, ep?: (y: Expr, vars: string[]) => Expr) =>
    lowerThroughBase(ctx, op, ins, ins.map((t, k) => (t ? dt(idx[k]) : undefined)), {}, out, d, ep,
      idx.map((i) => (i === 0 ? undefined : ctx.constValue(i))), true);
  const pooled = ctx.temp('pooled', st, pooledShape);
  stage('GlobalAveragePool', [x], [0], pooled);
  const h = ctx.temp('squeezed', st, hShape);
  stage('Conv', [pooled, w1, b1], [0, 1, 2], h, (y, vars) => activationExpr(ctx, y, vars, { dtype: d, shape: hShape }));
  const s = ctx.temp('gate', st, pooledShape);
  stage('Conv', [h, w2, b2], [0, 3, 4], s, (y, vars) => activationExpr(ctx, y, vars, { dtype: d, shape: pooledShape }, 'gate'));
  lowerThroughBase(ctx, 'Mul', [x, s], [d, d], {}, ctx.outputs[0], d);
}

defineOp({
  name: OP, domain: 'aic', category: 'fused',
  summary: 'X * gate(Conv(act(Conv(GlobalAveragePool(X), W1, B1)), W2, B2)): a squeeze-and-excitation block as one kernel',
  types: { T: FLOATS },
  inputs: [
    { name: 'X', type: 'T', doc: '[N, C, D1, ...]' },
    { name: 'W1', type: 'T', doc: 'squeeze 1x1 weights [Cr, C, 1, ...]' },
    { name: 'B1', type: 'T', optional: true, doc: '[Cr]' },
    { name: 'W2', type: 'T', doc: 'excite 1x1 weights [C, Cr, 1, ...]' },
    { name: 'B2', type: 'T', optional: true, doc: '[C]' },
  ],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: {
    ...actAttrs,
    gate: { type: 'string', default: '', doc: `activation after the second convolution: '' or one of ${ACTIVATIONS.join(', ')}` },
    gate_params: { type: 'floats', default: [], doc: 'parameters of the gate activation, as activation_params' },
  },
  infer,
  eval: evaluate,
  lower,
  flops: (ctx, outs) => {
    const x = ctx.inputTypes[0]?.shape, w1 = ctx.inputTypes[1]?.shape;
    if (!x || !w1 || x.length < 2) return 0;
    const nc = numel(x.slice(0, 2)), cr = numel(w1.slice(0, 1));
    return numel(x) + nc * cr * 4 + (ACT_FLOPS[ctx.attrs.str('activation')] ?? 1) * cr + (ACT_FLOPS[ctx.attrs.str('gate')] ?? 1) * nc
      + numel(outs[0].shape);
  },
});
