import { describe, expect, it } from 'vitest';
import { A, evalOp, f32, t, vals } from '../helpers.ts';

describe('QuantizeLinear', () => {
  it('rounds half to even and saturates (int8)', () => {
    const [y] = evalOp('QuantizeLinear', [f32([7], [0.5, 1.5, 2.5, -0.5, -1.5, 300, -300]), f32([], [1]), t('int8', [], [0])]);
    expect(y.dtype).toBe('int8');
    expect(vals(y)).toEqual([0, 2, 2, 0, -2, 127, -128]);
  });
  it('defaults to uint8 without a zero point', () => {
    const [y] = evalOp('QuantizeLinear', [f32([3], [-1, 2, 7]), f32([], [2])]);
    expect(y.dtype).toBe('uint8');
    expect(vals(y)).toEqual([0, 1, 4]);
  });
  it('per-axis scales and zero points', () => {
    const [y] = evalOp('QuantizeLinear', [f32([2, 2], [1, 2, 3, 4]), f32([2], [1, 2]), t('uint8', [2], [0, 10])]);
    expect(vals(y)).toEqual([1, 11, 3, 12]);
    const [z] = evalOp('QuantizeLinear', [f32([2, 2], [1, 2, 3, 4]), f32([2], [1, 2]), t('uint8', [2], [0, 10])], { axis: A.int(0) });
    expect(vals(z)).toEqual([1, 2, 12, 12]);
  });
  it('blocked scales', () => {
    const [y] = evalOp('QuantizeLinear', [f32([1, 4], [1, 2, 3, 4]), f32([1, 2], [1, 2]), t('uint8', [1, 2], [0, 0])],
      { axis: A.int(1), block_size: A.int(2) });
    expect(vals(y)).toEqual([1, 2, 2, 2]);
  });
  it('rejects a scale that does not match the axis', () => {
    expect(() => evalOp('QuantizeLinear', [f32([2, 2], [1, 2, 3, 4]), f32([3], [1, 2, 3])])).toThrow(/scale/);
  });
});

describe('DequantizeLinear', () => {
  it('per-tensor and per-axis', () => {
    const [y] = evalOp('DequantizeLinear', [t('uint8', [3], [0, 128, 255]), f32([], [0.5]), t('uint8', [], [128])]);
    expect(y.dtype).toBe('float32');
    expect(vals(y)).toEqual([-64, 0, 63.5]);
    const [z] = evalOp('DequantizeLinear', [t('int8', [2, 2], [1, 2, -3, 4]), f32([2], [2, 10]), t('int8', [2], [1, 0])]);
    expect(vals(z)).toEqual([0, 20, -8, 40]);
  });
});

describe('DynamicQuantizeLinear', () => {
  it('range includes zero; zero point rounds half to even', () => {
    // min=-3, max=255 -> scale 258/255, zp = rint(3 / scale) = rint(2.965) = 3
    const [y, s, zp] = evalOp('DynamicQuantizeLinear', [f32([4], [0, 2, -3, 255])], {}, { outputs: 3 });
    expect(vals(s, 6)).toEqual([1.011765]);
    expect(vals(zp)).toEqual([3]);
    expect(vals(y)).toEqual([3, 5, 0, 255]);
  });
  it('all zeros: scale 1, zero point 0', () => {
    const [y, s, zp] = evalOp('DynamicQuantizeLinear', [f32([2], [0, 0])], {}, { outputs: 3 });
    expect(vals(s)).toEqual([1]);
    expect(vals(zp)).toEqual([0]);
    expect(vals(y)).toEqual([0, 0]);
  });
  it('positive-only input: zero point 0', () => {
    // scale = 510 / 255 = 2
    const [y, s, zp] = evalOp('DynamicQuantizeLinear', [f32([3], [1, 3, 510])], {}, { outputs: 3 });
    expect(vals(s)).toEqual([2]);
    expect(vals(zp)).toEqual([0]);
    expect(vals(y)).toEqual([0, 2, 255]);
  });
});
