/**
 * C for 16-bit float buffers (loop-ir half.ts): elements are uint16_t bit patterns, converted on every
 * load (exact) and store (round to nearest even, once: from an f64 value through a round-to-odd f32,
 * which rounds exactly as the direct conversion does). Vector loads and stores convert lane by lane in
 * helpers the compiler vectorizes.
 */
import type { HalfType } from '@aic/loop-ir';
import type { Helpers } from './expr.ts';

// branch-free (selects only), so the per-lane loops of vector helpers vectorize; the subnormal cases
// use one exact float subtraction / one float addition rounding to nearest even (IEEE default mode)
const DEFS: Record<string, string> = {
  aic_f16_to_f32: [
    'static inline float aic_f16_to_f32(uint16_t h) {',
    '  uint32_t o = (uint32_t)(h & 0x7fffu) << 13, e = o & 0x0f800000u, t;',
    '  float f;',
    '  o += 112u << 23;',
    '  o += e == 0x0f800000u ? 112u << 23 : 0u;',
    '  t = o + (1u << 23);',
    '  memcpy(&f, &t, 4);',
    '  f -= 6.103515625e-05f;',
    '  memcpy(&t, &f, 4);',
    '  o = e == 0u ? t : o;',
    '  o |= (uint32_t)(h & 0x8000u) << 16;',
    '  memcpy(&f, &o, 4);',
    '  return f;',
    '}',
  ].join('\n'),
  aic_f32_to_f16: [
    'static inline uint16_t aic_f32_to_f16(float f) {',
    '  uint32_t x, s, a, n, sub, r;',
    '  float t;',
    '  memcpy(&x, &f, 4);',
    '  s = x & 0x80000000u; a = x ^ s;',
    '  n = (a + 0xc8000fffu + ((a >> 13) & 1u)) >> 13;',
    '  memcpy(&t, &a, 4);',
    '  t += 0.5f;',
    '  memcpy(&sub, &t, 4);',
    '  sub -= 0x3f000000u;',
    '  r = a < 0x38800000u ? sub : n;',
    '  r = a >= 0x47800000u ? (a > 0x7f800000u ? 0x7e00u : 0x7c00u) : r;',
    '  return (uint16_t)(r | (s >> 16));',
    '}',
  ].join('\n'),
  aic_bf16_to_f32: 'static inline float aic_bf16_to_f32(uint16_t h) { uint32_t b = (uint32_t)h << 16; float f; memcpy(&f, &b, 4); return f; }',
  aic_f32_to_bf16: [
    'static inline uint16_t aic_f32_to_bf16(float f) {',
    '  uint32_t x;',
    '  memcpy(&x, &f, 4);',
    '  return (uint16_t)((x & 0x7fffffffu) > 0x7f800000u ? (x >> 16) | 0x40u : (x + 0x7fffu + ((x >> 16) & 1u)) >> 16);',
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

const cvtIn = (t: HalfType) => (t === 'f16' ? 'aic_f16_to_f32' : 'aic_bf16_to_f32');

/**
 * A vector load of L lanes from a 16-bit buffer: at p[l * stride] (stride > 0), or at p[i[l]] for an
 * index vector `it` (stride undefined). Returns the helper's name; the caller passes (p) or (p, i).
 */
export function cHalfVLoad(h: Helpers, t: HalfType, vt: string, L: number, stride?: number, it?: string): string {
  const cvt = need(h, cvtIn(t));
  const name = stride !== undefined ? `aic_vloadh${stride}_${t}_${vt}` : `aic_gatherh_${t}_${vt}`;
  const at = stride !== undefined ? `p[l * ${stride}]` : 'p[i[l]]';
  return h.need(name, () => `static inline ${vt} ${name}(const uint16_t *p${it ? `, ${it} i` : ''}) { ${vt} r; int l; for (l = 0; l < ${L}; l++) r[l] = ${cvt}(${at}); return r; }`);
}

/** A vector store of L lanes (value vector type vt of valT elements) into a 16-bit buffer; as cHalfVLoad. */
export function cHalfVStore(h: Helpers, t: HalfType, vt: string, valT: string, L: number, stride?: number, it?: string): string {
  const name = stride !== undefined ? `aic_vstoreh${stride}_${t}_${vt}` : `aic_scatterh_${t}_${vt}`;
  const at = stride !== undefined ? `p[l * ${stride}]` : 'p[i[l]]';
  return h.need(name, () => `static inline void ${name}(uint16_t *p${it ? `, ${it} i` : ''}, ${vt} v) { int l; for (l = 0; l < ${L}; l++) ${at} = ${cHalfStore(h, t, 'v[l]', valT)}; }`);
}
