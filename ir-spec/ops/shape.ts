/**
 * Shape and data-movement ops: Identity, Constant, Reshape, Transpose, Squeeze/Unsqueeze, Flatten, Concat,
 * Split, Slice, Gather*, Scatter*, Expand, Tile, Pad, Shape, Size, ConstantOfShape, Range, DepthToSpace,
 * SpaceToDepth, Compress, EyeLike, OneHot, NonZero, Trilu, ReverseSequence, Resize (and Upsample).
 */
import {
  Tensor, castScalar, diag, dtypeFromOnnx, freshDim, freshDims, isFloat, isStatic, nodeLocation, stridesOf,
  type Attr, type DType, type Dim, type Shape,
} from '@aic/core';
import { defineOp } from '../registry.ts';
import type { EvalCtx, InferCtx, LowerCtx, OnnxImportView, OpDef, OutType } from '../types.ts';
import { CHECK_SEQUENCE_LENS, E, S, indexOutOfBounds, rangeMessage, isFloatT, lowerCompute, mapStmt, numel, type Expr, type ScalarType, type Stmt, type TensorRef } from '@aic/loop-ir';
import { bcastAt, concatAt } from '../lib/lower.ts';
import { lowerCompressRuntime, lowerNonZeroRuntime } from '../lib/dynamic.ts';
import { channelSpanCopy } from '../lib/layout.ts';
import { intList, product } from '../lib/util.ts';
import { ALL, FLOATS, INTS, NUMERIC, requireDtype, sameDtypes } from '../lib/infer-helpers.ts';
import * as V from '../vjp/index.ts';
import {
  affineOf, axisMapCopy, constStores, copyTensor, dimProd, elems, flatExpr, forEachIndex, normIndexExpr, planAxis, reducer,
  resizeData, transposeTensor, unflattenExpr, type ResizeParams,
} from '../lib/shape.ts';

const CAT = 'shape';
const INDEX: readonly DType[] = ['int32', 'int64'];
const loc = (ctx: InferCtx | EvalCtx) => nodeLocation(ctx.node);
const verr = (ctx: InferCtx | EvalCtx, msg: string) => diag.verify(ctx.node.op, msg, loc(ctx));

/** Normalize an axis in [-r, r) (or [-r-1, r] with `extra`) or throw a verify error. */
function axisOf(ctx: InferCtx | EvalCtx, axis: number, rank: number, extra = 0): number {
  const a = axis < 0 ? axis + rank + extra : axis;
  if (a < 0 || a >= rank + extra) throw verr(ctx, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}
function constInts(ctx: InferCtx, i: number): number[] | undefined {
  const t = ctx.constValue(i);
  return t ? intList(t) : undefined;
}
function optInts(ctx: EvalCtx, i: number): number[] | undefined {
  const t = ctx.optInput(i);
  return t ? intList(t) : undefined;
}
const rankOf = (s: Shape) => s?.length;
const i64 = (values: number[]) => Tensor.fromNumbers('int64', [values.length], values);
/** Move attribute `name` (ints) to input position k as an int64 constant. */
function attrToInput(v: OnnxImportView, name: string, k: number, make: (a: Attr) => Tensor = (a) => i64(a.value as number[])): void {
  const a = v.attrs[name];
  if (a === undefined) return;
  while (v.inputs.length < k) v.inputs.push(null);
  v.inputs[k] = v.constInput(make(a));
  delete v.attrs[name];
}
function checkRank(ctx: InferCtx | EvalCtx, shape: readonly unknown[] | undefined, want: number, what: string): void {
  if (shape && shape.length !== want) throw verr(ctx, `${what} must have rank ${want}, got ${shape.length}`);
}

// ---- Identity / Constant ----------------------------------------------------------------------------
defineOp({
  name: 'Identity', category: CAT, vjp: V.ew.identity, summary: 'returns its input (tensor, sequence or optional) unchanged',
  types: { V: ALL },
  inputs: [{ name: 'input', type: 'V' }], outputs: [{ name: 'output', type: 'V' }], attrs: {},
  onnx: { since: 1 },
  lower: lowerCopy,
  infer: (ctx) => {
    const t = ctx.type(0);
    return [{ dtype: t.dtype, shape: t.shape?.slice(), kind: ctx.node.inputs[0]?.kind ?? 'tensor' }];
  },
  eval: (ctx) => [ctx.inputs[0] ?? null],
});

function constantTensor(ctx: InferCtx | EvalCtx): Tensor {
  const a = ctx.attrs;
  const set = ['value', 'value_float', 'value_floats', 'value_int', 'value_ints', 'value_string', 'value_strings', 'sparse_value']
    .filter((n) => a.has(n));
  if (set.length !== 1) throw verr(ctx, `exactly one value attribute must be set, got ${set.length ? set.join(', ') : 'none'}`);
  switch (set[0]) {
    case 'value': return a.tensor('value');
    case 'value_float': return Tensor.fromNumbers('float32', [], [a.float('value_float')]);
    case 'value_floats': { const v = a.floats('value_floats'); return Tensor.fromNumbers('float32', [v.length], v); }
    case 'value_int': return Tensor.fromNumbers('int64', [], [a.int('value_int')]);
    case 'value_ints': return i64(a.ints('value_ints'));
    case 'value_string': return new Tensor('string', [], [a.str('value_string')]);
    case 'value_strings': { const v = a.strs('value_strings'); return new Tensor('string', [v.length], v.slice()); }
    default: throw diag.unsupportedFeature('Constant with sparse_value', loc(ctx));
  }
}
defineOp({
  name: 'Constant', category: CAT, summary: 'a constant tensor given by one of its value attributes',
  inputs: [], outputs: [{ name: 'output' }],
  attrs: {
    value: { type: 'tensor' }, value_float: { type: 'float' }, value_floats: { type: 'floats' },
    value_int: { type: 'int' }, value_ints: { type: 'ints' }, value_string: { type: 'string' },
    value_strings: { type: 'strings' }, sparse_value: { type: 'tensor' },
  },
  onnx: { since: 1 },
  lower: lowerConstant,
  infer: (ctx) => { const t = constantTensor(ctx); return [{ dtype: t.dtype, shape: t.shape.slice() }]; },
  eval: (ctx) => [copyTensor(constantTensor(ctx))],
});

// ---- Reshape / Flatten / Squeeze / Unsqueeze -----------------------------------------------------------
function reshapeDims(ctx: InferCtx | EvalCtx, inShape: readonly Dim[], spec: readonly number[], allowzero: boolean): Dim[] {
  const out: Dim[] = [];
  let neg = -1;
  spec.forEach((s, i) => {
    if (s === -1) {
      if (neg >= 0) throw verr(ctx, 'at most one dimension of the new shape may be -1');
      neg = i; out.push(-1);
    } else if (s === 0 && !allowzero) {
      if (i >= inShape.length) throw verr(ctx, `shape[${i}] = 0 copies a dimension the input (rank ${inShape.length}) does not have`);
      out.push(inShape[i]!);
    } else if (s < 0) throw verr(ctx, `invalid shape value ${s}`);
    else out.push(s);
  });
  if (allowzero && neg >= 0 && spec.includes(0)) throw verr(ctx, 'shape may not contain both 0 and -1 when allowzero=1');
  const total = dimProd(inShape);
  if (neg >= 0) {
    const known = dimProd(out.filter((_, i) => i !== neg));
    if (typeof total === 'number' && typeof known === 'number') {
      if (known === 0 || total % known !== 0) throw diag.shapeMismatch(ctx.node.op, `cannot reshape [${inShape.join(', ')}] to [${spec.join(', ')}]`, loc(ctx));
      out[neg] = total / known;
    } else out[neg] = dimQuotient(inShape, out.filter((_, i) => i !== neg));
  } else {
    const p = dimProd(out);
    if (typeof total === 'number' && typeof p === 'number' && p !== total) {
      throw diag.shapeMismatch(ctx.node.op, `cannot reshape [${inShape.join(', ')}] (${total} elements) to [${spec.join(', ')}]`, loc(ctx));
    }
  }
  return out;
}
/** prod(num) / prod(den) for symbolic dims: cancels equal symbols; a fresh dim when not exact. */
function dimQuotient(num: readonly Dim[], den: readonly Dim[]): Dim {
  const syms = num.filter((d): d is string => typeof d === 'string');
  let pn = 1, pd = 1;
  for (const d of num) if (typeof d === 'number') pn *= d;
  for (const d of den) {
    if (typeof d === 'number') { pd *= d; continue; }
    const k = syms.indexOf(d);
    if (k < 0) return freshDim();
    syms.splice(k, 1);
  }
  if (pd === 0 || pn % pd !== 0) return freshDim();
  const q = pn / pd;
  if (syms.length === 0) return q;
  return syms.length === 1 && q === 1 ? syms[0]! : freshDim();
}
defineOp({
  name: 'Reshape', category: CAT, vjp: V.shape.reshapeBack, summary: 'reshape to the shape given as data (0 copies, -1 infers a dimension)',
  types: { T: ALL },
  inputs: [{ name: 'data', type: 'T' }, { name: 'shape', shapeData: true }],
  outputs: [{ name: 'reshaped', type: 'T' }],
  attrs: { allowzero: { type: 'int', default: 0 } },
  onnx: {
    since: 1,
    fromOnnx: (v) => { attrToInput(v, 'shape', 1); delete v.attrs.consumed_inputs; },
  },
  lower: lowerCopy,
  infer: (ctx) => {
    const t = ctx.type(0);
    requireDtype(ctx, 1, ['int64']);
    const spec = constInts(ctx, 1);
    if (spec && t.shape) return [{ dtype: t.dtype, shape: reshapeDims(ctx, t.shape, spec, ctx.attrs.int('allowzero') !== 0) }];
    const ss = ctx.type(1).shape;
    if (spec) return [{ dtype: t.dtype, shape: spec.map((s) => (s > 0 || (s === 0 && ctx.attrs.int('allowzero')) ? s : freshDim())) }];
    return [{ dtype: t.dtype, shape: ss && typeof ss[0] === 'number' ? freshDims(ss[0], `${ctx.node.op} output (its shape input has ${ss[0]} values)`) : undefined }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const shape = reshapeDims(ctx, x.shape, intList(ctx.input(1)), ctx.attrs.int('allowzero') !== 0) as number[];
    return [copyTensor(x, shape)];
  },
});

/** Flatten's axis: in [-r, r], negative counts from the end (axis + r). */
function flattenAxis(ctx: InferCtx | EvalCtx, r: number): number {
  const axis = ctx.attrs.int('axis');
  const a = axis < 0 ? axis + r : axis;
  if (a < 0 || a > r) throw verr(ctx, `axis ${axis} is out of range for rank ${r}`);
  return a;
}
defineOp({
  name: 'Flatten', category: CAT, vjp: V.shape.reshapeBack, summary: 'flatten to 2-D: [prod(d[:axis]), prod(d[axis:])]',
  types: { T: ALL },
  inputs: [{ name: 'input', type: 'T' }], outputs: [{ name: 'output', type: 'T' }],
  attrs: { axis: { type: 'int', default: 1 } },
  onnx: { since: 1 },
  lower: lowerCopy,
  infer: (ctx) => {
    const t = ctx.type(0);
    if (!t.shape) return [{ dtype: t.dtype, shape: [freshDim(), freshDim()] }];
    const a = flattenAxis(ctx, t.shape.length);
    return [{ dtype: t.dtype, shape: [dimProd(t.shape.slice(0, a)), dimProd(t.shape.slice(a))] }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const a = flattenAxis(ctx, x.rank);
    return [copyTensor(x, [product(x.shape.slice(0, a)), product(x.shape.slice(a))])];
  },
});

function squeezeAxes(ctx: InferCtx | EvalCtx, axes: number[], rank: number): Set<number> {
  const s = new Set(axes.map((a) => axisOf(ctx, a, rank)));
  if (s.size !== axes.length) throw verr(ctx, 'axes contains duplicates');
  return s;
}
defineOp({
  name: 'Squeeze', category: CAT, vjp: V.shape.reshapeBack, summary: 'remove size-1 dimensions (the listed axes, or all)',
  types: { T: ALL },
  inputs: [{ name: 'data', type: 'T' }, { name: 'axes', optional: true, shapeData: true }],
  outputs: [{ name: 'squeezed', type: 'T' }], attrs: {},
  onnx: { since: 1, fromOnnx: (v) => attrToInput(v, 'axes', 1) },
  lower: lowerCopy,
  infer: (ctx) => {
    const t = ctx.type(0);
    const hasAxes = ctx.inputTypes[1] !== undefined;
    const axes = hasAxes ? constInts(ctx, 1) : undefined;
    if (!t.shape || (hasAxes && !axes)) return [{ dtype: t.dtype, shape: undefined }];
    const shape = t.shape;
    if (axes && axes.length === 0) return [{ dtype: t.dtype, shape: shape.includes(1) ? undefined : shape.slice() }];
    if (axes) {
      const s = squeezeAxes(ctx, axes, shape.length);
      for (const a of s) if (typeof shape[a] === 'number' && shape[a] !== 1) throw verr(ctx, `cannot squeeze axis ${a} of size ${shape[a]}`);
      return [{ dtype: t.dtype, shape: shape.filter((_, i) => !s.has(i)) }];
    }
    if (shape.some((d) => typeof d !== 'number')) return [{ dtype: t.dtype, shape: undefined }];
    return [{ dtype: t.dtype, shape: shape.filter((d) => d !== 1) }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const axes = optInts(ctx, 1);
    let out: number[];
    if (axes && axes.length === 0 && x.shape.includes(1)) {
      // the reference squeezes nothing, runtimes squeeze every size-1 axis: ambiguous
      throw diag.unsupportedFeature('Squeeze with an empty axes tensor', loc(ctx));
    }
    if (axes) {
      const s = squeezeAxes(ctx, axes, x.rank);
      for (const a of s) if (x.shape[a] !== 1) throw verr(ctx, `cannot squeeze axis ${a} of size ${x.shape[a]}`);
      out = x.shape.filter((_, i) => !s.has(i));
    } else out = x.shape.filter((d) => d !== 1);
    return [copyTensor(x, out)];
  },
});

function unsqueezeShape<D extends Dim>(ctx: InferCtx | EvalCtx, shape: readonly D[], axes: number[]): (D | 1)[] {
  const r = shape.length + axes.length;
  const s = squeezeAxes(ctx, axes, r);
  const out: (D | 1)[] = [];
  let k = 0;
  for (let i = 0; i < r; i++) out.push(s.has(i) ? 1 : shape[k++]!);
  return out;
}
defineOp({
  name: 'Unsqueeze', category: CAT, vjp: V.shape.reshapeBack, summary: 'insert size-1 dimensions at the listed output axes',
  types: { T: ALL },
  inputs: [{ name: 'data', type: 'T' }, { name: 'axes', shapeData: true }],
  outputs: [{ name: 'expanded', type: 'T' }], attrs: {},
  onnx: { since: 1, fromOnnx: (v) => attrToInput(v, 'axes', 1) },
  lower: lowerCopy,
  infer: (ctx) => {
    const t = ctx.type(0);
    const axes = constInts(ctx, 1);
    if (!t.shape) return [{ dtype: t.dtype, shape: undefined }];
    if (!axes) {
      const as = ctx.type(1).shape;
      return [{ dtype: t.dtype, shape: as && typeof as[0] === 'number' ? freshDims(t.shape.length + as[0], `${ctx.node.op} output`) : undefined }];
    }
    return [{ dtype: t.dtype, shape: unsqueezeShape(ctx, t.shape, axes) }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    return [copyTensor(x, unsqueezeShape(ctx, x.shape, intList(ctx.input(1))))];
  },
});

// ---- Transpose -------------------------------------------------------------------------------------
function permOf(ctx: InferCtx | EvalCtx, rank: number): number[] {
  if (!ctx.attrs.has('perm')) return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const p = ctx.attrs.ints('perm').map((a) => axisOf(ctx, a, rank));
  if (p.length !== rank || new Set(p).size !== rank) throw verr(ctx, `perm [${ctx.attrs.ints('perm').join(', ')}] is not a permutation of rank ${rank}`);
  return p;
}
defineOp({
  name: 'Transpose', category: CAT, vjp: V.shape.transpose, summary: 'permute dimensions (default: reverse them)',
  types: { T: ALL },
  inputs: [{ name: 'data', type: 'T' }], outputs: [{ name: 'transposed', type: 'T' }],
  attrs: { perm: { type: 'ints' } },
  onnx: { since: 1 },
  lower: lowerTranspose,
  infer: (ctx) => {
    const t = ctx.type(0);
    if (!t.shape) return [{ dtype: t.dtype, shape: ctx.attrs.has('perm') ? ctx.attrs.ints('perm').map(() => freshDim()) : undefined }];
    return [{ dtype: t.dtype, shape: permOf(ctx, t.shape.length).map((p) => t.shape![p]!) }];
  },
  eval: (ctx) => { const x = ctx.input(0); return [transposeTensor(x, permOf(ctx, x.rank))]; },
});

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

// ---- Gather family -------------------------------------------------------------------------------------
/**
 * Every index input of the Gather and Scatter families: a value in [-n, n) counts from the end when
 * negative; any other value is a runtime error on every target (ONNX Runtime: "indices element out
 * of data bounds"), reported at the node with the index and the dimension (normIndex here,
 * normIndexExpr -> check_index in compiled code).
 */
const INDEX_RULE = '; an index outside [-n, n) is a runtime error';
function normIndex(ctx: EvalCtx, i: number, dim: number): number {
  const j = i < 0 ? i + dim : i;
  if (j < 0 || j >= dim) throw diag.runtime(ctx.node.op, indexOutOfBounds(i, dim), loc(ctx));
  return j;
}
defineOp({
  name: 'Gather', category: CAT, vjp: V.shape.gather, summary: `take entries along an axis: out = data[..., indices, ...]${INDEX_RULE}`,
  types: { T: ALL, Tind: INDEX },
  inputs: [{ name: 'data', type: 'T' }, { name: 'indices', type: 'Tind' }], outputs: [{ name: 'output', type: 'T' }],
  attrs: { axis: { type: 'int', default: 0 } },
  onnx: { since: 1 },
  lower: lowerGather,
  infer: (ctx) => {
    const t = ctx.type(0), it = ctx.type(1);
    requireDtype(ctx, 1, INDEX);
    if (!t.shape || !it.shape) return [{ dtype: t.dtype, shape: undefined }];
    const a = axisOf(ctx, ctx.attrs.int('axis'), t.shape.length);
    return [{ dtype: t.dtype, shape: [...t.shape.slice(0, a), ...it.shape, ...t.shape.slice(a + 1)] }];
  },
  eval: (ctx) => {
    const x = ctx.input(0), ind = ctx.input(1);
    const a = axisOf(ctx, ctx.attrs.int('axis'), x.rank);
    const dim = x.shape[a]!;
    const idx = intList(ind).map((i) => normIndex(ctx, i, dim));
    const outer = product(x.shape.slice(0, a)), inner = product(x.shape.slice(a + 1));
    const out = new Tensor(x.dtype, [...x.shape.slice(0, a), ...ind.shape, ...x.shape.slice(a + 1)]);
    const sd = elems(x), od = elems(out);
    let p = 0;
    for (let o = 0; o < outer; o++) {
      for (const j of idx) {
        const base = (o * dim + j) * inner;
        for (let i = 0; i < inner; i++) od[p++] = sd[base + i]!;
      }
    }
    return [out];
  },
});

defineOp({
  name: 'GatherElements', category: CAT, vjp: V.shape.gatherElements, summary: `out[i][j][k] = data[index[i][j][k]][j][k] (for axis 0)${INDEX_RULE}`,
  types: { T: ALL, Tind: INDEX },
  inputs: [{ name: 'data', type: 'T' }, { name: 'indices', type: 'Tind' }], outputs: [{ name: 'output', type: 'T' }],
  attrs: { axis: { type: 'int', default: 0 } },
  onnx: { since: 11 },
  lower: lowerGatherElements,
  infer: (ctx) => {
    const t = ctx.type(0), it = ctx.type(1);
    requireDtype(ctx, 1, INDEX);
    if (t.shape && it.shape) {
      if (t.shape.length !== it.shape.length) throw diag.shapeMismatch('GatherElements', 'data and indices must have the same rank', loc(ctx));
      axisOf(ctx, ctx.attrs.int('axis'), t.shape.length);
    }
    return [{ dtype: t.dtype, shape: it.shape?.slice() }];
  },
  eval: (ctx) => {
    const x = ctx.input(0), ind = ctx.input(1);
    if (x.rank !== ind.rank) throw diag.shapeMismatch('GatherElements', 'data and indices must have the same rank', loc(ctx));
    const a = axisOf(ctx, ctx.attrs.int('axis'), x.rank);
    const out = new Tensor(x.dtype, ind.shape);
    const st = stridesOf(x.shape), sd = elems(x), od = elems(out), iv = ind.num;
    forEachIndex(ind.shape, (idx, flat) => {
      let off = 0;
      for (let k = 0; k < idx.length; k++) {
        const j = k === a ? normIndex(ctx, Math.trunc(iv[flat]!), x.shape[a]!) : idx[k]!;
        if (k !== a && j >= x.shape[k]!) throw diag.shapeMismatch('GatherElements', 'indices are larger than data outside the axis', loc(ctx));
        off += j * st[k]!;
      }
      od[flat] = sd[off]!;
    });
    return [out];
  },
});

defineOp({
  name: 'GatherND', category: CAT, summary: `gather slices addressed by the last dimension of indices (with batch_dims)${INDEX_RULE}`,
  types: { T: ALL },
  inputs: [{ name: 'data', type: 'T' }, { name: 'indices' }], outputs: [{ name: 'output', type: 'T' }],
  attrs: { batch_dims: { type: 'int', default: 0 } },
  onnx: { since: 11 },
  lower: lowerGatherND,
  infer: (ctx) => {
    const t = ctx.type(0), it = ctx.type(1);
    requireDtype(ctx, 1, ['int64']);
    const b = ctx.attrs.int('batch_dims');
    if (!t.shape || !it.shape) return [{ dtype: t.dtype, shape: undefined }];
    const q = it.shape.length, r = t.shape.length;
    const last = it.shape[q - 1];
    if (q < 1 || b >= Math.min(q, r) || b < 0) throw verr(ctx, `batch_dims=${b} is invalid for data rank ${r}, indices rank ${q}`);
    if (typeof last !== 'number') return [{ dtype: t.dtype, shape: undefined }];
    if (last > r - b) throw verr(ctx, `indices.shape[-1]=${last} exceeds data rank ${r} - batch_dims ${b}`);
    return [{ dtype: t.dtype, shape: [...it.shape.slice(0, q - 1), ...t.shape.slice(b + last)] }];
  },
  eval: (ctx) => {
    const x = ctx.input(0), ind = ctx.input(1);
    const b = ctx.attrs.int('batch_dims');
    const q = ind.rank, r = x.rank;
    const last = ind.shape[q - 1]!;
    if (q < 1 || b < 0 || b >= Math.min(q, r) || last > r - b) throw verr(ctx, 'invalid batch_dims or indices shape');
    const batch = product(x.shape.slice(0, b));
    const outShape = [...ind.shape.slice(0, q - 1), ...x.shape.slice(b + last)];
    const out = new Tensor(x.dtype, outShape);
    const slice = product(x.shape.slice(b + last));
    const perBatchIdx = product(ind.shape.slice(b, q - 1));
    const batchStride = product(x.shape.slice(b));
    const st = stridesOf(x.shape.slice(b));
    const sd = elems(x), od = elems(out), iv = ind.num;
    let p = 0;
    for (let bi = 0; bi < batch; bi++) {
      for (let j = 0; j < perBatchIdx; j++) {
        const ib = (bi * perBatchIdx + j) * last;
        let off = bi * batchStride;
        for (let k = 0; k < last; k++) off += normIndex(ctx, Math.trunc(iv[ib + k]!), x.shape[b + k]!) * st[k]!;
        for (let i = 0; i < slice; i++) od[p++] = sd[off + i]!;
      }
    }
    return [out];
  },
});

// ---- Scatter family ------------------------------------------------------------------------------------
function scatterElements(ctx: EvalCtx, reduction: string): Tensor {
  const x = ctx.input(0), ind = ctx.input(1), upd = ctx.input(2);
  if (x.rank !== ind.rank || ind.rank !== upd.rank || ind.shape.some((d, i) => d !== upd.shape[i])) {
    throw diag.shapeMismatch(ctx.node.op, 'data, indices and updates must have the same rank; indices and updates the same shape', loc(ctx));
  }
  if (upd.dtype !== x.dtype) throw diag.typeMismatch(`${ctx.node.op} updates`, x.dtype, upd.dtype, loc(ctx));
  if (reduction !== 'none' && x.dtype === 'string') throw diag.unsupportedDtype(`${ctx.node.op} reduction`, x.dtype, loc(ctx));
  const a = axisOf(ctx, ctx.attrs.int('axis'), x.rank);
  const out = copyTensor(x);
  const f = reducer(reduction, x.dtype, ctx.node.op);
  const st = stridesOf(x.shape), od = elems(out), ud = elems(upd), iv = ind.num;
  forEachIndex(ind.shape, (idx, flat) => {
    let off = 0;
    for (let k = 0; k < idx.length; k++) {
      const j = k === a ? normIndex(ctx, Math.trunc(iv[flat]!), x.shape[a]!) : idx[k]!;
      if (j >= x.shape[k]!) throw diag.shapeMismatch(ctx.node.op, 'indices are larger than data outside the axis', loc(ctx));
      off += j * st[k]!;
    }
    od[off] = reduction === 'none' ? ud[flat]! : f(od[off] as number, ud[flat] as number);
  });
  return out;
}
function scatterInfer(ctx: InferCtx): OutType[] {
  const t = ctx.type(0);
  requireDtype(ctx, 1, INDEX);
  sameDtypes(ctx, [0, 2]);
  return [{ dtype: t.dtype, shape: t.shape?.slice() }];
}
const scatterSig = {
  types: { T: ALL, Tind: INDEX },
  inputs: [{ name: 'data', type: 'T' }, { name: 'indices', type: 'Tind' }, { name: 'updates', type: 'T' }],
  outputs: [{ name: 'output', type: 'T' }],
};
defineOp({
  name: 'ScatterElements', category: CAT, summary: `write updates into a copy of data at per-element indices along an axis (with reduction)${INDEX_RULE}`,
  ...scatterSig,
  attrs: { axis: { type: 'int', default: 0 }, reduction: { type: 'string', default: 'none' } },
  onnx: { since: 11 },
  lower: (ctx) => lowerScatterElements(ctx, ctx.attrs.str('reduction')),
  infer: scatterInfer,
  eval: (ctx) => [scatterElements(ctx, ctx.attrs.str('reduction'))],
});
defineOp({
  name: 'Scatter', category: CAT, summary: `deprecated form of ScatterElements (no reduction)${INDEX_RULE}`,
  ...scatterSig,
  attrs: { axis: { type: 'int', default: 0 } },
  onnx: { since: 9 },
  lower: (ctx) => lowerScatterElements(ctx, 'none'),
  infer: scatterInfer,
  eval: (ctx) => [scatterElements(ctx, 'none')],
});
defineOp({
  name: 'ScatterND', category: CAT, vjp: V.shape.scatterND, summary: `write update slices into a copy of data at N-d indices (with reduction)${INDEX_RULE}`,
  types: { T: ALL },
  inputs: [{ name: 'data', type: 'T' }, { name: 'indices' }, { name: 'updates', type: 'T' }],
  outputs: [{ name: 'output', type: 'T' }],
  attrs: { reduction: { type: 'string', default: 'none' } },
  onnx: { since: 11 },
  lower: lowerScatterND,
  infer: (ctx) => { requireDtype(ctx, 1, ['int64']); sameDtypes(ctx, [0, 2]); return [{ dtype: ctx.type(0).dtype, shape: ctx.type(0).shape?.slice() }]; },
  eval: (ctx) => {
    const x = ctx.input(0), ind = ctx.input(1), upd = ctx.input(2);
    const red = ctx.attrs.str('reduction');
    if (red !== 'none' && x.dtype === 'string') throw diag.unsupportedDtype('ScatterND reduction', x.dtype, loc(ctx));
    const q = ind.rank, k = ind.shape[q - 1]!;
    if (k > x.rank) throw verr(ctx, `indices.shape[-1]=${k} exceeds data rank ${x.rank}`);
    const want = [...ind.shape.slice(0, q - 1), ...x.shape.slice(k)];
    if (upd.rank !== want.length || upd.shape.some((d, i) => d !== want[i])) {
      throw diag.shapeMismatch('ScatterND', `updates shape [${upd.shape.join(', ')}] should be [${want.join(', ')}]`, loc(ctx));
    }
    const out = copyTensor(x);
    const f = reducer(red, x.dtype, 'ScatterND');
    const st = stridesOf(x.shape), od = elems(out), ud = elems(upd), iv = ind.num;
    const n = product(ind.shape.slice(0, q - 1)), slice = product(x.shape.slice(k));
    for (let j = 0; j < n; j++) {
      let off = 0;
      for (let m = 0; m < k; m++) off += normIndex(ctx, Math.trunc(iv[j * k + m]!), x.shape[m]!) * st[m]!;
      for (let i = 0; i < slice; i++) {
        od[off + i] = red === 'none' ? ud[j * slice + i]! : f(od[off + i] as number, ud[j * slice + i] as number);
      }
    }
    return [out];
  },
});

// ---- Expand / Tile / Pad ---------------------------------------------------------------------------------
function expandShape(ctx: InferCtx | EvalCtx, a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[i - r + a.length] ?? 1, y = b[i - r + b.length] ?? 1;
    if (x === 1) out.push(y);
    else if (y === 1 || x === y) out.push(x);
    else if (typeof x === 'number' && typeof y === 'number') {
      throw diag.shapeMismatch('Expand', `shape [${a.join(', ')}] cannot be expanded to [${b.join(', ')}]`, loc(ctx));
    } else out.push(typeof x === 'number' ? x : typeof y === 'number' ? y : freshDim());
  }
  return out;
}
defineOp({
  name: 'Expand', category: CAT, vjp: V.shape.expand, summary: 'broadcast to a shape (numpy rules, both directions)',
  types: { T: ALL },
  inputs: [{ name: 'input', type: 'T' }, { name: 'shape', shapeData: true }], outputs: [{ name: 'output', type: 'T' }],
  attrs: {},
  onnx: { since: 8 },
  lower: lowerExpand,
  infer: (ctx) => {
    const t = ctx.type(0);
    requireDtype(ctx, 1, ['int64']);
    const s = constInts(ctx, 1);
    if (!t.shape) return [{ dtype: t.dtype, shape: undefined }];
    if (!s) {
      const ss = ctx.type(1).shape;
      if (!ss || typeof ss[0] !== 'number') return [{ dtype: t.dtype, shape: undefined }];
      return [{ dtype: t.dtype, shape: Array.from({ length: Math.max(ss[0], t.shape.length) }, () => freshDim()) }];
    }
    return [{ dtype: t.dtype, shape: expandShape(ctx, t.shape, s) }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const outShape = expandShape(ctx, x.shape, intList(ctx.input(1))) as number[];
    const r = outShape.length;
    const src = x.reshape([...new Array<number>(r - x.rank).fill(1), ...x.shape]);
    const maps = outShape.map((d, k) => Int32Array.from({ length: d }, (_, i) => (src.shape[k] === 1 ? 0 : i)));
    return [axisMapCopy(src, outShape, maps)];
  },
});

defineOp({
  name: 'Tile', category: CAT, vjp: V.shape.tile, summary: 'repeat the input repeats[i] times along each axis',
  types: { T: ALL },
  inputs: [{ name: 'input', type: 'T' }, { name: 'repeats', shapeData: true }], outputs: [{ name: 'output', type: 'T' }],
  attrs: {},
  onnx: { since: 6 },
  lower: lowerTile,
  infer: (ctx) => {
    const t = ctx.type(0);
    requireDtype(ctx, 1, ['int64']);
    const rep = constInts(ctx, 1);
    if (!t.shape) return [{ dtype: t.dtype, shape: undefined }];
    if (!rep) return [{ dtype: t.dtype, shape: t.shape.map(() => freshDim()) }];
    if (rep.length !== t.shape.length) throw verr(ctx, `repeats has ${rep.length} entries for rank ${t.shape.length}`);
    return [{ dtype: t.dtype, shape: t.shape.map((d, i) => (typeof d === 'number' ? d * rep[i]! : rep[i] === 1 ? d : freshDim())) }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const rep = intList(ctx.input(1));
    if (rep.length !== x.rank || rep.some((r) => r < 0)) throw verr(ctx, `repeats [${rep.join(', ')}] invalid for rank ${x.rank}`);
    const outShape = x.shape.map((d, i) => d * rep[i]!);
    const maps = outShape.map((d, k) => Int32Array.from({ length: d }, (_, i) => i % x.shape[k]!));
    return [axisMapCopy(x, outShape, maps)];
  },
});

function padSource(mode: string, i: number, n: number): number {
  if (i >= 0 && i < n) return i;
  if (n === 0) return -1;
  switch (mode) {
    case 'constant': return -1;
    case 'edge': return i < 0 ? 0 : n - 1;
    case 'wrap': return ((i % n) + n) % n;
    case 'reflect': {
      if (n === 1) return 0;
      const p = 2 * (n - 1);
      const m = ((i % p) + p) % p;
      return m < n ? m : p - m;
    }
  }
  throw diag.unsupportedAttr({ op: 'Pad' }, 'mode', mode);
}
function fullPads(ctx: InferCtx | EvalCtx, rank: number, pads: number[], axes: number[] | undefined): number[] {
  const ax = (axes ?? Array.from({ length: rank }, (_, i) => i)).map((a) => axisOf(ctx, a, rank));
  if (pads.length !== 2 * ax.length) throw verr(ctx, `pads has ${pads.length} entries, expected ${2 * ax.length}`);
  const full = new Array<number>(2 * rank).fill(0);
  ax.forEach((a, i) => { full[a] = pads[i]!; full[rank + a] = pads[ax.length + i]!; });
  return full;
}
defineOp({
  name: 'Pad', category: CAT, vjp: V.shape.pad, summary: 'pad (or crop with negative pads) in constant, reflect, edge or wrap mode',
  types: { T: ALL, Tind: INDEX },
  inputs: [
    { name: 'data', type: 'T' }, { name: 'pads', shapeData: true }, { name: 'constant_value', type: 'T', optional: true },
    { name: 'axes', type: 'Tind', optional: true, shapeData: true },
  ],
  outputs: [{ name: 'output', type: 'T' }],
  attrs: { mode: { type: 'string', default: 'constant' } },
  onnx: {
    since: 2,
    fromOnnx: (v) => {
      if (v.opset >= 11) return;
      attrToInput(v, 'pads', 1);
      const val = v.attrs.value;
      if (val && val.type === 'float' && val.value !== 0) {
        const x = v.inputs[0];
        const dt = x?.type.dtype ?? 'float32';
        v.inputs[2] = v.constInput(Tensor.fromNumbers(dt, [], [val.value]));
      }
      delete v.attrs.value;
    },
  },
  lower: lowerPad,
  infer: (ctx) => {
    const t = ctx.type(0);
    requireDtype(ctx, 1, ['int64']);
    const mode = ctx.attrs.str('mode');
    if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) throw diag.unsupportedAttr({ op: 'Pad' }, 'mode', mode, loc(ctx));
    if (ctx.inputTypes[2]) sameDtypes(ctx, [0, 2]);
    if (!t.shape) return [{ dtype: t.dtype, shape: undefined }];
    const pads = constInts(ctx, 1);
    const axes = ctx.inputTypes[3] ? constInts(ctx, 3) : undefined;
    if (!pads || (ctx.inputTypes[3] && !axes)) return [{ dtype: t.dtype, shape: t.shape.map(() => freshDim()) }];
    const r = t.shape.length;
    const full = fullPads(ctx, r, pads, axes);
    return [{
      dtype: t.dtype,
      shape: t.shape.map((d, i) => (typeof d === 'number' ? d + full[i]! + full[r + i]! : full[i]! + full[r + i]! === 0 ? d : freshDim())),
    }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const mode = ctx.attrs.str('mode');
    const r = x.rank;
    const full = fullPads(ctx, r, intList(ctx.input(1)), optInts(ctx, 3));
    const cv = ctx.optInput(2);
    const outShape = x.shape.map((d, i) => d + full[i]! + full[r + i]!);
    if (outShape.some((d) => d < 0)) throw verr(ctx, `pads [${full.join(', ')}] crop more than the input [${x.shape.join(', ')}]`);
    const maps = outShape.map((d, k) => Int32Array.from({ length: d }, (_, o) => padSource(mode, o - full[k]!, x.shape[k]!)));
    if (mode !== 'constant') {
      x.shape.forEach((n, k) => {
        if (n === 0 && outShape[k]! > 0) throw verr(ctx, `${mode} padding of an empty axis`);
      });
    }
    const fill = cv && cv.size > 0 ? elems(cv)[0] : undefined;
    return [axisMapCopy(x, outShape, maps, fill)];
  },
});

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

// ---- Resize / Upsample ---------------------------------------------------------------------------------------
const LEGACY = 'aic_legacy_upsample';
const COORD_MODES = ['half_pixel', 'half_pixel_symmetric', 'pytorch_half_pixel', 'align_corners', 'asymmetric',
  'tf_half_pixel_for_nn', 'tf_crop_and_resize'];

function resizeParams(ctx: InferCtx | EvalCtx): ResizeParams {
  const a = ctx.attrs;
  const p: ResizeParams = {
    mode: a.str('mode'), coord: a.str('coordinate_transformation_mode'), nearestMode: a.str('nearest_mode'),
    cubicA: a.float('cubic_coeff_a'), excludeOutside: a.int('exclude_outside') !== 0,
    extrapolation: a.float('extrapolation_value'), antialias: a.int('antialias') !== 0,
  };
  const r = { op: 'Resize' };
  if (!['nearest', 'linear', 'cubic'].includes(p.mode)) throw diag.unsupportedAttr(r, 'mode', p.mode, loc(ctx));
  if (!COORD_MODES.includes(p.coord)) throw diag.unsupportedAttr(r, 'coordinate_transformation_mode', p.coord, loc(ctx));
  if (!['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'].includes(p.nearestMode)) {
    throw diag.unsupportedAttr(r, 'nearest_mode', p.nearestMode, loc(ctx));
  }
  if (p.antialias && p.mode === 'nearest') throw diag.unsupportedAttr(r, 'antialias', '1 with mode=nearest', loc(ctx));
  const pol = a.str('keep_aspect_ratio_policy');
  if (!['stretch', 'not_larger', 'not_smaller'].includes(pol)) throw diag.unsupportedAttr(r, 'keep_aspect_ratio_policy', pol, loc(ctx));
  return p;
}

/** Output shape and full per-axis scales from static input dims and the scales/sizes values. */
function resizePlan(ctx: InferCtx | EvalCtx, inShape: readonly number[], scalesIn: number[] | undefined,
  sizesIn: number[] | undefined): { out: number[]; scales: number[] } {
  const r = inShape.length;
  const axes = ctx.attrs.has('axes') ? ctx.attrs.ints('axes').map((x) => axisOf(ctx, x, r)) : Array.from({ length: r }, (_, i) => i);
  if (new Set(axes).size !== axes.length) throw verr(ctx, 'axes contains duplicates');
  if ((scalesIn === undefined) === (sizesIn === undefined)) throw verr(ctx, 'exactly one of scales and sizes must be given');
  const policy = ctx.attrs.str('keep_aspect_ratio_policy');
  const scales = new Array<number>(r).fill(1);
  const out = inShape.slice();
  if (scalesIn) {
    if (scalesIn.length !== axes.length) throw verr(ctx, `scales has ${scalesIn.length} entries, expected ${axes.length}`);
    axes.forEach((a, i) => {
      const s = scalesIn[i]!;
      if (!(s > 0)) throw verr(ctx, `scales must be positive, got ${s}`);
      scales[a] = s;
      out[a] = Math.floor(s * inShape[a]!);
    });
    return { out, scales };
  }
  const sizes = sizesIn!;
  if (sizes.length !== axes.length) throw verr(ctx, `sizes has ${sizes.length} entries, expected ${axes.length}`);
  if (sizes.some((s) => s < 0)) throw verr(ctx, 'sizes must be >= 0');
  axes.forEach((a, i) => { out[a] = sizes[i]!; scales[a] = sizes[i]! / inShape[a]!; });
  if (policy !== 'stretch') {
    const ss = axes.map((a) => scales[a]!);
    const s = policy === 'not_larger' ? Math.min(...ss) : Math.max(...ss);
    for (const a of axes) { scales[a] = s; out[a] = Math.floor(s * inShape[a]! + 0.5); }
  }
  return { out, scales };
}
const nonEmpty = (t: Tensor | undefined) => (t && t.size > 0 ? t : undefined);

/** Resize's signature and semantics; Upsample (imported into the same form) shares them. */
const resizeCore: Omit<OpDef, 'name' | 'summary' | 'onnx'> = {
  category: CAT,
  types: { T1: NUMERIC, T2: FLOATS },
  inputs: [
    { name: 'X', type: 'T1' }, { name: 'roi', type: 'T2', optional: true },
    { name: 'scales', optional: true, shapeData: true }, { name: 'sizes', optional: true, shapeData: true },
  ],
  outputs: [{ name: 'Y', type: 'T1' }],
  attrs: {
    antialias: { type: 'int', default: 0 }, axes: { type: 'ints' },
    coordinate_transformation_mode: { type: 'string', default: 'half_pixel' },
    cubic_coeff_a: { type: 'float', default: -0.75 }, exclude_outside: { type: 'int', default: 0 },
    extrapolation_value: { type: 'float', default: 0 }, keep_aspect_ratio_policy: { type: 'string', default: 'stretch' },
    mode: { type: 'string', default: 'nearest' }, nearest_mode: { type: 'string', default: 'round_prefer_floor' },
    [LEGACY]: { type: 'int', default: 0, doc: 'internal: imported from Upsample / Resize-10 (dropped on export)' },
  },
  lower: lowerResize,
  infer: (ctx: InferCtx): OutType[] => {
    const t = ctx.type(0);
    const p = resizeParams(ctx);
    if (p.mode !== 'nearest' && !isFloat(t.dtype)) throw diag.unsupportedDtype(`Resize (mode ${p.mode}) input 0`, t.dtype, loc(ctx));
    requireDtype(ctx, 0, NUMERIC);
    if (!t.shape) return [{ dtype: t.dtype, shape: undefined }];
    const sc = ctx.inputTypes[2] ? nonEmpty(ctx.constValue(2)) : undefined;
    const sz = ctx.inputTypes[3] ? nonEmpty(ctx.constValue(3)) : undefined;
    const known = (sc || sz) && t.shape.every((d) => typeof d === 'number');
    if (!known) return [{ dtype: t.dtype, shape: t.shape.map(() => freshDim()) }];
    const plan = resizePlan(ctx, t.shape as number[], sc?.toNumbers(), sz ? intList(sz) : undefined);
    return [{ dtype: t.dtype, shape: plan.out }];
  },
  eval: (ctx: EvalCtx) => {
    const x = ctx.input(0);
    const p = resizeParams(ctx);
    if (p.mode !== 'nearest' && !isFloat(x.dtype)) throw diag.unsupportedDtype(`Resize (mode ${p.mode}) input 0`, x.dtype, loc(ctx));
    if (x.dtype === 'string' || x.dtype === 'bool') throw diag.unsupportedDtype('Resize input 0', x.dtype, loc(ctx));
    const sc = nonEmpty(ctx.optInput(2)), sz = nonEmpty(ctx.optInput(3));
    if (ctx.attrs.int(LEGACY) && p.mode === 'nearest' && sc && sc.toNumbers().some((v) => v < 1 || v !== Math.floor(v))) {
      throw diag.unsupportedFeature(`${ctx.node.op} (opset <= 10) nearest with non-integer scales [${sc.toNumbers().join(', ')}]`, loc(ctx));
    }
    const plan = resizePlan(ctx, x.shape, sc?.toNumbers(), sz ? intList(sz) : undefined);
    let roi: number[] | undefined;
    const roiT = nonEmpty(ctx.optInput(1));
    if (p.coord === 'tf_crop_and_resize') {
      const r = x.rank;
      const axes = ctx.attrs.has('axes') ? ctx.attrs.ints('axes').map((a) => axisOf(ctx, a, r)) : Array.from({ length: r }, (_, i) => i);
      roi = [...new Array<number>(r).fill(0), ...new Array<number>(r).fill(1)];
      if (roiT) {
        const rv = roiT.toNumbers();
        if (rv.length !== 2 * axes.length) throw verr(ctx, `roi has ${rv.length} entries, expected ${2 * axes.length}`);
        axes.forEach((a, i) => { roi![a] = rv[i]!; roi![r + a] = rv[axes.length + i]!; });
      }
    }
    const data = resizeData(x, plan.out, plan.scales, p, roi);
    return [Tensor.fromNumbers(x.dtype, plan.out, data)];
  },
  flops: (ctx: InferCtx, outs: OutType[]) => {
    const s = outs[0]!.shape;
    if (!s || s.some((d) => typeof d !== 'number')) return 0;
    const m = ctx.attrs.str('mode');
    return product(s as number[]) * (m === 'cubic' ? 8 : m === 'linear' ? 4 : 0) * s.length;
  },
};
defineOp({
  name: 'Resize', summary: 'resize with nearest / linear / cubic interpolation (scales or sizes, roi, antialias)',
  ...resizeCore,
  onnx: {
    since: 10,
    // Resize-10 (inputs X, scales) has the Upsample semantics
    fromOnnx: (v) => { if (v.opset < 11) upsampleToResize(v); },
    toOnnx: (v) => { delete v.attrs[LEGACY]; },
  },
});

/**
 * Upsample-7/9 and Resize-10 -> Resize: asymmetric coordinates, nearest = floor. These opsets define
 * nearest only for integer scales (np.repeat), so the marker attribute LEGACY makes other scales unsupported.
 */
function upsampleToResize(v: OnnxImportView): void {
  if (v.attrs.scales) {
    const s = v.attrs.scales.value as number[];
    v.inputs[1] = v.constInput(Tensor.fromNumbers('float32', [s.length], s));
    delete v.attrs.scales;
  }
  const mode = v.attrs.mode && v.attrs.mode.type === 'string' ? v.attrs.mode.value : 'nearest';
  const m = mode === 'bilinear' ? 'linear' : mode;
  // inputs: X, scales -> X, roi (omitted), scales
  v.inputs = [v.inputs[0] ?? null, null, v.inputs[1] ?? null];
  v.attrs = {
    mode: { type: 'string', value: m },
    coordinate_transformation_mode: { type: 'string', value: 'asymmetric' },
    nearest_mode: { type: 'string', value: 'floor' },
    [LEGACY]: { type: 'int', value: 1 },
  };
}

defineOp({
  name: 'Upsample', summary: 'deprecated; imported in Resize form (asymmetric coordinates) and evaluated as Resize',
  ...resizeCore,
  onnx: { since: 7, until: 9, fromOnnx: upsampleToResize },
});

// ---- Compute definitions (lowering to loop IR) -------------------------------------------------------------
// Each mirrors the op's eval above; shape-deciding inputs must be constants (ctx.constValue).

/** The validation helpers above take an InferCtx/EvalCtx but read only attrs, node and outputCount. */
function vctx(ctx: LowerCtx): InferCtx {
  return { node: ctx.node, attrs: ctx.attrs, outputCount: ctx.node.outputs.length, constValue: (i: number) => ctx.constValue(i) } as unknown as InferCtx;
}
function inRef(ctx: LowerCtx, i: number): TensorRef {
  const t = ctx.inputs[i];
  if (!t) return ctx.unsupported(`input ${i} is missing`);
  return t;
}
/** Input i present with at least one element (the reference's nonEmpty / optInput). */
const present = (ctx: LowerCtx, i: number): TensorRef | undefined => {
  const t = ctx.inputs[i];
  return t && numel(t.shape) > 0 ? t : undefined;
};
function constOf(ctx: LowerCtx, i: number, what: string): Tensor {
  const t = ctx.constValue(i);
  if (!t) return ctx.unsupported(`${what} (input ${i}) must be a constant`);
  return t;
}
const constIntsOf = (ctx: LowerCtx, i: number, what: string): number[] => intList(constOf(ctx, i, what));
const F64 = (v: number): Expr => E.c(v, 'f64');
const ne = (a: Expr, b: Expr): Expr => E.bin('ne', a, b);
const clampI = (e: Expr, lo: number, hi: number): Expr => E.min(E.max(e, E.i(lo)), E.i(hi));
const anyOf = (cs: Expr[]): Expr => cs.reduce((a, b) => E.or(a, b));
const allOf = (cs: Expr[]): Expr => cs.reduce((a, b) => E.and(a, b));

/** Store constant values into output o. */
function emitConstOut(ctx: LowerCtx, o: number, values: ArrayLike<number>): void {
  const out = ctx.outputs[o]!;
  if (values.length !== numel(out.shape)) ctx.unsupported(`constant of ${values.length} elements for an output of shape [${out.shape.join(', ')}]`);
  const st = constStores(out.buf.name, out.dtype, values, (p) => ctx.fresh(p));
  if (!st) ctx.unsupported(`a constant of ${values.length} elements is too large to embed as code`);
  ctx.extern([o], st);
}
/** values[i] as an expression of i (affine, or a table in a kernel-private buffer). */
function lookup(ctx: LowerCtx, values: number[]): (i: Expr) => Expr {
  const aff = affineOf(values);
  if (aff) return (i) => E.add(E.mul(i, E.i(aff.step)), E.i(aff.base));
  const t = ctx.temp('tbl', 'i32', [values.length]);
  const st = constStores(t.buf.name, 'i32', values, (p) => ctx.fresh(p));
  if (!st) ctx.unsupported(`an index table of ${values.length} entries is too large to embed as code`);
  ctx.extern([], st);
  return (i) => t.flat(i);
}

/** Identity, Reshape, Flatten, Squeeze, Unsqueeze: the same elements in the same (row-major) order. */
function lowerCopy(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), out = ctx.outputs[0]!;
  if (numel(x.shape) !== numel(out.shape)) ctx.unsupported(`[${x.shape.join(', ')}] and [${out.shape.join(', ')}] differ in size`);
  ctx.compute(0, (idx) => x.flat(flatExpr(idx, out.shape)));
}

function lowerConstant(ctx: LowerCtx): void {
  const t = constantTensor(vctx(ctx));
  if (t.dtype === 'string') ctx.unsupported('string constant');
  emitConstOut(ctx, 0, t.num);
}

function lowerTranspose(ctx: LowerCtx): void {
  const x = inRef(ctx, 0);
  const perm = permOf(vctx(ctx), x.shape.length);
  ctx.compute(0, (idx) => {
    const src = new Array<Expr>(perm.length);
    perm.forEach((p, k) => { src[p] = idx[k]!; });
    return x.at(...src);
  });
}

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

function lowerGather(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), ind = inRef(ctx, 1), out = ctx.outputs[0]!;
  const a = axisOf(vctx(ctx), ctx.attrs.int('axis'), x.shape.length);
  const q = ind.shape.length, dim = x.shape[a]!;
  if (dim === 0 && numel(out.shape) > 0) ctx.unsupported('gather from an empty axis');
  ctx.compute(0, (idx) => {
    const j = normIndexExpr(ind.at(...idx.slice(a, a + q)), dim);
    return x.at(...idx.slice(0, a), j, ...idx.slice(a + q));
  });
}

function lowerGatherElements(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), ind = inRef(ctx, 1);
  if (x.shape.length !== ind.shape.length) ctx.unsupported('data and indices must have the same rank');
  const a = axisOf(vctx(ctx), ctx.attrs.int('axis'), x.shape.length);
  if (ind.shape.some((d, k) => k !== a && d > x.shape[k]!)) ctx.unsupported('indices are larger than data outside the axis');
  if (x.shape[a] === 0 && numel(ind.shape) > 0) ctx.unsupported('gather from an empty axis');
  ctx.compute(0, (idx) => x.at(...idx.map((v, k) => (k === a ? normIndexExpr(ind.at(...idx), x.shape[a]!) : v))));
}

function lowerGatherND(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), ind = inRef(ctx, 1), out = ctx.outputs[0]!;
  const b = ctx.attrs.int('batch_dims');
  const q = ind.shape.length, r = x.shape.length;
  const last = ind.shape[q - 1]!;
  if (q < 1 || b < 0 || b >= Math.min(q, r) || last > r - b) ctx.unsupported('invalid batch_dims or indices shape');
  if (ind.shape.slice(0, b).some((d, i) => d !== x.shape[i])) ctx.unsupported('indices batch dims differ from data batch dims');
  if (numel(out.shape) > 0 && x.shape.slice(b, b + last).some((d) => d === 0)) ctx.unsupported('gather from an empty axis');
  ctx.compute(0, (idx) => {
    const lead = idx.slice(0, q - 1);
    const sub: Expr[] = [];
    for (let k = 0; k < last; k++) sub.push(normIndexExpr(ind.at(...lead, E.i(k)), x.shape[b + k]!));
    return x.at(...idx.slice(0, b), ...sub, ...idx.slice(q - 1));
  });
}

/** out = data; then out[at] = combine(out[at], update) for every update (the reference's reducer). */
function scatterCombine(ctx: LowerCtx, red: string, cur: Expr, u: Expr): Expr {
  switch (red) {
    case 'none': return u;
    case 'add': return E.add(cur, u);
    case 'mul': return E.mul(cur, u);
    case 'max': return E.max(cur, u);
    case 'min': return E.min(cur, u);
  }
  return ctx.unsupported(`reduction '${red}'`);
}
function copyStmt(ctx: LowerCtx, x: TensorRef, out: TensorRef): Stmt {
  const i = ctx.fresh('i');
  return S.for(i, numel(x.shape), S.store(out.buf.name, E.v(i), x.flat(E.v(i))));
}
function lowerScatterElements(ctx: LowerCtx, red: string): void {
  const x = inRef(ctx, 0), ind = inRef(ctx, 1), upd = inRef(ctx, 2), out = ctx.outputs[0]!;
  const r = x.shape.length;
  if (r !== ind.shape.length || r !== upd.shape.length || ind.shape.some((d, i) => d !== upd.shape[i])) ctx.unsupported('shape mismatch');
  if (red !== 'none' && out.dtype === 'bool') ctx.unsupported(`reduction '${red}' on bool`);
  const a = axisOf(vctx(ctx), ctx.attrs.int('axis'), r);
  if (ind.shape.some((d, k) => k !== a && d > x.shape[k]!)) ctx.unsupported('indices are larger than data outside the axis');
  if (x.shape[a] === 0 && numel(ind.shape) > 0) ctx.unsupported('scatter into an empty axis');
  const vars = ind.shape.map(() => ctx.fresh('i'));
  const iv = vars.map((v) => E.v(v));
  const offV = ctx.fresh('off');
  const off = flatExpr(iv.map((v, k) => (k === a ? normIndexExpr(ind.at(...iv), x.shape[a]!) : v)), x.shape);
  const cur = E.load(out.buf.name, E.v(offV), out.dtype);
  let body: Stmt = S.let(offV, 'i32', off, S.store(out.buf.name, E.v(offV), scatterCombine(ctx, red, cur, upd.at(...iv))));
  for (let k = vars.length - 1; k >= 0; k--) body = S.for(vars[k]!, ind.shape[k]!, body);
  ctx.extern([0], S.seq(copyStmt(ctx, x, out), body));
}
function lowerScatterND(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), ind = inRef(ctx, 1), upd = inRef(ctx, 2), out = ctx.outputs[0]!;
  const red = ctx.attrs.str('reduction');
  if (red !== 'none' && out.dtype === 'bool') ctx.unsupported(`reduction '${red}' on bool`);
  const q = ind.shape.length, k = ind.shape[q - 1]!;
  if (q < 1 || k > x.shape.length) ctx.unsupported(`indices.shape[-1] exceeds data rank`);
  const want = [...ind.shape.slice(0, q - 1), ...x.shape.slice(k)];
  if (upd.shape.length !== want.length || upd.shape.some((d, i) => d !== want[i])) ctx.unsupported('updates shape mismatch');
  const n = numel(ind.shape.slice(0, q - 1)), slice = numel(x.shape.slice(k));
  if (n > 0 && x.shape.slice(0, k).some((d) => d === 0)) ctx.unsupported('scatter into an empty axis');
  const st = stridesOf(x.shape);
  const j = ctx.fresh('j'), i = ctx.fresh('i'), offV = ctx.fresh('off');
  let off: Expr = E.i(0);
  for (let m = 0; m < k; m++) off = E.add(off, E.mul(normIndexExpr(ind.flat(E.add(E.mul(E.v(j), E.i(k)), E.i(m))), x.shape[m]!), E.i(st[m]!)));
  const at = E.add(E.v(offV), E.v(i));
  const cur = E.load(out.buf.name, at, out.dtype);
  const u = upd.flat(E.add(E.mul(E.v(j), E.i(slice)), E.v(i)));
  const body = S.for(j, n, S.let(offV, 'i32', off, S.for(i, slice, S.store(out.buf.name, at, scatterCombine(ctx, red, cur, u)))));
  ctx.extern([0], S.seq(copyStmt(ctx, x, out), body));
}

function lowerExpand(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), out = ctx.outputs[0]!;
  if (x.shape.length > out.shape.length) ctx.unsupported('output rank below input rank');
  ctx.compute(0, (idx) => bcastAt(x, idx));
}

function lowerTile(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), out = ctx.outputs[0]!;
  ctx.compute(0, (idx) => x.at(...idx.map((v, k) => (x.shape[k] === out.shape[k] ? v : E.mod(v, E.i(x.shape[k]!))))));
}

function lowerPad(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), out = ctx.outputs[0]!;
  const mode = ctx.attrs.str('mode');
  if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) ctx.unsupported(`mode '${mode}'`);
  const r = x.shape.length;
  const full = fullPads(vctx(ctx), r, constIntsOf(ctx, 1, 'pads'), ctx.inputs[3] ? constIntsOf(ctx, 3, 'axes') : undefined);
  if (out.shape.some((d, k) => d !== x.shape[k]! + full[k]! + full[r + k]!)) ctx.unsupported('output shape disagrees with pads');
  if (mode !== 'constant' && x.shape.some((n, k) => n === 0 && out.shape[k]! > 0)) ctx.unsupported(`${mode} padding of an empty axis`);
  const cv = present(ctx, 2);
  const fill = cv ? cv.flat(E.i(0)) : E.c(0, out.dtype);
  ctx.compute(0, (idx) => {
    const conds: Expr[] = [];
    const src = idx.map((o, k) => {
      const n = x.shape[k]!, p = full[k]!;
      if (p === 0 && full[r + k]! <= 0) return o; // never outside the input
      const i = E.sub(o, E.i(p));
      switch (mode) {
        case 'constant':
          conds.push(E.and(E.ge(i, E.i(0)), E.lt(i, E.i(n))));
          return clampI(i, 0, Math.max(n - 1, 0));
        case 'edge': return clampI(i, 0, n - 1);
        case 'wrap': return E.mod(E.add(E.mod(i, E.i(n)), E.i(n)), E.i(n));
        default: { // reflect
          if (n === 1) return E.i(0);
          const per = 2 * (n - 1);
          const m = E.mod(E.add(E.mod(i, E.i(per)), E.i(per)), E.i(per));
          return E.select(E.lt(m, E.i(n)), m, E.sub(E.i(per), m));
        }
      }
    });
    const v = x.at(...src);
    return conds.length ? E.select(allOf(conds), v, fill) : v;
  });
}

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

// ---- Resize ----
/** One axis of a resize at output position j: the taps (clamped source index, weight) as planAxis computes them. */
interface TapPlan { taps: { idx: Expr; w: Expr }[]; outside?: Expr; chosen?: Expr }
/**
 * Loop IR for planAxis/sourceCoord/coeffs of lib/shape.ts at output position `j` (same double-precision
 * operations in the same order); `k` builds the statement that uses the plan, wrapped in the lets.
 */
function resizeAxisStmt(ctx: LowerCtx, p: ResizeParams, inLen: number, outLen: number, scale: number,
  roi: [Expr, Expr] | undefined, j: Expr, k: (plan: TapPlan) => Stmt): Stmt {
  const lets: { v: string; t: ScalarType; val: Expr }[] = [];
  const bind = (prefix: string, t: ScalarType, val: Expr): Expr => {
    if (val.k === 'const' || val.k === 'var') return val;
    const v = ctx.fresh(prefix);
    lets.push({ v, t, val });
    return E.v(v, t);
  };
  const X = bind('x', 'f64', E.cast(j, 'f64'));
  const outF = scale * inLen;
  const halfPixel = () => E.sub(E.div(E.add(X, F64(0.5)), F64(scale)), F64(0.5));
  let xo: Expr;
  let outside: Expr | undefined;
  switch (p.coord) {
    case 'half_pixel': xo = halfPixel(); break;
    case 'half_pixel_symmetric': {
      const adjustment = outLen / outF;
      const center = inLen / 2;
      const offset = center * (1 - adjustment);
      xo = E.sub(E.add(F64(offset), E.div(E.add(X, F64(0.5)), F64(scale))), F64(0.5));
      break;
    }
    case 'pytorch_half_pixel': xo = outF === 1 ? F64(-0.5) : halfPixel(); break;
    case 'align_corners': xo = outF === 1 ? F64(0) : E.div(E.mul(X, F64(inLen - 1)), F64(outF - 1)); break;
    case 'asymmetric': xo = E.div(X, F64(scale)); break;
    case 'tf_half_pixel_for_nn': xo = E.div(E.add(X, F64(0.5)), F64(scale)); break;
    case 'tf_crop_and_resize': {
      const [r0, r1] = roi ?? [F64(0), F64(1)];
      const R0 = bind('r0', 'f64', r0), R1 = bind('r1', 'f64', r1);
      const v = outF === 1 ? E.div(E.mul(E.sub(R1, R0), F64(inLen - 1)), F64(2))
        : E.div(E.mul(E.mul(X, E.sub(R1, R0)), F64(inLen - 1)), F64(outF - 1));
      xo = bind('xo', 'f64', E.add(v, E.mul(R0, F64(inLen - 1))));
      outside = E.or(E.lt(xo, F64(0)), E.gt(xo, F64(inLen - 1)));
      break;
    }
    default: return ctx.unsupported(`coordinate_transformation_mode '${p.coord}'`);
  }
  const XO = bind('xo', 'f64', xo);
  const FL = bind('fl', 'f64', E.call('floor', XO));
  const isInt = E.eq(XO, FL);
  const BASE = bind('base', 'i32', E.cast(E.select(isInt, E.sub(FL, F64(1)), FL), 'i32'));
  const R = bind('ratio', 'f64', E.select(isInt, F64(1), E.sub(XO, FL)));
  let start = 0;
  let cs: Expr[];
  const A = p.cubicA;
  const normalize = (c: Expr[]): Expr[] => {
    const sum = bind('sum', 'f64', c.reduce((a, b) => E.add(a, b)));
    return c.map((v) => bind('w', 'f64', E.div(v, sum)));
  };
  if (p.mode === 'nearest') {
    const m = p.nearestMode === 'round_prefer_floor' ? E.select(E.le(R, F64(0.5)), F64(1), F64(0))
      : p.nearestMode === 'round_prefer_ceil' ? E.select(E.lt(R, F64(0.5)), F64(1), F64(0))
      : p.nearestMode === 'floor' ? F64(1) : F64(0);
    const c0 = bind('c', 'f64', E.select(E.eq(R, F64(1)), F64(0), m));
    cs = [c0, bind('c', 'f64', E.sub(F64(1), c0))];
  } else if (p.mode === 'linear' && !p.antialias) {
    cs = [bind('c', 'f64', E.sub(F64(1), R)), R];
  } else if (p.mode === 'linear') {
    const s = Math.min(scale, 1);
    start = Math.floor(-1 / s) + 1;
    const fp = 2 - 2 * start;
    const raw: Expr[] = [];
    for (let i = 0; i < fp; i++) {
      raw.push(bind('c', 'f64', E.min(F64(1), E.max(F64(0), E.sub(F64(1), E.abs(E.mul(E.sub(F64(start + i), R), F64(s))))))));
    }
    cs = normalize(raw);
  } else if (p.mode === 'cubic' && !p.antialias) {
    start = -1;
    const Q = bind('q', 'f64', E.sub(F64(1), R));
    const far = (t: Expr) => { const t1 = bind('t', 'f64', E.add(t, F64(1))); return E.sub(E.mul(E.add(E.mul(E.sub(E.mul(F64(A), t1), F64(5 * A)), t1), F64(8 * A)), t1), F64(4 * A)); };
    const near = (t: Expr) => E.add(E.mul(E.mul(E.sub(E.mul(F64(A + 2), t), F64(A + 3)), t), t), F64(1));
    cs = [bind('c', 'f64', far(R)), bind('c', 'f64', near(R)), bind('c', 'f64', near(Q)), bind('c', 'f64', far(Q))];
  } else if (p.mode === 'cubic') {
    const s = Math.min(scale, 1);
    const iStart = Math.floor(-2 / s) + 1, iEnd = 2 - iStart;
    start = iStart;
    const raw: Expr[] = [];
    for (let i = iStart; i < iEnd; i++) {
      const x = bind('ax', 'f64', E.abs(E.mul(F64(s), E.sub(F64(i), R))));
      const c1 = E.add(E.mul(E.mul(E.sub(E.mul(F64(A + 2), x), F64(A + 3)), x), x), F64(1));
      const c2 = E.sub(E.mul(E.add(E.mul(E.sub(E.mul(F64(A), x), F64(5 * A)), x), F64(8 * A)), x), F64(4 * A));
      raw.push(bind('c', 'f64', E.select(E.le(x, F64(1)), c1, E.select(E.lt(x, F64(2)), c2, F64(0)))));
    }
    cs = normalize(raw);
  } else return ctx.unsupported(`mode '${p.mode}'`);
  const idxs = cs.map((_, i) => bind('ix', 'i32', E.add(BASE, E.i(start + i))));
  if (p.excludeOutside) {
    cs = normalize(cs.map((c, i) => bind('c', 'f64', E.select(E.or(E.lt(idxs[i]!, E.i(0)), E.ge(idxs[i]!, E.i(inLen))), F64(0), c))));
  }
  const taps = cs.map((w, i) => ({ idx: bind('ci', 'i32', clampI(idxs[i]!, 0, inLen - 1)), w }));
  // nearest: the tap whose weight is 1 (c = [1, 0] or [0, 1])
  const chosen = p.mode === 'nearest' ? E.select(E.eq(cs[0]!, F64(1)), taps[0]!.idx, taps[1]!.idx) : undefined;
  let body = k({ taps, outside, chosen });
  // wrap in the lets, dropping those nothing reads (C warns about unused variables)
  for (let i = lets.length - 1; i >= 0; i--) {
    if (usesVar(body, lets[i]!.v)) body = S.let(lets[i]!.v, lets[i]!.t, lets[i]!.val, body);
  }
  return body;
}

function usesVar(s: Stmt, v: string): boolean {
  let used = false;
  mapStmt(s, (e) => { if (e.k === 'var' && e.name === v) used = true; return e; });
  return used;
}

function lowerResize(ctx: LowerCtx): void {
  const c = vctx(ctx);
  const x = inRef(ctx, 0), out = ctx.outputs[0]!;
  const p = resizeParams(c);
  if (p.mode !== 'nearest' && !isFloatT(x.dtype)) ctx.unsupported(`mode ${p.mode} on ${x.dtype}`);
  if (x.dtype === 'bool') ctx.unsupported('bool input');
  const scT = present(ctx, 2) ? constOf(ctx, 2, 'scales') : undefined;
  const szT = present(ctx, 3) ? constOf(ctx, 3, 'sizes') : undefined;
  const sc = scT?.toNumbers(), sz = szT ? intList(szT) : undefined;
  if (ctx.attrs.int(LEGACY) && p.mode === 'nearest' && sc && sc.some((v) => v < 1 || v !== Math.floor(v))) {
    ctx.unsupported(`${ctx.node.op} (opset <= 10) nearest with non-integer scales`);
  }
  const r = x.shape.length;
  const plan = resizePlan(c, x.shape, sc, sz);
  if (plan.out.some((d, i) => d !== out.shape[i])) ctx.unsupported('output shape disagrees with the resize plan');
  if (numel(out.shape) === 0) { ctx.compute(0, () => E.c(0, out.dtype)); return; }
  if (x.shape.some((d) => d === 0)) ctx.unsupported('resize of an empty input');
  const tfCrop = p.coord === 'tf_crop_and_resize';
  let roiOf: (a: number) => [Expr, Expr] | undefined = () => undefined;
  if (tfCrop) {
    const axes = ctx.attrs.has('axes') ? ctx.attrs.ints('axes').map((a) => axisOf(c, a, r)) : Array.from({ length: r }, (_, i) => i);
    const roi = present(ctx, 1);
    if (roi && numel(roi.shape) !== 2 * axes.length) ctx.unsupported(`roi has ${numel(roi.shape)} entries, expected ${2 * axes.length}`);
    roiOf = (a) => {
      const i = axes.indexOf(a);
      if (!roi || i < 0) return [F64(0), F64(1)];
      return [E.cast(roi.flat(E.i(i)), 'f64'), E.cast(roi.flat(E.i(axes.length + i)), 'f64')];
    };
  }
  // axes whose plan is exactly the identity (one tap of weight 1 at the same index) are skipped
  const identity = (a: number): boolean => {
    if (tfCrop || x.shape[a] !== out.shape[a]) return false;
    const pl = planAxis(p, x.shape[a]!, out.shape[a]!, plan.scales[a]!, undefined);
    for (let j = 0; j < out.shape[a]!; j++) {
      if (pl.outside[j]) return false;
      const nz = [...pl.w[j]!.keys()].filter((k) => pl.w[j]![k] !== 0);
      if (nz.length !== 1 || pl.w[j]![nz[0]!] !== 1 || pl.idx[j]![nz[0]!] !== j) return false;
    }
    return true;
  };
  const active: number[] = [];
  for (let a = r - 1; a >= 0; a--) if (!identity(a)) active.push(a);
  const planLoop = (a: number, f: (j: Expr, tp: TapPlan) => Stmt): void => {
    const j = ctx.fresh('j');
    ctx.extern([], S.for(j, out.shape[a]!, resizeAxisStmt(ctx, p, x.shape[a]!, out.shape[a]!, plan.scales[a]!, roiOf(a), E.v(j), (tp) => f(E.v(j), tp))));
  };

  if (p.mode === 'nearest' && !p.excludeOutside) {
    // one tap of weight 1 per axis: a gather (exact for every dtype); outside (tf_crop_and_resize) -> extrapolation_value
    const src = new Map<number, TensorRef>(), outs = new Map<number, TensorRef>();
    for (const a of active) {
      const t = ctx.temp('ridx', 'i32', [out.shape[a]!]);
      src.set(a, t);
      const o = tfCrop ? ctx.temp('rout', 'i32', [out.shape[a]!]) : undefined;
      if (o) outs.set(a, o);
      planLoop(a, (j, tp) => S.seq(S.store(t.buf.name, j, tp.chosen!), ...(o ? [S.store(o.buf.name, j, E.cast(tp.outside!, 'i32'))] : [])));
    }
    const ext = E.c(castScalar(p.extrapolation, scalarToDtype(out.dtype)), out.dtype);
    ctx.compute(0, (idx) => {
      const v = x.at(...idx.map((v, a) => src.get(a)?.flat(v) ?? v));
      const cs = [...outs.entries()].map(([a, o]) => ne(o.flat(idx[a]!), E.i(0)));
      return cs.length ? E.select(anyOf(cs), ext, v) : v;
    });
    return;
  }
  if (!isFloatT(x.dtype)) ctx.unsupported(`mode ${p.mode} with exclude_outside on ${x.dtype}`);
  if (active.length === 0) { ctx.compute(0, (idx) => E.cast(x.at(...idx), out.dtype)); return; }
  // separable passes, innermost axis first, in double precision (as resizeData)
  let cur: TensorRef = x;
  const shape = x.shape.slice();
  active.forEach((a, n) => {
    const inLen = shape[a]!, outLen = out.shape[a]!;
    const last = n === active.length - 1;
    let taps = 0;
    // count taps by planning a dummy statement
    resizeAxisStmt(ctx, p, inLen, outLen, plan.scales[a]!, roiOf(a), E.i(0), (tp) => { taps = tp.taps.length; return S.seq(); });
    const idxT = ctx.temp('ridx', 'i32', [outLen * taps]), wT = ctx.temp('rw', 'f64', [outLen * taps]);
    const outT = tfCrop ? ctx.temp('rout', 'i32', [outLen]) : undefined;
    planLoop(a, (j, tp) => S.seq(
      ...tp.taps.flatMap((t, k) => {
        const at = E.add(E.mul(j, E.i(taps)), E.i(k));
        return [S.store(idxT.buf.name, at, t.idx), S.store(wT.buf.name, at, t.w)];
      }),
      ...(outT ? [S.store(outT.buf.name, j, E.cast(tp.outside!, 'i32'))] : []),
    ));
    const O = numel(shape.slice(0, a)), I = numel(shape.slice(a + 1));
    const nextShape = shape.slice(); nextShape[a] = outLen;
    const dst = last ? out : ctx.temp('rbuf', 'f64', nextShape);
    const [o, jj, i, kk] = [ctx.fresh('o'), ctx.fresh('j'), ctx.fresh('i'), ctx.fresh('k')];
    const at = E.add(E.mul(E.v(jj), E.i(taps)), E.v(kk));
    const w = wT.flat(at);
    const srcVal = E.cast(cur.flat(E.add(E.mul(E.add(E.mul(E.v(o), E.i(inLen)), idxT.flat(at)), E.i(I)), E.v(i))), 'f64');
    let val: Expr = E.reduce('sum', [{ name: kk, extent: taps }], E.select(ne(w, F64(0)), E.mul(w, srcVal), F64(0)));
    if (outT) val = E.select(ne(outT.flat(E.v(jj)), E.i(0)), F64(p.extrapolation), val);
    if (last) val = E.cast(val, out.dtype);
    const view = { ...dst.buf, shape: [O, outLen, I] };
    ctx.extern(last ? [0] : [], lowerCompute({ kind: 'compute', out: view, axes: [o, jj, i], body: val }, (pf) => ctx.fresh(pf)));
    cur = dst;
    shape[a] = outLen;
  });
}
const SCALAR_DTYPE: Record<ScalarType, DType> = {
  f32: 'float32', f64: 'float64', i8: 'int8', i16: 'int16', i32: 'int32', i64: 'int64',
  u8: 'uint8', u16: 'uint16', u32: 'uint32', u64: 'uint64', bool: 'bool', f16: 'float16', bf16: 'bfloat16',
};
const scalarToDtype = (t: ScalarType): DType => SCALAR_DTYPE[t];

void INTS;
