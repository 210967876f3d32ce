/**
 * Family 'algebraic': arithmetic identities — x+0, 0+x, x-0, x*1, 1*x, x/1, Neg(Neg x),
 * Reciprocal(Reciprocal x), Pow(x, 1) -> x; Pow(x, 2) -> Mul(x, x); x / 2^k -> x * 2^-k (exact);
 * a / Sqrt(c) -> a * (1/sqrt(c)) for a float32/float64 constant c.
 *
 * Guards: the identity constant has x's element type and broadcasts into x without growing it
 * (x: [1] + zeros[10] is a [10] result: rejected). x*0 is never rewritten (NaN * 0 = NaN, inf * 0 =
 * NaN). Notes on exactness:
 * - x + (+0) turns x = -0 into +0 (the values compare equal; ONNX Runtime removes it too).
 * - Reciprocal(Reciprocal x) -> x is within 1 ulp of the original everywhere 1/x is finite; where
 *   it is not (subnormal x), the rewrite returns x exactly where the original returned 0 or inf. It is
 *   only applied to float types (integer Reciprocal truncates).
 * - a / Sqrt(c) -> a * r with r = 1/sqrt(c) computed in double and rounded once: the result differs
 *   from the original by at most 3 ulp (relative 4e-7 for float32, 7e-16 for float64). c must be
 *   finite and > 0 with a finite, normal r; float16/bfloat16 are not rewritten (their ulp is too
 *   coarse for the rounding of r to be negligible).
 * - x / c with every c = +-2^k (and 2^-k representable in the type) -> x * (1/c) is exact: both
 *   are the one correctly rounded value of the same real number.
 */
import { Tensor, castScalar, isFloat, type DType } from '@aic/core';
import { P, type Match, type Rule, type RuleEnv } from '../../rewrite/pattern.ts';
import { all, allEqual, broadcastsInto, canForward, numbers, type GuardResult } from './util.ts';

const FAMILY = 'algebraic';

/** The constant identity operand: same dtype as x, broadcasting into x's shape. */
function identityOperand(m: Match): GuardResult {
  const x = m.values.x, c = m.consts.c;
  if (c.dtype !== x.dtype) return `constant ${c.dtype} vs operand ${x.dtype}`;
  return broadcastsInto(c.shape, x.shape);
}
function forwardIdentity(m: Match, env: RuleEnv): GuardResult {
  return all(() => identityOperand(m), () => canForward(m, env, m.values.x));
}
const isZero = (t: Tensor) => allEqual(t, 0);
const isOne = (t: Tensor) => allEqual(t, 1);

function isPow2(v: number, d: DType): boolean {
  if (!Number.isFinite(v) || v === 0) return false;
  const a = Math.abs(v);
  if (2 ** Math.round(Math.log2(a)) !== a) return false;
  const r = 1 / v;
  return Number.isFinite(castScalar(r, d)) && castScalar(r, d) === r;
}

export const algebraicRules: Rule[] = [
  {
    name: 'add-zero',
    family: FAMILY,
    summary: 'x + 0 and 0 + x -> x',
    pattern: P.op('Add', [P.any('x'), P.const('c', isZero)], { commutative: true }),
    guard: forwardIdentity,
    replace: (m) => [m.values.x],
  },
  {
    name: 'sub-zero',
    family: FAMILY,
    summary: 'x - 0 -> x',
    pattern: P.op('Sub', [P.any('x'), P.const('c', isZero)]),
    guard: forwardIdentity,
    replace: (m) => [m.values.x],
  },
  {
    name: 'mul-one',
    family: FAMILY,
    summary: 'x * 1 and 1 * x -> x',
    pattern: P.op('Mul', [P.any('x'), P.const('c', isOne)], { commutative: true }),
    guard: forwardIdentity,
    replace: (m) => [m.values.x],
  },
  {
    name: 'div-one',
    family: FAMILY,
    summary: 'x / 1 -> x',
    pattern: P.op('Div', [P.any('x'), P.const('c', isOne)]),
    guard: forwardIdentity,
    replace: (m) => [m.values.x],
  },
  {
    name: 'neg-neg',
    family: FAMILY,
    summary: 'Neg(Neg(x)) -> x',
    pattern: P.op('Neg', [P.op('Neg', [P.any('x')], { shared: true })]),
    guard: (m, env) => canForward(m, env, m.values.x),
    replace: (m) => [m.values.x],
  },
  {
    name: 'reciprocal-reciprocal',
    family: FAMILY,
    summary: 'Reciprocal(Reciprocal(x)) -> x for floats (within 1 ulp; exact x where 1/x overflows)',
    pattern: P.op('Reciprocal', [P.op('Reciprocal', [P.any('x')], { shared: true })]),
    guard: (m, env) => (isFloat(m.values.x.dtype) ? canForward(m, env, m.values.x) : `integer type ${m.values.x.dtype}`),
    replace: (m) => [m.values.x],
  },
  {
    name: 'pow-one',
    family: FAMILY,
    summary: 'Pow(x, 1) -> x',
    pattern: P.op('Pow', [P.any('x'), P.const('c', isOne)]),
    guard: (m, env) => all(() => broadcastsInto(m.consts.c.shape, m.values.x.shape), () => canForward(m, env, m.values.x)),
    replace: (m) => [m.values.x],
  },
  {
    name: 'pow-two',
    family: FAMILY,
    summary: 'Pow(x, 2) -> Mul(x, x) for floats',
    pattern: P.op('Pow', [P.any('x'), P.const('c', (t) => allEqual(t, 2))]),
    guard: (m) => (isFloat(m.values.x.dtype) ? broadcastsInto(m.consts.c.shape, m.values.x.shape) : `integer type ${m.values.x.dtype}`),
    replace: (m, b) => b.op('Mul', [m.values.x, m.values.x]),
  },
  {
    name: 'div-sqrt-const',
    family: FAMILY,
    summary: 'a / Sqrt(c) -> a * (1/sqrt(c)) for a float32/float64 constant c > 0 (within 3 ulp)',
    pattern: P.op('Div', [P.any('a'), P.op('Sqrt', [P.const('c')], { shared: true })]),
    guard: (m) => {
      const a = m.values.a, c = m.consts.c;
      if (c.dtype !== 'float32' && c.dtype !== 'float64') return `${c.dtype} is not float32/float64`;
      if (a.dtype !== c.dtype) return `dtypes ${a.dtype} / ${c.dtype}`;
      const min = c.dtype === 'float32' ? 2 ** -126 : 2 ** -1022;
      for (const v of numbers(c)) {
        const r = 1 / Math.sqrt(v);
        if (!(v > 0) || !Number.isFinite(v) || !(Math.abs(castScalar(r, c.dtype)) >= min) || !Number.isFinite(castScalar(r, c.dtype))) return `sqrt(${v}) has no normal reciprocal`;
      }
      return true;
    },
    replace: (m, b) => {
      const c = m.consts.c;
      const r = Tensor.fromNumbers(c.dtype, c.shape, numbers(c).map((v) => 1 / Math.sqrt(v)));
      return b.op('Mul', [m.values.a, b.constant(r, `${m.root.outputs[0]!.name}_rsqrt`)]);
    },
  },
  {
    name: 'div-pow2',
    family: FAMILY,
    summary: 'x / c with every c a power of two -> x * (1/c) (exact)',
    pattern: P.op('Div', [P.any('x'), P.const('c')]),
    guard: (m) => {
      const x = m.values.x, c = m.consts.c;
      if (!isFloat(x.dtype) || c.dtype !== x.dtype) return `dtypes ${x.dtype} / ${c.dtype}`;
      if (allEqual(c, 1)) return 'division by 1 (div-one)';
      if (!numbers(c).every((v) => isPow2(v, c.dtype))) return 'divisor is not a power of two';
      return true;
    },
    replace: (m, b) => {
      const c = m.consts.c;
      const r = Tensor.fromNumbers(c.dtype, c.shape, numbers(c).map((v) => 1 / v));
      return b.op('Mul', [m.values.x, b.constant(r, `${m.root.outputs[0]!.name}_recip`)]);
    },
  },
];
