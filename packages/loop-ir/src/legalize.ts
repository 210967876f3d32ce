/**
 * Target-neutral legalization: rewrites loop IR into simpler loop IR that every renderer prints
 * directly, so the scalar semantics of the IR (the interpreter's, interp.ts) are defined here once
 * instead of in each renderer:
 * - integer `div` / `mod`: division by zero gives 0, MIN / -1 wraps (a % -1 = 0), through a divisor
 *   that is never 0 or -1, so renderers print the plain machine division;
 * - float `min` / `max` propagate NaN (for targets whose own min/max do not);
 * - `erf` as a rational approximation (for targets without an accurate one);
 * - `sigmoid` as 1 / (1 + exp(-x)) (no target has an instruction for it; WebAssembly computes f32's itself);
 * - unrolling: one budget rule (unrollCopies) for every renderer.
 * Every renderer calls legalizeKernel on each kernel before printing it, with its target's options.
 */
import { E, isFloatT, isSignedT, mapExpr, mapStmt, walkExpr, walkStmt, walkExprs, substituteStmt, type Expr, type Kernel, type ScalarType, type Stmt } from './ir.ts';
import { isCheck } from './checks.ts';
import { simplifyStmt } from './simplify.ts';

/** What a target's renderer prints natively (the rest is rewritten). */
export interface LegalizeOptions {
  /** float min/max already propagate NaN (WebAssembly's f32.min); else compare + select */
  nanMinMax: boolean;
  /** ordered comparisons with a NaN operand are false (C, WebAssembly); WGSL may assume no NaN, so NaN is tested by bit pattern (isnan) */
  ieeeCompare: boolean;
  /**
   * an accurate erf for every float type (true), for f64 only ('f64': C's libm erf; f32 takes the
   * rational approximation below, which vectorizes where libm's erff is one scalar call per lane), or
   * none (false: the approximation everywhere)
   */
  erf: boolean | 'f64';
  /** the renderer computes f32 sigmoid itself (WebAssembly: codegen/wasm/math.ts); else 1 / (1 + exp(-x)) */
  sigmoidF32?: boolean;
}

type For = Extract<Stmt, { k: 'for' }>;

/** `unrolled` loops: expanded when the extent is a constant <= UNROLL_MAX and the copies hold <= UNROLL_BUDGET IR nodes. */
export const UNROLL_MAX = 64;
export const UNROLL_BUDGET = 40000;

function countNodes(s: Stmt): number {
  let n = 0;
  walkStmt(s, () => { n++; });
  walkExprs(s, () => { n++; });
  return n;
}

/**
 * The copies an `unrolled` loop expands to (the loop variable substituted and folded), or undefined
 * when the loop is over budget (renderers then emit it as a serial loop).
 */
export function unrollCopies(s: For): Stmt[] | undefined {
  if (s.kind.k !== 'unrolled' || s.ext.k !== 'const' || s.ext.v > UNROLL_MAX) return undefined;
  if (countNodes(s.body) * s.ext.v > UNROLL_BUDGET) return undefined;
  const copies: Stmt[] = [];
  for (let i = 0; i < s.ext.v; i++) copies.push(simplifyStmt(substituteStmt(s.body, { [s.v]: E.i(i) })));
  return copies;
}

const k = (v: number, t: ScalarType, lanes: number): Expr => ({ k: 'const', t, v, lanes });
const isConst = (e: Expr): e is Extract<Expr, { k: 'const' }> => e.k === 'const';
const hasCheck = (e: Expr): boolean => { let c = false; walkExpr(e, (x) => { if (x.k === 'call' && isCheck(x.fn)) c = true; }); return c; };
const eq = (a: Expr, v: number): Expr => E.bin('eq', a, k(v, a.t, a.lanes));

/** c ? a : b, folding constant conditions */
function select(c: Expr, a: Expr, b: Expr): Expr {
  if (isConst(c)) return c.v ? a : b;
  return E.select(c, a, b);
}
function or(a: Expr, b: Expr): Expr {
  if (isConst(a)) return a.v ? a : b;
  if (isConst(b)) return b.v ? b : a;
  return E.or(a, b);
}
/** eq folded for constants */
function isValue(a: Expr, v: number): Expr {
  return isConst(a) ? k(a.v === v ? 1 : 0, 'bool', a.lanes) : eq(a, v);
}

/** Integer a / b and a % b with the interpreter's semantics, as machine division by a safe divisor. */
function intDivMod(e: Extract<Expr, { k: 'bin' }>): Expr {
  const { a, b } = e;
  const t = e.t, L = e.lanes;
  const signed = isSignedT(t);
  if (isConst(b) && b.v !== 0 && (!signed || b.v !== -1)) return e; // already safe
  const zero = isValue(b, 0);
  const minus1 = signed ? isValue(b, -1) : k(0, 'bool', b.lanes);
  if (isConst(b) && !hasCheck(a)) {
    // a constant 0 or -1: the result without dividing
    if (e.op === 'mod' || b.v === 0) return k(0, t, L);
    return E.sub(k(0, t, L), a);
  }
  const safe = select(or(zero, minus1), k(1, t, b.lanes), b);
  const q: Expr = { ...e, b: safe };
  if (e.op === 'mod') return select(or(zero, minus1), k(0, t, L), q);
  // a / -1 = 0 - a (wrapping: MIN / -1 = MIN)
  return select(zero, k(0, t, L), select(minus1, E.sub(k(0, t, L), a), q));
}

/**
 * NaN-propagating min/max (the first NaN operand is the result; equal operands give a). With IEEE
 * comparisons: max(a, b) = a < b ? b : (isnan(b) ? b : a) (a constant b needs no NaN test); else
 * NaN tests first, then the machine min/max.
 */
function nanMinMax(e: Extract<Expr, { k: 'bin' }>, opts: LegalizeOptions): Expr {
  const { a, b } = e;
  const nan = (x: Expr): Expr => (isConst(x) ? k(Number.isNaN(x.v) ? 1 : 0, 'bool', x.lanes) : E.call('isnan', x));
  if (!opts.ieeeCompare) return select(nan(a), a, select(nan(b), b, e));
  const better = E.bin(e.op === 'max' ? 'lt' : 'gt', a, b);
  return select(better, b, select(nan(b), b, a));
}

/** erf(x) = x P(x^2) / Q(x^2) on x clamped to [-4, 4] (|relative error| < 4e-7 in f32). */
const ERF_P = [-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02];
const ERF_Q = [-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03, -1.42647390514189e-02];
function horner(x: Expr, cs: number[]): Expr {
  let acc = k(cs[0], x.t, x.lanes);
  for (let i = 1; i < cs.length; i++) acc = E.add(E.mul(acc, x), k(cs[i], x.t, x.lanes));
  return acc;
}
function erfRational(x: Expr): Expr {
  const xc = E.max(E.min(x, k(4, x.t, x.lanes)), k(-4, x.t, x.lanes));
  const x2 = E.mul(xc, xc);
  return E.div(E.mul(horner(x2, ERF_P), xc), horner(x2, ERF_Q));
}

/** One expression, bottom-up. */
export function legalizeExpr(e: Expr, opts: LegalizeOptions): Expr {
  return mapExpr(e, (x) => rewrite(x, opts));
}

function rewrite(x: Expr, opts: LegalizeOptions): Expr {
  if (x.k === 'bin') {
    if ((x.op === 'div' || x.op === 'mod') && !isFloatT(x.t) && x.t !== 'bool') return intDivMod(x);
    if ((x.op === 'min' || x.op === 'max') && isFloatT(x.t) && !opts.nanMinMax) return nanMinMax(x, opts);
  }
  if (x.k === 'call' && x.fn === 'erf' && isFloatT(x.t) && (!opts.erf || (opts.erf === 'f64' && x.t !== 'f64'))) {
    // the clamp's min/max are legalized in turn (the argument, already legal, is substituted after)
    const arg = x.args[0];
    const r = legalizeExpr(erfRational({ k: 'var', name: '%erf', t: arg.t, lanes: arg.lanes }), opts);
    return mapExpr(r, (y) => (y.k === 'var' && y.name === '%erf' ? arg : y));
  }
  if (x.k === 'call' && x.fn === 'sigmoid' && isFloatT(x.t) && !(opts.sigmoidF32 && x.t === 'f32')) {
    const one = k(1, x.t, x.lanes);
    return E.div(one, E.add(one, E.call('exp', E.neg(x.args[0]))));
  }
  return x;
}

export function legalizeStmt(s: Stmt, opts: LegalizeOptions): Stmt {
  return mapStmt(s, (x) => rewrite(x, opts));
}

export function legalizeKernel(kernel: Kernel, opts: LegalizeOptions): Kernel {
  return { ...kernel, body: legalizeStmt(kernel.body, opts) };
}
