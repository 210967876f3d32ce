/**
 * 16-bit float storage (float16 / bfloat16): the storage-only scalar types `f16` and `bf16`.
 * A buffer may hold them; expressions never have them. A load from such a buffer yields `f32` (exact:
 * every f16/bf16 is an f32) and a store rounds its value (f32, or f64 for exact casts from doubles and
 * wide integers) to the 16-bit format once, round-to-nearest-even, as the graph interpreter stores
 * float16/bfloat16 elements: overflow gives ±Inf, NaN stays NaN, subnormals are kept (float16) or
 * kept as bfloat16 subnormals. Every renderer converts at exactly these loads and stores.
 */
import type { ScalarType } from './ir.ts';
import { roundHalfEven } from './intrinsics.ts';

export type HalfType = 'f16' | 'bf16';
export const isHalfT = (t: ScalarType): t is HalfType => t === 'f16' || t === 'bf16';
/** the type a load of a buffer of type t yields (f32 for the 16-bit storage types) */
export const computeT = (t: ScalarType): ScalarType => (isHalfT(t) ? 'f32' : t);

/** double -> nearest value with `mant` fraction bits, exponents [emin, emax] (subnormals below emin) */
function roundToFormat(v: number, mant: number, emin: number, emax: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const a = Math.abs(v);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  if (e < emin) e = emin;
  const ulp = 2 ** (e - mant);
  const r = roundHalfEven(a / ulp) * ulp;
  const res = r > (2 - 2 ** -mant) * 2 ** emax ? Infinity : r;
  return v < 0 ? -res : res;
}
/** the value a store of v (a double) into a buffer of 16-bit type t holds */
export function roundHalf(v: number, t: HalfType): number {
  return t === 'f16' ? roundToFormat(v, 10, -14, 15) : roundToFormat(v, 7, -126, 127);
}

const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
/** bit pattern of the 16-bit value nearest v (v already representable is exact) */
export function halfBits(v: number, t: HalfType): number {
  const r = roundHalf(v, t);
  if (t === 'bf16') {
    if (Number.isNaN(r)) return 0x7fc0;
    f32[0] = r;
    return u32[0] >>> 16;
  }
  if (Number.isNaN(r)) return 0x7e00;
  const s = r < 0 || Object.is(r, -0) ? 0x8000 : 0, a = Math.abs(r);
  if (a === Infinity) return s | 0x7c00;
  if (a < 2 ** -14) return s | Math.round(a * 2 ** 24); // subnormal (exact)
  const e = Math.floor(Math.log2(a));
  return s | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}
/** the value of a 16-bit pattern */
export function halfValue(bits: number, t: HalfType): number {
  if (t === 'bf16') { u32[0] = (bits & 0xffff) << 16; return f32[0]; }
  const s = bits & 0x8000 ? -1 : 1, e = (bits >> 10) & 0x1f, m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
