/** C spellings of loop-IR types and constants. */
import type { ScalarType } from '@aic/loop-ir';

export const CTYPE: Record<ScalarType, string> = {
  f32: 'float', f64: 'double', i8: 'int8_t', i16: 'int16_t', i32: 'int32_t', i64: 'int64_t',
  u8: 'uint8_t', u16: 'uint16_t', u32: 'uint32_t', u64: 'uint64_t', bool: 'uint8_t',
  // 16-bit float storage: bit patterns (c/half.ts converts on load and store)
  f16: 'uint16_t', bf16: 'uint16_t',
};

export function vecType(t: ScalarType, lanes: number): string {
  return lanes === 1 ? CTYPE[t] : `aic_${t === 'bool' ? 'u8' : t}x${lanes}`;
}

export function cConst(v: number, t: ScalarType): string {
  if (t === 'f32' || t === 'f64') {
    const f = t === 'f32' ? 'f' : '';
    if (Number.isNaN(v)) return t === 'f32' ? 'NAN' : '((double)NAN)';
    if (v === Infinity) return t === 'f32' ? 'INFINITY' : '((double)INFINITY)';
    if (v === -Infinity) return t === 'f32' ? '(-INFINITY)' : '(-(double)INFINITY)';
    let s = t === 'f32' ? Math.fround(v).toPrecision(9) : v.toPrecision(17);
    if (!/[.e]/.test(s)) s += '.0';
    s = s.replace(/(\.\d*?)0+(e|$)/, '$1$2').replace(/\.(e|$)/, '.0$1');
    return v < 0 || Object.is(v, -0) ? `(${s}${f})` : `${s}${f}`;
  }
  if (t === 'i64') {
    // 2^63 - 1 is not a double: JS holds it as 2^63, which C would reject as out of range
    if (v <= -(2 ** 63)) return 'INT64_MIN';
    if (v >= 2 ** 63) return 'INT64_MAX';
    return `INT64_C(${Math.trunc(v)})`;
  }
  if (t === 'u64') return v >= 2 ** 64 ? 'UINT64_MAX' : `UINT64_C(${Math.trunc(v)})`;
  if (t === 'u32') return `${Math.trunc(v)}u`;
  if (t === 'i32' && v === -2147483648) return 'INT32_MIN';
  const s = String(Math.trunc(v));
  return v < 0 ? `(${s})` : s;
}
