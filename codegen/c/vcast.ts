/**
 * Vector casts of the C renderer (expr.ts): exact conversions through __builtin_convertvector in steps
 * GCC compiles to vector instructions, and float -> integer saturation (the scalar cast's NaN -> 0,
 * clamp, truncate) in whole-vector operations.
 */
import type { ScalarType } from '@aic/loop-ir';
import type { Helpers } from './expr.ts';

/** C limits of the integer types, as [min, max, min as a double, max + 1 as a double] */
export const LIMITS: Partial<Record<ScalarType, [string, string, string, string]>> = {
  i8: ['-128', '127', '-128.0', '128.0'], u8: ['0', '255', '0.0', '256.0'],
  i16: ['-32768', '32767', '-32768.0', '32768.0'], u16: ['0', '65535', '0.0', '65536.0'],
  i32: ['INT32_MIN', 'INT32_MAX', '-2147483648.0', '2147483648.0'], u32: ['0', 'UINT32_MAX', '0.0', '4294967296.0'],
  i64: ['INT64_MIN', 'INT64_MAX', '-9223372036854775808.0', '9223372036854775808.0'],
  u64: ['0', 'UINT64_MAX', '0.0', '18446744073709551616.0'],
};
export const NARROW = new Set<ScalarType>(['i8', 'u8', 'i16', 'u16']);
const INTS = new Set<ScalarType>(['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64']);
const FLOATS = new Set<ScalarType>(['f32', 'f64']);
const BYTES: Partial<Record<ScalarType, number>> = { i8: 1, u8: 1, i16: 2, u16: 2, i32: 4, u32: 4, i64: 8, u64: 8, f32: 4, f64: 8 };
const WIDER: Partial<Record<ScalarType, ScalarType>> = { i8: 'i16', u8: 'u16', i16: 'i32', u16: 'u32', i32: 'i64', u32: 'u64' };
/**
 * __builtin_convertvector from `from` to `to` in steps GCC 12 compiles to vector instructions: an
 * integer widens at most 2x per step (same signedness, so the value is kept), and an 8/16-bit integer
 * reaches a float through i32. (u8x16 -> i32x16 in one step, its operand loaded with memcpy in a
 * loop, became byte-by-byte scalar code; u8x16 -> f32x16 fifty-nine instructions.)
 */
export function convertSteps(h: Helpers, from: ScalarType, to: ScalarType, L: number, x: string): string {
  const wf = BYTES[from]!, wt = BYTES[to]!;
  let step: ScalarType | undefined;
  if (INTS.has(to) && wt > 2 * wf) step = WIDER[from];
  else if (FLOATS.has(to) && wf < 4) step = wf === 2 ? 'i32' : WIDER[from];
  if (!step) return `__builtin_convertvector(${x}, ${h.vecTypedef(to, L)})`;
  return convertSteps(h, step, to, L, `__builtin_convertvector(${x}, ${h.vecTypedef(step, L)})`);
}
/**
 * An 8/16-bit integer vector widened to i32 (then to `to`, f32 or i32) with the ISA's one-instruction
 * extension (pmovzx / pmovsx, which also loads: an int8 conv's padded copy converted 8 lanes in 13
 * instructions through the 2x steps); undefined where the ISA or lane count has none. The definition
 * falls back to the steps without the ISA.
 */
export function vecWidenI32(h: Helpers, name: string, from: ScalarType, to: ScalarType, L: number): string | undefined {
  const w = BYTES[from];
  // not from 4 bytes (u8x4): GCC 12 fails on _mm_cvtepu8_epi32(_mm_cvtsi32_si128(t)) there ("could not split insn")
  if ((w !== 1 && w !== 2) || (to !== 'i32' && to !== 'f32') || (L !== 4 && L !== 8 && L !== 16) || L * w < 8) return undefined;
  const bytes = L * w, s = from[0] === 'u' ? 'u' : 'i', xt = h.vecTypedef(from, L), vt = h.vecTypedef(to, L), it = h.vecTypedef('i32', L);
  const [def, p] = L === 16 ? ['__AVX512F__', '_mm512'] : L === 8 ? ['__AVX2__', '_mm256'] : ['__SSE4_1__', '_mm'];
  const src = bytes === 16 ? '(__m128i)x' : bytes === 32 ? '(__m256i)x' : '_mm_cvtsi64_si128(t)';
  const tmp = bytes === 8 ? 'long long t; __builtin_memcpy(&t, &x, 8); ' : '';
  const wide = `(${it})${p}_cvtep${s}${w * 8}_epi32(${src})`;
  const ret = to === 'f32' ? `__builtin_convertvector(${wide}, ${vt})` : wide;
  return [`#if defined(${def}) && !defined(AIC_NO_INTRINSICS)`, '#include <immintrin.h>',
    `static inline __attribute__((always_inline)) ${vt} ${name}(${xt} x) { ${tmp}return ${ret}; }`, '#else',
    `static inline __attribute__((always_inline)) ${vt} ${name}(${xt} x) { return ${convertSteps(h, from, to, L, 'x')}; }`, '#endif'].join('\n');
}
/** A cast whose lanes __builtin_convertvector converts exactly as the scalar C cast: integer to integer or float, float to float. */
export const exactVectorConvert = (from: ScalarType, to: ScalarType) => (INTS.has(from) && (INTS.has(to) || FLOATS.has(to))) || (FLOATS.has(from) && FLOATS.has(to));
/**
 * float vector -> narrow integer vector, saturating as `saturate` (NaN -> 0, clamp, truncate) without a
 * branch per lane: lane masks clamp the value into the type's range, then two vector conversions.
 */
export function vecSaturate(h: Helpers, name: string, from: ScalarType, to: ScalarType, L: number, result?: 'i32'): string {
  const xt = h.vecTypedef(from, L), vt = h.vecTypedef(result ?? to, L), mt = h.vecTypedef(from === 'f64' ? 'i64' : 'i32', L), it = h.vecTypedef('i32', L);
  const f = from === 'f32' ? 'f' : '', [min, max] = LIMITS[to]!.slice(0, 2).map((v) => `${v}.0${f}`);
  const ret = result ? `return __builtin_convertvector(y, ${it}); }` : `return __builtin_convertvector(__builtin_convertvector(y, ${it}), ${vt}); }`;
  const generic = `static inline ${vt} ${name}(${xt} x) { ${mt} lo = x < ${min}, hi = x > ${max}, keep = (x == x) & ~lo & ~hi; `
    + `${xt} y = (${xt})(((${mt})x & keep) | ((${mt})((${xt}){0} + ${min}) & lo) | ((${mt})((${xt}){0} + ${max}) & hi)); ` + ret;
  // f32 with the ISA's min/max (a NaN operand gives the second one, the bound: NaN lanes are then zeroed
  // by the x == x mask): two instructions for the clamp instead of three compares and five blends
  const isa = from !== 'f32' ? undefined : L === 16 ? ['__AVX512F__', '_mm512', '__m512'] : L === 8 ? ['__AVX__', '_mm256', '__m256'] : L === 4 ? ['__SSE__', '_mm', '__m128'] : undefined;
  if (!isa) return generic;
  const [def, p, m] = isa;
  return [`#if defined(${def}) && !defined(AIC_NO_INTRINSICS)`, '#include <immintrin.h>',
    `static inline ${vt} ${name}(${xt} x) { ${xt} y = (${xt})${p}_max_ps(${p}_min_ps((${m})x, ${p}_set1_ps(${max})), ${p}_set1_ps(${min})); `
    + `y = (${xt})((${mt})y & (x == x)); ` + ret, '#else', generic, '#endif'].join('\n');
}

/**
 * i32(narrow(round_even(x))) for f32 lanes with the ISA (the requantizing epilogue of every int8 kernel):
 * clamp into the narrow type's range (its bounds are integers, so clamping before rounding gives the
 * same value), zero NaN lanes, and one conversion that rounds to nearest even (cvtps2dq under the
 * default rounding mode, which nearbyint assumes too) instead of a round then a truncating conversion.
 * Without the ISA: the rounding lane by lane, then `sat` (vecSaturate's helper for the same types).
 */
export function vecSaturateRound(h: Helpers, name: string, to: ScalarType, L: number, sat: string): { name: string; def: string } | undefined {
  const isa = L === 16 ? ['__AVX512F__', '_mm512', '__m512', '__m512i'] : L === 8 ? ['__AVX__', '_mm256', '__m256', '__m256i'] : L === 4 ? ['__SSE2__', '_mm', '__m128', '__m128i'] : undefined;
  if (!isa || !LIMITS[to]) return undefined;
  const xt = h.vecTypedef('f32', L), it = h.vecTypedef('i32', L), [def, p, m] = isa;
  const [min, max] = LIMITS[to]!.slice(0, 2).map((v) => `${v}.0f`);
  return { name, def: [`#if defined(${def}) && !defined(AIC_NO_INTRINSICS)`, '#include <immintrin.h>',
    `static inline __attribute__((always_inline)) ${it} ${name}(${xt} x) { ${xt} y = (${xt})${p}_max_ps(${p}_min_ps((${m})x, ${p}_set1_ps(${max})), ${p}_set1_ps(${min})); `
    + `y = (${xt})((${it})y & (x == x)); return (${it})${p}_cvtps_epi32((${m})y); }`, '#else',
    `static inline ${it} ${name}(${xt} x) { ${xt} r; int l; for (l = 0; l < ${L}; l++) r[l] = nearbyintf(x[l]); return ${sat}(r); }`, '#endif'].join('\n') };
}

/**
 * f32 -> i32 vector cast with the scalar cast's saturation (NaN 0, below -2^31 INT32_MIN, from 2^31
 * INT32_MAX) in whole-vector compares and blends: the per-lane helper compared each lane against
 * double constants and stayed scalar (the i32 epilogue of an int8 sum computed in f32).
 */
export function vecSaturateI32(h: Helpers, name: string, L: number): string {
  const xt = h.vecTypedef('f32', L), it = h.vecTypedef('i32', L);
  return `static inline ${it} ${name}(${xt} x) { ${it} lo = x < -2147483648.0f, hi = x >= 2147483648.0f, bad = (x != x) | lo | hi; `
    + `${it} r = __builtin_convertvector((${xt})((${it})x & ~bad), ${it}); `
    + 'return (r & ~bad) | (lo & (int32_t)INT32_MIN) | (hi & INT32_MAX); }';
}

