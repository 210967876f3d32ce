/**
 * Element types of tensors, their storage in JS typed arrays, and their ONNX enum codes.
 *
 * Storage rules (one place, so every op agrees):
 * - float16 / bfloat16 live in a Float32Array holding values already rounded to the narrow type.
 * - int64 / uint64 live in a Float64Array: exact for |v| <= 2^53, which covers shapes, indices and
 *   every value the ONNX node tests use.
 * - bool lives in a Uint8Array of 0/1.
 * - string lives in a plain string[].
 */
export type DType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'bool' | 'string';

export type NumericArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array
  | Uint8Array | Uint16Array | Uint32Array;
export type TensorData = NumericArray | string[];

export const ALL_DTYPES: readonly DType[] = [
  'float32', 'float64', 'float16', 'bfloat16', 'int8', 'int16', 'int32', 'int64',
  'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string',
];

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE_CODE: Record<DType, number> = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8, bool: 9,
  float16: 10, float64: 11, uint32: 12, uint64: 13, bfloat16: 16,
};
const CODE_TO_DTYPE = new Map<number, DType>(
  Object.entries(ONNX_DTYPE_CODE).map(([k, v]) => [v, k as DType]),
);
/** Names of ONNX element types this toolchain does not support (for diagnostics). */
export const UNSUPPORTED_ONNX_DTYPES: Record<number, string> = {
  14: 'complex64', 15: 'complex128', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2',
  20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1',
};
export function dtypeFromOnnx(code: number): DType | undefined {
  return CODE_TO_DTYPE.get(code);
}

/** Short names used by the DSL: f32, i64, bool ... */
export const SHORT_NAME: Record<DType, string> = {
  float32: 'f32', float64: 'f64', float16: 'f16', bfloat16: 'bf16', int8: 'i8', int16: 'i16',
  int32: 'i32', int64: 'i64', uint8: 'u8', uint16: 'u16', uint32: 'u32', uint64: 'u64',
  bool: 'bool', string: 'str',
};
const FROM_SHORT = new Map<string, DType>(Object.entries(SHORT_NAME).map(([k, v]) => [v, k as DType]));
export function dtypeFromShort(s: string): DType | undefined {
  return FROM_SHORT.get(s);
}

/** Bytes per element in ONNX / C / .npy layouts (string: 0 = variable). */
export const BYTE_SIZE: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int8: 1, int16: 2, int32: 4, int64: 8,
  uint8: 1, uint16: 2, uint32: 4, uint64: 8, bool: 1, string: 0,
};

export function isFloat(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}
export function isInt(d: DType): boolean {
  return d === 'int8' || d === 'int16' || d === 'int32' || d === 'int64' ||
    d === 'uint8' || d === 'uint16' || d === 'uint32' || d === 'uint64';
}
export function isSigned(d: DType): boolean {
  return d === 'int8' || d === 'int16' || d === 'int32' || d === 'int64' || isFloat(d);
}
export function isNumeric(d: DType): boolean {
  return isFloat(d) || isInt(d);
}

/** Allocate zeroed storage for n elements of dtype d. */
export function allocData(d: DType, n: number): TensorData {
  switch (d) {
    case 'float32': case 'float16': case 'bfloat16': return new Float32Array(n);
    case 'float64': case 'int64': case 'uint64': return new Float64Array(n);
    case 'int8': return new Int8Array(n);
    case 'int16': return new Int16Array(n);
    case 'int32': return new Int32Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
    case 'uint16': return new Uint16Array(n);
    case 'uint32': return new Uint32Array(n);
    case 'string': return new Array<string>(n).fill('');
  }
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** Round a number to the nearest float16 (round-half-even), returned as a JS number. */
export function roundF16(v: number): number {
  return halfToFloat(floatToHalf(v));
}
/** float -> IEEE half bits (round to nearest even). */
export function floatToHalf(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  // Work with the f32 value scaled: handle normal/subnormal half ranges.
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
export function floatToBf16(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}
export function bf16ToFloat(b: number): number {
  u32buf[0] = (b & 0xffff) << 16;
  return f32buf[0]!;
}
export function roundBf16(v: number): number {
  return bf16ToFloat(floatToBf16(v));
}

/** Convert a JS number to the value an element of dtype d holds (C-like cast semantics). */
export function castScalar(v: number, d: DType): number {
  switch (d) {
    case 'float32': return Math.fround(v);
    case 'float64': return v;
    case 'float16': return roundF16(v);
    case 'bfloat16': return roundBf16(v);
    case 'bool': return v !== 0 ? 1 : 0; // NaN is true, as in C and numpy
    case 'int64': case 'uint64': {
      if (!Number.isFinite(v)) return 0;
      const t = Math.trunc(v);
      return d === 'uint64' && t < 0 ? t + 2 ** 64 : t;
    }
    case 'int32': return Number.isFinite(v) ? Math.trunc(v) | 0 : 0;
    case 'uint32': return Number.isFinite(v) ? Math.trunc(v) >>> 0 : 0;
    case 'int16': return Number.isFinite(v) ? (Math.trunc(v) << 16) >> 16 : 0;
    case 'uint16': return Number.isFinite(v) ? Math.trunc(v) & 0xffff : 0;
    case 'int8': return Number.isFinite(v) ? (Math.trunc(v) << 24) >> 24 : 0;
    case 'uint8': return Number.isFinite(v) ? Math.trunc(v) & 0xff : 0;
    case 'string': throw new Error('castScalar: string');
  }
}
