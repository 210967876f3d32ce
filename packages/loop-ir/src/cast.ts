/**
 * The one semantics of the loop-IR `cast` (and so of ONNX Cast / CastLike) on every target:
 * - float -> integer SATURATES: NaN -> 0, values below / above the type's range clamp to its
 *   min / max, in-range values truncate toward zero (WebAssembly trunc_sat, WGSL conversions; C
 *   renders it with a clamp). 64-bit results are doubles here, so INT64_MAX reads as 2^63 and the
 *   tensor store clamps it back to the type;
 * - integer -> integer wraps (two's complement modulo 2^bits, as ONNX / numpy);
 * - anything -> bool is `x != 0` (NaN -> true, as C and numpy);
 * - -> float rounds (f32) or is exact (f64).
 */
import type { ScalarType } from './ir.ts';

/** [min, max] of the integer scalar types (64-bit bounds as the nearest doubles: ±2^63, 2^64) */
export const INT_RANGE: Partial<Record<ScalarType, readonly [number, number]>> = {
  i8: [-128, 127], i16: [-32768, 32767], i32: [-(2 ** 31), 2 ** 31 - 1], i64: [-(2 ** 63), 2 ** 63],
  u8: [0, 255], u16: [0, 65535], u32: [0, 2 ** 32 - 1], u64: [0, 2 ** 64],
};

const isFloat = (t: ScalarType) => t === 'f32' || t === 'f64';

/** C's wrap of an exact integer to type t (or float rounding to f32); 64-bit types are left as they are */
export function wrapValue(v: number, t: ScalarType): number {
  switch (t) {
    case 'i32': return v | 0;
    case 'u32': return v >>> 0;
    case 'i16': return (v << 16) >> 16;
    case 'u16': return v & 0xffff;
    case 'i8': return (v << 24) >> 24;
    case 'u8': return v & 0xff;
    case 'bool': return v ? 1 : 0;
    case 'f32': return Math.fround(v);
    default: return v;
  }
}

/** integer v (exact) of type `from` wrapped to integer type `to` */
function wrapInt(v: number, from: ScalarType, to: ScalarType): number {
  switch (to) {
    // doubles: 2^64 stands for UINT64_MAX, 2^63 from i64 for INT64_MAX; a u64 wrap that is not
    // exact stays below 2^64 (so the reference's store reports it instead of taking it for UINT64_MAX)
    case 'i64': return from !== 'u64' ? v : v >= 2 ** 64 ? -1 : v >= 2 ** 63 ? v - 2 ** 64 : v;
    case 'u64': return v >= 0 ? v : v === -1 ? 2 ** 64 : Math.min(v + 2 ** 64, 2 ** 64 - 4096);
    default: return wrapValue(v, to);
  }
}

/** the value of `cast<to>(v)` where v has type `from` */
export function castValue(v: number, from: ScalarType, to: ScalarType): number {
  if (to === 'bool') return v !== 0 ? 1 : 0;
  if (isFloat(to)) return to === 'f32' ? Math.fround(v) : v;
  if (!isFloat(from)) return wrapInt(v, from, to);
  if (Number.isNaN(v)) return 0;
  const [lo, hi] = INT_RANGE[to]!;
  return v <= lo ? lo : v >= hi ? hi : Math.trunc(v) || 0; // `|| 0`: -0.5 truncates to 0, not -0
}
