/**
 * Helpers for the reduce family: axis lists, reduced shapes, the input->output index map of a
 * reduction, the (outer, n, inner) split of a tensor around one axis, and code-point string order.
 */
import { Tensor, diag, freshDim, nodeLocation, type Dim, type Location, type Shape } from '@aic/core';
import type { InferCtx } from '../types.ts';
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
