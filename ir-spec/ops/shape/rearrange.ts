/**
 * DepthToSpace, SpaceToDepth, Compress, NonZero, OneHot, Trilu, ReverseSequence: rearrangements and selections.
 */
import { Tensor, diag, freshDim, isStatic, stridesOf, type Dim } from '@aic/core';
import { defineOp } from '../../registry.ts';
import type { EvalCtx, InferCtx, LowerCtx } from '../../types.ts';
import { CHECK_SEQUENCE_LENS, E, rangeMessage, numel, type Expr } from '@aic/loop-ir';
import { lowerCompressRuntime, lowerNonZeroRuntime } from '../../lib/dynamic.ts';
import { intList, product } from '../../lib/util.ts';
import { ALL, NUMERIC, requireDtype } from '../../lib/infer-helpers.ts';
import {
  axisMapCopy, copyTensor, elems, flatExpr, forEachIndex, transposeTensor, unflattenExpr,
} from '../../lib/shape.ts';
import { CAT, loc, verr, axisOf, i64, checkRank, vctx, inRef, constOf, F64, emitConstOut, lookup } from './common.ts';

// ---- DepthToSpace / SpaceToDepth ----------------------------------------------------------------------------
function blocksize(ctx: InferCtx | EvalCtx): number {
  const b = ctx.attrs.int('blocksize');
  if (b < 1) throw verr(ctx, `blocksize must be >= 1, got ${b}`);
  return b;
}
function d2sMode(ctx: InferCtx | EvalCtx): string {
  const m = ctx.attrs.str('mode');
  if (m !== 'DCR' && m !== 'CRD') throw diag.unsupportedAttr({ op: 'DepthToSpace' }, 'mode', m, loc(ctx));
  return m;
}
const dimMul = (d: Dim, k: number): Dim => (typeof d === 'number' ? d * k : freshDim());
const dimDiv = (d: Dim, k: number): Dim => (typeof d === 'number' ? d / k : freshDim());
defineOp({
  name: 'DepthToSpace', category: CAT, summary: 'move channel blocks into spatial blocks (DCR or CRD order)',
  types: { T: ALL },
  inputs: [{ name: 'input', type: 'T' }], outputs: [{ name: 'output', type: 'T' }],
  attrs: { blocksize: { type: 'int', required: true }, mode: { type: 'string', default: 'DCR' } },
  onnx: { since: 1 },
  lower: lowerDepthToSpace,
  infer: (ctx) => {
    const t = ctx.type(0);
    const b = blocksize(ctx); d2sMode(ctx);
    checkRank(ctx, t.shape, 4, 'input');
    if (!t.shape) return [{ dtype: t.dtype, shape: [freshDim(), freshDim(), freshDim(), freshDim()] }];
    const [n, c, h, w] = t.shape as [Dim, Dim, Dim, Dim];
    if (typeof c === 'number' && c % (b * b) !== 0) throw verr(ctx, `channels ${c} not divisible by blocksize^2 = ${b * b}`);
    return [{ dtype: t.dtype, shape: [n, dimDiv(c, b * b), dimMul(h, b), dimMul(w, b)] }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const b = blocksize(ctx), mode = d2sMode(ctx);
    checkRank(ctx, x.shape, 4, 'input');
    const [n, c, h, w] = x.shape as [number, number, number, number];
    if (c % (b * b) !== 0) throw verr(ctx, `channels ${c} not divisible by blocksize^2 = ${b * b}`);
    const c2 = c / (b * b);
    const y = mode === 'DCR'
      ? transposeTensor(x.reshape([n, b, b, c2, h, w]), [0, 3, 4, 1, 5, 2])
      : transposeTensor(x.reshape([n, c2, b, b, h, w]), [0, 1, 4, 2, 5, 3]);
    return [y.reshape([n, c2, h * b, w * b])];
  },
});
defineOp({
  name: 'SpaceToDepth', category: CAT, summary: 'move spatial blocks into channels',
  types: { T: ALL },
  inputs: [{ name: 'input', type: 'T' }], outputs: [{ name: 'output', type: 'T' }],
  attrs: { blocksize: { type: 'int', required: true } },
  onnx: { since: 1 },
  lower: lowerSpaceToDepth,
  infer: (ctx) => {
    const t = ctx.type(0);
    const b = blocksize(ctx);
    checkRank(ctx, t.shape, 4, 'input');
    if (!t.shape) return [{ dtype: t.dtype, shape: [freshDim(), freshDim(), freshDim(), freshDim()] }];
    const [n, c, h, w] = t.shape as [Dim, Dim, Dim, Dim];
    for (const d of [h, w]) if (typeof d === 'number' && d % b !== 0) throw verr(ctx, `spatial size ${d} not divisible by blocksize ${b}`);
    return [{ dtype: t.dtype, shape: [n, dimMul(c, b * b), dimDiv(h, b), dimDiv(w, b)] }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const b = blocksize(ctx);
    checkRank(ctx, x.shape, 4, 'input');
    const [n, c, h, w] = x.shape as [number, number, number, number];
    if (h % b !== 0 || w % b !== 0) throw verr(ctx, `spatial size ${h}x${w} not divisible by blocksize ${b}`);
    const y = transposeTensor(x.reshape([n, c, h / b, b, w / b, b]), [0, 3, 5, 1, 2, 4]);
    return [y.reshape([n, c * b * b, h / b, w / b])];
  },
});

// ---- Compress / NonZero / OneHot / Trilu / ReverseSequence -----------------------------------------------------
defineOp({
  name: 'Compress', category: CAT, summary: 'select slices along an axis (or of the flattened input) where condition is true',
  types: { T: ALL },
  inputs: [{ name: 'input', type: 'T' }, { name: 'condition', shapeData: true, countData: true }], outputs: [{ name: 'output', type: 'T' }],
  attrs: { axis: { type: 'int' } },
  onnx: { since: 9 },
  lower: lowerCompress,
  // at most every slice is kept
  maxShape: (ctx, outs) => {
    const t = ctx.type(0);
    if (!t.shape || !isStatic(t.shape)) return [undefined];
    if (!ctx.attrs.has('axis')) return [[numel(t.shape as number[])]];
    return [(outs[0]!.shape ?? []).map((d, k) => (typeof d === 'number' ? d : t.shape![k] as number))];
  },
  infer: (ctx) => {
    const t = ctx.type(0);
    requireDtype(ctx, 1, ['bool']);
    const c = ctx.constValue(1);
    const count: Dim = c ? c.toNumbers().filter((v) => v).length : freshDim();
    if (!ctx.attrs.has('axis')) return [{ dtype: t.dtype, shape: [count] }];
    if (!t.shape) return [{ dtype: t.dtype, shape: undefined }];
    const a = axisOf(ctx, ctx.attrs.int('axis'), t.shape.length);
    const s = t.shape.slice(); s[a] = count;
    return [{ dtype: t.dtype, shape: s }];
  },
  eval: (ctx) => {
    let x = ctx.input(0);
    const cond = ctx.input(1).toNumbers();
    let a = 0;
    if (ctx.attrs.has('axis')) a = axisOf(ctx, ctx.attrs.int('axis'), x.rank);
    else x = x.reshape([x.size]);
    if (cond.length > x.shape[a]!) throw verr(ctx, `condition has ${cond.length} entries for an axis of length ${x.shape[a]}`);
    const keep: number[] = [];
    cond.forEach((v, i) => { if (v) keep.push(i); });
    const maps = x.shape.map((d, k) => (k === a ? Int32Array.from(keep) : Int32Array.from({ length: d }, (_, i) => i)));
    const shape = x.shape.slice(); shape[a] = keep.length;
    return [axisMapCopy(x, shape, maps)];
  },
});

defineOp({
  name: 'NonZero', category: CAT, summary: 'indices of non-zero elements, shape [rank, count]',
  types: { T: [...NUMERIC, 'bool'] },
  inputs: [{ name: 'X', type: 'T', shapeData: true, countData: true }], outputs: [{ name: 'Y' }], attrs: {},
  onnx: { since: 9 },
  lower: lowerNonZero,
  // at most every element is non-zero
  maxShape: (ctx) => {
    const t = ctx.type(0);
    return [t.shape && isStatic(t.shape) ? [t.shape.length, numel(t.shape as number[])] : undefined];
  },
  infer: (ctx) => {
    const t = ctx.type(0);
    requireDtype(ctx, 0, [...NUMERIC, 'bool']);
    const c = ctx.constValue(0);
    const n: Dim = c ? c.toNumbers().filter((v) => v !== 0).length : freshDim();
    return [{ dtype: 'int64', shape: t.shape ? [t.shape.length, n] : [freshDim(), n] }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const hits: number[][] = [];
    const d = x.num;
    forEachIndex(x.shape, (idx, flat) => { if (d[flat] !== 0) hits.push(idx.slice()); });
    const r = x.rank, n = hits.length;
    const out = new Tensor('int64', [r, n]);
    for (let j = 0; j < n; j++) for (let k = 0; k < r; k++) out.num[k * n + j] = hits[j]![k]!;
    return [out];
  },
});

function onehotArgs(ctx: InferCtx | EvalCtx, depth: number): number {
  if (!(depth >= 1)) throw verr(ctx, `depth must be >= 1, got ${depth}`);
  return Math.trunc(depth);
}
defineOp({
  name: 'OneHot', category: CAT, summary: 'one-hot encode indices with [off, on] values along a new axis',
  types: { T1: NUMERIC, T2: NUMERIC, T3: ALL },
  inputs: [{ name: 'indices', type: 'T1' }, { name: 'depth', type: 'T2', shapeData: true }, { name: 'values', type: 'T3' }],
  outputs: [{ name: 'output', type: 'T3' }],
  attrs: { axis: { type: 'int', default: -1 } },
  onnx: { since: 9 },
  lower: lowerOneHot,
  infer: (ctx) => {
    const t = ctx.type(0), vt = ctx.type(2);
    requireDtype(ctx, 0, NUMERIC); requireDtype(ctx, 1, NUMERIC);
    const dc = ctx.constValue(1);
    const depth: Dim = dc ? onehotArgs(ctx, dc.num[0]!) : freshDim();
    if (!t.shape) return [{ dtype: vt.dtype, shape: undefined }];
    const a = axisOf(ctx, ctx.attrs.int('axis'), t.shape.length, 1);
    const s = t.shape.slice(); s.splice(a, 0, depth);
    return [{ dtype: vt.dtype, shape: s }];
  },
  eval: (ctx) => {
    const ind = ctx.input(0), dt = ctx.input(1), vals = ctx.input(2);
    if (dt.size !== 1) throw verr(ctx, 'depth must have one element');
    if (vals.size !== 2) throw verr(ctx, 'values must have two elements [off, on]');
    const depth = onehotArgs(ctx, dt.num[0]!);
    const a = axisOf(ctx, ctx.attrs.int('axis'), ind.rank, 1);
    const shape = ind.shape.slice(); shape.splice(a, 0, depth);
    const out = new Tensor(vals.dtype, shape);
    const od = elems(out), vd = elems(vals);
    const outer = product(ind.shape.slice(0, a)), inner = product(ind.shape.slice(a));
    const iv = ind.num;
    for (let o = 0; o < outer; o++) {
      for (let d = 0; d < depth; d++) {
        for (let i = 0; i < inner; i++) {
          let k = Math.trunc(iv[o * inner + i]!);
          if (k < 0) k += depth;
          od[(o * depth + d) * inner + i] = k === d ? vd[1]! : vd[0]!;
        }
      }
    }
    return [out];
  },
});

defineOp({
  name: 'Trilu', category: CAT, summary: 'keep the upper (or lower) triangle of the last two dims, offset by k',
  types: { T: ALL },
  inputs: [{ name: 'input', type: 'T' }, { name: 'k', optional: true }], outputs: [{ name: 'output', type: 'T' }],
  attrs: { upper: { type: 'int', default: 1 } },
  onnx: { since: 14 },
  lower: lowerTrilu,
  infer: (ctx) => {
    const t = ctx.type(0);
    if (ctx.inputTypes[1]) requireDtype(ctx, 1, ['int64']);
    if (t.shape && t.shape.length < 2) throw verr(ctx, 'input must have rank >= 2');
    return [{ dtype: t.dtype, shape: t.shape?.slice() }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    if (x.rank < 2) throw verr(ctx, 'input must have rank >= 2');
    const kt = ctx.optInput(1);
    const k = kt ? Math.trunc(kt.scalar()) : 0;
    const upper = ctx.attrs.int('upper') !== 0;
    const out = copyTensor(x);
    const od = elems(out);
    const h = x.shape[x.rank - 2]!, w = x.shape[x.rank - 1]!;
    const zero = x.dtype === 'string' ? '' : 0;
    const mats = product(x.shape.slice(0, -2));
    for (let m = 0; m < mats; m++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const keep = upper ? j - i >= k : j - i <= k;
          if (!keep) od[(m * h + i) * w + j] = zero;
        }
      }
    }
    return [out];
  },
});

defineOp({
  name: 'ReverseSequence', category: CAT, summary: 'reverse the first sequence_lens[b] steps of every batch entry along the time axis; a length outside [0, T] is a runtime error',
  types: { T: ALL },
  inputs: [{ name: 'input', type: 'T' }, { name: 'sequence_lens' }], outputs: [{ name: 'Y', type: 'T' }],
  attrs: { batch_axis: { type: 'int', default: 1 }, time_axis: { type: 'int', default: 0 } },
  onnx: { since: 10 },
  lower: lowerReverseSequence,
  infer: (ctx) => {
    const t = ctx.type(0);
    requireDtype(ctx, 1, ['int64']);
    const ba = ctx.attrs.int('batch_axis'), ta = ctx.attrs.int('time_axis');
    if (![0, 1].includes(ba) || ![0, 1].includes(ta) || ba === ta) throw verr(ctx, 'batch_axis and time_axis must be 0 and 1 in some order');
    if (t.shape && t.shape.length < 2) throw verr(ctx, 'input must have rank >= 2');
    return [{ dtype: t.dtype, shape: t.shape?.slice() }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const lens = intList(ctx.input(1));
    const ba = ctx.attrs.int('batch_axis'), ta = ctx.attrs.int('time_axis');
    if (![0, 1].includes(ba) || ![0, 1].includes(ta) || ba === ta) throw verr(ctx, 'batch_axis and time_axis must be 0 and 1 in some order');
    const B = x.shape[ba]!, T = x.shape[ta]!;
    if (lens.length !== B) throw verr(ctx, `sequence_lens has ${lens.length} entries for batch size ${B}`);
    const out = copyTensor(x);
    const sd = elems(x), od = elems(out);
    const st = stridesOf(x.shape);
    const inner = product(x.shape.slice(2));
    for (let b = 0; b < B; b++) {
      const L = lens[b]!;
      if (L < 0 || L > T) throw diag.runtime(ctx.node.op, rangeMessage(CHECK_SEQUENCE_LENS, L, T + 1), loc(ctx));
      for (let t = 0; t < L; t++) {
        const dst = b * st[ba]! + t * st[ta]!, src = b * st[ba]! + (L - 1 - t) * st[ta]!;
        for (let i = 0; i < inner; i++) od[dst + i] = sd[src + i]!;
      }
    }
    return [out];
  },
});


// ---- Compute definitions (lowering to loop IR); each mirrors the eval above. ----

/** out = reshape(transpose(reshape(x, src), perm)): each output element read through the permuted view. */
function lowerPermutedView(ctx: LowerCtx, src: number[], perm: number[]): void {
  const x = inRef(ctx, 0), out = ctx.outputs[0]!;
  if (numel(src) !== numel(x.shape) || numel(out.shape) !== numel(x.shape)) ctx.unsupported('size mismatch');
  const tShape = perm.map((p) => src[p]!);
  ctx.compute(0, (idx) => {
    const t = unflattenExpr(flatExpr(idx, out.shape), tShape);
    const s = new Array<Expr>(perm.length);
    perm.forEach((p, k) => { s[p] = t[k]!; });
    return x.flat(flatExpr(s, src));
  });
}
function lowerDepthToSpace(ctx: LowerCtx): void {
  const x = inRef(ctx, 0);
  const b = blocksize(vctx(ctx)), mode = d2sMode(vctx(ctx));
  if (x.shape.length !== 4) ctx.unsupported('input must have rank 4');
  const c = x.shape[1] as number;
  if (c % (b * b) !== 0) ctx.unsupported(`channels ${c} not divisible by blocksize^2`);
  const c2 = c / (b * b);
  // y[n, k, hh, ww] = x[n, channel(k, hh % b, ww % b), hh / b, ww / b]: per axis, not through a flat
  // index (one div/mod by the constant b per spatial index instead of a chain over the 6-D view)
  ctx.compute(0, ([ni, k, hh, ww]) => {
    const bh = E.mod(hh!, E.i(b)), bw = E.mod(ww!, E.i(b));
    const ch = mode === 'DCR'
      ? E.add(E.mul(E.add(E.mul(bh, E.i(b)), bw), E.i(c2)), k!)
      : E.add(E.mul(k!, E.i(b * b)), E.add(E.mul(bh, E.i(b)), bw));
    return x.at(ni!, ch, E.div(hh!, E.i(b)), E.div(ww!, E.i(b)));
  });
}
function lowerSpaceToDepth(ctx: LowerCtx): void {
  const x = inRef(ctx, 0);
  const b = blocksize(vctx(ctx));
  if (x.shape.length !== 4) ctx.unsupported('input must have rank 4');
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (h % b !== 0 || w % b !== 0) ctx.unsupported(`spatial size ${h}x${w} not divisible by blocksize ${b}`);
  lowerPermutedView(ctx, [n, c, h / b, b, w / b, b], [0, 3, 5, 1, 2, 4]);
}

function lowerCompress(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), out = ctx.outputs[0]!;
  const hasAxis = ctx.attrs.has('axis');
  const a = hasAxis ? axisOf(vctx(ctx), ctx.attrs.int('axis'), x.shape.length) : 0;
  if (!ctx.constValue(1)) return lowerCompressRuntime(ctx, hasAxis ? a : undefined);
  const cond = constOf(ctx, 1, 'condition').toNumbers();
  const len = hasAxis ? x.shape[a]! : numel(x.shape);
  if (cond.length > len) ctx.unsupported(`condition has ${cond.length} entries for an axis of length ${len}`);
  const keep: number[] = [];
  cond.forEach((v, i) => { if (v) keep.push(i); });
  if ((hasAxis ? out.shape[a] : out.shape[0]) !== keep.length) ctx.unsupported('output shape disagrees with the condition');
  const pick = lookup(ctx, keep);
  if (!hasAxis) ctx.compute(0, ([i]) => x.flat(pick(i!)));
  else ctx.compute(0, (idx) => x.at(...idx.map((v, k) => (k === a ? pick(v) : v))));
}

function lowerNonZero(ctx: LowerCtx): void {
  if (!ctx.constValue(0)) return lowerNonZeroRuntime(ctx);
  const x = constOf(ctx, 0, 'X');
  const hits: number[][] = [];
  const d = x.num;
  forEachIndex(x.shape, (idx, flat) => { if (d[flat] !== 0) hits.push(idx.slice()); });
  const r = x.rank, n = hits.length;
  const vals = new Array<number>(r * n);
  for (let j = 0; j < n; j++) for (let k = 0; k < r; k++) vals[k * n + j] = hits[j]![k]!;
  emitConstOut(ctx, 0, vals);
}

function lowerOneHot(ctx: LowerCtx): void {
  const ind = inRef(ctx, 0), vals = inRef(ctx, 2);
  const dt = constOf(ctx, 1, 'depth');
  if (dt.size !== 1) ctx.unsupported('depth must have one element');
  if (numel(vals.shape) !== 2) ctx.unsupported('values must have two elements [off, on]');
  const depth = onehotArgs(vctx(ctx), dt.num[0]!);
  const a = axisOf(vctx(ctx), ctx.attrs.int('axis'), ind.shape.length, 1);
  ctx.compute(0, (idx) => {
    // as the reference: k = trunc(index) (in double precision), negative counts from the end
    const k = E.call('trunc', E.cast(ind.at(...idx.slice(0, a), ...idx.slice(a + 1)), 'f64'));
    const kk = E.select(E.lt(k, F64(0)), E.add(k, F64(depth)), k);
    return E.select(E.eq(kk, E.cast(idx[a]!, 'f64')), vals.flat(E.i(1)), vals.flat(E.i(0)));
  });
}

function lowerTrilu(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), out = ctx.outputs[0]!;
  const r = x.shape.length;
  if (r < 2) ctx.unsupported('input must have rank >= 2');
  let k: Expr = E.c(0, 'i64');
  const kt = ctx.inputs[1];
  if (kt) {
    if (numel(kt.shape) !== 1) ctx.unsupported('k must have one element');
    const kc = ctx.constValue(1);
    k = kc ? E.c(Math.trunc(kc.scalar()), 'i64') : E.cast(kt.flat(E.i(0)), 'i64');
  }
  const upper = ctx.attrs.int('upper') !== 0;
  ctx.compute(0, (idx) => {
    const diff = E.cast(E.sub(idx[r - 1]!, idx[r - 2]!), 'i64');
    return E.select(upper ? E.ge(diff, k) : E.le(diff, k), x.at(...idx), E.c(0, out.dtype));
  });
}

function lowerReverseSequence(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), lens = inRef(ctx, 1);
  const ba = ctx.attrs.int('batch_axis'), ta = ctx.attrs.int('time_axis');
  if (![0, 1].includes(ba) || ![0, 1].includes(ta) || ba === ta || x.shape.length < 2) ctx.unsupported('invalid batch_axis / time_axis');
  const B = x.shape[ba]!, T = x.shape[ta]!;
  if (numel(lens.shape) !== B) ctx.unsupported(`sequence_lens has ${numel(lens.shape)} entries for batch size ${B}`);
  ctx.compute(0, (idx) => {
    // a length outside [0, T] is a runtime error, as in the reference
    const L = E.call('check_range', lens.flat(idx[ba]!), E.i(T + 1), E.i(CHECK_SEQUENCE_LENS));
    const t = idx[ta]!;
    const src = E.select(E.lt(t, L), E.sub(E.sub(L, E.i(1)), t), t);
    return x.at(...idx.map((v, k) => (k === ta ? src : v)));
  });
}
