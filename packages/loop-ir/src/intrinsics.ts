/**
 * The numeric meaning of every loop-IR intrinsic, over JS numbers (double precision). The loop-IR
 * interpreter and ir-spec's scalar-expression compiler (the reference for elementwise ops) both
 * evaluate intrinsics through this one table; renderers emit target code that matches it.
 */
import type { Intrinsic } from './ir.ts';
import { checkIndexJS, checkRangeJS } from './checks.ts';

/** Round half to even (numpy.round / ONNX Round). */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x);
  if (Math.abs(x - Math.trunc(x)) === 0.5) return 2 * Math.round(x / 2);
  return r;
}

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const INV_SQRT_PI = 0.5641895835477563;

/**
 * erf(x) to ~1e-15 relative: for |x| < 3 the positive-term series
 * erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1*3*...*(2n+1)) (no cancellation);
 * beyond, 1 - erfc(x) with erfc from its continued fraction.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    const x2 = a * a;
    let term = a, sum = a;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
  } else if (a < 6.5) {
    r = 1 - erfcCF(a);
  } else {
    r = 1;
  }
  return x < 0 ? -r : r;
}

/** erfc(x) for x >= 3: e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))) evaluated bottom-up. */
function erfcCF(x: number): number {
  let f = x;
  for (let k = 60; k >= 1; k--) f = x + (k / 2) / f;
  return (INV_SQRT_PI * Math.exp(-x * x)) / f;
}

/** Double-precision value of each intrinsic; the caller rounds to the result type. */
export const INTRINSIC_JS: Record<Intrinsic, (...a: number[]) => number> = {
  exp: Math.exp, log: Math.log, sqrt: Math.sqrt, rsqrt: (x) => 1 / Math.sqrt(x), tanh: Math.tanh, erf,
  // the overflow-free form of 1 / (1 + e^-x)
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  floor: Math.floor, ceil: Math.ceil, trunc: Math.trunc, round_even: roundHalfEven,
  sin: Math.sin, cos: Math.cos, tan: Math.tan, asin: Math.asin, acos: Math.acos, atan: Math.atan,
  sinh: Math.sinh, cosh: Math.cosh, asinh: Math.asinh, acosh: Math.acosh, atanh: Math.atanh,
  isnan: (x) => (Number.isNaN(x) ? 1 : 0), isinf: (x) => (x === Infinity || x === -Infinity ? 1 : 0),
  fabs: Math.abs, sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x), fma: (a, b, c) => a * b + c, atan2: Math.atan2,
  dot2: (p, q) => (Math.imul((p << 16) >> 16, (q << 16) >> 16) + Math.imul(p >> 16, q >> 16)) | 0,
  dot4: (p, q) => {
    let s = 0;
    for (let i = 0; i < 4; i++) s += ((p >>> (8 * i)) & 255) * ((q << (24 - 8 * i)) >> 24);
    return s | 0;
  },
  // the values of the runtime checks; recording the failure is the caller's (checks.ts)
  check_index: (i, n) => checkIndexJS(i, n).v, check_nonzero: (b) => b, check_range: (v, n, code) => checkRangeJS(v, n, code).v,
};
