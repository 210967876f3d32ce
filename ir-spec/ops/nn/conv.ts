/**
 * Conv, ConvTranspose, ConvInteger: direct convolutions (lowerConvLike is shared with the quantized convs).
 */
import { Tensor, diag, freshDim, nodeLocation, type Dim, type Location, type TensorType } from '@aic/core';
import { defineOp } from '../../registry.ts';
import type { AttrReader, EvalCtx, InferCtx, LowerCtx, OutType } from '../../types.ts';
import { E, numel as numelOf, type Expr, type ScalarType } from '@aic/loop-ir';
import { FLOATS, requireDtype } from '../../lib/infer-helpers.ts';
import { product } from '../../lib/util.ts';
import {
  allOf, c64, convDirect, convTransposeDirect, f64, guard, readAutoPad, reduceAxes, tapPos, tempCompute, to3,
  winAxes, windowGeometry, convTransposeGeometry, type ConvGeom, type Window,
} from '../../lib/nn.ts';
import { nn as V } from '../../vjp/index.ts';
import {
  CAT, INTS_OPT, AUTO_PAD, Q8, loc, numel, staticNumel, fromF64, requireNC, checkSpatialSupported, need,
  padCopy2d,
} from './common.ts';

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


// ---- Compute definitions (lowering to loop IR): each mirrors its eval above, accumulating in float64. ----

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
