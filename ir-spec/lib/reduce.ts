/**
 * Helpers for the reduce family: axis lists, reduced shapes, the input->output index map of a
 * reduction, the (outer, n, inner) split of a tensor around one axis, and code-point string order.
 */
import { Tensor, diag, freshDim, nodeLocation, type Dim, type Location, type Shape } from '@aic/core';
import { E, lowerCompute, type Expr, type ScalarType, type TensorRef } from '@aic/loop-ir';
import type { InferCtx, LowerCtx } from '../types.ts';
import { intList } from './util.ts';

/** Normalize axes against `rank`: negative axes wrap; out-of-range or repeated axes are errors. */
export function normAxes(axes: readonly number[], rank: number, op: string, loc?: Location): number[] {
  const out: number[] = [];
  for (const a of axes) {
    const n = a < 0 ? a + rank : a;
    if (n < 0 || n >= rank) throw diag.verify(op, `axis ${a} is out of range for rank ${rank}`, loc);
    if (out.includes(n)) throw diag.verify(op, `axis ${a} is listed twice in axes [${axes.join(', ')}]`, loc);
    out.push(n);
  }
  return out.sort((x, y) => x - y);
}

/** Shape after reducing `axes` (normalized) of `shape`. */
export function reducedShape<D extends Dim>(shape: readonly D[], axes: readonly number[], keepdims: boolean): (D | 1)[] {
  const out: (D | 1)[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** The values of an axes tensor (int64 or int32, rank 0 or 1). */
export function axesValues(t: Tensor, op: string): number[] {
  if (t.dtype !== 'int64' && t.dtype !== 'int32') {
    throw diag.verify(op, `axes must be int64, got ${t.dtype}`);
  }
  if (t.rank > 1) throw diag.verify(op, `axes must be a 1-D tensor, got rank ${t.rank}`);
  return intList(t);
}

/**
 * Inferred output shape of a reduction whose axes come from input `axesIdx` (may be absent or
 * non-constant). `noop` = noop_with_empty_axes.
 */
export function inferReducedShape(ctx: InferCtx, axesIdx: number, keepdims: boolean, noop: boolean): Shape {
  const op = ctx.node.op;
  const loc = nodeLocation(ctx.node);
  const shape = ctx.type(0).shape;
  const at = ctx.inputTypes[axesIdx];
  let axes: number[] | undefined;
  if (!at) axes = [];
  else {
    // (the dtype is checked on constant / run-time values: an unknown producer leaves a placeholder type)
    const c = ctx.constValue(axesIdx);
    if (c) axes = axesValues(c, op);
    else if (at.shape && at.shape.length === 1 && at.shape[0] === 0) axes = [];
  }
  if (axes === undefined) {
    // axes only known at run time
    if (!shape || !keepdims) return undefined;
    return shape.map((d) => (d === 1 ? 1 : freshDim()));
  }
  if (axes.length === 0) {
    if (noop) return shape?.slice();
    if (!shape) return keepdims ? undefined : [];
    return keepdims ? shape.map(() => 1) : [];
  }
  if (!shape) return undefined;
  return reducedShape(shape, normAxes(axes, shape.length, op, loc), keepdims);
}

/**
 * For a reduction of `shape` over normalized `axes`: the output index of every input element
 * (row-major), the output size, and how many input elements feed each output.
 */
export function reducePlan(shape: readonly number[], axes: readonly number[]): { map: Int32Array; outSize: number; count: number } {
  const r = shape.length;
  const keptStride = new Array<number>(r).fill(0);
  let outSize = 1;
  for (let i = r - 1; i >= 0; i--) {
    if (!axes.includes(i)) { keptStride[i] = outSize; outSize *= shape[i]; }
  }
  let count = 1;
  for (const a of axes) count *= shape[a];
  let n = 1;
  for (const d of shape) n *= d;
  const map = new Int32Array(n);
  const ctr = new Array<number>(r).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    map[i] = off;
    for (let d = r - 1; d >= 0; d--) {
      ctr[d]++;
      off += keptStride[d];
      if (ctr[d] < shape[d]) break;
      off -= keptStride[d] * shape[d];
      ctr[d] = 0;
    }
  }
  return { map, outSize, count };
}

/** Split `shape` around `axis`: element (o, k, i) lies at (o * n + k) * inner + i. */
export function axisSplit(shape: readonly number[], axis: number): { outer: number; n: number; inner: number } {
  let outer = 1, inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return { outer, n: shape[axis], inner };
}

/** Compare strings by Unicode code point (numpy's order), not UTF-16 code unit. */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator](), ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next(), y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0)!, cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

// ---- lowering helpers (compute definitions) ------------------------------------------------------

/**
 * A reduction over fresh axes of the given extents; `f` gets one index variable per axis. No axes =
 * the body itself (one element). 64-bit integer `min` is written as `-1 - max(-1 - x)` (order
 * reversing, never overflows): the accumulator's start value for an i64/u64 min is 2^63-1 / 2^64-1,
 * which doubles cannot spell exactly (and the C renderer prints an out-of-range literal for).
 */
export function reduceExpr(ctx: LowerCtx, op: 'sum' | 'max' | 'min' | 'prod', extents: readonly number[],
  f: (r: Expr[]) => Expr): Expr {
  const names = extents.map(() => ctx.fresh('r'));
  const body = f(names.map((n) => E.v(n)));
  if (names.length === 0) return body;
  const axes = names.map((name, i) => ({ name, extent: extents[i]! }));
  if (op === 'min' && (body.t === 'i64' || body.t === 'u64')) {
    if (body.t === 'u64') ctx.unsupported('minimum of uint64 values');
    const m1 = E.c(-1, 'i64');
    return E.sub(m1, E.reduce('max', axes, E.sub(m1, body)));
  }
  return E.reduce(op, axes, body);
}

/** A compute stage into a kernel scratch buffer (lowered in place, before the node's own stages). */
export function computeTemp(ctx: LowerCtx, prefix: string, dtype: ScalarType, shape: number[],
  f: (idx: Expr[]) => Expr): TensorRef {
  const t = ctx.temp(prefix, dtype, shape);
  const axes = shape.map(() => ctx.fresh('i'));
  ctx.extern([], lowerCompute({ kind: 'compute', out: t.buf, axes, body: f(axes.map((a) => E.v(a))) }, ctx.fresh));
  return t;
}

/** Row-major flat offset of `idx` within `shape` (empty = 0). */
export function flatOf(idx: readonly Expr[], shape: readonly number[]): Expr {
  let acc: Expr = E.i(0);
  idx.forEach((e, d) => { acc = d === 0 ? e : E.add(E.mul(acc, E.i(shape[d]!)), e); });
  return acc;
}

export const isFloatScalar = (t: ScalarType): boolean => t === 'f32' || t === 'f64';
/** f64 view of a float value (no-op for f64). */
export const toF64 = (e: Expr): Expr => E.cast(e, 'f64');

/**
 * Softmax arithmetic for a row of type t, in its compute type: f64 for f64 tensors, f32 for the others
 * (f32 exp and division vectorize on every target; libm's f64 exp is one call per lane, WebAssembly's
 * a scalar Pade): e = exp(x - m) in that type, the row's sum of e in f64 (index order), each output
 * e / sum with the sum rounded to the compute type. softmaxExp / softmaxDiv are the same for eval.
 */
export const softmaxT = (t: ScalarType): ScalarType => (t === 'f64' ? 'f64' : 'f32');
export function expShifted(x: Expr, m: Expr, t: ScalarType): Expr {
  const ct = softmaxT(t), f = (e: Expr) => (e.t === ct ? e : E.cast(e, ct));
  return E.call('exp', E.sub(f(x), f(m)));
}
/** e / sum (e from expShifted, sum the f64 row sum) in the compute type */
export const divSum = (e: Expr, sum: Expr, t: ScalarType): Expr => E.div(e, t === 'f64' ? sum : E.cast(sum, softmaxT(t)));
/** expShifted / divSum on numbers (f64: the tensor is float64) */
export const softmaxExp = (v: number, m: number, f64: boolean): number => (f64 ? Math.exp(v - m) : Math.fround(Math.exp(Math.fround(v - m))));
export const softmaxDiv = (e: number, sum: number, f64: boolean): number => (f64 ? e / sum : Math.fround(e / Math.fround(sum)));
