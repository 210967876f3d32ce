/**
 * Shared scalar-type tables of the wasm kernel emitter (emit.ts and its layers): byte widths, the
 * wasm value type of each IR type, the scalar load/store opcodes, the element types a v128 holds,
 * and the Math functions imported from the host. Read by prepare.ts, the emitter layers
 * (emitter-base.ts -> address.ts -> scalar-expr.ts -> vector-expr.ts -> emit.ts), render.ts and target.ts.
 */
import type { ScalarType } from '@aic/loop-ir';
import type { ValType } from './module.ts';

/** integer types whose values a wasm i32 holds exactly (signed, or u32 converted as unsigned) */
export const INT32_FITS = new Set(['i8', 'u8', 'i16', 'u16', 'i32', 'u32']);

export const WIDTH: Record<ScalarType, number> = { f32: 4, f64: 8, i8: 1, i16: 2, i32: 4, i64: 8, u8: 1, u16: 2, u32: 4, u64: 8, bool: 1, f16: 2, bf16: 2 };
export const LOG2: Record<number, number> = { 1: 0, 2: 1, 4: 2, 8: 3 };
export const isF = (t: ScalarType) => t === 'f32' || t === 'f64';

export const is64 = (t: ScalarType) => t === 'i64' || t === 'u64';
export const isSigned = (t: ScalarType) => t === 'i8' || t === 'i16' || t === 'i32' || t === 'i64';
export function wtype(t: ScalarType): ValType { return t === 'f32' ? 'f32' : t === 'f64' ? 'f64' : is64(t) ? 'i64' : 'i32'; }
/** element types a 4-lane v128 value can hold (narrow ints widened to i32 lanes, bool as masks) */
export const VEC_OK: ReadonlySet<ScalarType> = new Set<ScalarType>(['f32', 'i32', 'u32', 'i8', 'u8', 'i16', 'u16', 'bool']);

export const LOAD: Record<ScalarType, string> = {
  f32: 'f32.load', f64: 'f64.load', i32: 'i32.load', u32: 'i32.load', i64: 'i64.load', u64: 'i64.load',
  i8: 'i32.load8_s', u8: 'i32.load8_u', bool: 'i32.load8_u', i16: 'i32.load16_s', u16: 'i32.load16_u',
  f16: 'i32.load16_u', bf16: 'i32.load16_u', // bits, converted by half.ts
};
export const STORE: Record<ScalarType, string> = {
  f32: 'f32.store', f64: 'f64.store', i32: 'i32.store', u32: 'i32.store', i64: 'i64.store', u64: 'i64.store',
  i8: 'i32.store8', u8: 'i32.store8', bool: 'i32.store8', i16: 'i32.store16', u16: 'i32.store16',
  f16: 'i32.store16', bf16: 'i32.store16',
};

/** Math functions imported from the host (module "Math"); the loader provides them. */
export const HOST_MATH: Record<string, number> = {
  exp: 1, log: 1, tanh: 1, sin: 1, cos: 1, tan: 1, asin: 1, acos: 1, atan: 1, sinh: 1, cosh: 1, asinh: 1, acosh: 1, atanh: 1,
  atan2: 2, pow: 2, fmod: 2,
};
