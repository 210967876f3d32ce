/**
 * Normalizations: BatchNormalization, InstanceNormalization, LayerNormalization, GroupNormalization, LRN,
 * MeanVarianceNormalization.
 */
import { Tensor, diag, freshDim, type DType, type Dim, type Location } from '@aic/core';
import { defineOp } from '../../registry.ts';
import type { InferCtx, LowerCtx, OnnxImportView, OutType } from '../../types.ts';
import { E, numel as numelOf, type Expr, type TensorRef } from '@aic/loop-ir';
import { FLOATS, requireDtype } from '../../lib/infer-helpers.ts';
import { bcastAt } from '../../lib/lower.ts';
import { normAxis, product } from '../../lib/util.ts';
import { c64, f64, reduceAxes, stagedTemp } from '../../lib/nn.ts';
import { nn as V } from '../../vjp/index.ts';
import { CAT, loc, numel, staticNumel, fromF64, requireNC, need, flatE } from './common.ts';

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


// ---- Compute definitions (lowering to loop IR): each mirrors its eval above, accumulating in float64. ----

/**
 * Per-group mean and biased variance in f64 over `cnt` elements read by `at(g, r)` (reduction index
 * r in [0, cnt), in the reference's order): mean = sum / cnt, var = sum((x - mean)^2) / cnt.
 */
function groupStats(ctx: LowerCtx, G: number, reduce: number[], at: (g: Expr, r: Expr[]) => Expr): { mean: TensorRef; variance: TensorRef } {
  const cnt = reduce.reduce((a, b) => a * b, 1);
  const mean = stagedTemp(ctx, 'mean', 'f64', [G], ([g]) => {
    const r = reduceAxes(ctx, reduce, 'r');
    return E.div(E.reduce('sum', r.axes, f64(at(g, r.vars))), c64(cnt));
  });
  const variance = stagedTemp(ctx, 'var', 'f64', [G], ([g]) => {
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
  const inv = stagedTemp(ctx, 'inv', 'f64', [outer], ([o]) => E.div(c64(1), E.call('sqrt', E.add(st.variance.at(o), c64(eps)))));
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
  const inv = stagedTemp(ctx, 'inv', 'f64', [N * G], ([g]) => E.div(c64(1), E.call('sqrt', E.add(st.variance.at(g), c64(eps)))));
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
  const std = stagedTemp(ctx, 'std', 'f64', [G], ([g]) => E.add(E.call('sqrt', st.variance.at(g)), c64(1e-9)));
  ctx.compute(0, (idx) => {
    const g = flatE(idx.map((x, i) => (axes.has(i) ? E.i(0) : x)), keep);
    return E.cast(E.div(E.sub(f64(X.at(...idx)), st.mean.at(g)), std.at(g)), T);
  });
}
