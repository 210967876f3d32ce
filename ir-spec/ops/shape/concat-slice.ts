/**
 * Concat, Split, Slice: ops that join or cut a tensor along an axis.
 */
import { Tensor, diag, freshDim, type Dim } from '@aic/core';
import { defineOp } from '../../registry.ts';
import type { EvalCtx, InferCtx, LowerCtx } from '../../types.ts';
import { E, type TensorRef } from '@aic/loop-ir';
import { concatAt } from '../../lib/lower.ts';
import { channelSpanCopy } from '../../lib/layout.ts';
import { intList, product } from '../../lib/util.ts';
import { ALL, sameDtypes } from '../../lib/infer-helpers.ts';
import * as V from '../../vjp/index.ts';
import { axisMapCopy, elems } from '../../lib/shape.ts';
import { CAT, INDEX, loc, verr, axisOf, constInts, optInts, attrToInput, vctx, inRef, constIntsOf } from './common.ts';

// ---- Concat / Split ------------------------------------------------------------------------------------
defineOp({
  name: 'Concat', category: CAT, vjp: V.shape.concat, summary: 'concatenate tensors along an axis',
  types: { T: ALL },
  inputs: [{ name: 'inputs', type: 'T', variadic: true }], outputs: [{ name: 'concat_result', type: 'T' }],
  attrs: { axis: { type: 'int', required: true } },
  onnx: { since: 1, fromOnnx: (v) => { if (v.opset < 4 && !v.attrs.axis) v.attrs.axis = { type: 'int', value: 1 }; } },
  lower: lowerConcat,
  infer: (ctx) => {
    if (ctx.inputTypes.length === 0) throw verr(ctx, 'needs at least one input');
    sameDtypes(ctx);
    const ts = ctx.inputTypes.map((_, i) => ctx.type(i));
    const known = ts.find((t) => t.shape);
    if (!known) return [{ dtype: ts[0]!.dtype, shape: undefined }];
    const r = known.shape!.length;
    const a = axisOf(ctx, ctx.attrs.int('axis'), r);
    const out: Dim[] = known.shape!.slice();
    let sum: Dim = 0;
    for (const t of ts) {
      if (!t.shape) { sum = freshDim(); continue; }
      if (t.shape.length !== r) throw diag.shapeMismatch('Concat', `inputs have ranks ${r} and ${t.shape.length}`, loc(ctx));
      t.shape.forEach((d, i) => {
        if (i === a) return;
        if (typeof d === 'number' && typeof out[i] === 'number' && d !== out[i]) {
          throw diag.shapeMismatch('Concat', `dimension ${i} differs: ${out[i]} vs ${d}`, loc(ctx));
        }
        if (typeof out[i] !== 'number') out[i] = d;
      });
      const d = t.shape[a]!;
      sum = typeof sum === 'number' && typeof d === 'number' ? sum + d : freshDim();
    }
    out[a] = sum;
    return [{ dtype: ts[0]!.dtype, shape: out }];
  },
  eval: (ctx) => {
    const xs = ctx.inputs.map((_, i) => ctx.input(i));
    const r = xs[0]!.rank;
    const a = axisOf(ctx, ctx.attrs.int('axis'), r);
    for (const x of xs) {
      if (x.rank !== r || x.shape.some((d, i) => i !== a && d !== xs[0]!.shape[i])) {
        throw diag.shapeMismatch('Concat', `cannot concatenate [${xs[0]!.shape.join(', ')}] and [${x.shape.join(', ')}] on axis ${a}`, loc(ctx));
      }
      if (x.dtype !== xs[0]!.dtype) throw diag.typeMismatch('Concat input', xs[0]!.dtype, x.dtype, loc(ctx));
    }
    const outShape = xs[0]!.shape.slice();
    outShape[a] = xs.reduce((s, x) => s + x.shape[a]!, 0);
    const out = new Tensor(xs[0]!.dtype, outShape);
    const od = elems(out);
    const outer = product(outShape.slice(0, a)), inner = product(outShape.slice(a + 1));
    let pos = 0;
    for (let o = 0; o < outer; o++) {
      for (const x of xs) {
        const chunk = x.shape[a]! * inner, sd = elems(x);
        for (let i = 0; i < chunk; i++) od[pos++] = sd[o * chunk + i]!;
      }
    }
    return [out];
  },
});

function splitSizes(ctx: InferCtx | EvalCtx, dim: number | undefined, split: number[] | undefined): number[] | undefined {
  const n = ctx.outputCount;
  if (split) {
    if (split.length !== n) throw verr(ctx, `split has ${split.length} entries but the node has ${n} outputs`);
    if (split.some((s) => s < 0)) throw verr(ctx, 'split entries must be >= 0');
    if (dim !== undefined && split.reduce((a, b) => a + b, 0) !== dim) {
      throw diag.shapeMismatch(ctx.node.op, `split [${split.join(', ')}] does not sum to the axis length ${dim}`, loc(ctx));
    }
    return split;
  }
  if (dim === undefined) return undefined;
  if (ctx.attrs.has('num_outputs')) {
    const k = ctx.attrs.int('num_outputs');
    if (k < 1 || k !== n) throw verr(ctx, `num_outputs=${k} but the node has ${n} outputs`);
    const c = Math.ceil(dim / k);
    const res = Array.from({ length: k }, (_, i) => Math.max(0, Math.min(c, dim - i * c)));
    if (res[k - 1] === 0 && dim > 0 && c * (k - 1) >= dim) throw verr(ctx, `cannot split ${dim} into ${k} chunks of ${c}`);
    return res;
  }
  if (dim % n !== 0) throw diag.shapeMismatch(ctx.node.op, `axis length ${dim} does not split evenly into ${n} outputs`, loc(ctx));
  return new Array<number>(n).fill(dim / n);
}
defineOp({
  name: 'Split', category: CAT, vjp: V.shape.split, summary: 'split into parts along an axis (sizes given, num_outputs or equal parts)',
  types: { T: ALL },
  inputs: [{ name: 'input', type: 'T' }, { name: 'split', optional: true, shapeData: true }],
  outputs: [{ name: 'outputs', type: 'T', variadic: true }],
  attrs: { axis: { type: 'int', default: 0 }, num_outputs: { type: 'int' } },
  onnx: { since: 2, fromOnnx: (v) => attrToInput(v, 'split', 1) },
  lower: lowerSplit,
  infer: (ctx) => {
    const t = ctx.type(0);
    const n = ctx.outputCount;
    if (!t.shape) return Array.from({ length: n }, () => ({ dtype: t.dtype, shape: undefined }));
    const a = axisOf(ctx, ctx.attrs.int('axis'), t.shape.length);
    const d = t.shape[a];
    const hasSplit = ctx.inputTypes[1] !== undefined;
    const split = hasSplit ? constInts(ctx, 1) : undefined;
    const sizes = hasSplit && !split ? undefined : splitSizes(ctx, typeof d === 'number' ? d : undefined, split);
    return Array.from({ length: n }, (_, i) => {
      const s = t.shape!.slice();
      s[a] = sizes ? sizes[i]! : freshDim();
      return { dtype: t.dtype, shape: s };
    });
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const a = axisOf(ctx, ctx.attrs.int('axis'), x.rank);
    const sizes = splitSizes(ctx, x.shape[a]!, optInts(ctx, 1))!;
    let start = 0;
    return sizes.map((sz) => {
      const maps = x.shape.map((d, k) => (k === a ? Int32Array.from({ length: sz }, (_, i) => start + i) : Int32Array.from({ length: d }, (_, i) => i)));
      const shape = x.shape.slice(); shape[a] = sz;
      start += sz;
      return axisMapCopy(x, shape, maps);
    });
  },
});

// ---- Slice -------------------------------------------------------------------------------------------
interface SliceAxis { start: number; step: number; count: number }
/** Resolve one axis of a Slice against a static dim (clamping as the spec says). */
function sliceAxis(dim: number, start: number, end: number, step: number): SliceAxis {
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = Math.min(Math.max(start, 0), dim);
    end = Math.min(Math.max(end, 0), dim);
    return { start, step, count: Math.max(0, Math.ceil((end - start) / step)) };
  }
  start = Math.min(Math.max(start, 0), dim - 1);
  end = Math.min(Math.max(end, -1), dim - 1);
  return { start, step, count: Math.max(0, Math.ceil((end - start) / step)) };
}
function sliceArgs(ctx: InferCtx | EvalCtx, rank: number, starts: number[], ends: number[], axes: number[] | undefined,
  steps: number[] | undefined): { axes: number[]; starts: number[]; ends: number[]; steps: number[] } {
  if (ends.length !== starts.length) throw verr(ctx, 'starts and ends must have the same length');
  const ax = axes ?? starts.map((_, i) => i);
  const st = steps ?? starts.map(() => 1);
  if (ax.length !== starts.length || st.length !== starts.length) throw verr(ctx, 'starts, ends, axes and steps must have the same length');
  const na = ax.map((a) => axisOf(ctx, a, rank));
  if (new Set(na).size !== na.length) throw verr(ctx, 'axes contains duplicates');
  if (st.some((s) => s === 0)) throw verr(ctx, 'steps must not be 0');
  return { axes: na, starts, ends, steps: st };
}
defineOp({
  name: 'Slice', category: CAT, vjp: V.shape.slice, summary: 'strided slice along the given axes (negative steps, clamped bounds)',
  types: { T: ALL, Tind: INDEX },
  inputs: [
    { name: 'data', type: 'T' }, { name: 'starts', type: 'Tind', shapeData: true }, { name: 'ends', type: 'Tind', shapeData: true },
    { name: 'axes', type: 'Tind', optional: true, shapeData: true }, { name: 'steps', type: 'Tind', optional: true, shapeData: true },
  ],
  outputs: [{ name: 'output', type: 'T' }], attrs: {},
  onnx: {
    since: 1,
    fromOnnx: (v) => {
      if (v.opset >= 10) return;
      if (!v.attrs.starts || !v.attrs.ends) return;
      const axes = v.attrs.axes;
      attrToInput(v, 'starts', 1); attrToInput(v, 'ends', 2);
      if (axes) attrToInput(v, 'axes', 3);
    },
  },
  lower: lowerSlice,
  infer: (ctx) => {
    const t = ctx.type(0);
    if (!t.shape) return [{ dtype: t.dtype, shape: undefined }];
    const starts = constInts(ctx, 1), ends = constInts(ctx, 2);
    const axes = ctx.inputTypes[3] ? constInts(ctx, 3) : undefined;
    const steps = ctx.inputTypes[4] ? constInts(ctx, 4) : undefined;
    if (!starts || !ends || (ctx.inputTypes[3] && !axes) || (ctx.inputTypes[4] && !steps)) {
      return [{ dtype: t.dtype, shape: t.shape.map(() => freshDim()) }];
    }
    const args = sliceArgs(ctx, t.shape.length, starts, ends, axes, steps);
    const out = t.shape.slice();
    args.axes.forEach((a, i) => {
      const d = out[a]!;
      out[a] = typeof d === 'number' ? sliceAxis(d, args.starts[i]!, args.ends[i]!, args.steps[i]!).count : freshDim();
    });
    return [{ dtype: t.dtype, shape: out }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const args = sliceArgs(ctx, x.rank, intList(ctx.input(1)), intList(ctx.input(2)), optInts(ctx, 3), optInts(ctx, 4));
    const maps = x.shape.map((d) => Int32Array.from({ length: d }, (_, i) => i));
    const shape = x.shape.slice();
    args.axes.forEach((a, i) => {
      const s = sliceAxis(x.shape[a]!, args.starts[i]!, args.ends[i]!, args.steps[i]!);
      shape[a] = s.count;
      maps[a] = Int32Array.from({ length: s.count }, (_, k) => s.start + k * s.step);
    });
    return [axisMapCopy(x, shape, maps)];
  },
});


// ---- Compute definitions (lowering to loop IR); each mirrors the eval above. ----

function lowerConcat(ctx: LowerCtx): void {
  const xs = ctx.inputs.map((_, i) => inRef(ctx, i));
  const out = ctx.outputs[0]!;
  const r = out.shape.length;
  const a = axisOf(vctx(ctx), ctx.attrs.int('axis'), r);
  for (const x of xs) {
    if (x.shape.length !== r || x.shape.some((d, i) => i !== a && d !== out.shape[i])) ctx.unsupported('inputs disagree outside the axis');
  }
  const parts: { x: TensorRef; off: number }[] = [];
  let off = 0;
  for (const x of xs) { if (x.shape[a]! > 0) parts.push({ x, off }); off += x.shape[a]!; }
  // channel-blocked parts on whole blocks: contiguous span copies (lib/layout.ts)
  const spans = a === 1 && parts.length ? channelSpanCopy(ctx, out, parts.map((p) => ({ t: p.x, off: p.off })), 'whole') : undefined;
  if (spans) { ctx.extern([0], spans); return; }
  ctx.compute(0, (idx) => (parts.length === 0 ? E.c(0, out.dtype) : concatAt(parts, a, idx)));
}

function lowerSplit(ctx: LowerCtx): void {
  const x = inRef(ctx, 0);
  const a = axisOf(vctx(ctx), ctx.attrs.int('axis'), x.shape.length);
  const split = ctx.inputs[1] ? constIntsOf(ctx, 1, 'split') : undefined;
  const sizes = splitSizes(vctx(ctx), x.shape[a]!, split)!;
  let start = 0;
  const outs = sizes.map((sz, o) => { const t = ctx.outputs[o], s0 = start; start += sz; return { t, off: s0, sz }; });
  start = 0;
  const live = outs.filter((p) => p.t && p.t.buf.role !== 'scratch' && p.t.shape[a] === p.sz);
  // channel-blocked outputs on whole blocks: contiguous span copies (lib/layout.ts)
  const spans = a === 1 && live.length === outs.length ? channelSpanCopy(ctx, x, live.map((p) => ({ t: p.t!, off: p.off })), 'parts') : undefined;
  if (spans) { ctx.extern(live.map((_, o) => o), spans); return; }
  sizes.forEach((sz, o) => {
    const s0 = start;
    start += sz;
    const out = ctx.outputs[o];
    if (!out || out.buf.role === 'scratch') return; // omitted output
    if (out.shape[a] !== sz) ctx.unsupported(`output ${o} has ${out.shape[a]} entries on the axis, expected ${sz}`);
    ctx.compute(o, (idx) => x.at(...idx.map((v, k) => (k === a ? E.add(v, E.i(s0)) : v))));
  });
}

function lowerSlice(ctx: LowerCtx): void {
  const x = inRef(ctx, 0);
  const r = x.shape.length;
  const args = sliceArgs(vctx(ctx), r, constIntsOf(ctx, 1, 'starts'), constIntsOf(ctx, 2, 'ends'),
    ctx.inputs[3] ? constIntsOf(ctx, 3, 'axes') : undefined, ctx.inputs[4] ? constIntsOf(ctx, 4, 'steps') : undefined);
  const st = x.shape.map(() => ({ start: 0, step: 1 }));
  args.axes.forEach((a, i) => { st[a] = sliceAxis(x.shape[a]!, args.starts[i]!, args.ends[i]!, args.steps[i]!); });
  ctx.compute(0, (idx) => x.at(...idx.map((v, k) => E.add(E.mul(v, E.i(st[k]!.step)), E.i(st[k]!.start)))));
}
