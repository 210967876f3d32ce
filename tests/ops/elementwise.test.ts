import { describe, expect, it } from 'vitest';
import { evalOp, f32, t, vals } from '../helpers.ts';

describe('elementwise', () => {
  it('Add broadcasts [2,3] + [3]', () => {
    const [y] = evalOp('Add', [f32([2, 3], [1, 2, 3, 4, 5, 6]), f32([3], [10, 20, 30])]);
    expect(y.shape).toEqual([2, 3]);
    expect(vals(y)).toEqual([11, 22, 33, 14, 25, 36]);
  });
  it('Div on int32 truncates toward zero', () => {
    const [y] = evalOp('Div', [t('int32', [3], [7, -7, 9]), t('int32', [3], [2, 2, -4])]);
    expect(vals(y)).toEqual([3, -3, -2]);
  });
  it('Relu', () => {
    expect(vals(evalOp('Relu', [f32([4], [-1, 0, 2, -3.5])])[0])).toEqual([0, 0, 2, 0]);
  });
});
