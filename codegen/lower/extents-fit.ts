/**
 * Run-time extents from programs lowered at several values of one symbol (lower/extents.ts): a
 * number that differs between them must be a polynomial in the symbol (degree <= 2, integer
 * coefficients, fitted on three values and checked on the others); in a loop-IR constant it
 * becomes that polynomial of the extent variable. Anything else differing (a loop structure, a
 * register tile, a float constant other than c/S) is refused by the caller (AIC0454).
 */
import { E, type Expr, type ScalarType } from '@aic/loop-ir';

/** c[0] + c[1]*S + c[2]*S^2 */
export interface Poly { c: number[] }

export const polyAt = (p: Poly, s: number): number => p.c.reduce((a, c, k) => a + c * s ** k, 0);

/** The polynomial through (xs[k], ys[k]) for every k, or undefined. */
export function fitPoly(xs: readonly number[], ys: readonly number[]): Poly | undefined {
  for (let deg = 1; deg <= 2 && deg < xs.length - 1; deg++) {
    const c = solve(xs.slice(0, deg + 1), ys.slice(0, deg + 1));
    if (!c || c.some((v) => !Number.isInteger(v))) continue;
    const p = { c };
    if (xs.every((x, k) => polyAt(p, x) === ys[k])) return p;
  }
  return undefined;
}

/** Lagrange through the points, exact in rationals for the small ints seen here (rounded when near an integer). */
function solve(xs: number[], ys: number[]): number[] | undefined {
  const n = xs.length;
  const c = new Array(n).fill(0);
  for (let i = 0; i < n; i++) {
    // basis polynomial prod_{j != i} (S - x_j) / (x_i - x_j), expanded
    let basis = [1], den = 1;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      basis = basis.map((b, k) => -xs[j]! * b + (k > 0 ? basis[k - 1]! : 0)).concat([basis[basis.length - 1]!]);
      den *= xs[i]! - xs[j]!;
    }
    basis.forEach((b, k) => { c[k] += (ys[i]! * b) / den; });
  }
  const r = c.map((v) => (Math.abs(v - Math.round(v)) < 1e-9 ? Math.round(v) : v));
  while (r.length > 1 && r[r.length - 1] === 0) r.pop();
  return r.every(Number.isFinite) ? r : undefined;
}

export function polyText(p: Poly, sym: string): string {
  const terms = p.c.map((c, k) => (c === 0 ? '' : k === 0 ? `${c}` : `${c === 1 ? '' : c === -1 ? '-' : `${c}*`}${k === 1 ? sym : `${sym}^${k}`}`)).filter(Boolean).reverse();
  return terms.length ? terms.join(' + ').replace(/\+ -/g, '- ') : '0';
}

/** The polynomial as an index-typed loop-IR expression of `s` (then cast to t). */
export function polyExpr(p: Poly, s: Expr, t: ScalarType): Expr {
  let acc: Expr | undefined;
  const add = (e: Expr) => { acc = acc ? E.add(acc, e) : e; };
  const sq = p.c[2] ? E.mul(s, s) : undefined;
  if (p.c[2]) add(p.c[2] === 1 ? sq! : E.mul(E.i(p.c[2]), sq!));
  if (p.c[1]) add(p.c[1] === 1 ? s : E.mul(E.i(p.c[1]), s));
  if (p.c[0] || !acc) add(E.i(p.c[0] ?? 0));
  return E.cast(acc!, t);
}

/** A float constant differing between the values: a polynomial of S (cast), or k / S. */
export function floatExpr(xs: readonly number[], ys: readonly number[], s: Expr, t: ScalarType): Expr | undefined {
  const p = fitPoly(xs, ys);
  if (p) return polyExpr(p, s, t);
  const k = ys[0]! * xs[0]!;
  const f32 = (v: number) => (t === 'f32' ? Math.fround(v) : v);
  if (xs.every((x, i) => f32(k / x) === ys[i] || f32(Math.round(k) / x) === ys[i])) return E.div(E.c(Math.round(k * 1e6) / 1e6, t), E.cast(s, t));
  return undefined;
}
