/** Helpers for the shape family: data movement over generic (numeric or string) tensors, Resize kernels. */
import { Tensor, castScalar, diag, freshDim, stridesOf, type DType, type Dim } from '@aic/core';
import { E, S, flatIndex, type Expr, type ScalarType, type Stmt } from '@aic/loop-ir';

/** Element storage viewed as an indexable array of numbers or strings. */
export type Elems = { [i: number]: number | string; length: number };
export const elems = (t: Tensor): Elems => t.data as unknown as Elems;

/**
 * Copy `src` into a new tensor of `outShape` where output index o along axis k reads source index
 * maps[k][o] (-1 = use `fill`). Covers Slice, Tile, Expand, Pad.
 */
export function axisMapCopy(src: Tensor, outShape: readonly number[], maps: readonly Int32Array[],
  fill?: number | string): Tensor {
  const out = new Tensor(src.dtype, outShape);
  const n = out.size;
  if (n === 0) return out;
  const r = outShape.length;
  const sd = elems(src), od = elems(out);
  const st = stridesOf(src.shape);
  if (r === 0) { od[0] = sd[0]; return out; }
  const ctr = new Array<number>(r).fill(0);
  const fillV = fill ?? (src.dtype === 'string' ? '' : 0);
  for (let i = 0; i < n; i++) {
    let off = 0, oob = false;
    for (let k = 0; k < r; k++) {
      const s = maps[k]![ctr[k]!]!;
      if (s < 0) { oob = true; break; }
      off += s * st[k]!;
    }
    od[i] = oob ? fillV : sd[off]!;
    for (let k = r - 1; k >= 0; k--) {
      if (++ctr[k]! < outShape[k]!) break;
      ctr[k] = 0;
    }
  }
  return out;
}

/** Transpose a tensor by `perm` (output axis k = input axis perm[k]). */
export function transposeTensor(src: Tensor, perm: readonly number[]): Tensor {
  const r = src.rank;
  const outShape = perm.map((p) => src.shape[p]!);
  const out = new Tensor(src.dtype, outShape);
  const n = out.size;
  if (n === 0) return out;
  const sd = elems(src), od = elems(out);
  const ist = stridesOf(src.shape);
  const st = perm.map((p) => ist[p]!);
  if (r === 0) { od[0] = sd[0]; return out; }
  const ctr = new Array<number>(r).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    od[i] = sd[off]!;
    for (let k = r - 1; k >= 0; k--) {
      off += st[k]!;
      if (++ctr[k]! < outShape[k]!) break;
      off -= st[k]! * outShape[k]!;
      ctr[k] = 0;
    }
  }
  return out;
}

/** Iterate all multi-indices of `shape` in row-major order. */
export function forEachIndex(shape: readonly number[], f: (idx: number[], flat: number) => void): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  const r = shape.length;
  const idx = new Array<number>(r).fill(0);
  for (let i = 0; i < n; i++) {
    f(idx, i);
    for (let k = r - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
}

/** Copy a tensor (same dtype/shape, fresh storage). */
export function copyTensor(t: Tensor, shape: readonly number[] = t.shape): Tensor {
  const out = new Tensor(t.dtype, shape);
  const s = elems(t), d = elems(out);
  for (let i = 0; i < s.length; i++) d[i] = s[i]!;
  return out;
}

/** Dim helpers for inference. */
export const dimMul = (a: Dim, b: Dim): Dim => (typeof a === 'number' && typeof b === 'number' ? a * b : (a === 1 ? b : b === 1 ? a : freshDim()));
export const dimProd = (ds: readonly Dim[]): Dim => ds.reduce<Dim>((a, b) => dimMul(a, b), 1);

/** Combine two values with a scatter reduction. */
export function reducer(red: string, dtype: DType, op: string): (a: number, b: number) => number {
  const i32 = dtype === 'int32' || dtype === 'uint32';
  switch (red) {
    case 'none': return (_a, b) => b;
    case 'add': return (a, b) => a + b;
    case 'mul': return i32 ? (a, b) => castScalar(Math.imul(a, b), dtype) : (a, b) => a * b;
    case 'max': return (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));
    case 'min': return (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b));
    default: throw diag.unsupportedAttr({ op }, 'reduction', red);
  }
}

// ---- Resize ---------------------------------------------------------------------------------------

export interface ResizeParams {
  mode: string;
  coord: string;
  nearestMode: string;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
  antialias: boolean;
}

/** Per output position along one axis: source indices (unclamped) and weights, or 'outside'. */
export interface AxisPlan { idx: Int32Array[]; w: Float64Array[]; outside: Uint8Array }

function cubicCoeff(x: number, A: number): number {
  x = Math.abs(x);
  if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return 0;
}

/** Coefficients for ratio in (0, 1]; the first applies to index base + start. */
function coeffs(p: ResizeParams, ratio: number, scale: number): { start: number; c: number[] } {
  if (p.mode === 'nearest') {
    if (ratio === 1) return { start: 0, c: [0, 1] };
    switch (p.nearestMode) {
      case 'round_prefer_floor': return { start: 0, c: ratio <= 0.5 ? [1, 0] : [0, 1] };
      case 'round_prefer_ceil': return { start: 0, c: ratio < 0.5 ? [1, 0] : [0, 1] };
      case 'floor': return { start: 0, c: [1, 0] };
      case 'ceil': return { start: 0, c: [0, 1] };
    }
    throw diag.unsupportedAttr({ op: 'Resize' }, 'nearest_mode', p.nearestMode);
  }
  if (p.mode === 'linear') {
    if (!p.antialias) return { start: 0, c: [1 - ratio, ratio] };
    const s = Math.min(scale, 1);
    const start = Math.floor(-1 / s) + 1;
    const fp = 2 - 2 * start;
    const c: number[] = [];
    for (let i = 0; i < fp; i++) c.push(Math.min(1, Math.max(0, 1 - Math.abs((start + i - ratio) * s))));
    const sum = c.reduce((a, b) => a + b, 0);
    return { start, c: c.map((v) => v / sum) };
  }
  if (p.mode === 'cubic') {
    const A = p.cubicA;
    if (!p.antialias) {
      const r = ratio, q = 1 - ratio;
      return {
        start: -1,
        c: [
          ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A,
          ((A + 2) * r - (A + 3)) * r * r + 1,
          ((A + 2) * q - (A + 3)) * q * q + 1,
          ((A * (q + 1) - 5 * A) * (q + 1) + 8 * A) * (q + 1) - 4 * A,
        ],
      };
    }
    const s = Math.min(scale, 1);
    const iStart = Math.floor(-2 / s) + 1;
    const iEnd = 2 - iStart;
    const c: number[] = [];
    for (let i = iStart; i < iEnd; i++) c.push(cubicCoeff(s * (i - ratio), A));
    const sum = c.reduce((a, b) => a + b, 0);
    return { start: iStart, c: c.map((v) => v / sum) };
  }
  throw diag.unsupportedAttr({ op: 'Resize' }, 'mode', p.mode);
}

/** Source coordinate of output position x (ONNX reference semantics); undefined = extrapolate. */
function sourceCoord(p: ResizeParams, x: number, inLen: number, outInt: number, scale: number,
  roi: [number, number] | undefined): number | undefined {
  const outF = scale * inLen;
  switch (p.coord) {
    case 'half_pixel': return (x + 0.5) / scale - 0.5;
    case 'half_pixel_symmetric': {
      const adjustment = outInt / outF;
      const center = inLen / 2;
      const offset = center * (1 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case 'pytorch_half_pixel': return outF === 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    case 'align_corners': return outF === 1 ? 0 : (x * (inLen - 1)) / (outF - 1);
    case 'asymmetric': return x / scale;
    case 'tf_half_pixel_for_nn': return (x + 0.5) / scale;
    case 'tf_crop_and_resize': {
      const [r0, r1] = roi ?? [0, 1];
      let xo = outF === 1 ? ((r1 - r0) * (inLen - 1)) / 2 : (x * (r1 - r0) * (inLen - 1)) / (outF - 1);
      xo += r0 * (inLen - 1);
      return xo < 0 || xo > inLen - 1 ? undefined : xo;
    }
  }
  throw diag.unsupportedAttr({ op: 'Resize' }, 'coordinate_transformation_mode', p.coord);
}

export function planAxis(p: ResizeParams, inLen: number, outLen: number, scale: number, roi: [number, number] | undefined): AxisPlan {
  const plan: AxisPlan = { idx: [], w: [], outside: new Uint8Array(outLen) };
  for (let x = 0; x < outLen; x++) {
    const xo = sourceCoord(p, x, inLen, outLen, scale, roi);
    if (xo === undefined) { plan.outside[x] = 1; plan.idx.push(new Int32Array(0)); plan.w.push(new Float64Array(0)); continue; }
    const fl = Math.floor(xo);
    const base = xo === fl ? fl - 1 : fl;
    const ratio = xo === fl ? 1 : xo - fl;
    const { start, c } = coeffs(p, ratio, scale);
    const idx = new Int32Array(c.length);
    for (let i = 0; i < c.length; i++) idx[i] = base + start + i;
    if (p.excludeOutside) {
      let sum = 0;
      for (let i = 0; i < c.length; i++) { if (idx[i]! < 0 || idx[i]! >= inLen) c[i] = 0; sum += c[i]!; }
      for (let i = 0; i < c.length; i++) c[i] = c[i]! / sum;
    }
    for (let i = 0; i < c.length; i++) idx[i] = Math.min(inLen - 1, Math.max(0, idx[i]!));
    plan.idx.push(idx);
    plan.w.push(Float64Array.from(c));
  }
  return plan;
}

/**
 * Resize `x` (values as float64) to `outShape` with per-axis `scales`, separably from the innermost axis
 * outwards (the order of the ONNX reference). `roi` has 2*rank entries (starts then ends) or is undefined.
 */
export function resizeData(x: Tensor, outShape: readonly number[], scales: readonly number[], p: ResizeParams,
  roi: readonly number[] | undefined): Float64Array {
  const r = x.rank;
  let cur = Float64Array.from(x.num as ArrayLike<number>);
  const shape = x.shape.slice();
  for (let a = r - 1; a >= 0; a--) {
    const inLen = shape[a]!, outLen = outShape[a]!;
    const plan = planAxis(p, inLen, outLen, scales[a]!, roi ? [roi[a]!, roi[r + a]!] : undefined);
    let outer = 1; for (let k = 0; k < a; k++) outer *= shape[k]!;
    let inner = 1; for (let k = a + 1; k < r; k++) inner *= shape[k]!;
    const next = new Float64Array(outer * outLen * inner);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < outLen; j++) {
        const dst = (o * outLen + j) * inner;
        if (plan.outside[j]) { next.fill(p.extrapolation, dst, dst + inner); continue; }
        const idx = plan.idx[j]!, w = plan.w[j]!;
        for (let i = 0; i < inner; i++) {
          let s = 0;
          for (let k = 0; k < idx.length; k++) if (w[k] !== 0) s += w[k]! * cur[(o * inLen + idx[k]!) * inner + i]!;
          next[dst + i] = s;
        }
      }
    }
    cur = next;
    shape[a] = outLen;
  }
  return cur;
}

// ---- Lowering helpers (compute definitions of the shape family) ------------------------------------

/** Multi-index (row-major over `shape`) of a flat offset, as div/mod expressions. */
export function unflattenExpr(flat: Expr, shape: readonly number[]): Expr[] {
  const r = shape.length;
  const out: Expr[] = new Array<Expr>(r);
  let rest = flat;
  for (let k = r - 1; k >= 0; k--) {
    const d = shape[k]!;
    if (k === 0) { out[k] = rest; break; }
    out[k] = d === 1 ? E.i(0) : E.mod(rest, E.i(d));
    rest = d === 1 ? rest : E.div(rest, E.i(d));
  }
  return out;
}

/** Flat row-major offset of `idx` in `shape` (rank 0: 0). */
export function flatExpr(idx: readonly Expr[], shape: readonly number[]): Expr {
  return shape.length === 0 ? E.i(0) : flatIndex(idx.slice(), shape);
}

/**
 * An index loaded from a tensor (an integer type) as i32, negative values counted from the end
 * (i + dim). Out of [-dim, dim) it is a runtime error, as in the reference and ONNX Runtime: the
 * kernel reports it through check_index (packages/loop-ir/src/checks.ts) and reads index 0 meanwhile.
 */
export function normIndexExpr(load: Expr, dim: number): Expr {
  return E.call('check_index', load, E.i(dim));
}

/**
 * Statements storing constant `values` into buffer `buf` (flat), runs of equal values as loops.
 * Returns undefined when the constant is too large to embed as code.
 */
export function constStores(buf: string, dtype: ScalarType, values: ArrayLike<number>, fresh: (p: string) => string,
  limit = 20000): Stmt | undefined {
  const st: Stmt[] = [];
  const n = values.length;
  let i = 0;
  while (i < n) {
    const v = values[i]!;
    let j = i + 1;
    while (j < n && Object.is(values[j], v)) j++; // Object.is: NaN runs, and -0 kept apart from 0
    if (j - i >= 4) {
      const lv = fresh('c');
      st.push(S.for(lv, j - i, S.store(buf, E.add(E.v(lv), E.i(i)), E.c(v, dtype))));
    } else {
      for (let k = i; k < j; k++) st.push(S.store(buf, E.i(k), E.c(v, dtype)));
    }
    if (st.length > limit) return undefined;
    i = j;
  }
  return S.seq(...st);
}

/** values[i] as an expression of i: affine when the values are, else undefined. */
export function affineOf(values: readonly number[]): { base: number; step: number } | undefined {
  if (values.length === 0) return { base: 0, step: 0 };
  const base = values[0]!, step = values.length > 1 ? values[1]! - values[0]! : 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== base + i * step) return undefined;
  return { base, step };
}
