/**
 * nn ops: convolutions (Conv, ConvTranspose, ConvInteger), pooling (Average/Max/Lp, their Global
 * forms, MaxUnpool), normalizations (BatchNormalization, InstanceNormalization, LayerNormalization,
 * GroupNormalization, LRN, MeanVarianceNormalization) and Dropout (inference form).
 */
import {
  Tensor, diag, freshDim, freshDims, nodeLocation, type DType, type Dim, type Location, type TensorType,
} from '@aic/core';
import { defineOp } from '../registry.ts';
import type { AttrReader, EvalCtx, InferCtx, LowerCtx, OnnxImportView, OpDef, OutType } from '../types.ts';
import { E, S, flatIndex, numel as numelOf, type Expr, type ScalarType, type TensorRef } from '@aic/loop-ir';
import { FLOATS, requireDtype } from '../lib/infer-helpers.ts';
import { bcastAt } from '../lib/lower.ts';
import { padCopyBlocked } from '../lib/layout.ts';
import { intList, normAxis, product } from '../lib/util.ts';
import {
  allOf, axisInts, c64, convDirect, convTransposeDirect, f64, firstTap, guard, inBounds, poolDirect, readAutoPad, reduceAxes,
  tapCountE, tapPos, tempCompute, to3, winAxes, windowGeometry, convTransposeGeometry,
  type ConvGeom, type PoolGeom, type PoolMode, type WinAxis, type Window,
} from '../lib/nn.ts';
import { nn as V, ew as VE } from '../vjp/index.ts';

const CAT = 'nn';
const INTS_OPT = { type: 'ints' as const };
const AUTO_PAD = { type: 'string' as const, default: 'NOTSET', doc: 'NOTSET | SAME_UPPER | SAME_LOWER | VALID' };
const Q8: readonly DType[] = ['int8', 'uint8'];

const loc = (ctx: InferCtx | EvalCtx) => nodeLocation(ctx.node);
const numel = (shape: readonly Dim[] | undefined): number =>
  shape ? shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1) : 0;
const staticNumel = (shape: readonly Dim[] | undefined): number | undefined =>
  shape && shape.every((d) => typeof d === 'number') ? product(shape as number[]) : undefined;

/** Write float64 results into a tensor of `dtype` (typed-array assignment rounds / wraps like C). */
function fromF64(dtype: DType, shape: readonly number[], acc: Float64Array): Tensor {
  const t = new Tensor(dtype, shape);
  (t.num as Float64Array).set(acc);
  return t;
}

/** X must be [N, C, spatial...] with at least one spatial axis; returns its rank or undefined. */
function requireNC(ctx: InferCtx, i: number, minSpatial = 1): number | undefined {
  const t = ctx.type(i);
  if (t.shape && t.shape.length < 2 + minSpatial) {
    throw diag.verify(ctx.node.op, `input ${i} must have rank >= ${2 + minSpatial} ([N, C, spatial...]), got [${t.shape.join(', ')}]`, loc(ctx));
  }
  return t.shape?.length;
}

function checkSpatialSupported(op: string, rank: number, l: Location): void {
  if (rank - 2 > 3) throw diag.unsupportedFeature(`${op} with ${rank - 2} spatial dimensions (at most 3)`, l);
}

// ================================================================================================
// Convolution
// ================================================================================================

const convAttrs = {
  auto_pad: AUTO_PAD,
  dilations: INTS_OPT,
  group: { type: 'int' as const, default: 1 },
  kernel_shape: INTS_OPT,
  pads: INTS_OPT,
  strides: INTS_OPT,
};

/** kernel sizes from kernel_shape or W's spatial dims; undefined when W's spatial dims are symbolic */
function kernelOf(op: string, attrs: AttrReader, w: TensorType, n: number, l: Location): number[] | undefined {
  const wsp = w.shape?.slice(2);
  if (attrs.has('kernel_shape')) {
    const k = attrs.ints('kernel_shape');
    if (k.length !== n) throw diag.verify(op, `kernel_shape has ${k.length} values for ${n} spatial axes`, l);
    wsp?.forEach((d, i) => {
      if (typeof d === 'number' && d !== k[i]) throw diag.shapeMismatch(op, `kernel_shape [${k.join(', ')}] does not match W's spatial dims [${wsp.join(', ')}]`, l);
    });
    return k.slice();
  }
  if (wsp && wsp.every((d) => typeof d === 'number')) return wsp as number[];
  return undefined;
}

/** Shared Conv / ConvInteger inference: checks and output shape [N, M, out...]. */
function convInferShape(ctx: InferCtx): Dim[] | undefined {
  const op = ctx.node.op, l = loc(ctx);
  const x = ctx.type(0), w = ctx.type(1);
  const rank = requireNC(ctx, 0);
  if (rank !== undefined && w.shape && w.shape.length !== rank) {
    throw diag.shapeMismatch(op, `W has rank ${w.shape.length} but X has rank ${rank}`, l);
  }
  const r = rank ?? w.shape?.length;
  if (r === undefined) return undefined;
  const n = r - 2;
  const group = ctx.attrs.int('group');
  if (!Number.isInteger(group) || group < 1) throw diag.verify(op, `group must be >= 1, got ${group}`, l);
  const C = x.shape?.[1], M = w.shape?.[0], Cg = w.shape?.[1];
  if (typeof C === 'number' && typeof Cg === 'number' && C !== Cg * group) {
    throw diag.shapeMismatch(op, `X has ${C} channels but W expects ${Cg} x group ${group}`, l);
  }
  if (typeof M === 'number' && M % group !== 0) throw diag.verify(op, `W's output channels ${M} are not divisible by group ${group}`, l);
  const kernel = kernelOf(op, ctx.attrs, w, n, l);
  const inSp: Dim[] = x.shape ? x.shape.slice(2) : Array.from({ length: n }, () => freshDim());
  let out: Dim[];
  if (kernel) out = windowGeometry(op, inSp, kernel, ctx.attrs, { loc: l }).out;
  else { readAutoPad(op, ctx.attrs, l); out = inSp.map(() => freshDim()); }
  return [x.shape?.[0] ?? freshDim(), M ?? freshDim(), ...out];
}

/** Geometry for running a conv on concrete tensors. */
function convGeomOf(ctx: EvalCtx, x: Tensor, w: Tensor): { geom: ConvGeom; win: Window } {
  const op = ctx.node.op, l = loc(ctx);
  if (x.rank < 3 || w.rank !== x.rank) throw diag.shapeMismatch(op, `X [${x.shape.join(', ')}] and W [${w.shape.join(', ')}] need equal rank >= 3`, l);
  checkSpatialSupported(op, x.rank, l);
  const group = ctx.attrs.int('group');
  const [N, C] = x.shape, M = w.shape[0];
  if (C !== w.shape[1] * group || M % group !== 0) {
    throw diag.shapeMismatch(op, `X [${x.shape.join(', ')}], W [${w.shape.join(', ')}] and group ${group} do not agree`, l);
  }
  const kernel = w.shape.slice(2);
  if (ctx.attrs.has('kernel_shape') && ctx.attrs.ints('kernel_shape').some((k, i) => k !== kernel[i])) {
    throw diag.shapeMismatch(op, `kernel_shape does not match W [${w.shape.join(', ')}]`, l);
  }
  const win = windowGeometry(op, x.shape.slice(2), kernel, ctx.attrs, { loc: l });
  const geom: ConvGeom = {
    N, C, M, group,
    in: to3(x.shape.slice(2), 1), out: to3(win.out as number[], 1), k: to3(kernel, 1),
    s: to3(win.strides, 1), d: to3(win.dilations, 1), p: to3(win.padBegin, 0),
  };
  return { geom, win };
}

function convFlops(ctx: InferCtx, outs: OutType[], wIdx = 1): number {
  const w = ctx.inputTypes[wIdx]?.shape;
  if (!w) return 0;
  // each output element: (C/group) * prod(kernel) multiply-adds
  return 2 * numel(outs[0].shape) * numel(w.slice(1));
}

defineOp({
  name: 'Conv', category: CAT, vjp: V.conv,
  summary: 'N-d convolution (1-3 spatial axes) with groups, strides, dilations, pads / auto_pad and optional bias',
  types: { T: FLOATS },
  inputs: [{ name: 'X', type: 'T' }, { name: 'W', type: 'T', doc: '[M, C/group, k...]' }, { name: 'B', type: 'T', optional: true, doc: '[M]' }],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: convAttrs,
  onnx: { since: 1 },
  lower: lowerConv,
  infer: (ctx) => {
    requireDtype(ctx, 0, FLOATS);
    const x = ctx.type(0);
    for (const i of [1, 2]) {
      const t = ctx.inputTypes[i];
      if (t && t.dtype !== x.dtype) throw diag.typeMismatch(`Conv input ${i}`, x.dtype, t.dtype, loc(ctx));
    }
    const shape = convInferShape(ctx);
    const b = ctx.inputTypes[2];
    if (b?.shape) {
      const M = ctx.type(1).shape?.[0];
      if (b.shape.length !== 1 || (typeof M === 'number' && typeof b.shape[0] === 'number' && b.shape[0] !== M)) {
        throw diag.shapeMismatch('Conv', `bias B must be [${M ?? 'M'}], got [${b.shape.join(', ')}]`, loc(ctx));
      }
    }
    return [{ dtype: x.dtype, shape }];
  },
  eval: (ctx) => {
    const x = ctx.input(0), w = ctx.input(1), b = ctx.optInput(2);
    const { geom } = convGeomOf(ctx, x, w);
    const outShape = [geom.N, geom.M, ...(geom.out.slice(3 - (x.rank - 2)))];
    const acc = new Float64Array(product(outShape));
    convDirect(x.num, w.num, geom, acc);
    if (b) {
      if (b.size !== geom.M) throw diag.shapeMismatch('Conv', `bias has ${b.size} values for ${geom.M} output channels`, loc(ctx));
      addChannelBias(acc, b.num, geom.N, geom.M, acc.length / (geom.N * geom.M));
    }
    return [fromF64(x.dtype, outShape, acc)];
  },
  flops: (ctx, outs) => convFlops(ctx, outs),
});

function addChannelBias(acc: Float64Array, b: ArrayLike<number>, N: number, M: number, plane: number): void {
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const bv = b[m], o = (n * M + m) * plane;
      for (let i = 0; i < plane; i++) acc[o + i] += bv;
    }
  }
}

defineOp({
  name: 'ConvInteger', category: CAT,
  summary: 'integer convolution: (x - x_zero_point) conv (w - w_zero_point) accumulated in int32',
  types: { T1: Q8, T2: Q8, T3: ['int32'] },
  inputs: [
    { name: 'x', type: 'T1' }, { name: 'w', type: 'T2' },
    { name: 'x_zero_point', type: 'T1', optional: true, doc: 'scalar' },
    { name: 'w_zero_point', type: 'T2', optional: true, doc: 'scalar or [M]' },
  ],
  outputs: [{ name: 'y', type: 'T3' }],
  attrs: convAttrs,
  onnx: { since: 10 },
  lower: lowerConvInteger,
  infer: (ctx) => {
    requireDtype(ctx, 0, Q8); requireDtype(ctx, 1, Q8);
    const zx = ctx.inputTypes[2], zw = ctx.inputTypes[3];
    if (zx && zx.dtype !== ctx.type(0).dtype) throw diag.typeMismatch('ConvInteger x_zero_point', ctx.type(0).dtype, zx.dtype, loc(ctx));
    if (zw && zw.dtype !== ctx.type(1).dtype) throw diag.typeMismatch('ConvInteger w_zero_point', ctx.type(1).dtype, zw.dtype, loc(ctx));
    if (zx?.shape && numel(zx.shape) !== 1 && staticNumel(zx.shape) !== undefined) {
      throw diag.unsupportedFeature('ConvInteger with a per-channel x_zero_point', loc(ctx));
    }
    return [{ dtype: 'int32', shape: convInferShape(ctx) }];
  },
  eval: (ctx) => {
    const x = ctx.input(0), w = ctx.input(1), zx = ctx.optInput(2), zw = ctx.optInput(3);
    const { geom } = convGeomOf(ctx, x, w);
    if (zx && zx.size !== 1) throw diag.unsupportedFeature('ConvInteger with a per-channel x_zero_point', loc(ctx));
    const M = geom.M, perM = w.size / M;
    if (zw && zw.size !== 1 && zw.size !== M) throw diag.shapeMismatch('ConvInteger', `w_zero_point has ${zw.size} values for ${M} output channels`, loc(ctx));
    const xz = zx ? zx.num[0] : 0;
    const xs = new Float64Array(x.size), ws = new Float64Array(w.size);
    const xd = x.num, wd = w.num;
    for (let i = 0; i < xs.length; i++) xs[i] = xd[i] - xz;
    for (let i = 0; i < ws.length; i++) ws[i] = wd[i] - (zw ? zw.num[zw.size === 1 ? 0 : Math.floor(i / perM)] : 0);
    const outShape = [geom.N, M, ...(geom.out.slice(3 - (x.rank - 2)))];
    const acc = new Float64Array(product(outShape));
    convDirect(xs, ws, geom, acc);
    return [fromF64('int32', outShape, acc)];
  },
  flops: (ctx, outs) => convFlops(ctx, outs),
});

defineOp({
  name: 'ConvTranspose', category: CAT, vjp: V.convTranspose,
  summary: 'transposed (fractionally strided) convolution with groups, output_padding / output_shape and auto_pad',
  types: { T: FLOATS },
  inputs: [{ name: 'X', type: 'T' }, { name: 'W', type: 'T', doc: '[C, M/group, k...]' }, { name: 'B', type: 'T', optional: true, doc: '[M]' }],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: { ...convAttrs, output_padding: INTS_OPT, output_shape: INTS_OPT },
  onnx: { since: 1 },
  lower: lowerConvTranspose,
  infer: (ctx) => {
    requireDtype(ctx, 0, FLOATS);
    const op = 'ConvTranspose', l = loc(ctx);
    const x = ctx.type(0), w = ctx.type(1);
    for (const i of [1, 2]) {
      const t = ctx.inputTypes[i];
      if (t && t.dtype !== x.dtype) throw diag.typeMismatch(`ConvTranspose input ${i}`, x.dtype, t.dtype, l);
    }
    const rank = requireNC(ctx, 0) ?? w.shape?.length;
    if (rank === undefined) return [{ dtype: x.dtype, shape: undefined }];
    if (w.shape && w.shape.length !== rank) throw diag.shapeMismatch(op, `W has rank ${w.shape.length} but X has rank ${rank}`, l);
    const group = ctx.attrs.int('group');
    if (!Number.isInteger(group) || group < 1) throw diag.verify(op, `group must be >= 1, got ${group}`, l);
    const C = x.shape?.[1], WC = w.shape?.[0], Mg = w.shape?.[1];
    if (typeof C === 'number' && typeof WC === 'number' && C !== WC) throw diag.shapeMismatch(op, `X has ${C} channels but W has ${WC}`, l);
    if (typeof C === 'number' && C % group !== 0) throw diag.verify(op, `channels ${C} not divisible by group ${group}`, l);
    const M: Dim = typeof Mg === 'number' ? Mg * group : freshDim();
    const n = rank - 2;
    const kernel = kernelOf(op, ctx.attrs, w, n, l);
    const inSp: Dim[] = x.shape ? x.shape.slice(2) : Array.from({ length: n }, () => freshDim());
    const out = kernel ? convTransposeGeometry(op, inSp, kernel, ctx.attrs, l).out : inSp.map(() => freshDim());
    const b = ctx.inputTypes[2];
    if (b?.shape && (b.shape.length !== 1 || (typeof M === 'number' && typeof b.shape[0] === 'number' && b.shape[0] !== M))) {
      throw diag.shapeMismatch(op, `bias B must be [${M}], got [${b.shape.join(', ')}]`, l);
    }
    return [{ dtype: x.dtype, shape: [x.shape?.[0] ?? freshDim(), M, ...out] }];
  },
  eval: (ctx) => {
    const op = 'ConvTranspose', l = loc(ctx);
    const x = ctx.input(0), w = ctx.input(1), b = ctx.optInput(2);
    if (x.rank < 3 || w.rank !== x.rank) throw diag.shapeMismatch(op, `X [${x.shape.join(', ')}] and W [${w.shape.join(', ')}] need equal rank >= 3`, l);
    checkSpatialSupported(op, x.rank, l);
    const group = ctx.attrs.int('group');
    const [N, C] = x.shape;
    if (w.shape[0] !== C || C % group !== 0) throw diag.shapeMismatch(op, `X [${x.shape.join(', ')}], W [${w.shape.join(', ')}] and group ${group} do not agree`, l);
    const M = w.shape[1] * group;
    const kernel = w.shape.slice(2);
    if (ctx.attrs.has('kernel_shape') && ctx.attrs.ints('kernel_shape').some((k, i) => k !== kernel[i])) {
      throw diag.shapeMismatch(op, `kernel_shape does not match W [${w.shape.join(', ')}]`, l);
    }
    const g = convTransposeGeometry(op, x.shape.slice(2), kernel, ctx.attrs, l);
    const outSp = g.out as number[];
    const geom: ConvGeom = {
      N, C, M, group, in: to3(x.shape.slice(2), 1), out: to3(outSp, 1), k: to3(kernel, 1),
      s: to3(g.strides, 1), d: to3(g.dilations, 1), p: to3(g.padBegin, 0),
    };
    const outShape = [N, M, ...outSp];
    const acc = new Float64Array(product(outShape));
    convTransposeDirect(x.num, w.num, geom, acc);
    if (b) {
      if (b.size !== M) throw diag.shapeMismatch(op, `bias has ${b.size} values for ${M} output channels`, l);
      addChannelBias(acc, b.num, N, M, product(outSp));
    }
    return [fromF64(x.dtype, outShape, acc)];
  },
  flops: (ctx) => {
    const x = ctx.inputTypes[0]?.shape, w = ctx.inputTypes[1]?.shape;
    if (!x || !w) return 0;
    // every input element scatters into (M/group) * prod(kernel) outputs
    return 2 * numel(x) * numel(w.slice(1));
  },
});

// ================================================================================================
// Pooling
// ================================================================================================

function poolInfer(ctx: InferCtx, opts: { ceil: boolean; dilations: boolean; dtypes: readonly DType[] }): Dim[] | undefined {
  const op = ctx.node.op, l = loc(ctx);
  requireDtype(ctx, 0, opts.dtypes);
  const x = ctx.type(0);
  const rank = requireNC(ctx, 0);
  const kernel = ctx.attrs.ints('kernel_shape');
  if (rank !== undefined && kernel.length !== rank - 2) {
    throw diag.verify(op, `kernel_shape has ${kernel.length} values for ${rank - 2} spatial axes`, l);
  }
  if (kernel.some((k) => !Number.isInteger(k) || k < 1)) throw diag.verify(op, `kernel_shape values must be >= 1`, l);
  const inSp: Dim[] = x.shape ? x.shape.slice(2) : kernel.map(() => freshDim());
  const win = windowGeometry(op, inSp, kernel, ctx.attrs, { ceil: opts.ceil, dilations: opts.dilations, loc: l });
  return [x.shape?.[0] ?? freshDim(), x.shape?.[1] ?? freshDim(), ...win.out];
}

function poolGeomOf(ctx: EvalCtx, x: Tensor, ceil: boolean, dilations: boolean): { geom: PoolGeom; outShape: number[] } {
  const op = ctx.node.op, l = loc(ctx);
  if (x.rank < 3) throw diag.shapeMismatch(op, `X must be [N, C, spatial...], got [${x.shape.join(', ')}]`, l);
  checkSpatialSupported(op, x.rank, l);
  const kernel = ctx.attrs.ints('kernel_shape');
  if (kernel.length !== x.rank - 2) throw diag.verify(op, `kernel_shape has ${kernel.length} values for ${x.rank - 2} spatial axes`, l);
  const win = windowGeometry(op, x.shape.slice(2), kernel, ctx.attrs, { ceil, dilations, loc: l });
  const outSp = win.out as number[];
  const geom: PoolGeom = {
    NC: x.shape[0] * x.shape[1], in: to3(x.shape.slice(2), 1), out: to3(outSp, 1), k: to3(kernel, 1),
    s: to3(win.strides, 1), d: to3(win.dilations, 1), p: to3(win.padBegin, 0), pe: to3(win.padEnd, 0),
  };
  return { geom, outShape: [x.shape[0], x.shape[1], ...outSp] };
}

const poolFlops = (ctx: InferCtx, outs: OutType[]) => numel(outs[0].shape) * product(ctx.attrs.ints('kernel_shape'));

defineOp({
  name: 'AveragePool', category: CAT, vjp: V.averagePool,
  summary: 'average over sliding windows (count_include_pad, ceil_mode, dilations)',
  types: { T: FLOATS },
  inputs: [{ name: 'X', type: 'T' }],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: {
    auto_pad: AUTO_PAD,
    ceil_mode: { type: 'int', default: 0 },
    count_include_pad: { type: 'int', default: 0 },
    dilations: INTS_OPT,
    kernel_shape: { type: 'ints', required: true },
    pads: INTS_OPT,
    strides: INTS_OPT,
  },
  onnx: { since: 1 },
  lower: (ctx) => lowerSumPool(ctx, 'avg'),
  infer: (ctx) => [{ dtype: ctx.type(0).dtype, shape: poolInfer(ctx, { ceil: ctx.attrs.int('ceil_mode') !== 0, dilations: true, dtypes: FLOATS }) }],
  eval: (ctx) => {
    const x = ctx.input(0);
    const { geom, outShape } = poolGeomOf(ctx, x, ctx.attrs.int('ceil_mode') !== 0, true);
    const out = new Float64Array(product(outShape));
    poolDirect(x.num, geom, 'avg', out, { countIncludePad: ctx.attrs.int('count_include_pad') !== 0 });
    return [fromF64(x.dtype, outShape, out)];
  },
  flops: poolFlops,
});

defineOp({
  name: 'MaxPool', category: CAT, vjp: V.maxPool,
  summary: 'maximum over sliding windows; optional Indices (flat NCHW input index, int64)',
  types: { T: [...FLOATS, 'int8', 'uint8'], I: ['int64'] },
  inputs: [{ name: 'X', type: 'T' }],
  outputs: [{ name: 'Y', type: 'T' }, { name: 'Indices', type: 'I', optional: true }],
  attrs: {
    auto_pad: AUTO_PAD,
    ceil_mode: { type: 'int', default: 0 },
    dilations: INTS_OPT,
    kernel_shape: { type: 'ints', required: true },
    pads: INTS_OPT,
    storage_order: { type: 'int', default: 0, doc: '0 = row major, 1 = column major indices' },
    strides: INTS_OPT,
  },
  onnx: { since: 1 },
  lower: lowerMaxPool,
  infer: (ctx) => {
    const so = ctx.attrs.int('storage_order');
    if (so !== 0 && so !== 1) throw diag.verify('MaxPool', `storage_order must be 0 or 1, got ${so}`, loc(ctx));
    const shape = poolInfer(ctx, { ceil: ctx.attrs.int('ceil_mode') !== 0, dilations: true, dtypes: [...FLOATS, 'int8', 'uint8'] });
    const outs: OutType[] = [{ dtype: ctx.type(0).dtype, shape }];
    if (ctx.outputCount > 1) outs.push({ dtype: 'int64', shape: shape?.slice() });
    return outs;
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const { geom, outShape } = poolGeomOf(ctx, x, ctx.attrs.int('ceil_mode') !== 0, true);
    const out = new Float64Array(product(outShape));
    const idx = ctx.outputCount > 1 ? new Float64Array(out.length) : undefined;
    poolDirect(x.num, geom, 'max', out, { indices: idx, storageOrder: ctx.attrs.int('storage_order') });
    const res: Tensor[] = [fromF64(x.dtype, outShape, out)];
    if (idx) res.push(fromF64('int64', outShape, idx));
    return res;
  },
  flops: poolFlops,
});

defineOp({
  name: 'LpPool', category: CAT,
  summary: 'Lp norm (sum |x|^p)^(1/p) over sliding windows',
  types: { T: FLOATS },
  inputs: [{ name: 'X', type: 'T' }],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: {
    auto_pad: AUTO_PAD,
    ceil_mode: { type: 'int', default: 0 },
    dilations: INTS_OPT,
    kernel_shape: { type: 'ints', required: true },
    p: { type: 'int', default: 2 },
    pads: INTS_OPT,
    strides: INTS_OPT,
  },
  onnx: { since: 1 },
  lower: (ctx) => lowerSumPool(ctx, 'lp'),
  infer: (ctx) => [{ dtype: ctx.type(0).dtype, shape: poolInfer(ctx, { ceil: ctx.attrs.int('ceil_mode') !== 0, dilations: true, dtypes: FLOATS }) }],
  eval: (ctx) => {
    const x = ctx.input(0);
    const { geom, outShape } = poolGeomOf(ctx, x, ctx.attrs.int('ceil_mode') !== 0, true);
    const out = new Float64Array(product(outShape));
    poolDirect(x.num, geom, 'lp', out, { p: ctx.attrs.int('p') });
    return [fromF64(x.dtype, outShape, out)];
  },
  flops: (ctx, outs) => 2 * poolFlops(ctx, outs),
});

/** Global pooling: one window covering every spatial axis. */
function globalPool(name: string, mode: PoolMode, summary: string, dtypes: readonly DType[]): OpDef {
  return defineOp({
    name, category: CAT, summary,
    ...(mode === 'avg' ? { vjp: V.globalAveragePool } : {}),
    types: { T: dtypes },
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: mode === 'lp' ? { p: { type: 'int', default: 2 } } : {},
    lower: (ctx) => lowerGlobalPool(ctx, mode),
    onnx: { since: 1 },
    infer: (ctx) => {
      requireDtype(ctx, 0, dtypes);
      const x = ctx.type(0);
      requireNC(ctx, 0);
      return [{ dtype: x.dtype, shape: x.shape ? [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] : undefined }];
    },
    eval: (ctx) => {
      const x = ctx.input(0);
      if (x.rank < 3) throw diag.shapeMismatch(name, `X must be [N, C, spatial...], got [${x.shape.join(', ')}]`, loc(ctx));
      const NC = x.shape[0] * x.shape[1], S = product(x.shape.slice(2));
      const d = x.num, out = new Float64Array(NC);
      const p = mode === 'lp' ? ctx.attrs.int('p') : 0;
      for (let c = 0; c < NC; c++) {
        const b = c * S;
        let acc = mode === 'max' ? d[b] : 0;
        if (mode === 'max') { for (let i = 1; i < S; i++) if (d[b + i] > acc) acc = d[b + i]; }
        else if (mode === 'avg') { for (let i = 0; i < S; i++) acc += d[b + i]; acc /= S; }
        else { for (let i = 0; i < S; i++) acc += Math.abs(d[b + i]) ** p; acc **= 1 / p; }
        out[c] = acc;
      }
      return [fromF64(x.dtype, [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)], out)];
    },
    flops: (ctx) => numel(ctx.inputTypes[0]?.shape),
  });
}
globalPool('GlobalAveragePool', 'avg', 'mean over all spatial axes, keeping them as size 1', FLOATS);
globalPool('GlobalMaxPool', 'max', 'maximum over all spatial axes, keeping them as size 1', FLOATS);
globalPool('GlobalLpPool', 'lp', 'Lp norm over all spatial axes, keeping them as size 1', FLOATS);

defineOp({
  name: 'MaxUnpool', category: CAT,
  summary: 'scatter X into a zero tensor at the flat indices I produced by MaxPool',
  types: { T1: FLOATS, T2: ['int64'] },
  inputs: [
    { name: 'X', type: 'T1' }, { name: 'I', type: 'T2' },
    { name: 'output_shape', type: 'T2', optional: true, shapeData: true, doc: 'full output shape [N, C, spatial...]' },
  ],
  outputs: [{ name: 'output', type: 'T1' }],
  attrs: { kernel_shape: { type: 'ints', required: true }, pads: INTS_OPT, strides: INTS_OPT },
  onnx: { since: 9 },
  lower: lowerMaxUnpool,
  infer: (ctx) => {
    const op = 'MaxUnpool', l = loc(ctx);
    requireDtype(ctx, 0, FLOATS);
    requireDtype(ctx, 1, ['int64']);
    const x = ctx.type(0), I = ctx.type(1);
    const rank = requireNC(ctx, 0);
    if (x.shape && I.shape && (I.shape.length !== x.shape.length || I.shape.some((d, i) => typeof d === 'number' && typeof x.shape![i] === 'number' && d !== x.shape![i]))) {
      throw diag.shapeMismatch(op, `I [${I.shape.join(', ')}] must have X's shape [${x.shape.join(', ')}]`, l);
    }
    if (ctx.inputTypes[2]) {
      const c = ctx.constValue(2);
      if (c) return [{ dtype: x.dtype, shape: intList(c) }];
      const st = ctx.inputTypes[2].shape;
      return [{ dtype: x.dtype, shape: st && typeof st[0] === 'number' ? freshDims(st[0], `${ctx.node.op} output`) : undefined }];
    }
    if (rank === undefined) return [{ dtype: x.dtype, shape: undefined }];
    return [{ dtype: x.dtype, shape: unpoolShape(op, x.shape!, ctx.attrs, l) }];
  },
  eval: (ctx) => {
    const op = 'MaxUnpool', l = loc(ctx);
    const x = ctx.input(0), I = ctx.input(1), os = ctx.optInput(2);
    if (x.rank < 3) throw diag.shapeMismatch(op, `X must be [N, C, spatial...], got [${x.shape.join(', ')}]`, l);
    if (I.size !== x.size) throw diag.shapeMismatch(op, `I has ${I.size} elements, X has ${x.size}`, l);
    const inferred = unpoolShape(op, x.shape, ctx.attrs, l) as number[];
    const shape = os ? intList(os) : inferred;
    if (os && (shape.length !== x.rank || shape[0] !== x.shape[0] || shape[1] !== x.shape[1])) {
      throw diag.shapeMismatch(op, `output_shape [${shape.join(', ')}] must be [${x.shape[0]}, ${x.shape[1]}, ...]`, l);
    }
    if (shape.some((d, i) => d !== inferred[i])) {
      // onnxruntime / PyTorch read I as flat indices into output_shape; the ONNX reference reads them
      // in the default geometry and pads (onnx/onnx#2398): ambiguous, so refuse
      throw diag.unsupportedFeature(`${op} with output_shape [${shape.join(', ')}] different from the default [${inferred.join(', ')}]`, l);
    }
    const out = new Tensor(x.dtype, shape);
    const o = out.num, xd = x.num, id = I.num, n = out.size;
    for (let i = 0; i < xd.length; i++) {
      const k = id[i];
      if (!(k >= 0 && k < n)) throw diag.runtime(op, `index ${k} is outside the output of ${n} elements`, l);
      o[k] = xd[i];
    }
    return [out];
  },
});

function unpoolShape(op: string, xs: readonly Dim[], attrs: AttrReader, l: Location): Dim[] {
  const n = xs.length - 2;
  const kernel = attrs.ints('kernel_shape');
  if (kernel.length !== n) throw diag.verify(op, `kernel_shape has ${kernel.length} values for ${n} spatial axes`, l);
  const strides = axisInts(op, attrs, 'strides', n, 1, l);
  const pads = axisInts(op, attrs, 'pads', n, 0, l, 2 * n, 0);
  return [xs[0], xs[1], ...xs.slice(2).map((d, i) =>
    typeof d === 'number' ? (d - 1) * strides[i] - pads[i] - pads[i + n] + kernel[i] : freshDim())];
}

// ================================================================================================
// Normalization
// ================================================================================================

/** A 1-D per-channel parameter input: check its length against C when both are known. */
function checkChannelParam(ctx: InferCtx, i: number, C: Dim | undefined, what: string): void {
  const t = ctx.inputTypes[i];
  if (!t?.shape) return;
  const n = staticNumel(t.shape);
  if (t.shape.length !== 1 || (typeof C === 'number' && n !== undefined && n !== C)) {
    throw diag.shapeMismatch(ctx.node.op, `${what} must be [${C ?? 'C'}], got [${t.shape.join(', ')}]`, loc(ctx));
  }
}

function checkChannelTensor(op: string, t: Tensor, C: number, what: string, l: Location): void {
  if (t.size !== C) throw diag.shapeMismatch(op, `${what} has ${t.size} values for ${C} channels`, l);
}

/** Per-(n, c) mean and biased variance over `inner` contiguous elements, computed in float64. */
function channelStats(d: ArrayLike<number>, outer: number, C: number, inner: number):
  { mean: Float64Array; variance: Float64Array } {
  const mean = new Float64Array(C), variance = new Float64Array(C);
  const cnt = outer * inner;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let o = 0; o < outer; o++) { const b = (o * C + c) * inner; for (let i = 0; i < inner; i++) s += d[b + i]; }
    const m = s / cnt;
    let v = 0;
    for (let o = 0; o < outer; o++) { const b = (o * C + c) * inner; for (let i = 0; i < inner; i++) { const e = d[b + i] - m; v += e * e; } }
    mean[c] = m; variance[c] = v / cnt;
  }
  return { mean, variance };
}

/** y = (x - mean[c]) * scale[c] / sqrt(var[c] + eps) + bias[c] over [outer, C, inner]. */
function affineNormalize(d: ArrayLike<number>, out: Float64Array, outer: number, C: number, inner: number,
  mean: ArrayLike<number>, variance: ArrayLike<number>, scale: ArrayLike<number>, bias: ArrayLike<number>, eps: number): void {
  for (let c = 0; c < C; c++) {
    const k = scale[c] / Math.sqrt(variance[c] + eps), m = mean[c], b = bias[c];
    for (let o = 0; o < outer; o++) {
      const base = (o * C + c) * inner;
      for (let i = 0; i < inner; i++) out[base + i] = (d[base + i] - m) * k + b;
    }
  }
}

defineOp({
  name: 'BatchNormalization', category: CAT, vjp: V.batchNorm,
  summary: 'per-channel normalization with running statistics (inference) or batch statistics (training_mode=1)',
  types: { T: FLOATS, T1: FLOATS, T2: FLOATS },
  inputs: [
    { name: 'X', type: 'T' }, { name: 'scale', type: 'T1' }, { name: 'B', type: 'T1' },
    { name: 'input_mean', type: 'T2' }, { name: 'input_var', type: 'T2' },
  ],
  outputs: [
    { name: 'Y', type: 'T' },
    { name: 'running_mean', type: 'T2', optional: true }, { name: 'running_var', type: 'T2', optional: true },
  ],
  attrs: {
    epsilon: { type: 'float', default: 1e-5 },
    momentum: { type: 'float', default: 0.9 },
    training_mode: { type: 'int', default: 0 },
  },
  onnx: {
    since: 1,
    fromOnnx: (v: OnnxImportView) => {
      if (v.opset < 7) {
        const isTest = v.attrs['is_test'];
        if (!isTest || isTest.value !== 1) {
          throw diag.unsupportedAttr({ op: 'BatchNormalization', opset: v.opset }, 'is_test', String(isTest?.value ?? 0), v.loc);
        }
      }
      const spatial = v.attrs['spatial'];
      if (spatial && spatial.value !== 1) {
        throw diag.unsupportedAttr({ op: 'BatchNormalization', opset: v.opset }, 'spatial', String(spatial.value), v.loc);
      }
      delete v.attrs['is_test']; delete v.attrs['spatial']; delete v.attrs['consumed_inputs'];
    },
  },
  lower: lowerBatchNorm,
  infer: (ctx) => {
    const l = loc(ctx);
    requireDtype(ctx, 0, FLOATS);
    const x = ctx.type(0);
    if (x.shape && x.shape.length < 2) throw diag.verify('BatchNormalization', `X must have rank >= 2, got [${x.shape.join(', ')}]`, l);
    const C = x.shape?.[1];
    ['scale', 'B', 'input_mean', 'input_var'].forEach((w, k) => checkChannelParam(ctx, k + 1, C, w));
    const training = ctx.attrs.int('training_mode') !== 0;
    if (!training && ctx.outputCount > 1) {
      // older opsets' training outputs (mean, var, saved_mean, saved_var) are not expressed here
      throw diag.unsupportedFeature('BatchNormalization with running-statistics outputs outside training_mode=1', l);
    }
    const outs: OutType[] = [{ dtype: x.dtype, shape: x.shape?.slice() }];
    const mt = ctx.type(3);
    for (let i = 1; i < ctx.outputCount; i++) outs.push({ dtype: mt.dtype, shape: [C ?? freshDim()] });
    return outs;
  },
  eval: (ctx) => {
    const op = 'BatchNormalization', l = loc(ctx);
    const x = ctx.input(0), scale = ctx.input(1), bias = ctx.input(2), mean = ctx.input(3), vr = ctx.input(4);
    if (x.rank < 2) throw diag.verify(op, `X must have rank >= 2`, l);
    const [N, C] = x.shape, inner = product(x.shape.slice(2));
    for (const [t, w] of [[scale, 'scale'], [bias, 'B'], [mean, 'input_mean'], [vr, 'input_var']] as const) checkChannelTensor(op, t, C, w, l);
    const eps = ctx.attrs.float('epsilon');
    const out = new Float64Array(x.size);
    if (ctx.attrs.int('training_mode') === 0) {
      affineNormalize(x.num, out, N, C, inner, mean.num, vr.num, scale.num, bias.num, eps);
      return [fromF64(x.dtype, x.shape, out)];
    }
    const st = channelStats(x.num, N, C, inner);
    affineNormalize(x.num, out, N, C, inner, st.mean, st.variance, scale.num, bias.num, eps);
    const mom = ctx.attrs.float('momentum');
    const rm = new Float64Array(C), rv = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      rm[c] = mean.num[c] * mom + st.mean[c] * (1 - mom);
      rv[c] = vr.num[c] * mom + st.variance[c] * (1 - mom);
    }
    const res = [fromF64(x.dtype, x.shape, out)];
    if (ctx.outputCount > 1) res.push(fromF64(mean.dtype, [C], rm));
    if (ctx.outputCount > 2) res.push(fromF64(vr.dtype, [C], rv));
    return res;
  },
  flops: (_ctx, outs) => 2 * numel(outs[0].shape),
});

defineOp({
  name: 'InstanceNormalization', category: CAT, vjp: V.instanceNorm,
  summary: 'per-(n, c) normalization over the spatial axes, then per-channel scale and bias',
  types: { T: FLOATS },
  inputs: [{ name: 'input', type: 'T' }, { name: 'scale', type: 'T' }, { name: 'B', type: 'T' }],
  outputs: [{ name: 'output', type: 'T' }],
  attrs: { epsilon: { type: 'float', default: 1e-5 } },
  onnx: { since: 1, fromOnnx: (v) => { delete v.attrs['consumed_inputs']; } },
  lower: lowerInstanceNorm,
  infer: (ctx) => {
    requireDtype(ctx, 0, FLOATS);
    const x = ctx.type(0);
    requireNC(ctx, 0);
    checkChannelParam(ctx, 1, x.shape?.[1], 'scale');
    checkChannelParam(ctx, 2, x.shape?.[1], 'B');
    return [{ dtype: x.dtype, shape: x.shape?.slice() }];
  },
  eval: (ctx) => {
    const op = 'InstanceNormalization', l = loc(ctx);
    const x = ctx.input(0), scale = ctx.input(1), bias = ctx.input(2);
    if (x.rank < 3) throw diag.verify(op, `input must have rank >= 3`, l);
    const [N, C] = x.shape, inner = product(x.shape.slice(2));
    checkChannelTensor(op, scale, C, 'scale', l); checkChannelTensor(op, bias, C, 'B', l);
    const eps = ctx.attrs.float('epsilon');
    const d = x.num, out = new Float64Array(x.size);
    for (let n = 0; n < N; n++) {
      // statistics of one image: treat it as [1, C, inner]
      const sub = d.subarray(n * C * inner, (n + 1) * C * inner);
      const st = channelStats(sub, 1, C, inner);
      affineNormalize(sub, out.subarray(n * C * inner, (n + 1) * C * inner), 1, C, inner, st.mean, st.variance, scale.num, bias.num, eps);
    }
    return [fromF64(x.dtype, x.shape, out)];
  },
  flops: (_ctx, outs) => 5 * numel(outs[0].shape),
});

const STASH_DTYPE: Record<number, DType> = { 1: 'float32', 10: 'float16', 11: 'float64', 16: 'bfloat16' };

defineOp({
  name: 'LayerNormalization', category: CAT, vjp: V.layerNorm,
  summary: 'normalize over axes [axis, rank) then scale (and bias) broadcast over those axes; optional Mean / InvStdDev',
  types: { T: FLOATS, U: FLOATS },
  inputs: [{ name: 'X', type: 'T' }, { name: 'Scale', type: 'T' }, { name: 'B', type: 'T', optional: true }],
  outputs: [{ name: 'Y', type: 'T' }, { name: 'Mean', type: 'U', optional: true }, { name: 'InvStdDev', type: 'U', optional: true }],
  attrs: {
    axis: { type: 'int', default: -1 },
    epsilon: { type: 'float', default: 1e-5 },
    stash_type: { type: 'int', default: 1, doc: 'element type of Mean / InvStdDev (statistics are computed in float64)' },
  },
  onnx: { since: 17 },
  lower: lowerLayerNorm,
  infer: (ctx) => {
    const op = 'LayerNormalization', l = loc(ctx);
    requireDtype(ctx, 0, FLOATS);
    const x = ctx.type(0);
    const u = STASH_DTYPE[ctx.attrs.int('stash_type')];
    if (!u) throw diag.unsupportedAttr({ op }, 'stash_type', String(ctx.attrs.int('stash_type')), l);
    if (!x.shape) return [{ dtype: x.dtype, shape: undefined }, ...(ctx.outputCount > 1 ? [{ dtype: u, shape: undefined }, { dtype: u, shape: undefined }] : [])].slice(0, ctx.outputCount);
    const axis = normAxis(ctx.attrs.int('axis'), x.shape.length, op);
    const norm = x.shape.slice(axis);
    for (const i of [1, 2]) {
      const s = ctx.inputTypes[i]?.shape;
      if (!s) continue;
      if (s.length > norm.length || s.some((d, k) => {
        const e = norm[norm.length - s.length + k];
        return typeof d === 'number' && typeof e === 'number' && d !== 1 && d !== e;
      })) throw diag.shapeMismatch(op, `${i === 1 ? 'Scale' : 'B'} [${s.join(', ')}] does not broadcast to the normalized shape [${norm.join(', ')}]`, l);
    }
    const stat: Dim[] = x.shape.map((d, k) => (k < axis ? d : 1));
    const outs: OutType[] = [{ dtype: x.dtype, shape: x.shape.slice() }];
    for (let i = 1; i < ctx.outputCount; i++) outs.push({ dtype: u, shape: stat.slice() });
    return outs;
  },
  eval: (ctx) => {
    const op = 'LayerNormalization', l = loc(ctx);
    const x = ctx.input(0), scale = ctx.input(1), bias = ctx.optInput(2);
    const axis = normAxis(ctx.attrs.int('axis'), x.rank, op);
    const eps = ctx.attrs.float('epsilon');
    const u = STASH_DTYPE[ctx.attrs.int('stash_type')];
    if (!u) throw diag.unsupportedAttr({ op }, 'stash_type', String(ctx.attrs.int('stash_type')), l);
    const normShape = x.shape.slice(axis);
    const outer = product(x.shape.slice(0, axis)), inner = product(normShape);
    const sIdx = paramIndex(op, scale, normShape, l), bIdx = bias ? paramIndex(op, bias, normShape, l) : undefined;
    const d = x.num, out = new Float64Array(x.size), means = new Float64Array(outer), invs = new Float64Array(outer);
    const sd = scale.num, bd = bias?.num;
    for (let o = 0; o < outer; o++) {
      const b = o * inner;
      let s = 0;
      for (let i = 0; i < inner; i++) s += d[b + i];
      const m = s / inner;
      let v = 0;
      for (let i = 0; i < inner; i++) { const e = d[b + i] - m; v += e * e; }
      const inv = 1 / Math.sqrt(v / inner + eps);
      means[o] = m; invs[o] = inv;
      for (let i = 0; i < inner; i++) {
        out[b + i] = (d[b + i] - m) * inv * sd[sIdx[i]] + (bd ? bd[bIdx![i]] : 0);
      }
    }
    const statShape = x.shape.map((dim, k) => (k < axis ? dim : 1));
    const res = [fromF64(x.dtype, x.shape, out)];
    if (ctx.outputCount > 1) res.push(fromF64(u, statShape, means));
    if (ctx.outputCount > 2) res.push(fromF64(u, statShape, invs));
    return res;
  },
  flops: (_ctx, outs) => 8 * numel(outs[0].shape),
});

/** For a parameter broadcast (numpy, unidirectional) to `shape`: its element offset per flat index. */
function paramIndex(op: string, p: Tensor, shape: readonly number[], l: Location): Int32Array {
  const r = shape.length, k = p.rank;
  if (k > r) throw diag.shapeMismatch(op, `parameter [${p.shape.join(', ')}] has more axes than [${shape.join(', ')}]`, l);
  const pst: number[] = new Array<number>(r).fill(0);
  let acc = 1;
  for (let i = k - 1; i >= 0; i--) {
    const oi = r - k + i, d = p.shape[i];
    if (d !== 1 && d !== shape[oi]) throw diag.shapeMismatch(op, `parameter [${p.shape.join(', ')}] does not broadcast to [${shape.join(', ')}]`, l);
    pst[oi] = d === 1 ? 0 : acc;
    acc *= d;
  }
  const n = product(shape), idx = new Int32Array(n);
  const ctr = new Array<number>(r).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    idx[i] = off;
    for (let a = r - 1; a >= 0; a--) {
      ctr[a]++; off += pst[a];
      if (ctr[a] < shape[a]) break;
      off -= pst[a] * shape[a]; ctr[a] = 0;
    }
  }
  return idx;
}

defineOp({
  name: 'GroupNormalization', category: CAT,
  summary: 'normalize over groups of channels (and spatial axes) per sample; scale/bias per group (opset 18) or per channel (opset 21)',
  types: { T: FLOATS },
  inputs: [{ name: 'X', type: 'T' }, { name: 'scale', type: 'T' }, { name: 'bias', type: 'T' }],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: {
    epsilon: { type: 'float', default: 1e-5 },
    num_groups: { type: 'int', required: true },
    stash_type: { type: 'int', default: 1 },
  },
  onnx: { since: 18 },
  lower: lowerGroupNorm,
  infer: (ctx) => {
    const op = 'GroupNormalization', l = loc(ctx);
    requireDtype(ctx, 0, FLOATS);
    const x = ctx.type(0);
    if (x.shape && x.shape.length < 2) throw diag.verify(op, `X must have rank >= 2`, l);
    const G = ctx.attrs.int('num_groups'), C = x.shape?.[1];
    if (!Number.isInteger(G) || G < 1) throw diag.verify(op, `num_groups must be >= 1, got ${G}`, l);
    if (typeof C === 'number' && C % G !== 0) throw diag.verify(op, `channels ${C} are not divisible by num_groups ${G}`, l);
    for (const i of [1, 2]) {
      const s = ctx.inputTypes[i]?.shape;
      const n = s ? staticNumel(s) : undefined;
      if (s && (s.length !== 1 || (n !== undefined && n !== G && (typeof C !== 'number' || n !== C)))) {
        throw diag.shapeMismatch(op, `${i === 1 ? 'scale' : 'bias'} must be [num_groups] or [C], got [${s.join(', ')}]`, l);
      }
    }
    return [{ dtype: x.dtype, shape: x.shape?.slice() }];
  },
  eval: (ctx) => {
    const op = 'GroupNormalization', l = loc(ctx);
    const x = ctx.input(0), scale = ctx.input(1), bias = ctx.input(2);
    if (x.rank < 2) throw diag.verify(op, `X must have rank >= 2`, l);
    const G = ctx.attrs.int('num_groups'), eps = ctx.attrs.float('epsilon');
    const [N, C] = x.shape, inner = product(x.shape.slice(2));
    if (C % G !== 0) throw diag.verify(op, `channels ${C} are not divisible by num_groups ${G}`, l);
    const Cg = C / G;
    // [G] scale is per group (opset 18), [C] per channel (opset 21); identical when G == C
    const pc = (t: Tensor, what: string) => {
      if (t.size === C) return (c: number) => t.num[c];
      if (t.size === G) return (c: number) => t.num[Math.floor(c / Cg)];
      throw diag.shapeMismatch(op, `${what} has ${t.size} values; expected ${G} or ${C}`, l);
    };
    const sc = pc(scale, 'scale'), bi = pc(bias, 'bias');
    const d = x.num, out = new Float64Array(x.size), gsize = Cg * inner;
    for (let n = 0; n < N; n++) {
      for (let g = 0; g < G; g++) {
        const b = (n * C + g * Cg) * inner;
        let s = 0;
        for (let i = 0; i < gsize; i++) s += d[b + i];
        const m = s / gsize;
        let v = 0;
        for (let i = 0; i < gsize; i++) { const e = d[b + i] - m; v += e * e; }
        const inv = 1 / Math.sqrt(v / gsize + eps);
        for (let cc = 0; cc < Cg; cc++) {
          const c = g * Cg + cc, k = inv * sc(c), bb = bi(c), cb = b + cc * inner;
          for (let i = 0; i < inner; i++) out[cb + i] = (d[cb + i] - m) * k + bb;
        }
      }
    }
    return [fromF64(x.dtype, x.shape, out)];
  },
  flops: (_ctx, outs) => 8 * numel(outs[0].shape),
});

defineOp({
  name: 'LRN', category: CAT,
  summary: 'local response normalization across channels: x / (bias + alpha/size * sum x^2)^beta',
  types: { T: FLOATS },
  inputs: [{ name: 'X', type: 'T' }],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: {
    alpha: { type: 'float', default: 1e-4 },
    beta: { type: 'float', default: 0.75 },
    bias: { type: 'float', default: 1.0 },
    size: { type: 'int', required: true },
  },
  onnx: { since: 1 },
  lower: lowerLRN,
  infer: (ctx) => {
    requireDtype(ctx, 0, FLOATS);
    const x = ctx.type(0);
    if (x.shape && x.shape.length < 2) throw diag.verify('LRN', `X must have rank >= 2`, loc(ctx));
    const size = ctx.attrs.int('size');
    if (!Number.isInteger(size) || size < 1) throw diag.verify('LRN', `size must be >= 1, got ${size}`, loc(ctx));
    return [{ dtype: x.dtype, shape: x.shape?.slice() }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    if (x.rank < 2) throw diag.verify('LRN', `X must have rank >= 2`, loc(ctx));
    const size = ctx.attrs.int('size'), alpha = ctx.attrs.float('alpha'), beta = ctx.attrs.float('beta'), bias = ctx.attrs.float('bias');
    const [N, C] = x.shape, inner = product(x.shape.slice(2));
    const lo = Math.floor((size - 1) / 2), hi = Math.ceil((size - 1) / 2);
    const d = x.num, out = new Float64Array(x.size);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const c0 = Math.max(0, c - lo), c1 = Math.min(C - 1, c + hi), b = (n * C + c) * inner;
        for (let i = 0; i < inner; i++) {
          let s = 0;
          for (let k = c0; k <= c1; k++) { const v = d[(n * C + k) * inner + i]; s += v * v; }
          out[b + i] = d[b + i] / (bias + (alpha / size) * s) ** beta;
        }
      }
    }
    return [fromF64(x.dtype, x.shape, out)];
  },
  flops: (ctx, outs) => (2 * ctx.attrs.int('size') + 4) * numel(outs[0].shape),
});

defineOp({
  name: 'MeanVarianceNormalization', category: CAT,
  summary: '(X - mean) / (std + 1e-9) with mean / std over `axes`',
  types: { T: FLOATS },
  inputs: [{ name: 'X', type: 'T' }],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: { axes: { type: 'ints', default: [0, 2, 3] } },
  onnx: { since: 9 },
  lower: lowerMVN,
  infer: (ctx) => {
    requireDtype(ctx, 0, FLOATS);
    const x = ctx.type(0);
    if (x.shape) {
      const axes = ctx.attrs.ints('axes').map((a) => normAxis(a, x.shape!.length, 'MeanVarianceNormalization'));
      if (new Set(axes).size !== axes.length) throw diag.verify('MeanVarianceNormalization', `axes contain duplicates`, loc(ctx));
    }
    return [{ dtype: x.dtype, shape: x.shape?.slice() }];
  },
  eval: (ctx) => {
    const x = ctx.input(0), r = x.rank;
    const axes = new Set(ctx.attrs.ints('axes').map((a) => normAxis(a, r, 'MeanVarianceNormalization')));
    // reduced offset per flat index: position in the kept-axes grid
    const keepShape = x.shape.map((d, i) => (axes.has(i) ? 1 : d));
    const G = product(keepShape), cnt = x.size / G;
    const gidx = paramIndexFor(x.shape, keepShape);
    const d = x.num, sum = new Float64Array(G), sq = new Float64Array(G);
    for (let i = 0; i < d.length; i++) sum[gidx[i]] += d[i];
    for (let g = 0; g < G; g++) sum[g] /= cnt;
    for (let i = 0; i < d.length; i++) { const e = d[i] - sum[gidx[i]]; sq[gidx[i]] += e * e; }
    for (let g = 0; g < G; g++) sq[g] = Math.sqrt(sq[g] / cnt) + 1e-9;
    const out = new Float64Array(x.size);
    for (let i = 0; i < d.length; i++) out[i] = (d[i] - sum[gidx[i]]) / sq[gidx[i]];
    return [fromF64(x.dtype, x.shape, out)];
  },
  flops: (_ctx, outs) => 6 * numel(outs[0].shape),
});

/** Offsets into a `small` tensor (dims 1 where reduced) for every flat index of `shape`. */
function paramIndexFor(shape: readonly number[], small: readonly number[]): Int32Array {
  return paramIndex('MeanVarianceNormalization', new Tensor('float32', small), shape, {});
}

// ================================================================================================
// Dropout
// ================================================================================================

/** set on import from opset 7..9, whose mask output has the data's element type instead of bool */
const LEGACY_MASK = '__dropout_mask_like_data';

defineOp({
  name: 'Dropout', category: CAT, vjp: VE.identity, // identity in inference (training with ratio > 0 is unsupported)
  summary: 'identity in inference (mask all true); training with ratio > 0 is random and unsupported',
  types: { T: FLOATS, T1: FLOATS, T2: ['bool'] },
  inputs: [
    { name: 'data', type: 'T' },
    { name: 'ratio', type: 'T1', optional: true },
    { name: 'training_mode', type: 'T2', optional: true },
  ],
  outputs: [{ name: 'output', type: 'T' }, { name: 'mask', type: 'T2', optional: true }],
  attrs: { seed: { type: 'int', required: false } },
  onnx: {
    // opset 7..11: inference-only with a ratio attribute; opset 7..9's mask has the data's type
    since: 7,
    fromOnnx: (v) => {
      if (v.opset < 10) v.attrs[LEGACY_MASK] = { type: 'int', value: 1 };
      const r = v.attrs['ratio'];
      if (r && v.inputs.length < 2) v.inputs[1] = v.constInput(Tensor.scalarOf('float32', r.value as number));
      delete v.attrs['ratio'];
    },
    toOnnx: (v) => { delete v.attrs[LEGACY_MASK]; },
  },
  lower: lowerDropout,
  infer: (ctx) => {
    const x = ctx.type(0);
    requireDtype(ctx, 0, FLOATS);
    const tm = ctx.inputTypes[2];
    if (tm && tm.dtype !== 'bool') throw diag.typeMismatch('Dropout training_mode', 'bool', tm.dtype, loc(ctx));
    const outs: OutType[] = [{ dtype: x.dtype, shape: x.shape?.slice() }];
    if (ctx.outputCount > 1) outs.push({ dtype: ctx.node.attrs[LEGACY_MASK] ? x.dtype : 'bool', shape: x.shape?.slice() });
    return outs;
  },
  eval: (ctx) => {
    const x = ctx.input(0), ratio = ctx.optInput(1), tm = ctx.optInput(2);
    const training = tm !== undefined && tm.size > 0 && tm.num[0] !== 0;
    if (training) {
      const r = ratio ? ratio.num[0] : 0.5;
      if (r !== 0) throw diag.unsupportedFeature('Dropout in training mode with ratio > 0 (random mask)', loc(ctx));
    }
    const res: Tensor[] = [new Tensor(x.dtype, x.shape, (x.num as Float64Array).slice())];
    if (ctx.outputCount > 1) {
      const m = new Tensor(ctx.node.attrs[LEGACY_MASK] ? x.dtype : 'bool', x.shape);
      m.num.fill(1);
      res.push(m);
    }
    return res;
  },
});

// ================================================================================================
// Compute definitions (lowering to loop IR). Each mirrors its op's eval above: the reference kernels
// accumulate in float64, so do these (cast to f64 inside the reductions, round once at the end).
// ================================================================================================

function need(ctx: LowerCtx, i: number): TensorRef {
  const t = ctx.inputs[i];
  if (!t) ctx.unsupported(`input ${i} is missing`);
  return t;
}

/** flat offset of idx (row-major) */
const flatE = (idx: readonly Expr[], shape: readonly number[]): Expr => flatIndex(idx.slice(), shape);

/**
 * A padded copy of a 2-d input [N, C, I0, I1] as [N, C, P0, P1] (begin pads ax[a].pb, `fill` around):
 * per padded row, the pads are filled and the interior row copied contiguously (loops the C compiler
 * vectorizes; no per-element bounds test).
 */
function padCopy2d(ctx: LowerCtx, X: TensorRef, ax: WinAxis[], P: number[], prepX: (x: Expr) => Expr, xT: ScalarType, fill: number): TensorRef {
  if (X.buf.layout) return padCopyBlocked(ctx, X, ax, P, prepX, xT, fill);
  const [N, C] = X.shape;
  const xp = ctx.temp('xpad', xT, [N, C, ...P]);
  const [I0, I1] = [ax[0].I, ax[1].I], [P0, P1] = P, pb0 = ax[0].pb, pb1 = ax[1].pb, tail = P1 - pb1 - I1;
  const nc = ctx.fresh('nc'), ph = ctx.fresh('ph'), pw = ctx.fresh('pw');
  const ncv = E.v(nc), phv = E.v(ph), pwv = E.v(pw);
  const ih = E.sub(phv, E.i(pb0));
  const row = E.mul(E.add(E.mul(ncv, E.i(P0)), phv), E.i(P1));
  const pad = (from: number, n: number) => (n > 0 ? [S.for(pw, n, S.store(xp.buf.name, E.add(row, E.add(pwv, E.i(from))), E.c(fill, xT)))] : []);
  const copy = S.for(pw, I1, S.store(xp.buf.name, E.add(row, E.add(pwv, E.i(pb1))),
    prepX(X.flat(E.add(E.mul(E.add(E.mul(ncv, E.i(I0)), ih), E.i(I1)), pwv)))));
  ctx.extern([], S.for(nc, N * C, S.for(ph, P0, S.if(E.and(E.ge(ih, E.i(0)), E.lt(ih, E.i(I0))),
    S.seq(...pad(0, pb1), copy, ...pad(pb1 + I1, tail)),
    S.seq(...pad(0, P1))))));
  return xp;
}

/**
 * Direct convolution as one compute: out[n, co, o...] = sum over (ci, k...) of xv * wv, with
 * ci the input channel within co's group. Positions that can fall into the padding read a padded copy
 * of the (prepared) input built by a separate stage, so the reduction itself has no bounds checks.
 */
export function lowerConvLike(ctx: LowerCtx, o: {
  /** the weight's input index (Conv, ConvInteger: 1; QLinearConv: 3) */
  wIndex?: number;
  /** the input element as the reduction reads it (Conv: x; ConvInteger: x - x_zero_point in i32) */
  prepX: (x: Expr) => Expr; xT: ScalarType;
  /** product term from the prepared input value and (co, ci, k...) */
  term: (xv: Expr, co: Expr, ci: Expr, k: Expr[]) => Expr;
  /** result from the accumulated sum, co and the output index */
  finish: (acc: Expr, co: Expr, idx: Expr[]) => Expr;
}): void {
  const X = need(ctx, 0), W = need(ctx, o.wIndex ?? 1), Y = ctx.outputs[0];
  const sp = X.shape.length - 2;
  if (sp < 1 || sp > 3) ctx.unsupported(`${sp} spatial dimensions`);
  const [N, C] = X.shape, M = W.shape[0], group = ctx.attrs.int('group');
  const Cg = W.shape[1], Mg = M / group;
  if (Cg * group !== C || !Number.isInteger(Mg)) ctx.unsupported('channels and group do not agree');
  const kernel = W.shape.slice(2);
  const win = windowGeometry(ctx.node.op, X.shape.slice(2), kernel, ctx.attrs, {});
  const I = X.shape.slice(2), O = Y.shape.slice(2);
  const ax = winAxes(I, O, kernel, win.strides, win.dilations, win.padBegin, win.padEnd);
  const padded = ax.some((w) => w.needLo || w.needHi);
  // padded extent per axis: every position a tap reads, in padded coordinates
  const P = ax.map((w) => (padded ? Math.max(w.pb + w.I, (w.O - 1) * w.s + (w.K - 1) * w.d + 1) : w.I));
  let xsrc: (n: Expr, c: Expr, p: Expr[]) => Expr;
  if (padded && sp === 2) {
    const xp = padCopy2d(ctx, X, ax, P, o.prepX, o.xT, 0);
    xsrc = (n, c, p) => xp.at(n, c, ...p);
  } else if (padded) {
    const xp = tempCompute(ctx, 'xpad', o.xT, [N, C, ...P], (idx) => {
      const pos = idx.slice(2).map((q, a) => E.sub(q, E.i(ax[a].pb)));
      const cond = allOf(pos.flatMap((p, a) => [E.ge(p, E.i(0)), E.lt(p, E.i(ax[a].I))]));
      return guard(cond, o.prepX(X.at(idx[0], idx[1], ...pos)), E.c(0, o.xT));
    });
    xsrc = (n, c, p) => xp.at(n, c, ...p);
  } else {
    xsrc = (n, c, p) => o.prepX(X.at(n, c, ...p));
  }
  ctx.compute(0, (idx) => {
    const [n, co] = idx, os = idx.slice(2);
    const r = reduceAxes(ctx, [Cg, ...kernel], 'r');
    const ci = r.vars[0], k = r.vars.slice(1);
    const cin = group === 1 ? ci : E.add(E.mul(E.div(co, E.i(Mg)), E.i(Cg)), ci);
    // padded coordinates: o*s + k*d (the begin pad is already in the copy)
    const pos = os.map((oo, a) => (padded ? E.add(E.mul(oo, E.i(ax[a].s)), E.mul(k[a], E.i(ax[a].d))) : tapPos(ax[a], oo, k[a])));
    return o.finish(E.reduce('sum', r.axes, o.term(xsrc(n, cin, pos), co, ci, k)), co, idx);
  });
}

/**
 * Conv accumulates in the output's float type (f32 like MatMul/Gemm and every optimized runtime, so a
 * vector holds twice the lanes of f64); the reference interpreter keeps its f64 sums, well inside the
 * 1e-3 tolerance the compiled targets are checked at.
 */
function lowerConv(ctx: LowerCtx): void {
  const W = need(ctx, 1), B = ctx.inputs[2], T = ctx.outputs[0].dtype;
  const A: ScalarType = T === 'f32' || T === 'f64' ? T : 'f64';
  const a = (e: Expr) => E.cast(e, A);
  lowerConvLike(ctx, {
    prepX: (x) => x, xT: need(ctx, 0).dtype,
    term: (xv, co, ci, k) => E.mul(a(xv), a(W.at(co, ci, ...k))),
    finish: (acc, co) => E.cast(B ? E.add(acc, a(B.at(co))) : acc, T),
  });
}

function lowerConvInteger(ctx: LowerCtx): void {
  const W = need(ctx, 1), zx = ctx.inputs[2], zw = ctx.inputs[3];
  const M = W.shape[0];
  if (zx && numelOf(zx.shape) !== 1) ctx.unsupported('per-channel x_zero_point');
  const nzw = zw ? numelOf(zw.shape) : 0;
  if (zw && nzw !== 1 && nzw !== M) ctx.unsupported(`w_zero_point with ${nzw} values for ${M} output channels`);
  const i32 = (e: Expr) => E.cast(e, 'i32');
  const xz = zx ? i32(zx.flat(E.i(0))) : undefined;
  lowerConvLike(ctx, {
    prepX: (x) => (xz ? E.sub(i32(x), xz) : i32(x)), xT: 'i32',
    term: (xv, co, ci, k) => {
      const w = i32(W.at(co, ci, ...k));
      return E.mul(xv, zw ? E.sub(w, i32(zw.flat(nzw === 1 ? E.i(0) : co))) : w);
    },
    finish: (acc) => acc,
  });
}

/**
 * ConvTranspose in gather form: y[n, m, o] = sum over (cc, k...) of x[n, c, i] * w[c, m - g*Mg, k]
 * with c = g*Cg + cc and o = i*s + k*d - p, i.e. i = (o + p - k*d) / s when that divides and is in
 * range. Per output element the taps come in the reference's order (cc, then k row-major).
 */
function lowerConvTranspose(ctx: LowerCtx): void {
  const op = 'ConvTranspose';
  const X = need(ctx, 0), W = need(ctx, 1), B = ctx.inputs[2], Y = ctx.outputs[0], T = Y.dtype;
  const sp = X.shape.length - 2;
  if (sp < 1 || sp > 3) ctx.unsupported(`${sp} spatial dimensions`);
  const group = ctx.attrs.int('group'), C = X.shape[1], Cg = C / group, Mg = W.shape[1];
  if (!Number.isInteger(Cg) || W.shape[0] !== C) ctx.unsupported('channels and group do not agree');
  const kernel = W.shape.slice(2), I = X.shape.slice(2);
  const g = convTransposeGeometry(op, I, kernel, ctx.attrs, nodeLocation(ctx.node));
  if ((g.out as number[]).some((d, a) => d !== Y.shape[2 + a])) ctx.unsupported('output shape disagrees with the geometry');
  ctx.compute(0, (idx) => {
    const [n, m] = idx, os = idx.slice(2);
    const r = reduceAxes(ctx, [Cg, ...kernel], 'r');
    const cc = r.vars[0], k = r.vars.slice(1);
    const gi = group === 1 ? E.i(0) : E.div(m, E.i(Mg));
    const c = group === 1 ? cc : E.add(E.mul(gi, E.i(Cg)), cc);
    const mm = group === 1 ? m : E.sub(m, E.mul(gi, E.i(Mg)));
    const conds: Expr[] = [];
    const ipos = os.map((o, a) => {
      const s = g.strides[a];
      const t = E.sub(E.add(o, E.i(g.padBegin[a])), E.mul(k[a], E.i(g.dilations[a])));
      conds.push(E.ge(t, E.i(0)));
      if (s !== 1) conds.push(E.eq(E.mod(t, E.i(s)), E.i(0)));
      const i = s === 1 ? t : E.div(t, E.i(s));
      conds.push(E.lt(i, E.i(I[a])));
      return i;
    });
    const term = E.mul(f64(X.at(n, c, ...ipos)), f64(W.at(c, mm, ...k)));
    const acc = E.reduce('sum', r.axes, guard(allOf(conds), term, c64(0)));
    return E.cast(B ? E.add(acc, f64(B.at(m))) : acc, T);
  });
}

/** Pooling geometry for lowering (mirrors poolGeomOf). */
function poolAxes(ctx: LowerCtx): { X: TensorRef; ax: WinAxis[] } {
  const X = need(ctx, 0), Y = ctx.outputs[0];
  const sp = X.shape.length - 2;
  if (sp < 1 || sp > 3) ctx.unsupported(`${sp} spatial dimensions`);
  const kernel = ctx.attrs.ints('kernel_shape');
  const ceil = ctx.attrs.has('ceil_mode') && ctx.attrs.int('ceil_mode') !== 0;
  const win = windowGeometry(ctx.node.op, X.shape.slice(2), kernel, ctx.attrs, { ceil, dilations: true });
  const O = Y.shape.slice(2);
  if ((win.out as number[]).some((d, a) => d !== O[a])) ctx.unsupported('output shape disagrees with the window geometry');
  return { X, ax: winAxes(X.shape.slice(2), O, kernel, win.strides, win.dilations, win.padBegin, win.padEnd) };
}

/** AveragePool / LpPool: an f64 sum over the in-bounds taps, then the mode's finish. */
function lowerSumPool(ctx: LowerCtx, mode: 'avg' | 'lp'): void {
  const { X, ax } = poolAxes(ctx);
  const T = ctx.outputs[0].dtype;
  const incl = mode === 'avg' && ctx.attrs.int('count_include_pad') !== 0;
  const p = mode === 'lp' ? ctx.attrs.int('p') : 0;
  ctx.compute(0, (idx) => {
    const [n, c] = idx, os = idx.slice(2);
    const r = reduceAxes(ctx, ax.map((w) => w.K), 'k');
    const pos = os.map((o, a) => tapPos(ax[a], o, r.vars[a]));
    const cond = allOf(pos.flatMap((q, a) => inBounds(ax[a], q) ?? []));
    // AveragePool sums in its float type (f32 like Conv); LpPool keeps f64 for pow
    const A: ScalarType = mode === 'avg' && (T === 'f32' || T === 'f64') ? T : 'f64';
    const v = mode === 'avg' ? E.cast(X.at(n, c, ...pos), A) : f64(X.at(n, c, ...pos));
    const term = mode === 'avg' ? v : p === 1 ? E.call('fabs', v) : p === 2 ? E.mul(v, v) : E.bin('pow', E.call('fabs', v), c64(p));
    const acc = E.reduce('sum', r.axes, guard(cond, term, E.c(0, A)));
    if (mode === 'lp') return E.cast(p === 1 ? acc : p === 2 ? E.call('sqrt', acc) : E.bin('pow', acc, c64(1 / p)), T);
    const cnt = os.map((o, a) => (incl ? tapCountE(ax[a], o, -ax[a].pb, ax[a].I + ax[a].pe) : tapCountE(ax[a], o, 0, ax[a].I)))
      .reduce((x, y) => E.mul(x, y));
    return E.cast(E.div(acc, E.cast(cnt, A)), T);
  });
}

/** the lowest value of an integer type a MaxPool computes in (out-of-bounds taps; 64-bit: none exact in a double) */
const LOWEST_INT: Partial<Record<ScalarType, number>> = { u8: 0, u16: 0, u32: 0, i8: -128, i16: -32768, i32: -2147483648 };

/**
 * MaxPool as the reference computes it: the first in-bounds tap starts the running maximum and only a
 * strictly greater value replaces it, so the result is NaN iff the first tap is NaN, else the maximum
 * of the non-NaN taps; -inf (0 for integers) for a window without in-bounds taps. Indices: the flat
 * input index of the first tap holding that maximum.
 */
function lowerMaxPool(ctx: LowerCtx): void {
  const { X, ax } = poolAxes(ctx);
  const T = ctx.outputs[0].dtype, isF = T === 'f32' || T === 'f64';
  const [, C] = X.shape;
  const firsts = (os: Expr[]) => {
    const f = os.map((o, a) => firstTap(ax[a], o));
    return { k: f.map((x) => x.k), valid: allOf(f.flatMap((x) => x.valid ?? [])) };
  };
  const withIndices = ctx.outputs.length >= 2 && !!ctx.node.outputs[1]?.name;
  const padded = ax.some((w) => w.needLo || w.needHi);
  const lowest = isF ? -Infinity : LOWEST_INT[T];
  if (padded && lowest !== undefined && ax.length === 2 && !withIndices && ax.every((w) => w.pb >= 0)) {
    // a copy padded with the type's lowest value (-inf for floats): every tap reads in bounds (no
    // guards: the window loop vectorizes); the padding never replaces a maximum, so the result is the
    // in-bounds taps' (NaN rule unchanged)
    const P = ax.map((w) => Math.max(w.pb + w.I, (w.O - 1) * w.s + (w.K - 1) * w.d + 1));
    const xp = padCopy2d(ctx, X, ax, P, (x) => x, T, lowest);
    ctx.compute(0, (idx) => {
      const [n, c] = idx, os = idx.slice(2);
      const r = reduceAxes(ctx, ax.map((w) => w.K), 'k');
      const x = xp.at(n, c, ...os.map((o, a) => E.add(E.mul(o, E.i(ax[a].s)), E.mul(r.vars[a], E.i(ax[a].d)))));
      const f = firsts(os);
      if (!isF) return guard(f.valid, E.reduce('max', r.axes, x), E.c(0, T));
      const red = E.reduce('max', r.axes, E.select(E.call('isnan', x), E.c(-Infinity, T), x));
      const first = xp.at(n, c, ...os.map((o, a) => E.add(E.mul(o, E.i(ax[a].s)), E.mul(f.k[a], E.i(ax[a].d)))));
      return guard(f.valid, E.select(E.call('isnan', first), first, red), red);
    });
    return;
  }
  ctx.compute(0, (idx) => {
    const [n, c] = idx, os = idx.slice(2);
    const r = reduceAxes(ctx, ax.map((w) => w.K), 'k');
    const pos = os.map((o, a) => tapPos(ax[a], o, r.vars[a]));
    const inb = allOf(pos.flatMap((q, a) => inBounds(ax[a], q) ?? []));
    const x = X.at(n, c, ...pos);
    const low = E.c(lowest ?? -128, T);
    const f = firsts(os);
    if (!isF) return guard(f.valid, E.reduce('max', r.axes, guard(inb, x, low)), E.c(0, T));
    const ok = inb ? E.select(inb, E.not(E.call('isnan', x)), E.c(0, 'bool')) : E.not(E.call('isnan', x));
    const red = E.reduce('max', r.axes, E.select(ok, x, low));
    const first = X.at(n, c, ...os.map((o, a) => tapPos(ax[a], o, f.k[a])));
    return guard(f.valid, E.select(E.call('isnan', first), first, red), red);
  });
  if (ctx.outputs.length < 2 || !ctx.node.outputs[1]?.name) return;
  const Y = ctx.outputs[0];
  const colMajor = ctx.attrs.int('storage_order') === 1;
  const K = ax.map((w) => w.K);
  // ordinal (row-major over the window) of the tap that holds the maximum, -1 for an empty window
  const ord = tempCompute(ctx, 'argmax', 'i32', Y.shape, (idx) => {
    const [n, c] = idx, os = idx.slice(2);
    const r = reduceAxes(ctx, K, 'k');
    const pos = os.map((o, a) => tapPos(ax[a], o, r.vars[a]));
    const inb = allOf(pos.flatMap((q, a) => inBounds(ax[a], q) ?? []));
    const y = Y.at(...idx);
    const hit = inb ? E.select(inb, E.eq(X.at(n, c, ...pos), y), E.c(0, 'bool')) : E.eq(X.at(n, c, ...pos), y);
    const red = E.reduce('min', r.axes, E.select(hit, flatE(r.vars, K), E.i(2147483647)));
    const f = firsts(os);
    const pick = isF ? E.select(E.call('isnan', y), flatE(f.k, K), red) : red;
    return guard(f.valid, pick, E.i(-1));
  });
  const I = ax.map((w) => w.I);
  // spatial dims as (D, H, W) with leading size-1 axes, as the reference's index formula reads them
  const [D, H, Wd] = to3(I, 1);
  ctx.compute(1, (idx) => {
    const [n, c] = idx, os = idx.slice(2);
    const o = ord.at(...idx);
    let stride = 1;
    const pos: Expr[] = new Array<Expr>(ax.length);
    for (let a = ax.length - 1; a >= 0; a--) {
      const k = E.mod(E.div(o, E.i(stride)), E.i(K[a]));
      pos[a] = tapPos(ax[a], os[a], k);
      stride *= K[a];
    }
    const plane = E.mul(E.add(E.mul(n, E.i(C)), c), E.i(D * H * Wd));
    let off: Expr;
    if (!colMajor) off = flatE(pos, I);
    else {
      const [id, ih, iw] = [...new Array<Expr>(3 - pos.length).fill(E.i(0)), ...pos];
      off = E.add(E.add(ih, E.mul(iw, E.i(H))), E.mul(id, E.i(H * Wd)));
    }
    return E.cast(E.select(E.lt(o, E.i(0)), E.i(-1), E.add(plane, off)), 'i64');
  });
}

/** Global pooling: one reduction over the flattened spatial axes. */
function lowerGlobalPool(ctx: LowerCtx, mode: PoolMode): void {
  const X = need(ctx, 0), T = ctx.outputs[0].dtype;
  const [, C] = X.shape, S = numelOf(X.shape.slice(2));
  const p = mode === 'lp' ? ctx.attrs.int('p') : 0;
  ctx.compute(0, (idx) => {
    const [n, c] = idx;
    const base = E.mul(E.add(E.mul(n, E.i(C)), c), E.i(S));
    // a laid-out X (NC4HW4) is read through its index map, one reduction axis per spatial axis
    const r = reduceAxes(ctx, X.buf.layout ? X.shape.slice(2) : [S], 'r');
    const x = X.buf.layout ? X.at(n, c, ...r.vars) : X.flat(E.add(base, r.vars[0]));
    if (mode === 'max') {
      // reference: start at the first element, replace only by a strictly greater one
      const first = X.buf.layout ? X.at(n, c, ...r.vars.map(() => E.i(0))) : X.flat(base);
      const red = E.reduce('max', r.axes, E.select(E.call('isnan', x), E.c(-Infinity, T), x));
      return E.select(E.call('isnan', first), first, red);
    }
    if (mode === 'avg') {
      const A: ScalarType = T === 'f32' || T === 'f64' ? T : 'f64';
      return E.cast(E.div(E.reduce('sum', r.axes, E.cast(x, A)), E.c(S, A)), T);
    }
    const acc = E.reduce('sum', r.axes, E.bin('pow', E.call('fabs', f64(x)), c64(p)));
    return E.cast(E.bin('pow', acc, c64(1 / p)), T);
  });
}

/** MaxUnpool: zero the output, then scatter X to the flat indices I in order (later writes win). */
function lowerMaxUnpool(ctx: LowerCtx): void {
  const X = need(ctx, 0), Ix = need(ctx, 1), Y = ctx.outputs[0];
  const inferred = unpoolShape('MaxUnpool', X.shape, ctx.attrs, nodeLocation(ctx.node)) as number[];
  if (Y.shape.some((d, i) => d !== inferred[i])) ctx.unsupported(`output_shape [${Y.shape.join(', ')}] different from the default [${inferred.join(', ')}]`);
  const n = numelOf(Y.shape), m = numelOf(X.shape);
  const i = ctx.fresh('i'), j = ctx.fresh('j');
  const kk = ctx.fresh('k'), kv = E.v(kk, Ix.dtype);
  // out-of-range indices (an error in the reference) write nothing
  const ok = E.and(E.ge(kv, E.c(0, Ix.dtype)), E.lt(kv, E.c(n, Ix.dtype)));
  ctx.extern([0], S.seq(
    S.for(i, n, S.store(Y.buf.name, E.v(i), E.c(0, Y.dtype))),
    S.for(j, m, S.let(kk, Ix.dtype, Ix.flat(E.v(j)), S.if(ok, S.store(Y.buf.name, E.cast(kv, 'i32'), X.flat(E.v(j)))))),
  ));
}

/**
 * Per-group mean and biased variance in f64 over `cnt` elements read by `at(g, r)` (reduction index
 * r in [0, cnt), in the reference's order): mean = sum / cnt, var = sum((x - mean)^2) / cnt.
 */
function groupStats(ctx: LowerCtx, G: number, reduce: number[], at: (g: Expr, r: Expr[]) => Expr): { mean: TensorRef; variance: TensorRef } {
  const cnt = reduce.reduce((a, b) => a * b, 1);
  const mean = tempCompute(ctx, 'mean', 'f64', [G], ([g]) => {
    const r = reduceAxes(ctx, reduce, 'r');
    return E.div(E.reduce('sum', r.axes, f64(at(g, r.vars))), c64(cnt));
  });
  const variance = tempCompute(ctx, 'var', 'f64', [G], ([g]) => {
    const r = reduceAxes(ctx, reduce, 'r');
    const e = E.sub(f64(at(g, r.vars)), mean.at(g));
    return E.div(E.reduce('sum', r.axes, E.mul(e, e)), c64(cnt));
  });
  return { mean, variance };
}

function lowerBatchNorm(ctx: LowerCtx): void {
  const X = need(ctx, 0), scale = need(ctx, 1), B = need(ctx, 2), rmean = need(ctx, 3), rvar = need(ctx, 4);
  const T = ctx.outputs[0].dtype, eps = ctx.attrs.float('epsilon');
  const [N, C] = X.shape, inner = numelOf(X.shape.slice(2));
  const training = ctx.attrs.int('training_mode') !== 0;
  let mean: (c: Expr) => Expr = (c) => f64(rmean.at(c)), variance: (c: Expr) => Expr = (c) => f64(rvar.at(c));
  if (training) {
    // channel statistics over (n, spatial), n outer, as channelStats reads them
    const st = groupStats(ctx, C, [N, inner], (c, [n, i]) => X.flat(E.add(E.mul(E.add(E.mul(n, E.i(C)), c), E.i(inner)), i)));
    mean = (c) => st.mean.at(c); variance = (c) => st.variance.at(c);
  }
  ctx.compute(0, (idx) => {
    const c = idx[1];
    const k = E.div(f64(scale.at(c)), E.call('sqrt', E.add(variance(c), c64(eps))));
    return E.cast(E.add(E.mul(E.sub(f64(X.at(...idx)), mean(c)), k), f64(B.at(c))), T);
  });
  if (!training) return;
  const mom = ctx.attrs.float('momentum');
  const running = (o: number, prev: TensorRef, cur: (c: Expr) => Expr) => {
    if (ctx.outputs.length <= o || !ctx.node.outputs[o]?.name) return;
    ctx.compute(o, ([c]) => E.cast(E.add(E.mul(f64(prev.at(c)), c64(mom)), E.mul(cur(c), c64(1 - mom))), ctx.outputs[o].dtype));
  };
  running(1, rmean, mean);
  running(2, rvar, variance);
}

function lowerInstanceNorm(ctx: LowerCtx): void {
  const X = need(ctx, 0), scale = need(ctx, 1), B = need(ctx, 2);
  const T = ctx.outputs[0].dtype, eps = ctx.attrs.float('epsilon');
  const [N, C] = X.shape, inner = numelOf(X.shape.slice(2));
  const st = groupStats(ctx, N * C, [inner], (g, [i]) => X.flat(E.add(E.mul(g, E.i(inner)), i)));
  ctx.compute(0, (idx) => {
    const [n, c] = idx, g = E.add(E.mul(n, E.i(C)), c);
    const k = E.div(f64(scale.at(c)), E.call('sqrt', E.add(st.variance.at(g), c64(eps))));
    return E.cast(E.add(E.mul(E.sub(f64(X.at(...idx)), st.mean.at(g)), k), f64(B.at(c))), T);
  });
}

function lowerLayerNorm(ctx: LowerCtx): void {
  const X = need(ctx, 0), scale = need(ctx, 1), B = ctx.inputs[2];
  const r = X.shape.length, axis = normAxis(ctx.attrs.int('axis'), r, 'LayerNormalization');
  const T = ctx.outputs[0].dtype, eps = ctx.attrs.float('epsilon');
  const outer = numelOf(X.shape.slice(0, axis)), inner = numelOf(X.shape.slice(axis));
  const st = groupStats(ctx, outer, [inner], (o, [i]) => X.flat(E.add(E.mul(o, E.i(inner)), i)));
  const inv = tempCompute(ctx, 'inv', 'f64', [outer], ([o]) => E.div(c64(1), E.call('sqrt', E.add(st.variance.at(o), c64(eps)))));
  const outerOf = (idx: Expr[]) => flatE(idx.slice(0, axis), X.shape.slice(0, axis));
  ctx.compute(0, (idx) => {
    const o = outerOf(idx), nidx = idx.slice(axis);
    const y = E.mul(E.mul(E.sub(f64(X.at(...idx)), st.mean.at(o)), inv.at(o)), f64(bcastAt(scale, nidx)));
    return E.cast(E.add(y, B ? f64(bcastAt(B, nidx)) : c64(0)), T);
  });
  for (const [o, t] of [[1, st.mean], [2, inv]] as const) {
    if (ctx.outputs.length > o && ctx.node.outputs[o]?.name) ctx.compute(o, (idx) => E.cast(t.at(outerOf(idx)), ctx.outputs[o].dtype));
  }
}

function lowerGroupNorm(ctx: LowerCtx): void {
  const X = need(ctx, 0), scale = need(ctx, 1), B = need(ctx, 2);
  const T = ctx.outputs[0].dtype, eps = ctx.attrs.float('epsilon'), G = ctx.attrs.int('num_groups');
  const [N, C] = X.shape, inner = numelOf(X.shape.slice(2)), Cg = C / G;
  if (!Number.isInteger(Cg)) ctx.unsupported(`channels ${C} not divisible by num_groups ${G}`);
  const per = (t: TensorRef, c: Expr): Expr => {
    const n = numelOf(t.shape);
    if (n === C) return f64(t.flat(c));
    if (n === G) return f64(t.flat(E.div(c, E.i(Cg))));
    return ctx.unsupported(`scale/bias with ${n} values; expected ${G} or ${C}`);
  };
  const gsize = Cg * inner;
  const st = groupStats(ctx, N * G, [gsize], (g, [i]) => X.flat(E.add(E.mul(g, E.i(gsize)), i)));
  const inv = tempCompute(ctx, 'inv', 'f64', [N * G], ([g]) => E.div(c64(1), E.call('sqrt', E.add(st.variance.at(g), c64(eps)))));
  ctx.compute(0, (idx) => {
    const [n, c] = idx, g = E.add(E.mul(n, E.i(G)), E.div(c, E.i(Cg)));
    const k = E.mul(inv.at(g), per(scale, c));
    return E.cast(E.add(E.mul(E.sub(f64(X.at(...idx)), st.mean.at(g)), k), per(B, c)), T);
  });
}

function lowerLRN(ctx: LowerCtx): void {
  const X = need(ctx, 0), T = ctx.outputs[0].dtype;
  const size = ctx.attrs.int('size'), alpha = ctx.attrs.float('alpha'), beta = ctx.attrs.float('beta'), bias = ctx.attrs.float('bias');
  const C = X.shape[1], lo = Math.floor((size - 1) / 2);
  ctx.compute(0, (idx) => {
    const [n, c] = idx, rest = idx.slice(2);
    const r = reduceAxes(ctx, [size], 'r');
    const ch = E.add(E.sub(c, E.i(lo)), r.vars[0]);
    const v = f64(X.at(n, ch, ...rest));
    const s = E.reduce('sum', r.axes, E.select(E.and(E.ge(ch, E.i(0)), E.lt(ch, E.i(C))), E.mul(v, v), c64(0)));
    return E.cast(E.div(f64(X.at(...idx)), E.bin('pow', E.add(c64(bias), E.mul(c64(alpha / size), s)), c64(beta))), T);
  });
}

function lowerMVN(ctx: LowerCtx): void {
  const X = need(ctx, 0), T = ctx.outputs[0].dtype, shape = X.shape, r = shape.length;
  const axes = new Set(ctx.attrs.ints('axes').map((a) => normAxis(a, r, 'MeanVarianceNormalization')));
  const keep = shape.map((d, i) => (axes.has(i) ? 1 : d));
  const red = shape.filter((_, i) => axes.has(i));
  const G = numelOf(keep), cnt = numelOf(red);
  // element of group g (flat over `keep`) at reduction index rv (one per reduced axis, in axis order)
  const at = (g: Expr, rv: Expr[]) => {
    let k = 0, rem = g;
    const full: Expr[] = [];
    const gi: Expr[] = new Array<Expr>(r);
    for (let i = r - 1; i >= 0; i--) { gi[i] = E.mod(rem, E.i(keep[i])); rem = E.div(rem, E.i(keep[i])); }
    for (let i = 0; i < r; i++) full.push(axes.has(i) ? rv[k++] : gi[i]);
    return X.at(...full);
  };
  const st = groupStats(ctx, G, red, at);
  const std = tempCompute(ctx, 'std', 'f64', [G], ([g]) => E.add(E.call('sqrt', st.variance.at(g)), c64(1e-9)));
  ctx.compute(0, (idx) => {
    const g = flatE(idx.map((x, i) => (axes.has(i) ? E.i(0) : x)), keep);
    return E.cast(E.div(E.sub(f64(X.at(...idx)), st.mean.at(g)), std.at(g)), T);
  });
}

/**
 * Dropout: identity, mask all true. Training with ratio > 0 needs a random mask, which the reference
 * refuses; so is training_mode or ratio given only at run time (compiled code cannot refuse per run,
 * and a silent identity would be wrong for ratio > 0), unless the constants settle it.
 */
function lowerDropout(ctx: LowerCtx): void {
  const X = need(ctx, 0), tmIn = ctx.inputs[2], ratioIn = ctx.inputs[1];
  if (tmIn) {
    const tm = ctx.constValue(2), ratio = ratioIn ? ctx.constValue(1) : undefined;
    const r = ratioIn ? (ratio ? ratio.num[0] : undefined) : 0.5;
    const training = tm ? tm.size > 0 && tm.num[0] !== 0 : undefined;
    if (training !== false && r !== 0) {
      ctx.unsupported(training ? 'training mode with ratio > 0 (random mask)' : 'training_mode given at run time (training with ratio > 0 draws a random mask)');
    }
  }
  ctx.compute(0, (idx) => X.at(...idx));
  if (ctx.outputs.length > 1 && ctx.node.outputs[1]?.name) ctx.compute(1, () => E.c(1, ctx.outputs[1].dtype));
}
