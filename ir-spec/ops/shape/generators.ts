/**
 * Shape, Size, ConstantOfShape, Range, EyeLike: ops that make a tensor from shapes or scalars.
 */
import { Tensor, castScalar, diag, dtypeFromOnnx, freshDim, freshDims, type DType, type Shape } from '@aic/core';
import { defineOp } from '../../registry.ts';
import type { EvalCtx, InferCtx, LowerCtx } from '../../types.ts';
import { E, isFloatT, numel } from '@aic/loop-ir';
import { intList } from '../../lib/util.ts';
import { ALL, NUMERIC, requireDtype, sameDtypes } from '../../lib/infer-helpers.ts';
import { elems } from '../../lib/shape.ts';
import {
  CAT, loc, verr, constInts, rankOf, i64, checkRank, vctx, inRef, constOf, F64, emitConstOut,
} from './common.ts';

// ---- Shape / Size / ConstantOfShape / Range / EyeLike ---------------------------------------------------------
function shapeRange(ctx: InferCtx | EvalCtx, r: number): [number, number] {
  const clip = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const s = clip(ctx.attrs.int('start'));
  const e = ctx.attrs.has('end') ? clip(ctx.attrs.int('end')) : r;
  return [s, Math.max(s, e)];
}
defineOp({
  name: 'Shape', category: CAT, summary: 'the input\'s shape as a 1-D int64 tensor (optionally a slice of it)',
  types: { T: ALL },
  inputs: [{ name: 'data', type: 'T', shapeOnly: true }], outputs: [{ name: 'shape' }],
  attrs: { start: { type: 'int', default: 0 }, end: { type: 'int' } },
  onnx: { since: 1 },
  lower: lowerShape,
  infer: (ctx) => {
    const r = rankOf(ctx.type(0).shape);
    if (r === undefined) return [{ dtype: 'int64', shape: [freshDim()] }];
    const [s, e] = shapeRange(ctx, r);
    return [{ dtype: 'int64', shape: [e - s] }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const [s, e] = shapeRange(ctx, x.rank);
    return [i64(x.shape.slice(s, e))];
  },
});
defineOp({
  name: 'Size', category: CAT, summary: 'number of elements as an int64 scalar',
  types: { T: ALL },
  inputs: [{ name: 'data', type: 'T', shapeOnly: true }], outputs: [{ name: 'size' }], attrs: {},
  onnx: { since: 1 },
  lower: lowerSize,
  infer: () => [{ dtype: 'int64', shape: [] }],
  eval: (ctx) => [Tensor.fromNumbers('int64', [], [ctx.input(0).size])],
});

function cosValue(ctx: InferCtx | EvalCtx): Tensor {
  if (!ctx.attrs.has('value')) return Tensor.fromNumbers('float32', [1], [0]);
  const v = ctx.attrs.tensor('value');
  if (v.size !== 1) throw verr(ctx, 'value must have exactly one element');
  return v;
}
defineOp({
  name: 'ConstantOfShape', category: CAT, summary: 'a tensor of the given shape filled with `value` (default float 0)',
  inputs: [{ name: 'input', shapeData: true }], outputs: [{ name: 'output' }],
  attrs: { value: { type: 'tensor' } },
  onnx: { since: 9 },
  lower: lowerConstantOfShape,
  infer: (ctx) => {
    requireDtype(ctx, 0, ['int64']);
    const dt = cosValue(ctx).dtype;
    const s = constInts(ctx, 0);
    if (s) return [{ dtype: dt, shape: s }];
    const ss = ctx.type(0).shape;
    return [{ dtype: dt, shape: ss && typeof ss[0] === 'number' ? freshDims(ss[0], `${ctx.node.op} output (its shape input has ${ss[0]} values)`) : undefined }];
  },
  eval: (ctx) => {
    const v = cosValue(ctx);
    const shape = intList(ctx.input(0));
    if (shape.some((d) => d < 0)) throw verr(ctx, `negative dimension in [${shape.join(', ')}]`);
    const out = new Tensor(v.dtype, shape);
    const od = elems(out), x = elems(v)[0]!;
    for (let i = 0; i < od.length; i++) od[i] = x;
    return [out];
  },
});

const RANGE_T: readonly DType[] = ['float32', 'float64', 'int16', 'int32', 'int64'];
function rangeCount(start: number, limit: number, delta: number): number {
  return Math.max(Math.ceil((limit - start) / delta), 0);
}
defineOp({
  name: 'Range', category: CAT, summary: 'start, start+delta, ... up to (excluding) limit',
  types: { T: RANGE_T },
  inputs: [{ name: 'start', type: 'T', shapeData: true }, { name: 'limit', type: 'T', shapeData: true }, { name: 'delta', type: 'T', shapeData: true }],
  outputs: [{ name: 'output', type: 'T' }], attrs: {},
  onnx: { since: 11 },
  lower: lowerRange,
  infer: (ctx) => {
    sameDtypes(ctx);
    requireDtype(ctx, 0, RANGE_T);
    const dt = ctx.type(0).dtype;
    const [s, l, d] = [0, 1, 2].map((i) => ctx.constValue(i));
    if (s && l && d) return [{ dtype: dt, shape: [rangeCount(s.scalar(), l.scalar(), d.scalar())] }];
    return [{ dtype: dt, shape: [freshDim()] }];
  },
  eval: (ctx) => {
    const [s, l, d] = [0, 1, 2].map((i) => ctx.input(i).scalar());
    if (d === 0) throw verr(ctx, 'delta must not be 0');
    const dt = ctx.input(0).dtype;
    const n = rangeCount(s!, l!, d!);
    const out = new Tensor(dt, [n]);
    const o = out.num;
    for (let i = 0; i < n; i++) o[i] = castScalar(s! + i * d!, dt);
    return [out];
  },
});

function eyeDtype(ctx: InferCtx | EvalCtx, inDtype: DType): DType {
  if (!ctx.attrs.has('dtype')) return inDtype;
  const code = ctx.attrs.int('dtype');
  const dt = dtypeFromOnnx(code);
  if (!dt || dt === 'string') throw diag.unsupportedAttr({ op: ctx.node.op }, 'dtype', String(code), loc(ctx));
  return dt;
}
defineOp({
  name: 'EyeLike', category: CAT, summary: '2-D tensor shaped like the input with ones on the k-th diagonal',
  types: { T1: [...NUMERIC, 'bool'] },
  inputs: [{ name: 'input', type: 'T1', shapeOnly: true }], outputs: [{ name: 'output' }],
  attrs: { dtype: { type: 'int' }, k: { type: 'int', default: 0 } },
  onnx: { since: 9 },
  lower: lowerEyeLike,
  infer: (ctx) => {
    const t = ctx.type(0);
    checkRank(ctx, t.shape, 2, 'input');
    return [{ dtype: eyeDtype(ctx, t.dtype), shape: t.shape?.slice() ?? [freshDim(), freshDim()] }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    checkRank(ctx, x.shape, 2, 'input');
    const out = new Tensor(eyeDtype(ctx, x.dtype), x.shape);
    const [h, w] = x.shape as [number, number];
    const k = ctx.attrs.int('k');
    for (let i = 0; i < h; i++) { const j = i + k; if (j >= 0 && j < w) out.num[i * w + j] = 1; }
    return [out];
  },
});


// ---- Compute definitions (lowering to loop IR); each mirrors the eval above. ----

function lowerShape(ctx: LowerCtx): void {
  const x = inRef(ctx, 0);
  const [s, e] = shapeRange(vctx(ctx), x.shape.length);
  emitConstOut(ctx, 0, x.shape.slice(s, e));
}
function lowerSize(ctx: LowerCtx): void { emitConstOut(ctx, 0, [numel(inRef(ctx, 0).shape)]); }

function lowerConstantOfShape(ctx: LowerCtx): void {
  const v = cosValue(vctx(ctx));
  if (v.dtype === 'string') ctx.unsupported('string value');
  const out = ctx.outputs[0]!;
  ctx.compute(0, () => E.c(v.num[0]!, out.dtype));
}

function lowerRange(ctx: LowerCtx): void {
  const [s, l, d] = [0, 1, 2].map((i) => constOf(ctx, i, ['start', 'limit', 'delta'][i]!).scalar()) as [number, number, number];
  if (d === 0) ctx.unsupported('delta must not be 0');
  const out = ctx.outputs[0]!;
  if (out.shape[0] !== rangeCount(s, l, d)) ctx.unsupported('output length disagrees with the range');
  // the reference computes start + i * delta in double precision, then casts
  ctx.compute(0, ([i]) => (isFloatT(out.dtype)
    ? E.cast(E.add(F64(s), E.mul(E.cast(i!, 'f64'), F64(d))), out.dtype)
    : E.cast(E.add(E.c(s, 'i64'), E.mul(E.cast(i!, 'i64'), E.c(d, 'i64'))), out.dtype)));
}

function lowerEyeLike(ctx: LowerCtx): void {
  const out = ctx.outputs[0]!;
  if (out.shape.length !== 2) ctx.unsupported('input must have rank 2');
  const k = ctx.attrs.int('k');
  ctx.compute(0, ([i, j]) => E.select(E.eq(j!, E.add(i!, E.i(k))), E.c(1, out.dtype), E.c(0, out.dtype)));
}
