import { describe, expect, it } from 'vitest';
import { A, evalOp, f32, i64, vals } from '../helpers.ts';

describe('NegativeLogLikelihoodLoss', () => {
  const x = f32([2, 3], [-1, -2, -3, -4, -5, -6]);
  const target = i64([2], [0, 2]);
  const w = f32([3], [1, 2, 3]);
  const nll = (inputs: Parameters<typeof evalOp>[1], attrs = {}) => evalOp('NegativeLogLikelihoodLoss', inputs, attrs)[0];
  it('reductions without weight', () => {
    const none = nll([x, target], { reduction: A.str('none') });
    expect(none.shape).toEqual([2]);
    expect(vals(none)).toEqual([1, 6]);
    expect(vals(nll([x, target], { reduction: A.str('sum') }))).toEqual([7]);
    expect(vals(nll([x, target]))).toEqual([3.5]);
  });
  it('weights: mean divides by the total weight of the targets', () => {
    expect(vals(nll([x, target, w], { reduction: A.str('none') }))).toEqual([1, 18]);
    expect(vals(nll([x, target, w], { reduction: A.str('sum') }))).toEqual([19]);
    expect(vals(nll([x, target, w]))).toEqual([4.75]);
  });
  it('ignore_index contributes neither loss nor weight', () => {
    expect(vals(nll([x, target], { reduction: A.str('none'), ignore_index: A.int(2) }))).toEqual([1, 0]);
    expect(vals(nll([x, target], { ignore_index: A.int(2) }))).toEqual([1]);
    expect(vals(nll([x, target, w], { ignore_index: A.int(0) }))).toEqual([6]);
  });
  it('spatial dims [N, C, d]', () => {
    // x[n, c, d]: N=1, C=2, d=2; target [[1, 0]] -> -x[0,1,0], -x[0,0,1]
    const y = nll([f32([1, 2, 2], [-1, -2, -3, -4]), i64([1, 2], [1, 0])], { reduction: A.str('none') });
    expect(y.shape).toEqual([1, 2]);
    expect(vals(y)).toEqual([3, 2]);
  });
  it('errors', () => {
    expect(() => nll([x, i64([2], [0, 3])])).toThrow(/out of range/);
    expect(() => nll([x, i64([3], [0, 1, 2])])).toThrow(/target/);
    expect(() => nll([x, target], { reduction: A.str('max') })).toThrow(/unsupported/);
  });
});

describe('SoftmaxCrossEntropyLoss', () => {
  it('uniform scores give ln C; log_prob output', () => {
    const [loss, lp] = evalOp('SoftmaxCrossEntropyLoss', [f32([1, 2], [3, 3]), i64([1], [0])], {}, { outputs: 2 });
    expect(loss.shape).toEqual([]);
    expect(vals(loss, 6)).toEqual([0.693147]);
    expect(lp.shape).toEqual([1, 2]);
    expect(vals(lp, 6)).toEqual([-0.693147, -0.693147]);
  });
  it('weighted, with ignore_index', () => {
    // scores [[0, ln 3]] -> p = [1/4, 3/4]; sample 0 target 1 -> ln(4/3) * w1; sample 1 ignored
    const s = f32([2, 2], [0, Math.log(3), 5, 7]);
    const [y] = evalOp('SoftmaxCrossEntropyLoss', [s, i64([2], [1, -1]), f32([2], [1, 2])],
      { reduction: A.str('none'), ignore_index: A.int(-1) });
    expect(vals(y, 5)).toEqual([Number((2 * Math.log(4 / 3)).toFixed(5)), 0]);
    const [m] = evalOp('SoftmaxCrossEntropyLoss', [s, i64([2], [1, -1]), f32([2], [1, 2])], { ignore_index: A.int(-1) });
    expect(vals(m, 5)).toEqual([Number(Math.log(4 / 3).toFixed(5))]);
  });
});
