/**
 * Compute definitions of the reduce / linalg / loss families: one-node graphs lowered to loop IR and
 * run with the loop interpreter (runProgram), compared with the graph interpreter.
 */
import { describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value, type Attr, type RValue } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { LOOPS_CAPS, lowerGraph, runProgram } from '@aic/codegen';
import { A, f32, i64, t } from '../helpers.ts';

/** Inputs in `consts` become graph constants (axes, K...); null = omitted optional input. */
function check(op: string, inputs: (Tensor | null)[], attrs: Record<string, Attr> = {},
  opts: { consts?: number[]; outputs?: number; tol?: number } = {}): Tensor[] {
  const g = new Graph('t');
  const feeds = new Map<string, RValue>();
  const ins = inputs.map((x, i) => {
    if (!x) return null;
    const v = new Value(`in${i}`, { dtype: x.dtype, shape: x.shape.slice() });
    if (opts.consts?.includes(i)) { v.const = x; g.constants.push(v); } else { g.inputs.push(v); feeds.set(v.name, x); }
    return v;
  });
  const outs = Array.from({ length: opts.outputs ?? 1 }, (_, i) => new Value(`out${i}`, { dtype: 'float32', shape: undefined }));
  g.nodes.push(new Node({ op, inputs: ins, outputs: outs, attrs }));
  g.outputs = outs;
  inferGraph(g, { strict: true });
  const want = run(g, feeds);
  const got = runProgram(lowerGraph(g, LOOPS_CAPS), feeds);
  const tol = opts.tol ?? 1e-6;
  return outs.map((o) => {
    const w = want.get(o.name) as Tensor, r = got.get(o.name)!;
    expect(r.dtype).toBe(w.dtype);
    expect(r.shape).toEqual(w.shape);
    const a = Array.from(r.num as ArrayLike<number>), b = Array.from(w.num as ArrayLike<number>);
    b.forEach((y, i) => {
      if (Number.isNaN(y)) expect(a[i]).toBeNaN();
      else if (a[i] === y) return;
      else if (w.dtype.startsWith('float')) expect(Math.abs(a[i]! - y)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(y)));
      else expect(a[i]).toBe(y);
    });
    return r;
  });
}

let seed = 7;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
const randF = (shape: number[]) => f32(shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rnd() * 4 - 2));
const randI = (dtype: 'int8' | 'int32' | 'int64' | 'uint8', shape: number[], lo: number, hi: number) =>
  t(dtype, shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + Math.floor(rnd() * (hi - lo + 1))));
const ax = (...a: number[]) => i64([a.length], a);

describe('lowering: Reduce*', () => {
  it('every kind over several axes, keepdims on and off', () => {
    const x = randF([3, 4, 5]);
    for (const op of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
      'ReduceSumSquare', 'ReduceLogSumExp']) {
      check(op, [x, ax(0, 2)], {}, { consts: [1] });
      check(op, [x, ax(-1)], { keepdims: A.int(0) }, { consts: [1] });
      check(op, [x, null], { keepdims: A.int(0) });
    }
    check('ReduceLogSum', [f32([2, 3], [1, 2, 3, 4, 5, 6]), ax(1)], {}, { consts: [1] });
  });
  it('integer accumulation: i8 sums wrap as the reference, int64 min exact, empty axes', () => {
    const x8 = randI('int8', [4, 50], -128, 127);
    check('ReduceSum', [x8, ax(1)], {}, { consts: [1] });
    check('ReduceSumSquare', [x8, ax(1)], {}, { consts: [1] });
    check('ReduceMean', [randI('int8', [4, 20], -5, 5), ax(1)], {}, { consts: [1] });
    const x64 = i64([2, 3], [5, -(2 ** 40), 7, 2 ** 45, 3, -1]);
    check('ReduceMin', [x64, ax(1)], {}, { consts: [1] });
    check('ReduceMax', [x64, ax(1)], {}, { consts: [1] });
    check('ReduceMax', [f32([2, 0], []), ax(1)], {}, { consts: [1] });
    check('ReduceSum', [randF([2, 3]), i64([0], [])], { noop_with_empty_axes: A.int(1) }, { consts: [1] });
  });
});

describe('lowering: per-axis ops', () => {
  it('ArgMax / ArgMin with ties, first and last index', () => {
    const x = f32([2, 4], [1, 3, 3, 0, 2, 2, -1, 2]);
    for (const op of ['ArgMax', 'ArgMin']) {
      for (const last of [0, 1]) {
        check(op, [x], { axis: A.int(1), select_last_index: A.int(last) });
        check(op, [x], { axis: A.int(0), keepdims: A.int(0), select_last_index: A.int(last) });
      }
    }
    check('ArgMin', [i64([3], [4, -(2 ** 50), -(2 ** 50)])], { select_last_index: A.int(1) });
  });
  it('Softmax / LogSoftmax / Hardmax per axis and in the coerced 2-D form', () => {
    const x = randF([2, 3, 4]);
    for (const op of ['Softmax', 'LogSoftmax', 'Hardmax']) {
      check(op, [x], { axis: A.int(1) });
      check(op, [x], { axis: A.int(1), coerce_2d: A.int(1) });
      check(op, [x], {});
    }
    check('Hardmax', [f32([2, 3], [1, 5, 5, 2, 2, 2])], {});
  });
  it('TopK largest / smallest with ties: lower index first', () => {
    const x = f32([2, 6], [3, 1, 3, 2, 3, 0, 5, 5, 1, 5, 0, 0]);
    const k = i64([1], [4]);
    check('TopK', [x, k], {}, { consts: [1], outputs: 2 });
    check('TopK', [x, k], { largest: A.int(0) }, { consts: [1], outputs: 2 });
    check('TopK', [randF([3, 7, 2]), i64([1], [3])], { axis: A.int(1) }, { consts: [1], outputs: 2 });
  });
  it('CumSum exclusive / reverse', () => {
    const x = randF([3, 4]);
    for (const exclusive of [0, 1]) {
      for (const reverse of [0, 1]) {
        check('CumSum', [x, t('int32', [], [1])], { exclusive: A.int(exclusive), reverse: A.int(reverse) }, { consts: [1] });
      }
    }
    check('CumSum', [randI('int8', [40], -128, 127), i64([], [0])], {}, { consts: [1] });
  });
});

describe('lowering: linalg', () => {
  it('MatMul: 2-D, broadcast batches, 1-D operands, int32', () => {
    check('MatMul', [randF([3, 4]), randF([4, 5])], {}, { tol: 1e-5 });
    check('MatMul', [randF([2, 1, 3, 4]), randF([3, 4, 2])], {}, { tol: 1e-5 });
    check('MatMul', [randF([4]), randF([2, 4, 3])], {}, { tol: 1e-5 });
    check('MatMul', [randF([2, 3, 4]), randF([4])], {}, { tol: 1e-5 });
    check('MatMul', [randI('int32', [3, 4], -1000, 1000), randI('int32', [4, 2], -1000, 1000)]);
  });
  it('Gemm with transposes, alpha / beta and a broadcast bias', () => {
    const a = randF([4, 3]), b = randF([5, 4]), c = randF([5]);
    check('Gemm', [a, b, c], { transA: A.int(1), transB: A.int(1), alpha: A.float(0.5), beta: A.float(2) }, { tol: 1e-5 });
    check('Gemm', [randF([3, 4]), randF([4, 5]), randF([3, 1])], {}, { tol: 1e-5 });
    check('Gemm', [randF([3, 4]), randF([4, 5]), null], {}, { tol: 1e-5 });
  });
  it('Einsum: matmul, diagonal, ellipsis, trace', () => {
    check('Einsum', [randF([2, 3, 4]), randF([2, 4, 5])], { equation: A.str('bij,bjk->bik') });
    check('Einsum', [randF([2, 3, 3])], { equation: A.str('...ii->...i') });
    check('Einsum', [randF([4, 4])], { equation: A.str('ii') });
    check('Einsum', [randF([3]), randF([3]), randF([3])], { equation: A.str('i,i,i->') });
  });
  it('MatMulInteger / QLinearMatMul with zero points', () => {
    const a = randI('uint8', [3, 4], 0, 255), b = randI('uint8', [4, 2], 0, 255);
    check('MatMulInteger', [a, b, t('uint8', [], [12]), t('uint8', [2], [3, 200])]);
    check('QLinearMatMul', [a, f32([], [0.02]), t('uint8', [], [120]), b, f32([], [0.03]), t('uint8', [], [100]),
      f32([], [0.5]), t('uint8', [], [128])]);
  });
  it('Det: regular, singular and batched', () => {
    check('Det', [randF([3, 3])], {}, { tol: 1e-5 });
    check('Det', [f32([2, 2, 2], [1, 2, 2, 4, 0, 1, 1, 0])], {});
    check('Det', [randF([2, 4, 4])], {}, { tol: 1e-5 });
  });
});

describe('lowering: losses', () => {
  it('NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss: reductions, weights, ignore_index', () => {
    const x = randF([3, 4, 2]);
    const target = i64([3, 2], [0, 3, -1, 2, 1, -1]);
    const w = f32([4], [0.5, 1, 2, 0.25]);
    for (const reduction of ['none', 'sum', 'mean']) {
      const attrs = { reduction: A.str(reduction), ignore_index: A.int(-1) };
      check('NegativeLogLikelihoodLoss', [x, target, w], attrs);
      check('SoftmaxCrossEntropyLoss', [x, target, w], attrs, { outputs: 2 });
      check('SoftmaxCrossEntropyLoss', [x, i64([3, 2], [0, 3, 1, 2, 1, 0]), null], { reduction: A.str(reduction) });
    }
  });
});
