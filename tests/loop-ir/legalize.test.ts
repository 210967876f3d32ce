/**
 * Legalization (packages/loop-ir legalize.ts): the rewritten IR computes what the original does on
 * the loop-IR interpreter (the reference semantics), for the edge values each rule exists for, and
 * leaves only what a renderer can print as plain machine operations.
 */
import { describe, expect, it } from 'vitest';
import {
  E, INTRINSIC_JS, LoopInterpreter, S, UNROLL_BUDGET, UNROLL_MAX, legalizeExpr, legalizeKernel, printExpr, unrollCopies, walkExpr,
  type Expr, type Kernel, type LegalizeOptions, type ScalarType, type Stmt,
} from '@aic/loop-ir';

const ARRAYS: Partial<Record<ScalarType, new (n: number) => { [i: number]: number; length: number }>> = {
  i32: Int32Array, u32: Uint32Array, i8: Int8Array, u8: Uint8Array, i16: Int16Array, f32: Float32Array, f64: Float64Array, i64: Float64Array,
};
const C_LIKE: LegalizeOptions = { nanMinMax: false, ieeeCompare: true, erf: true };
const WGSL_LIKE: LegalizeOptions = { nanMinMax: false, ieeeCompare: false, erf: false };

/** out[i] = f(a[i], b[i]) on the loop-IR interpreter */
function evalBin(f: (a: Expr, b: Expr) => Expr, t: ScalarType, a: number[], b: number[], opts?: LegalizeOptions): number[] {
  const n = a.length;
  const buf = (name: string, role: 'input' | 'output') => ({ name, dtype: t, shape: [n], scope: 'global' as const, role });
  const body: Stmt = S.for('i', n, S.store('o', E.v('i'), f(E.load('a', E.v('i'), t), E.load('b', E.v('i'), t))));
  let k: Kernel = { name: 'k', params: [buf('a', 'input'), buf('b', 'input'), buf('o', 'output')], body };
  if (opts) k = legalizeKernel(k, opts);
  const A = ARRAYS[t]!;
  const mem = { a: Object.assign(new A(n), a), b: Object.assign(new A(n), b), o: new A(n) };
  new LoopInterpreter(mem).runKernel(k);
  return Array.from({ length: n }, (_, i) => mem.o[i]);
}

/** every integer div/mod left divides by a constant other than 0 / -1 or by a select(..., 1, b) */
function divisorsSafe(e: Expr): boolean {
  let ok = true;
  walkExpr(e, (x) => {
    if (x.k !== 'bin' || (x.op !== 'div' && x.op !== 'mod') || x.t === 'f32' || x.t === 'f64') return;
    const b = x.b;
    if (b.k === 'const') ok &&= b.v !== 0 && b.v !== -1;
    else ok &&= b.k === 'select' && b.a.k === 'const' && b.a.v === 1;
  });
  return ok;
}

describe('legalization', () => {
  it('integer div/mod: x/0 = x%0 = 0, MIN/-1 wraps, through a divisor that is never 0 or -1', () => {
    const MIN = -(2 ** 31);
    const a = [7, -7, MIN, MIN, 5, 0, 9, -9], b = [0, 0, -1, 1, -1, 3, 2, -4];
    for (const op of [E.div, E.mod]) {
      for (const [t, av, bv] of [['i32', a, b], ['i8', [7, -128, -128, 100, 3], [0, -1, 2, 7, -1]], ['u8', [7, 255, 200, 0], [0, 1, 3, 0]], ['u32', [7, 4294967295, 9], [0, 2, 4294967295]]] as const) {
        expect(evalBin(op, t, [...av], [...bv], C_LIKE), `${t}`).toEqual(evalBin(op, t, [...av], [...bv]));
      }
      const l = legalizeExpr(op(E.load('a', E.v('i'), 'i32'), E.load('b', E.v('i'), 'i32')), C_LIKE);
      expect(divisorsSafe(l)).toBe(true);
    }
    expect(evalBin(E.div, 'i32', a, b, C_LIKE)).toEqual([0, 0, MIN, MIN, -5, 0, 4, 2]);
    expect(printExpr(legalizeExpr(E.div(E.load('a', E.v('i'), 'i32'), E.load('b', E.v('i'), 'i32')), C_LIKE)))
      .toBe('select((b[i] == 0), 0, select((b[i] == -1), (0 - a[i]), (a[i] / select(((b[i] == 0) | (b[i] == -1)), 1, b[i]))))');
    // constant divisors: untouched when safe, folded when 0 / -1
    expect(printExpr(legalizeExpr(E.div(E.v('i'), E.i(7)), C_LIKE))).toBe('(i / 7)');
    expect(printExpr(legalizeExpr(E.mod(E.v('i'), E.i(0)), C_LIKE))).toBe('0');
    expect(printExpr(legalizeExpr(E.div(E.v('i'), E.i(-1)), C_LIKE))).toBe('(0 - i)');
  });

  it('float min/max propagate NaN (first NaN operand wins), for targets that ask', () => {
    const a = [NaN, 1, NaN, 2, -Infinity, 0, 3], b = [1, NaN, NaN, 5, 4, -0, Infinity];
    for (const op of [E.min, E.max]) {
      // (equal operands give a, as C did: min(0, -0) is 0 where the interpreter's Math.min gives -0)
      const want = evalBin(op, 'f32', a, b).map((v) => (Object.is(v, -0) ? 0 : v));
      for (const opts of [C_LIKE, WGSL_LIKE]) expect(evalBin(op, 'f32', a, b, opts).map((v) => (Object.is(v, -0) ? 0 : v))).toEqual(want);
    }
    // IEEE compares: a constant operand needs no NaN test; else NaN tests by bit pattern; targets whose min/max propagate NaN keep theirs
    const x = E.load('x', E.v('i'), 'f32');
    expect(printExpr(legalizeExpr(E.max(x, E.c(0)), C_LIKE))).toBe('select((x[i] < 0.0:f32), 0.0:f32, x[i])');
    expect(printExpr(legalizeExpr(E.min(x, E.load('y', E.v('i'), 'f32')), C_LIKE))).toBe('select((x[i] > y[i]), y[i], select(isnan(y[i]), y[i], x[i]))');
    expect(printExpr(legalizeExpr(E.max(x, E.c(0)), WGSL_LIKE))).toBe('select(isnan(x[i]), x[i], max(x[i], 0.0:f32))');
    expect(printExpr(legalizeExpr(E.max(x, E.c(0)), { ...C_LIKE, nanMinMax: true }))).toBe('max(x[i], 0.0:f32)');
  });

  it('erf becomes a rational approximation within 4e-7 relative in f32 (and f64), NaN and ±Inf included', () => {
    const xs = [...Array.from({ length: 161 }, (_, i) => -8 + i * 0.1), 1e-8, -1e-30, 0, Infinity, -Infinity, NaN];
    for (const t of ['f32', 'f64'] as const) {
      const got = evalBin((x) => E.call('erf', x), t, xs, xs.map(() => 0), WGSL_LIKE);
      got.forEach((g, i) => {
        const want = INTRINSIC_JS.erf(xs[i]);
        if (Number.isNaN(want)) { expect(g).toBeNaN(); return; }
        expect(Math.abs(g - want), `erf(${xs[i]}) on ${t}`).toBeLessThanOrEqual(4e-7 * Math.abs(want) + 1e-30);
      });
    }
    let calls = 0;
    walkExpr(legalizeExpr(E.call('erf', E.load('x', E.v('i'), 'f32')), WGSL_LIKE), (e) => { if (e.k === 'call' && e.fn === 'erf') calls++; });
    expect(calls).toBe(0);
  });

  it('sigmoid becomes 1 / (1 + exp(-x)) on every target', () => {
    const xs = [-100, -20, -1, 0, 0.5, 3, 20, 100, Infinity, -Infinity, NaN];
    const got = evalBin((x) => E.call('sigmoid', x), 'f32', xs, xs.map(() => 0), C_LIKE);
    got.forEach((g, i) => {
      const want = Math.fround(INTRINSIC_JS.sigmoid(xs[i]));
      if (Number.isNaN(want)) expect(g).toBeNaN();
      else expect(Math.abs(g - want), `sigmoid(${xs[i]})`).toBeLessThanOrEqual(2e-7 * Math.abs(want) + 1e-38);
    });
    expect(printExpr(legalizeExpr(E.call('sigmoid', E.load('x', E.v('i'), 'f32')), { ...C_LIKE, nanMinMax: true })))
      .toBe('(1.0:f32 / (1.0:f32 + exp(neg(x[i]))))');
  });

  it('unrolling: one budget rule (extent <= UNROLL_MAX, copies <= UNROLL_BUDGET nodes) for every renderer', () => {
    const loop = (n: number, body: Stmt) => ({ k: 'for', v: 'u', ext: E.i(n), kind: { k: 'unrolled' }, body }) as Extract<Stmt, { k: 'for' }>;
    const small = S.store('o', E.v('u'), E.c(1));
    const copies = unrollCopies(loop(UNROLL_MAX, small))!;
    expect(copies).toHaveLength(UNROLL_MAX);
    expect(copies[5]).toEqual(S.store('o', E.i(5), E.c(1)));
    expect(unrollCopies(loop(UNROLL_MAX + 1, small))).toBeUndefined();
    let big: Expr = E.c(0);
    for (let i = 0; i < UNROLL_BUDGET / 32; i++) big = E.add(big, E.load('x', E.v('u'), 'f32'));
    expect(unrollCopies(loop(32, S.store('o', E.v('u'), big)))).toBeUndefined();
    expect(unrollCopies({ ...loop(4, small), kind: { k: 'serial' } })).toBeUndefined();
  });
});
