/**
 * Matrix-multiply kernels and shape rules shared by the linalg / quant op definitions
 * (MatMul, Gemm, MatMulInteger, QLinearMatMul). Cache-friendly i-k-j loops over typed arrays.
 */
import { Tensor, broadcastShapes, diag, type DType, type Dim, type NumericArray, type Shape } from '@aic/core';
import { E, type Expr, type TensorRef } from '@aic/loop-ir';
import { broadcastStrides } from './util.ts';

export type Arr = NumericArray | Float64Array | Int32Array;

/** Integer dtypes whose matmul must wrap modulo 2^32 exactly (JS doubles would lose low bits). */
export function isWrap32(d: DType): boolean {
  return d === 'int32' || d === 'uint32';
}

/**
 * C[M,N] = A[M,K] @ B[K,N] for one batch, all row-major at the given offsets. i-k-j order over four
 * rows of A at a time (each streamed row of B feeds four accumulator rows), accumulating in float64
 * (exact for every dtype whose products and sums stay below 2^53). `acc` has length >= 4 * N.
 */
export function gemmF64(a: Arr, aOff: number, b: Arr, bOff: number, c: Arr, cOff: number,
  M: number, K: number, N: number, acc: Float64Array): void {
  if (N === 1) {
    for (let i = 0; i < M; i++) {
      let s = 0;
      const ai = aOff + i * K;
      for (let k = 0; k < K; k++) s += a[ai + k]! * b[bOff + k]!;
      c[cOff + i] = s;
    }
    return;
  }
  const N2 = 2 * N, N3 = 3 * N;
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    acc.fill(0, 0, 4 * N);
    const a0 = aOff + i * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
    for (let k = 0; k < K; k++) {
      const x0 = a[a0 + k]!, x1 = a[a1 + k]!, x2 = a[a2 + k]!, x3 = a[a3 + k]!;
      const bk = bOff + k * N;
      for (let j = 0; j < N; j++) {
        const bv = b[bk + j]!;
        acc[j] += x0 * bv;
        acc[N + j] += x1 * bv;
        acc[N2 + j] += x2 * bv;
        acc[N3 + j] += x3 * bv;
      }
    }
    const ci = cOff + i * N;
    for (let j = 0; j < 4 * N; j++) c[ci + j] = acc[j]!;
  }
  for (; i < M; i++) {
    acc.fill(0, 0, N);
    const ai = aOff + i * K;
    for (let k = 0; k < K; k++) {
      const av = a[ai + k]!;
      const bk = bOff + k * N;
      for (let j = 0; j < N; j++) acc[j] += av * b[bk + j]!;
    }
    const ci = cOff + i * N;
    for (let j = 0; j < N; j++) c[ci + j] = acc[j]!;
  }
}

/** Same as gemmF64 but with exact 32-bit wrapping arithmetic (int32/uint32). */
export function gemmI32(a: Arr, aOff: number, b: Arr, bOff: number, c: Arr, cOff: number,
  M: number, K: number, N: number, acc: Int32Array): void {
  for (let i = 0; i < M; i++) {
    acc.fill(0, 0, N);
    const ai = aOff + i * K;
    for (let k = 0; k < K; k++) {
      const av = a[ai + k]! | 0;
      const bk = bOff + k * N;
      for (let j = 0; j < N; j++) acc[j] = (acc[j]! + Math.imul(av, b[bk + j]! | 0)) | 0;
    }
    const ci = cOff + i * N;
    for (let j = 0; j < N; j++) c[ci + j] = acc[j]!;
  }
}

/** C[M,N] = A[M,K] @ B[N,K]^T (dot products over contiguous rows; for Gemm transB). */
export function gemmBT(a: Arr, b: Arr, c: Arr, M: number, K: number, N: number, wrap32: boolean): void {
  for (let i = 0; i < M; i++) {
    const ai = i * K;
    for (let j = 0; j < N; j++) {
      const bj = j * K;
      if (wrap32) {
        let s = 0;
        for (let k = 0; k < K; k++) s = (s + Math.imul(a[ai + k]! | 0, b[bj + k]! | 0)) | 0;
        c[i * N + j] = s;
      } else {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[ai + k]! * b[bj + k]!;
        c[i * N + j] = s;
      }
    }
  }
}

/** Transpose a row-major [R, C] matrix into a new array of the same kind. */
export function transpose2d(a: Arr, R: number, C: number): Arr {
  const out = new (a.constructor as new (n: number) => Arr)(R * C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[c * R + r] = a[r * C + c]!;
  return out;
}

/**
 * numpy.matmul shape rule on (possibly symbolic) shapes. Returns the output shape, or undefined for
 * unknown rank; throws a message string (caller wraps it) when K mismatches or a rank is 0.
 */
export function matmulShape(a: Shape, b: Shape): Shape {
  if (a === undefined || b === undefined) return undefined;
  if (a.length === 0 || b.length === 0) throw new Error('MatMul operands must have rank >= 1');
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  const ka = a2[a2.length - 1]!, kb = b2[b2.length - 2]!;
  if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) {
    throw new Error(`inner dimensions differ: [${a.join(', ')}] @ [${b.join(', ')}] (${ka} vs ${kb})`);
  }
  const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)])!;
  const out: Dim[] = [...batch];
  if (a.length !== 1) out.push(a2[a2.length - 2]!);
  if (b.length !== 1) out.push(b2[b2.length - 1]!);
  return out;
}

/** Per-batch element offsets for an operand with batch dims `bs` broadcast to `outBatch`. */
function batchOffsets(bs: readonly number[], outBatch: readonly number[], matSize: number): Int32Array | Float64Array {
  const n = outBatch.reduce((x, y) => x * y, 1);
  const st = broadcastStrides(bs, outBatch);
  const offs = new Float64Array(n);
  const r = outBatch.length;
  const ctr = new Array<number>(r).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    offs[i] = off * matSize;
    for (let d = r - 1; d >= 0; d--) {
      ctr[d]++;
      off += st[d]!;
      if (ctr[d]! < outBatch[d]!) break;
      off -= st[d]! * outBatch[d]!;
      ctr[d] = 0;
    }
  }
  return offs;
}

/**
 * numpy.matmul on concrete arrays: `a` with shape `as`, `b` with `bs`, result into a new Tensor of
 * `outDtype`. `wrap32` selects exact 32-bit integer arithmetic.
 */
export function matmulArrays(a: Arr, as: readonly number[], b: Arr, bs: readonly number[], outDtype: DType,
  wrap32: boolean): Tensor {
  let outShape: number[];
  try {
    outShape = matmulShape(as.slice(), bs.slice()) as number[];
  } catch (e) {
    throw diag.shapeMismatch('MatMul', (e as Error).message);
  }
  const a2 = as.length === 1 ? [1, as[0]!] : as;
  const b2 = bs.length === 1 ? [bs[0]!, 1] : bs;
  const M = a2[a2.length - 2]!, K = a2[a2.length - 1]!, N = b2[b2.length - 1]!;
  const aBatch = a2.slice(0, -2), bBatch = b2.slice(0, -2);
  const outBatch = broadcastShapes([aBatch.slice(), bBatch.slice()]) as number[];
  const out = new Tensor(outDtype, outShape);
  const c = out.num;
  const nb = outBatch.reduce((x, y) => x * y, 1);
  if (M * N === 0 || nb === 0) return out;
  const aOffs = batchOffsets(aBatch, outBatch, M * K);
  const bOffs = batchOffsets(bBatch, outBatch, K * N);
  if (wrap32) {
    const acc = new Int32Array(N);
    for (let t = 0; t < nb; t++) gemmI32(a, aOffs[t]!, b, bOffs[t]!, c, t * M * N, M, K, N, acc);
  } else {
    const acc = new Float64Array(4 * N);
    for (let t = 0; t < nb; t++) gemmF64(a, aOffs[t]!, b, bOffs[t]!, c, t * M * N, M, K, N, acc);
  }
  return out;
}

/** round half to even (numpy.rint). */
export function rint(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Quantized integer range of a dtype. */
export function qRange(d: DType): [number, number] {
  switch (d) {
    case 'uint8': return [0, 255];
    case 'int8': return [-128, 127];
    case 'uint16': return [0, 65535];
    case 'int16': return [-32768, 32767];
    case 'int32': return [-2147483648, 2147483647];
    case 'uint32': return [0, 4294967295];
    default: throw diag.unsupportedDtype('quantized output', d);
  }
}

// ---- lowering helpers (compute definitions) ------------------------------------------------------

/**
 * numpy.matmul indexing for a compute over the output of A @ B: output dims are
 * [...batch, m (when A is not 1-D), n (when B is not 1-D)]; batch dims broadcast (size 1 -> 0).
 * `a(idx, k)` / `b(idx, k)` load the operands for output index idx and reduction index k; `col(idx)`
 * is the output column (undefined for a 1-D B).
 */
export function matmulIndexer(A: TensorRef, B: TensorRef, outRank: number): {
  K: number; a(idx: Expr[], k: Expr): Expr; b(idx: Expr[], k: Expr): Expr; col(idx: Expr[]): Expr | undefined;
} {
  const ar = A.shape.length, br = B.shape.length;
  const ob = outRank - (ar > 1 ? 1 : 0) - (br > 1 ? 1 : 0);
  const batch = (shape: readonly number[], idx: Expr[]) =>
    shape.slice(0, -2).map((d, j) => (d === 1 ? E.i(0) : idx[ob - (shape.length - 2) + j]!));
  return {
    K: A.shape[ar - 1]!,
    a: (idx, k) => (ar === 1 ? A.at(k) : A.at(...batch(A.shape, idx), idx[ob]!, k)),
    b: (idx, k) => (br === 1 ? B.at(k) : B.at(...batch(B.shape, idx), k, idx[outRank - 1]!)),
    col: (idx) => (br === 1 ? undefined : idx[outRank - 1]),
  };
}
