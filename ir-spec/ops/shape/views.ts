/**
 * Identity, Constant, Reshape, Flatten, Squeeze, Unsqueeze, Transpose: ops that keep or reorder elements without computing.
 */
import { Tensor, diag, freshDim, freshDims, type Dim } from '@aic/core';
import { defineOp } from '../../registry.ts';
import type { EvalCtx, InferCtx, LowerCtx } from '../../types.ts';
import { numel, type Expr } from '@aic/loop-ir';
import { intList, product } from '../../lib/util.ts';
import { ALL, requireDtype } from '../../lib/infer-helpers.ts';
import * as V from '../../vjp/index.ts';
import { copyTensor, dimProd, flatExpr, transposeTensor } from '../../lib/shape.ts';
import { CAT, loc, verr, axisOf, constInts, optInts, i64, attrToInput, vctx, inRef, emitConstOut } from './common.ts';

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


// ---- Compute definitions (lowering to loop IR); each mirrors the eval above. ----

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
