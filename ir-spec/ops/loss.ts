/**
 * Loss ops: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (reduction none/sum/mean, class
 * weights, ignore_index; SCE's optional log_prob output).
 */
import { Tensor, diag, nodeLocation, type DType, type NumericArray } from '@aic/core';
import { defineOp } from '../registry.ts';
import type { AttrReader, InferCtx, LowerCtx, OpDef, OutType } from '../types.ts';
import { CHECK_TARGET, E, rangeMessage, type Expr } from '@aic/loop-ir';
import { computeTemp, reduceExpr } from '../lib/reduce.ts';
import { FLOATS, requireDtype, sameDtypes } from '../lib/infer-helpers.ts';
import { reduce as V } from '../vjp/index.ts';

const TIND: readonly DType[] = ['int32', 'int64'];
const REDUCTIONS = ['none', 'sum', 'mean'];

const lossAttrs: OpDef['attrs'] = {
  reduction: { type: 'string', default: 'mean', doc: "'none' | 'sum' | 'mean' (weighted mean over non-ignored targets)" },
  ignore_index: { type: 'int', required: false, doc: 'target value that contributes neither loss nor weight' },
};

function readReduction(attrs: AttrReader, op: string): string {
  const r = attrs.str('reduction');
  if (!REDUCTIONS.includes(r)) throw diag.unsupportedAttr({ op }, 'reduction', r);
  return r;
}

/** Shared verification: input [N, C, d1..dk], target [N, d1..dk], weight [C]; returns the loss type. */
function inferLoss(ctx: InferCtx): OutType {
  const op = ctx.node.op;
  const where = nodeLocation(ctx.node);
  requireDtype(ctx, 0, FLOATS);
  requireDtype(ctx, 1, TIND);
  if (ctx.inputTypes[2]) sameDtypes(ctx, [0, 2]);
  const reduction = readReduction(ctx.attrs, op);
  const x = ctx.type(0), t = ctx.type(1), w = ctx.inputTypes[2];
  if (x.shape && x.shape.length < 2) throw diag.verify(op, `input must have rank >= 2 ([N, C, ...]), got ${x.shape.length}`, where);
  if (x.shape && t.shape) {
    if (t.shape.length !== x.shape.length - 1) {
      throw diag.shapeMismatch(op, `target rank ${t.shape.length} must be input rank ${x.shape.length} - 1`, where);
    }
    t.shape.forEach((d, i) => {
      const e = x.shape![i === 0 ? 0 : i + 1]!;
      if (typeof d === 'number' && typeof e === 'number' && d !== e) {
        throw diag.shapeMismatch(op, `target [${t.shape!.join(', ')}] does not match input [${x.shape!.join(', ')}] without the class dim`, where);
      }
    });
  }
  if (w?.shape) {
    if (w.shape.length !== 1) throw diag.verify(op, `weight must be 1-D [C], got rank ${w.shape.length}`, where);
    const c = x.shape?.[1];
    if (typeof c === 'number' && typeof w.shape[0] === 'number' && w.shape[0] !== c) {
      throw diag.shapeMismatch(op, `weight has ${w.shape[0]} entries but input has C = ${c}`, where);
    }
  }
  const shape = reduction === 'none' ? (t.shape?.slice() ?? (x.shape ? [x.shape[0]!, ...x.shape.slice(2)] : undefined)) : [];
  return { dtype: x.dtype, shape };
}

/**
 * The NLL core over log-probabilities `lp` laid out [N, C, D] (D = product of trailing dims):
 * loss[n, d] = -lp[n, target[n, d], d] * weight[target]; ignored targets give 0 loss and 0 weight.
 * 'mean' divides by the total weight of the non-ignored targets.
 */
function nll(lp: ArrayLike<number>, xShape: readonly number[], target: Tensor, weight: Tensor | undefined,
  reduction: string, ignore: number | undefined, dtype: DType, op: string): Tensor {
  const N = xShape[0]!, C = xShape[1]!;
  let D = 1;
  for (let i = 2; i < xShape.length; i++) D *= xShape[i]!;
  if (target.rank !== xShape.length - 1 || target.shape[0] !== N || target.shape.some((d, i) => i > 0 && d !== xShape[i + 1])) {
    throw diag.shapeMismatch(op, `target [${target.shape.join(', ')}] does not match input [${xShape.join(', ')}] without the class dim`);
  }
  if (weight && (weight.rank !== 1 || weight.shape[0] !== C)) {
    throw diag.shapeMismatch(op, `weight must have shape [${C}], got [${weight.shape.join(', ')}]`);
  }
  const tg = target.num, w = weight?.num;
  const per = new Float64Array(N * D);
  let sum = 0, wsum = 0;
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const c = tg[n * D + d]!;
      if (ignore !== undefined && c === ignore) continue;
      if (!(c >= 0 && c < C)) throw diag.runtime(op, rangeMessage(CHECK_TARGET, c, C));
      const wc = w ? w[c]! : 1;
      const v = -lp[(n * C + c) * D + d]! * wc;
      per[n * D + d] = v;
      sum += v;
      wsum += wc;
    }
  }
  if (reduction === 'none') return Tensor.fromNumbers(dtype, target.shape, per);
  return Tensor.fromNumbers(dtype, [], [reduction === 'sum' ? sum : sum / wsum]);
}

/**
 * Compute definition of the NLL core (mirrors `nll`): `lp(n, c, d)` is the f64 log-probability at
 * batch n, class c (i32) and trailing index d. Per-element losses are -lp * w[target] in f64 (0 where
 * the target is ignore_index); 'sum' / 'mean' reduce them in f64 ('mean' divides by the summed
 * weights of the non-ignored targets). Out-of-range targets (a run-time error in the reference) are
 * clamped so that no load leaves its buffer.
 */
function nllLower(ctx: LowerCtx, lp: (n: Expr, c: Expr, d: Expr[]) => Expr): void {
  const x = ctx.inputs[0]!, target = ctx.inputs[1]!, weight = ctx.inputs[2];
  const op = ctx.node.op;
  const reduction = readReduction(ctx.attrs, op);
  const ignore = ignoreIndex(ctx.attrs);
  const N = x.shape[0]!, C = x.shape[1]!, ds = x.shape.slice(2);
  if (target.shape.length !== x.shape.length - 1 || target.shape[0] !== N || target.shape.some((d, i) => i > 0 && d !== x.shape[i + 1])) {
    ctx.unsupported(`target [${target.shape.join(', ')}] does not match input [${x.shape.join(', ')}]`);
  }
  if (weight && (weight.shape.length !== 1 || weight.shape[0] !== C)) ctx.unsupported(`weight must have shape [${C}]`);
  const t = ctx.outputs[0]!.dtype;
  const zero = E.c(0, 'f64');
  const parts = (n: Expr, d: Expr[]): { loss: Expr; w: Expr } => {
    const tv = target.at(n, ...d);
    // a target outside [0, C) (and not ignore_index) is a runtime error, as in the reference
    const ign = ignore === undefined ? undefined : E.eq(tv, E.c(ignore, target.dtype));
    const c = E.call('check_range', ign ? E.select(ign, E.c(0, target.dtype), tv) : tv, E.i(C), E.i(CHECK_TARGET));
    const w = weight ? E.cast(weight.at(c), 'f64') : E.c(1, 'f64');
    const loss = E.mul(E.neg(lp(n, c, d)), w);
    if (!ign) return { loss, w };
    return { loss: E.select(ign, zero, loss), w: E.select(ign, zero, w) };
  };
  if (reduction === 'none') {
    ctx.compute(0, (idx) => E.cast(parts(idx[0]!, idx.slice(1)).loss, t));
    return;
  }
  const ext = [N, ...ds];
  ctx.compute(0, () => {
    const sum = reduceExpr(ctx, 'sum', ext, ([n, ...d]) => parts(n!, d).loss);
    if (reduction === 'sum') return E.cast(sum, t);
    const wsum = reduceExpr(ctx, 'sum', ext, ([n, ...d]) => parts(n!, d).w);
    return E.cast(E.div(sum, wsum), t);
  });
}

/** Whether output o is a real buffer (an omitted optional output gets a placeholder). */
function isBound(ctx: LowerCtx, o: number): boolean {
  return o < ctx.outputs.length && ctx.outputs[o]!.buf.role === 'output';
}

function ignoreIndex(attrs: AttrReader): number | undefined {
  return attrs.has('ignore_index') ? attrs.int('ignore_index') : undefined;
}

defineOp({
  name: 'NegativeLogLikelihoodLoss', category: 'loss', vjp: V.negativeLogLikelihood,
  summary: 'loss = -input[n, target, d...] * weight[target]; reduction none / sum / weighted mean, ignore_index skipped; another target outside [0, C) is a runtime error',
  types: { T: FLOATS, Tind: TIND },
  inputs: [{ name: 'input', type: 'T' }, { name: 'target', type: 'Tind' }, { name: 'weight', type: 'T', optional: true }],
  outputs: [{ name: 'loss', type: 'T' }],
  attrs: lossAttrs,
  onnx: { since: 12 },
  infer: (ctx) => [inferLoss(ctx)],
  eval: (ctx) => {
    const x = ctx.input(0);
    if (x.rank < 2) throw diag.verify('NegativeLogLikelihoodLoss', 'input must have rank >= 2');
    return [nll(x.num, x.shape, ctx.input(1), ctx.optInput(2), readReduction(ctx.attrs, 'NegativeLogLikelihoodLoss'),
      ignoreIndex(ctx.attrs), x.dtype, 'NegativeLogLikelihoodLoss')];
  },
  lower: (ctx) => {
    const x = ctx.inputs[0]!;
    if (x.shape.length < 2) ctx.unsupported('input must have rank >= 2');
    nllLower(ctx, (n, c, d) => E.cast(x.at(n, c, ...d), 'f64'));
  },
  flops: (ctx) => {
    const s = ctx.inputTypes[1]?.shape;
    return s && s.every((d) => typeof d === 'number') ? 2 * (s as number[]).reduce((a, b) => a * b, 1) : 0;
  },
});

/** log_softmax over axis 1 of a [N, C, D] layout, in float64. */
function logSoftmaxAxis1(x: NumericArray, shape: readonly number[]): Float64Array {
  const N = shape[0]!, C = shape[1]!;
  let D = 1;
  for (let i = 2; i < shape.length; i++) D *= shape[i]!;
  const out = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const base = n * C * D + d;
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, x[base + c * D]!);
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(x[base + c * D]! - m);
      const ls = Math.log(s);
      for (let c = 0; c < C; c++) out[base + c * D] = x[base + c * D]! - m - ls;
    }
  }
  return out;
}

defineOp({
  name: 'SoftmaxCrossEntropyLoss', category: 'loss', vjp: V.softmaxCrossEntropy,
  summary: 'NegativeLogLikelihoodLoss applied to log_softmax(scores, axis=1) (same target rule); optional log_prob output',
  types: { T: FLOATS, Tind: TIND },
  inputs: [{ name: 'scores', type: 'T' }, { name: 'labels', type: 'Tind' }, { name: 'weights', type: 'T', optional: true }],
  outputs: [{ name: 'output', type: 'T' }, { name: 'log_prob', type: 'T', optional: true }],
  attrs: lossAttrs,
  onnx: { since: 12 },
  infer: (ctx) => {
    const loss = inferLoss(ctx);
    const x = ctx.type(0);
    return ctx.outputCount > 1 ? [loss, { dtype: x.dtype, shape: x.shape?.slice() }] : [loss];
  },
  eval: (ctx) => {
    const op = 'SoftmaxCrossEntropyLoss';
    const x = ctx.input(0);
    if (x.rank < 2) throw diag.verify(op, 'input must have rank >= 2');
    const lp = logSoftmaxAxis1(x.num, x.shape);
    const loss = nll(lp, x.shape, ctx.input(1), ctx.optInput(2), readReduction(ctx.attrs, op), ignoreIndex(ctx.attrs), x.dtype, op);
    return ctx.outputCount > 1 ? [loss, Tensor.fromNumbers(x.dtype, x.shape, lp)] : [loss];
  },
  // log_softmax over axis 1 as logSoftmaxAxis1 (max in T, then x - max - log(sum(exp(x - max))) in
  // f64), kept in f64 for the NLL core; log_prob is that value rounded to T
  lower: (ctx) => {
    const x = ctx.inputs[0]!;
    if (x.shape.length < 2) ctx.unsupported('input must have rank >= 2');
    const [N, C] = x.shape as [number, number], ds = x.shape.slice(2);
    const rows = [N, ...ds];
    const at = (n: Expr, c: Expr, d: Expr[]) => x.at(n, c, ...d);
    const mx = computeTemp(ctx, 'max', x.dtype, rows, ([n, ...d]) => reduceExpr(ctx, 'max', [C], ([c]) => at(n!, c!, d)));
    const ls = computeTemp(ctx, 'logsum', 'f64', rows, ([n, ...d]) => {
      const m = E.cast(mx.at(n!, ...d), 'f64');
      return E.call('log', reduceExpr(ctx, 'sum', [C], ([c]) => E.call('exp', E.sub(E.cast(at(n!, c!, d), 'f64'), m))));
    });
    const lp = (n: Expr, c: Expr, d: Expr[]) =>
      E.sub(E.sub(E.cast(at(n, c, d), 'f64'), E.cast(mx.at(n, ...d), 'f64')), ls.at(n, ...d));
    nllLower(ctx, lp);
    if (isBound(ctx, 1)) ctx.compute(1, ([n, c, ...d]) => E.cast(lp(n!, c!, d), x.dtype));
  },
  flops: (ctx) => {
    const s = ctx.inputTypes[0]?.shape;
    return s && s.every((d) => typeof d === 'number') ? 4 * (s as number[]).reduce((a, b) => a * b, 1) : 0;
  },
});
