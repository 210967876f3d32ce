/**
 * Elementwise compute definitions: one-node graphs lowered to loop IR and run with the loop-IR
 * interpreter (runProgram), compared with the reference interpreter; plus the scalar-expression
 * compiler that derives the reference from the same expressions.
 */
import { describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value, type Attr, type RValue } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { LOOPS_CAPS, lowerGraph, runProgram } from '@aic/codegen';
import { E, runKernel, S, type Expr, type ScalarType } from '@aic/loop-ir';
import { compileScalar } from '../../ir-spec/lib/scalar-expr.ts';
import { A, t } from '../helpers.ts';

/** Run `op` on graph inputs through the interpreter and through lowering + runProgram. */
function both(op: string, inputs: Tensor[], attrs: Record<string, Attr> = {}, outputs = 1): { ref: Tensor[]; low: Tensor[] } {
  const g = new Graph('t');
  const feeds = new Map<string, RValue>();
  const ins = inputs.map((x, i) => {
    const v = new Value(`in${i}`, { dtype: x.dtype, shape: x.shape.slice() });
    g.inputs.push(v);
    feeds.set(v.name, x);
    return v;
  });
  const outs = Array.from({ length: outputs }, (_, i) => new Value(`out${i}`, { dtype: 'float32', shape: undefined }));
  g.nodes.push(new Node({ op, inputs: ins, outputs: outs, attrs }));
  g.outputs = outs;
  inferGraph(g, { strict: true });
  const res = run(g, feeds);
  const low = runProgram(lowerGraph(g, LOOPS_CAPS), feeds);
  return { ref: outs.map((o) => res.get(o.name) as Tensor), low: outs.map((o) => low.get(o.name)!) };
}

function expectSame(op: string, inputs: Tensor[], attrs: Record<string, Attr> = {}, outputs = 1): Tensor[] {
  const { ref, low } = both(op, inputs, attrs, outputs);
  ref.forEach((r, k) => {
    const l = low[k]!;
    expect(l.dtype).toBe(r.dtype);
    expect(l.shape).toEqual(r.shape);
    const a = Array.from(l.num), b = Array.from(r.num);
    if (r.dtype.startsWith('float')) {
      b.forEach((y, i) => {
        if (Number.isNaN(y)) expect(a[i]).toBeNaN();
        else expect(Math.abs(a[i]! - y)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(y)));
      });
    } else {
      expect(a).toEqual(b);
    }
  });
  return ref;
}

const xs = [-3, -1.5, -0.5, -1e-7, 0, 1e-7, 0.5, 1.5, 3, NaN];
const X = t('float32', [2, 5], xs);

describe('elementwise lowering agrees with the interpreter', () => {
  it('unary math and activations (f32, with NaN)', () => {
    for (const op of ['Abs', 'Neg', 'Floor', 'Round', 'Exp', 'Tanh', 'Erf', 'Sign', 'Relu', 'Sigmoid', 'Softplus', 'Softsign', 'HardSwish', 'IsNaN']) {
      expectSame(op, [X]);
    }
    expectSame('Elu', [X], { alpha: A.float(0.7) });
    expectSame('Selu', [X]);
    expectSame('Celu', [X], { alpha: A.float(2) });
    expectSame('LeakyRelu', [X], { alpha: A.float(0.1) });
    expectSame('HardSigmoid', [X], { alpha: A.float(0.3), beta: A.float(0.4) });
    expectSame('Gelu', [X]);
    expectSame('Gelu', [X], { approximate: A.str('tanh') });
    expectSame('Mish', [X]);
    expectSame('IsInf', [t('float64', [4], [Infinity, -Infinity, 1, NaN])], { detect_negative: A.int(0) });
  });

  it('expm1/log1p forms keep precision near 0', () => {
    const [y] = expectSame('Elu', [t('float32', [2], [-1e-7, -1e-3])]);
    expect(y!.num[0]).toBeCloseTo(Math.fround(Math.expm1(-1e-7)), 14);
    const [s] = expectSame('Softplus', [t('float64', [2], [-40, 40])]);
    expect(s!.num[0]! / Math.exp(-40)).toBeCloseTo(1, 12);
  });

  it('integer arithmetic wraps and truncates as C', () => {
    const a = t('int8', [4], [100, -100, 7, -7]), b = t('int8', [4], [100, 100, -2, 2]);
    const [sum] = expectSame('Add', [a, b]);
    expect(Array.from(sum!.num)).toEqual([-56, 0, 5, -5]);
    expectSame('Mul', [a, b]);
    const [q] = expectSame('Div', [a, b]);
    expect(Array.from(q!.num)).toEqual([1, -1, -3, -3]);
    const [m] = expectSame('Mod', [a, b]);
    expect(Array.from(m!.num)).toEqual([0, 0, -1, 1]);
    expectSame('Mod', [a, b], { fmod: A.int(1) });
    const i32 = t('int32', [3], [2147483647, -5, 3]);
    expectSame('Mul', [i32, t('int32', [3], [2, 3, -4])]);
  });

  it('broadcasting, comparisons, Where, Clip, variadic', () => {
    const a = t('float32', [2, 1, 3], [1, 2, 3, 4, 5, 6]), b = t('float32', [4, 1], [0, 2, 4, NaN]);
    expectSame('Sub', [a, b]);
    expectSame('Less', [a, b]);
    expectSame('Max', [a, b, t('float32', [3], [5, -1, 2.5])]);
    expectSame('Mean', [a, b]);
    const c = t('bool', [1, 3], [1, 0, 1]);
    expectSame('Where', [c, a, b]);
    expectSame('Clip', [X, t('float32', [], [-1]), t('float32', [], [2])]);
    expectSame('Clip', [t('int8', [4], [-128, -3, 5, 127]), t('int8', [], [-4])]);
  });

  it('bitwise, shifts, integer Pow (extern), Cast', () => {
    const u = t('uint8', [4], [1, 128, 255, 3]), s = t('uint8', [4], [1, 1, 9, 7]);
    const [l] = expectSame('BitShift', [u, s], { direction: A.str('LEFT') });
    expect(Array.from(l!.num)).toEqual([2, 0, 0, 128]);
    expectSame('BitShift', [u, s], { direction: A.str('RIGHT') });
    expectSame('BitwiseXor', [t('int32', [2], [-1, 12]), t('int32', [2], [5, 10])]);
    expectSame('BitwiseNot', [t('int16', [2], [0, -300])]);
    const [p] = expectSame('Pow', [t('int32', [5], [2, 3, -1, 1, 7]), t('int64', [5], [10, 3, -3, -5, 0])]);
    expect(Array.from(p!.num)).toEqual([1024, 27, -1, 1, 1]);
    expectSame('Pow', [t('int32', [2], [2, 65537]), t('int32', [2], [31, 2])]); // wraps as C
    expectSame('Pow', [X, t('int64', [1], [2])]);
    expectSame('Cast', [t('float32', [4], [-1.7, 2.5, 127.9, 0])], { to: A.int(3) }); // int8
    expectSame('Cast', [t('int32', [3], [-1, 0, 300])], { to: A.int(2) }); // uint8 wraps
    expectSame('Cast', [X], { to: A.int(9) }); // bool: NaN is true
  });

  it('quantization', () => {
    const x = t('float32', [2, 3], [-10, 0.4, 0.5, 1.5, 300, NaN]);
    expectSame('QuantizeLinear', [x, t('float32', [], [0.5]), t('uint8', [], [10])]);
    expectSame('QuantizeLinear', [x, t('float32', [3], [0.5, 1, 2]), t('int8', [3], [0, -3, 3])], { axis: A.int(1) });
    expectSame('DequantizeLinear', [t('int8', [2, 3], [-128, 0, 127, 5, 6, 7]), t('float32', [2], [0.1, 3]), t('int8', [2], [1, -1])], { axis: A.int(0) });
    expectSame('DynamicQuantizeLinear', [t('float32', [5], [-1, 0.3, 2.5, 7, -3.2])], {}, 3);
  });
});

describe('scalar expression compiler (reference side of the single source)', () => {
  /** the loop-IR interpreter on a 1-element kernel computing e over buffers a, b */
  function interp(e: Expr, a: number, b: number, ta: ScalarType, tb: ScalarType): number {
    const mem = { a: new Float64Array([a]), b: new Float64Array([b]), o: new Float64Array(1) };
    const sub = (x: Expr): Expr => (x.k === 'var' ? E.load(x.name, E.i(0), x.t) : x);
    const map = (x: Expr): Expr => {
      switch (x.k) {
        case 'var': return sub(x);
        case 'bin': return { ...x, a: map(x.a), b: map(x.b) };
        case 'un': return { ...x, x: map(x.x) };
        case 'call': return { ...x, args: x.args.map(map) };
        case 'select': return { ...x, c: map(x.c), a: map(x.a), b: map(x.b) };
        case 'cast': return { ...x, x: map(x.x) };
        default: return x;
      }
    };
    void ta; void tb;
    runKernel({ name: 'k', params: [], body: S.store('o', E.i(0), map(e)) }, mem);
    return mem.o[0]!;
  }

  it('matches the loop-IR interpreter on 32-bit and narrower integers, floats and casts', () => {
    const cases: [ScalarType, (a: Expr, b: Expr) => Expr, number[][]][] = [
      ['i32', E.mul, [[65537, 65537], [-2147483648, -1], [7, -3]]],
      ['i32', E.div, [[-7, 2], [-2147483648, -1], [5, 0]]],
      ['i32', E.mod, [[-7, 2], [7, -2], [5, 0]]],
      ['u8', E.add, [[200, 100], [0, 255]]],
      ['i16', E.sub, [[-32768, 1], [5, 9]]],
      ['f64', E.max, [[1, NaN], [-0, 0], [2, 3]]],
      ['f64', E.min, [[NaN, 1], [2, 3]]],
      ['f32', (a, b) => E.div(a, b), [[1, 3], [2, 7]]],
      ['u32', (a, b) => E.bin('shl', a, b), [[3, 31], [1, 4]]],
      ['f64', (a) => E.cast(a, 'i8'), [[200.7, 0], [-1.5, 0], [NaN, 0]]],
      ['f64', (a) => E.call('round_even', a), [[2.5, 0], [-3.5, 0], [0.49999999999999994, 0]]],
    ];
    for (const [ty, f, vals] of cases) {
      const e = f(E.v('a', ty), E.v('b', ty));
      const fn = compileScalar(['a', 'b'], e);
      for (const [a, b] of vals) {
        const want = interp(e, a!, b!, ty, ty);
        const got = fn(a!, b!);
        if (Number.isNaN(want)) expect(got).toBeNaN(); else expect(got).toBe(want);
      }
    }
  });

  it('is exact on 64-bit bitwise ops, strict on division by zero, saturating on float -> int casts', () => {
    const and = compileScalar(['a', 'b'], E.and(E.v('a', 'i64'), E.v('b', 'i64')));
    expect(and(2 ** 40 + 5, 2 ** 40 + 4)).toBe(2 ** 40 + 4);
    const not = compileScalar(['a'], E.not(E.v('a', 'i64')));
    expect(not(2 ** 40)).toBe(-(2 ** 40) - 1);
    const div = compileScalar(['a', 'b'], E.div(E.v('a', 'i32'), E.v('b', 'i32')), { strict: { op: 'Div' } });
    expect(() => div(1, 0)).toThrow(/division by zero/);
    const cast = compileScalar(['a'], E.cast(E.v('a', 'f64'), 'i8'), { strict: { op: 'Cast' } });
    expect([-128.9, 128, -1e9, NaN, Infinity, 127.9].map((v) => cast(v))).toEqual([-128, 127, -128, 0, 127, 127]);
    const wrap = compileScalar(['a'], E.cast(E.v('a', 'i64'), 'u64'), { strict: { op: 'Cast' } });
    expect([wrap(-1), wrap(7)]).toEqual([2 ** 64, 7]); // 2^64: UINT64_MAX as a double
    // select evaluates only the chosen branch
    const safe = compileScalar(['a', 'b'], E.select(E.eq(E.v('b', 'i32'), E.c(0, 'i32')), E.c(0, 'i32'), E.div(E.v('a', 'i32'), E.v('b', 'i32'))), { strict: { op: 'x' } });
    expect(safe(5, 0)).toBe(0);
  });
});
