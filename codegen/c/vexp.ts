/**
 * `aic_vexp` for f32 vectors: the scalar aic_expf (expr.ts: Cody-Waite range reduction, Cephes
 * degree-6 polynomial, +inf above 88.72, 0 below -86.6, NaN stays NaN) written in whole-vector
 * operations: clamps and the special cases as compare masks and bitwise blends, the exponent
 * through __builtin_convertvector and a same-size vector cast. The per-lane helper loop it replaces
 * stayed scalar (GCC does not SLP-vectorize the `?:` chain once the 8 or 16 lane loop is unrolled),
 * so every SiLU / Sigmoid epilogue ran expf lane by lane (efficientnet_b0's convs).
 */
import type { ScalarType } from '@aic/loop-ir';

type Need = (name: string, def: () => string) => string;
type VecTypedef = (t: ScalarType, lanes: number) => string;

/** The helper's name (defined on first use), for an L-lane f32 vector. */
export function vecExpF32(need: Need, vec: VecTypedef, lanes: number): string {
  const vt = vec('f32', lanes), mt = vec('i32', lanes);
  const name = `aic_vexpf_${vt}`;
  return need(name, () => [
    `static inline ${vt} ${name}(${vt} x) {`,
    `  const ${vt} hi = (${vt}){0} + 88.7228391117f, lo = (${vt}){0} + -86.6f;`,
    `  ${mt} mhi = x > hi, mlo = x < lo, mnan = x != x;`,
    `  ${vt} xc = (${vt})(((${mt})hi & mhi) | ((${mt})x & ~mhi)), t, n, r, p, sc;`,
    `  ${mt} e;`,
    `  xc = (${vt})(((${mt})lo & mlo) | ((${mt})xc & ~mlo));`,
    '  t = xc * 1.44269504088896341f;',
    '  n = (t + 12582912.0f) - 12582912.0f;',
    '  r = xc - n * 0.693359375f;',
    '  r = r - n * -2.12194440e-4f;',
    `  p = (${vt}){0} + 1.9875691500E-4f;`,
    '  p = p * r + 1.3981999507E-3f;',
    '  p = p * r + 8.3334519073E-3f;',
    '  p = p * r + 4.1665795894E-2f;',
    '  p = p * r + 1.6666665459E-1f;',
    '  p = p * r + 5.0000001201E-1f;',
    '  p = p * r * r + r + 1.0f;',
    `  e = (__builtin_convertvector(n, ${mt}) + 126) << 23;`,
    `  sc = (p * 2.0f) * (${vt})e;`,
    // NaN lanes keep x; above the range +inf (0x7f800000), below 0
    `  sc = (${vt})((((${mt})sc & ~mlo) & ~mhi) | (mhi & 0x7f800000));`,
    `  return (${vt})(((${mt})x & mnan) | ((${mt})sc & ~mnan));`,
    '}',
  ].join('\n'));
}
