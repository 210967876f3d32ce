/** Small helpers shared by op definitions (axes, index math, broadcasting iteration). */
import { Tensor, broadcastStatic, diag, stridesOf, type DType, type Dim, type TensorType } from '@aic/core';

/** Normalize a possibly-negative axis against rank r; throws a verify error when out of range. */
export function normAxis(axis: number, rank: number, op = 'op'): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw diag.verify(op, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/**
 * For an output of shape `out` and an input of shape `inp` broadcast to it, the input's strides
 * in output-index space (0 where broadcast).
 */
export function broadcastStrides(inp: readonly number[], out: readonly number[]): number[] {
  const s = stridesOf(inp);
  const r = out.length, k = inp.length;
  const res = new Array<number>(r).fill(0);
  for (let i = 0; i < k; i++) {
    const oi = r - k + i;
    res[oi] = inp[i] === 1 && out[oi] !== 1 ? 0 : s[i]!;
  }
  return res;
}

/**
 * Element offsets of each input for every output element under numpy broadcasting.
 * Returns one Int32Array per input (or null when the input is already output-shaped).
 */
export function broadcastIndex(shapes: readonly (readonly number[])[], out: readonly number[]): (Int32Array | null)[] {
  const n = out.reduce((a, b) => a * b, 1);
  return shapes.map((s) => {
    if (s.length === out.length && s.every((d, i) => d === out[i])) return null;
    const st = broadcastStrides(s, out);
    const idx = new Int32Array(n);
    const r = out.length;
    const ctr = new Array<number>(r).fill(0);
    let off = 0;
    for (let i = 0; i < n; i++) {
      idx[i] = off;
      for (let d = r - 1; d >= 0; d--) {
        ctr[d]++;
        off += st[d]!;
        if (ctr[d] < out[d]!) break;
        off -= st[d]! * out[d]!;
        ctr[d] = 0;
      }
    }
    return idx;
  });
}

/** Elementwise n-ary op with broadcasting; f receives numbers, result cast into outDtype storage. */
export function broadcastMap(inputs: readonly Tensor[], outDtype: DType, f: (...v: number[]) => number): Tensor {
  const outShape = broadcastStatic(inputs.map((t) => t.shape));
  const out = new Tensor(outDtype, outShape);
  const o = out.num;
  const n = out.size;
  const idx = broadcastIndex(inputs.map((t) => t.shape), outShape);
  if (inputs.length === 2) {
    const a = inputs[0].num, b = inputs[1].num, ia = idx[0], ib = idx[1];
    for (let i = 0; i < n; i++) o[i] = f(a[ia ? ia[i] : i], b[ib ? ib[i] : i]);
    return out;
  }
  if (inputs.length === 1) {
    const a = inputs[0].num;
    for (let i = 0; i < n; i++) o[i] = f(a[i]);
    return out;
  }
  const datas = inputs.map((t) => t.num);
  const args = new Array<number>(inputs.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < datas.length; k++) { const ix = idx[k]; args[k] = datas[k][ix ? ix[i] : i]; }
    o[i] = f(...args);
  }
  return out;
}

/** The values of an integer tensor input (shape data) as JS numbers. */
export function intList(t: Tensor): number[] {
  return Array.from(t.num as ArrayLike<number>, (v) => Math.trunc(v));
}

export function staticShapeOf(t: TensorType): number[] | undefined {
  return t.shape !== undefined && t.shape.every((d) => typeof d === 'number') ? (t.shape as number[]) : undefined;
}

export function product(dims: readonly number[]): number {
  let p = 1;
  for (const d of dims) p *= d;
  return p;
}

/** Product of dims that may be symbolic: a number when all static, else undefined. */
export function dimProduct(dims: readonly Dim[]): number | undefined {
  let p = 1;
  for (const d of dims) { if (typeof d !== 'number') return undefined; p *= d; }
  return p;
}
