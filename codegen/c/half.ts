/**
 * C for 16-bit float buffers (loop-ir half.ts): elements are uint16_t bit patterns, converted on every
 * load (exact) and store (round to nearest even, once: from an f64 value through a round-to-odd f32,
 * which rounds exactly as the direct conversion does). Integer bit arithmetic only, so the result
 * does not depend on the compiler's float modes.
 */
import type { HalfType } from '@aic/loop-ir';
import type { Helpers } from './expr.ts';

const DEFS: Record<string, string> = {
  aic_f16_to_f32: [
    'static inline float aic_f16_to_f32(uint16_t h) {',
    '  uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, b;',
    '  float f;',
    '  if (e == 0x1fu) b = s | 0x7f800000u | (m << 13);',
    '  else if (e) b = s | ((e + 112u) << 23) | (m << 13);',
    '  else if (!m) b = s;',
    '  else { int k = 0; while (!(m & 0x400u)) { m <<= 1; k++; } b = s | ((uint32_t)(113 - k) << 23) | ((m & 0x3ffu) << 13); }',
    '  memcpy(&f, &b, 4);',
    '  return f;',
    '}',
  ].join('\n'),
  aic_f32_to_f16: [
    'static inline uint16_t aic_f32_to_f16(float f) {',
    '  uint32_t x, s, a, e, m, h, rem, half;',
    '  memcpy(&x, &f, 4);',
    '  s = (x >> 16) & 0x8000u; a = x & 0x7fffffffu;',
    '  if (a > 0x7f800000u) return (uint16_t)(s | 0x7e00u);',
    '  if (a >= 0x47800000u) return (uint16_t)(s | 0x7c00u);',
    '  e = a >> 23; m = a & 0x7fffffu;',
    '  if (e < 113u) {',
    '    if (e < 102u) return (uint16_t)s;',
    '    m |= 0x800000u; h = m >> (126u - e); rem = m & ((1u << (126u - e)) - 1u); half = 1u << (125u - e);',
    '  } else {',
    '    h = ((e - 112u) << 10) | (m >> 13); rem = m & 0x1fffu; half = 0x1000u;',
    '  }',
    '  if (rem > half || (rem == half && (h & 1u))) h++;',
    '  return (uint16_t)(s | h);',
    '}',
  ].join('\n'),
  aic_bf16_to_f32: 'static inline float aic_bf16_to_f32(uint16_t h) { uint32_t b = (uint32_t)h << 16; float f; memcpy(&f, &b, 4); return f; }',
  aic_f32_to_bf16: [
    'static inline uint16_t aic_f32_to_bf16(float f) {',
    '  uint32_t x;',
    '  memcpy(&x, &f, 4);',
    '  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);',
    '  return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);',
    '}',
  ].join('\n'),
  // round to odd: an inexact result keeps an odd last bit, so the second rounding cannot tie wrongly
  aic_f64_to_f32_odd: [
    'static inline float aic_f64_to_f32_odd(double d) {',
    '  float f = (float)d;',
    '  uint32_t b;',
    '  if ((double)f != d && d == d) {',
    '    memcpy(&b, &f, 4);',
    '    if (!(b & 1u)) { b = fabs((double)f) > fabs(d) ? b - 1u : b + 1u; memcpy(&f, &b, 4); }',
    '  }',
    '  return f;',
    '}',
  ].join('\n'),
};

function need(h: Helpers, name: string): string {
  return h.need(name, () => DEFS[name]);
}

/** C expression: the f32 value of element `at` (an lvalue text) of a 16-bit buffer */
export function cHalfLoad(h: Helpers, t: HalfType, at: string): string {
  return `${need(h, t === 'f16' ? 'aic_f16_to_f32' : 'aic_bf16_to_f32')}(${at})`;
}

/** C expression: the bits a store of `val` (of type f32 or f64) into a 16-bit buffer writes */
export function cHalfStore(h: Helpers, t: HalfType, val: string, valT: string): string {
  const f = need(h, t === 'f16' ? 'aic_f32_to_f16' : 'aic_f32_to_bf16');
  return valT === 'f64' ? `${f}(${need(h, 'aic_f64_to_f32_odd')}(${val}))` : `${f}(${val})`;
}
