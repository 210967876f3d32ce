/**
 * Pooling: AveragePool, MaxPool, LpPool, their Global forms, MaxUnpool.
 */
import { Tensor, diag, freshDim, freshDims, nodeLocation, type DType, type Dim, type Location } from '@aic/core';
import { defineOp } from '../../registry.ts';
import type { AttrReader, EvalCtx, InferCtx, LowerCtx, OpDef, OutType } from '../../types.ts';
import { E, S, numel as numelOf, type Expr, type ScalarType, type TensorRef } from '@aic/loop-ir';
import { FLOATS, requireDtype } from '../../lib/infer-helpers.ts';
import { intList, product } from '../../lib/util.ts';
import {
  allOf, axisInts, c64, f64, firstTap, guard, inBounds, poolDirect, reduceAxes, tapCountE, tapPos,
  tempCompute, to3, winAxes, windowGeometry, type PoolGeom, type PoolMode, type WinAxis,
} from '../../lib/nn.ts';
import { nn as V } from '../../vjp/index.ts';
import {
  CAT, INTS_OPT, AUTO_PAD, loc, numel, fromF64, requireNC, checkSpatialSupported, need, flatE, padCopy2d,
} from './common.ts';

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


// ---- Compute definitions (lowering to loop IR): each mirrors its eval above, accumulating in float64. ----

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
