import { describe, expect, it } from 'vitest';
import { AicError, Tensor, type Attr, type RValue } from '@aic/core';
import { loadOnnx, onnx } from '@aic/onnx';
import { run } from '@aic/interp';
import { A, evalOp, f32, i64, t, vals } from '../helpers.ts';

const str = (shape: number[], values: string[]) => new Tensor('string', shape, values);
const bool = (shape: number[], values: number[]) => t('bool', shape, values);
const one = (op: string, inputs: (RValue | undefined)[], attrs: Record<string, Attr> = {}) => evalOp(op, inputs, attrs)[0];
/** exit code of the diagnostic `f` throws (3 = unsupported) */
function exitCode(f: () => unknown): number {
  try { f(); } catch (e) { if (e instanceof AicError) return e.exitCode; throw e; }
  throw new Error('expected a diagnostic');
}

describe('elementwise: unary math', () => {
  it('Abs / Neg on int8 wrap like C', () => {
    expect(vals(one('Abs', [t('int8', [3], [-128, -5, 7])]))).toEqual([-128, 5, 7]);
    expect(vals(one('Neg', [t('int8', [3], [-128, -5, 7])]))).toEqual([-128, 5, -7]);
  });
  it('Round halves to even', () => {
    expect(vals(one('Round', [f32([8], [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6])]))).toEqual([0, 2, 2, -0, -2, -2, 2, -3]);
  });
  it('Floor / Ceil / Reciprocal / Sqrt', () => {
    expect(vals(one('Floor', [f32([3], [-1.5, 1.5, 2])]))).toEqual([-2, 1, 2]);
    expect(vals(one('Ceil', [f32([3], [-1.5, 1.5, 2])]))).toEqual([-1, 2, 2]);
    expect(vals(one('Reciprocal', [f32([3], [2, -4, 0])]))).toEqual([0.5, -0.25, Infinity]);
    expect(vals(one('Sqrt', [f32([2], [9, 2.25])]))).toEqual([3, 1.5]);
  });
  it('Erf matches tabulated values to ~1e-7', () => {
    const y = vals(one('Erf', [t('float64', [6], [0, 0.5, 1, -2, 3, 5])]));
    const want = [0, 0.5204998778130465, 0.8427007929497149, -0.9953222650189527, 0.9999779095030014, 0.9999999999984626];
    y.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-13));
  });
  it('Sign, IsNaN, IsInf with detect flags', () => {
    expect(vals(one('Sign', [f32([4], [-3, 0, 2, NaN])]))).toEqual([-1, 0, 1, NaN]);
    expect(vals(one('Sign', [t('int32', [3], [-7, 0, 9])]))).toEqual([-1, 0, 1]);
    const x = f32([4], [Infinity, -Infinity, NaN, 1]);
    expect(one('IsNaN', [x]).dtype).toBe('bool');
    expect(vals(one('IsNaN', [x]))).toEqual([0, 0, 1, 0]);
    expect(vals(one('IsInf', [x]))).toEqual([1, 1, 0, 0]);
    expect(vals(one('IsInf', [x], { detect_negative: A.int(0) }))).toEqual([1, 0, 0, 0]);
    expect(vals(one('IsInf', [x], { detect_positive: A.int(0) }))).toEqual([0, 1, 0, 0]);
  });
  it('Not and BitwiseNot', () => {
    expect(vals(one('Not', [bool([3], [1, 0, 1])]))).toEqual([0, 1, 0]);
    expect(vals(one('BitwiseNot', [t('uint8', [3], [0, 5, 255])]))).toEqual([255, 250, 0]);
    expect(vals(one('BitwiseNot', [t('int32', [2], [0, -6])]))).toEqual([-1, 5]);
    expect(vals(one('BitwiseNot', [i64([2], [0, 41])]))).toEqual([-1, -42]);
  });
  it('float16 results are rounded once from the exact value', () => {
    // 1/3 in float16 is 0.333251953125
    expect(vals(one('Reciprocal', [t('float16', [1], [3])]))).toEqual([0.333251953125]);
  });
  it('rejects unsupported dtypes', () => {
    expect(exitCode(() => one('Sqrt', [t('int32', [1], [4])]))).toBe(3);
  });
});

describe('elementwise: activations', () => {
  it('LeakyRelu / Elu / Selu / Celu / ThresholdedRelu', () => {
    const x = f32([3], [-2, 0, 3]);
    expect(vals(one('LeakyRelu', [x], { alpha: A.float(0.5) }))).toEqual([-1, 0, 3]);
    expect(vals(one('LeakyRelu', [x]), 6)).toEqual([-0.02, 0, 3]);
    expect(vals(one('Elu', [x], { alpha: A.float(2) }), 5)).toEqual([Number((2 * (Math.exp(-2) - 1)).toFixed(5)), 0, 3]);
    expect(vals(one('Selu', [x], { alpha: A.float(2), gamma: A.float(3) }), 5)).toEqual([Number((6 * (Math.exp(-2) - 1)).toFixed(5)), 0, 9]);
    expect(vals(one('Celu', [x], { alpha: A.float(2) }), 5)).toEqual([Number((2 * (Math.exp(-1) - 1)).toFixed(5)), 0, 3]);
    expect(vals(one('ThresholdedRelu', [f32([3], [1, 2, 3])], { alpha: A.float(2) }))).toEqual([0, 0, 3]);
  });
  it('HardSigmoid / HardSwish / Softsign / Shrink', () => {
    expect(vals(one('HardSigmoid', [f32([3], [-5, 0, 1])]), 6)).toEqual([0, 0.5, 0.7]);
    expect(vals(one('HardSwish', [f32([4], [-4, 0, 3, 5])]), 6)).toEqual([0, 0, 3, 5]);
    expect(vals(one('HardSwish', [f32([1], [1])]), 6)).toEqual([Number((1 * (1 / 6 + 0.5)).toFixed(6))]);
    expect(vals(one('Softsign', [f32([2], [1, -3])]))).toEqual([0.5, -0.75]);
    const x = f32([5], [-2, -1, 0, 1, 2]);
    expect(vals(one('Shrink', [x], { lambd: A.float(1.5) }))).toEqual([-2, 0, 0, 0, 2]);
    expect(vals(one('Shrink', [x], { lambd: A.float(1.5), bias: A.float(1.5) }))).toEqual([-0.5, 0, 0, 0, 0.5]);
  });
  it('Sigmoid / Softplus / Mish / Tanh are stable at the tails', () => {
    expect(vals(one('Sigmoid', [f32([3], [0, -1000, 1000])]))).toEqual([0.5, 0, 1]);
    expect(vals(one('Softplus', [f32([3], [0, -1000, 1000])]), 6)).toEqual([Number(Math.LN2.toFixed(6)), 0, 1000]);
    expect(vals(one('Mish', [f32([2], [0, 100])]))).toEqual([0, 100]);
    expect(vals(one('Tanh', [f32([1], [0])]))).toEqual([0]);
  });
  it('Gelu exact and tanh approximation', () => {
    // 0.5 * 1 * (1 + erf(1/sqrt 2)) = 0.8413447460685429
    expect(vals(one('Gelu', [t('float64', [2], [1, -1])]), 12)).toEqual([0.841344746069, -0.158655253931]);
    const th = vals(one('Gelu', [t('float64', [1], [1])], { approximate: A.str('tanh') }))[0];
    expect(Math.abs(th - 0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * 1.044715)))).toBeLessThan(1e-15);
    expect(exitCode(() => one('Gelu', [f32([1], [1])], { approximate: A.str('erf') }))).toBe(3);
  });
  it('PRelu broadcasts slope to X only', () => {
    const y = one('PRelu', [f32([2, 2], [-1, 2, -3, 4]), f32([2], [0.5, 0.25])]);
    expect(y.shape).toEqual([2, 2]);
    expect(vals(y)).toEqual([-0.5, 2, -1.5, 4]);
    expect(exitCode(() => one('PRelu', [f32([2], [1, 2]), f32([2, 2], [1, 1, 1, 1])]))).toBe(1);
  });
});

describe('elementwise: binary arithmetic', () => {
  it('int32 Mul wraps like C (Math.imul), Add wraps via Int32Array', () => {
    expect(vals(one('Mul', [t('int32', [2], [65536, -3]), t('int32', [2], [65536, 5])]))).toEqual([0, -15]);
    expect(vals(one('Mul', [t('int32', [1], [123456789]), t('int32', [1], [987654321])]))).toEqual([Math.imul(123456789, 987654321)]);
    expect(vals(one('Add', [t('int32', [1], [2147483647]), t('int32', [1], [1])]))).toEqual([-2147483648]);
    expect(vals(one('Sub', [t('uint8', [1], [3]), t('uint8', [1], [5])]))).toEqual([254]);
    expect(vals(one('Mul', [t('uint32', [1], [4294967295]), t('uint32', [1], [2])]))).toEqual([4294967294]);
  });
  it('int64 beyond 2^53 is reported as unsupported, not rounded', () => {
    expect(exitCode(() => one('Mul', [i64([1], [2 ** 40]), i64([1], [2 ** 20])]))).toBe(3);
    expect(vals(one('Mul', [i64([1], [2 ** 30]), i64([1], [-(2 ** 20)])]))).toEqual([-(2 ** 50)]);
  });
  it('Div truncates integers; division by zero is an error', () => {
    expect(vals(one('Div', [t('int32', [3], [7, -7, 9]), t('int32', [3], [2, 2, -4])]))).toEqual([3, -3, -2]);
    expect(exitCode(() => one('Div', [t('int32', [1], [1]), t('int32', [1], [0])]))).toBe(1);
    expect(vals(one('Div', [f32([2], [1, -1]), f32([2], [0, 0])]))).toEqual([Infinity, -Infinity]);
  });
  it('Mod: sign of divisor (fmod=0) and of dividend (fmod=1)', () => {
    const a = t('int32', [4], [-4, 7, -7, 5]), b = t('int32', [4], [3, -3, -3, 3]);
    expect(vals(one('Mod', [a, b]))).toEqual([2, -2, -1, 2]);
    expect(vals(one('Mod', [a, b], { fmod: A.int(1) }))).toEqual([-1, 1, -1, 2]);
    expect(vals(one('Mod', [f32([2], [-4.5, 7.5]), f32([2], [2, -2])], { fmod: A.int(1) }))).toEqual([-0.5, 1.5]);
    expect(exitCode(() => one('Mod', [f32([1], [1]), f32([1], [2])]))).toBe(1);
  });
  it('Pow keeps the base type, exponent may differ', () => {
    expect(vals(one('Pow', [f32([3], [2, 4, -2]), f32([3], [3, 0.5, 2])]))).toEqual([8, 2, 4]);
    const y = one('Pow', [i64([3], [2, 3, -2]), f32([3], [3, 2.5, 3])]);
    expect(y.dtype).toBe('int64');
    expect(vals(y)).toEqual([8, 15, -8]); // 3^2.5 = 15.588 truncates
    expect(vals(one('Pow', [t('int32', [2], [3, 2]), t('int32', [2], [4, 31])]))).toEqual([81, -2147483648]);
    expect(vals(one('Pow', [f32([2], [2, 3]), i64([2], [-1, 2])]))).toEqual([0.5, 9]);
    // int64 wraps modulo 2^64: 2^70 -> 0; odd powers of -1 stay -1 even for huge exponents
    expect(vals(one('Pow', [i64([3], [2, -1, 7]), i64([3], [70, 1e9 + 1, 2])]))).toEqual([0, -1, 49]);
    expect(exitCode(() => one('Pow', [i64([1], [3]), i64([1], [40])]))).toBe(3);
  });
  it('BitShift and bitwise ops', () => {
    expect(vals(one('BitShift', [t('uint8', [3], [1, 255, 16]), t('uint8', [3], [3, 1, 9])], { direction: A.str('LEFT') }))).toEqual([8, 254, 0]);
    expect(vals(one('BitShift', [t('uint32', [2], [4294967295, 16]), t('uint32', [2], [4, 2])], { direction: A.str('RIGHT') }))).toEqual([268435455, 4]);
    expect(vals(one('BitShift', [t('uint64', [1], [3]), t('uint64', [1], [40])], { direction: A.str('LEFT') }))).toEqual([3 * 2 ** 40]);
    expect(vals(one('BitwiseAnd', [t('int8', [2], [-1, 12]), t('int8', [2], [5, 10])]))).toEqual([5, 8]);
    expect(vals(one('BitwiseOr', [t('uint32', [1], [0x80000000]), t('uint32', [1], [1])]))).toEqual([0x80000001]);
    expect(vals(one('BitwiseXor', [i64([2], [2 ** 40 + 3, -1]), i64([2], [1, 2 ** 40])]))).toEqual([2 ** 40 + 2, -(2 ** 40) - 1]);
  });
  it('comparisons produce bool; Equal works on strings', () => {
    const a = f32([3], [1, 2, NaN]), b = f32([1], [2]);
    expect(one('Less', [a, b]).dtype).toBe('bool');
    expect(vals(one('Less', [a, b]))).toEqual([1, 0, 0]);
    expect(vals(one('LessOrEqual', [a, b]))).toEqual([1, 1, 0]);
    expect(vals(one('Greater', [a, b]))).toEqual([0, 0, 0]);
    expect(vals(one('GreaterOrEqual', [a, b]))).toEqual([0, 1, 0]);
    expect(vals(one('Equal', [a, b]))).toEqual([0, 1, 0]);
    expect(vals(one('Equal', [str([3], ['a', 'b', 'c']), str([1], ['b'])]))).toEqual([0, 1, 0]);
  });
  it('And / Or / Xor broadcast', () => {
    const a = bool([2, 2], [1, 1, 0, 0]), b = bool([2], [1, 0]);
    expect(vals(one('And', [a, b]))).toEqual([1, 0, 0, 0]);
    expect(vals(one('Or', [a, b]))).toEqual([1, 1, 1, 0]);
    expect(vals(one('Xor', [a, b]))).toEqual([0, 1, 1, 0]);
  });
  it('shape mismatch and dtype mismatch are diagnostics', () => {
    expect(exitCode(() => one('Add', [f32([2], [1, 2]), f32([3], [1, 2, 3])]))).toBe(1);
    expect(exitCode(() => one('Add', [f32([1], [1]), i64([1], [1])]))).toBe(1);
  });
});

describe('elementwise: variadic, Where, Clip', () => {
  it('Sum / Mean / Max / Min broadcast 1..N inputs', () => {
    const a = f32([2, 1], [1, 4]), b = f32([3], [1, 2, 3]), c = f32([], [10]);
    const s = one('Sum', [a, b, c]);
    expect(s.shape).toEqual([2, 3]);
    expect(vals(s)).toEqual([12, 13, 14, 15, 16, 17]);
    expect(vals(one('Mean', [f32([2], [1, 2]), f32([2], [3, 6])]))).toEqual([2, 4]);
    expect(vals(one('Max', [a, b]))).toEqual([1, 2, 3, 4, 4, 4]);
    expect(vals(one('Min', [a, b]))).toEqual([1, 1, 1, 1, 2, 3]);
    expect(vals(one('Max', [f32([2], [NaN, 1])]))).toEqual([NaN, 1]);
    expect(vals(one('Min', [f32([2], [NaN, 1]), f32([2], [0, 0])]))).toEqual([NaN, 0]);
    expect(vals(one('Sum', [t('int8', [1], [100]), t('int8', [1], [100])]))).toEqual([-56]);
  });
  it('Where broadcasts all three inputs', () => {
    const y = one('Where', [bool([2, 1], [1, 0]), f32([2], [1, 2]), f32([], [9])]);
    expect(y.shape).toEqual([2, 2]);
    expect(vals(y)).toEqual([1, 2, 9, 9]);
    const s = one('Where', [bool([2], [0, 1]), str([2], ['a', 'b']), str([2], ['c', 'd'])]);
    expect(s.data).toEqual(['c', 'b']);
  });
  it('Clip with min, max, or neither', () => {
    const x = f32([4], [-3, 0, 2, 7]);
    expect(vals(one('Clip', [x, f32([], [-1]), f32([], [5])]))).toEqual([-1, 0, 2, 5]);
    expect(vals(one('Clip', [x, undefined, f32([], [1])]))).toEqual([-3, 0, 1, 1]);
    expect(vals(one('Clip', [x]))).toEqual([-3, 0, 2, 7]);
    expect(vals(one('Clip', [t('int8', [3], [-100, 5, 100]), t('int8', [], [-10]), t('int8', [], [10])]))).toEqual([-10, 5, 10]);
    // min > max: everything becomes max
    expect(vals(one('Clip', [x, f32([], [3]), f32([], [1])]))).toEqual([1, 1, 1, 1]);
  });
});

describe('elementwise: Cast / CastLike', () => {
  const cast = (x: Tensor, to: number) => one('Cast', [x], { to: A.int(to) });
  it('float -> int truncates; int -> narrower int wraps; NaN -> bool is true', () => {
    expect(vals(cast(f32([4], [2.7, -2.7, 0.5, -0.5]), 6))).toEqual([2, -2, 0, 0]);
    expect(Object.is(vals(cast(f32([1], [-0.5]), 7))[0], 0)).toBe(true);
    expect(vals(cast(i64([3], [300, -1, 65535]), 2))).toEqual([44, 255, 255]);
    expect(vals(cast(f32([3], [NaN, 0, -2]), 9))).toEqual([1, 0, 1]);
    expect(vals(cast(bool([2], [1, 0]), 1))).toEqual([1, 0]);
  });
  it('float -> int saturates (NaN -> 0, clamp, truncate); int -> int wraps', () => {
    expect(vals(cast(f32([5], [300, -300, -1.5, NaN, -Infinity]), 3))).toEqual([127, -128, -1, 0, -128]);
    expect(vals(cast(f32([3], [NaN, 3e9, -3e9]), 6))).toEqual([0, 2 ** 31 - 1, -(2 ** 31)]);
    expect(vals(cast(i64([2], [300, -129]), 3))).toEqual([44, 127]);
    expect(vals(cast(i64([2], [-1, 5]), 13))).toEqual([2 ** 64, 5]);
  });
  it('float16 / bfloat16 round to nearest even', () => {
    expect(vals(cast(t('float64', [2], [1 + 2 ** -11, 1 + 3 * 2 ** -11]), 10))).toEqual([1, 1 + 2 ** -9]);
    expect(vals(cast(f32([2], [1 + 2 ** -8, 1 + 3 * 2 ** -8]), 16))).toEqual([1, 1 + 2 ** -6]);
    expect(vals(cast(f32([1], [1e6]), 10))).toEqual([Infinity]);
  });
  it('numbers <-> strings (numpy formatting)', () => {
    expect(cast(f32([5], [1, 0.1, 1e-5, -2.5, NaN]), 8).data).toEqual(['1.0', '0.1', '1e-05', '-2.5', 'nan']);
    expect(cast(i64([2], [42, -7]), 8).data).toEqual(['42', '-7']);
    expect(vals(cast(str([5], ['1.5', '-INF', 'NaN', ' 2e3', '+inf']), 1))).toEqual([1.5, -Infinity, NaN, 2000, Infinity]);
    expect(vals(cast(str([2], ['12', '-3']), 7))).toEqual([12, -3]);
    expect(exitCode(() => cast(str([1], ['abc']), 1))).toBe(1);
  });
  it('CastLike takes the dtype of its second input', () => {
    const y = one('CastLike', [f32([2], [1.9, -1.9]), t('int32', [1], [0])]);
    expect(y.dtype).toBe('int32');
    expect(vals(y)).toEqual([1, -1]);
  });
});

// ---- ONNX import of older opsets (fromOnnx normalization) ------------------------------------------
const vi = (name: string, elemType: number, dims: number[]) =>
  ({ name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
function runOnnx(opset: number, node: object, inputs: ReturnType<typeof vi>[], output: ReturnType<typeof vi>,
  feeds: Record<string, Tensor>, initializer: object[] = []): Tensor {
  const m = onnx.ModelProto.create({
    irVersion: 3, opsetImport: [{ domain: '', version: opset }],
    graph: { name: 'g', node: [node], input: inputs, output: [output], initializer },
  });
  const g = loadOnnx(onnx.ModelProto.encode(m).finish());
  return run(g, feeds).get(output.name) as Tensor;
}

describe('elementwise: legacy ONNX forms', () => {
  it('Add opset 6 broadcast=1 axis=0 aligns a constant B to the leading dim', () => {
    const y = runOnnx(6,
      { opType: 'Add', input: ['a', 'b'], output: ['c'], attribute: [{ name: 'broadcast', type: 2, i: 1 }, { name: 'axis', type: 2, i: 0 }] },
      [vi('a', 1, [2, 3])], vi('c', 1, [2, 3]), { a: f32([2, 3], [1, 2, 3, 4, 5, 6]) },
      [{ name: 'b', dataType: 1, dims: [2], floatData: [10, 20] }]);
    expect(vals(y)).toEqual([11, 12, 13, 24, 25, 26]);
  });
  it('Mul opset 6 broadcast=1 with trailing axis is numpy broadcasting', () => {
    const y = runOnnx(6,
      { opType: 'Mul', input: ['a', 'b'], output: ['c'], attribute: [{ name: 'broadcast', type: 2, i: 1 }, { name: 'axis', type: 2, i: 1 }] },
      [vi('a', 1, [2, 3]), vi('b', 1, [3])], vi('c', 1, [2, 3]), { a: f32([2, 3], [1, 2, 3, 4, 5, 6]), b: f32([3], [1, 0, -1]) });
    expect(vals(y)).toEqual([1, 0, -3, 4, 0, -6]);
  });
  it('Clip opset 6 min/max attributes become inputs', () => {
    const y = runOnnx(6,
      { opType: 'Clip', input: ['x'], output: ['y'], attribute: [{ name: 'min', type: 1, f: -1 }, { name: 'max', type: 1, f: 2 }] },
      [vi('x', 1, [4])], vi('y', 1, [4]), { x: f32([4], [-5, 0, 1.5, 9]) });
    expect(vals(y)).toEqual([-1, 0, 1.5, 2]);
  });
  it('PRelu opset 6: a 1-D slope of X.shape[1] values applies per channel (axis 1), not numpy-aligned', () => {
    const y = runOnnx(6, { opType: 'PRelu', input: ['x', 's'], output: ['y'] },
      [vi('x', 1, [1, 2, 2]), vi('s', 1, [2])], vi('y', 1, [1, 2, 2]), { x: f32([1, 2, 2], [-1, -2, -3, 4]), s: f32([2], [0.5, 0.25]) });
    expect(vals(y)).toEqual([-0.5, -1, -0.75, 4]);
  });
  it('an opset older than a definition covers is refused (Gelu before 20)', () => {
    expect(exitCode(() => runOnnx(17, { opType: 'Gelu', input: ['x'], output: ['y'] },
      [vi('x', 1, [2])], vi('y', 1, [2]), { x: f32([2], [-1, 1]) }))).toBe(3);
  });
  it('Cast opset 1 accepts a type-name string', () => {
    const y = runOnnx(1,
      { opType: 'Cast', input: ['x'], output: ['y'], attribute: [{ name: 'to', type: 3, s: new TextEncoder().encode('INT32') }] },
      [vi('x', 1, [2])], vi('y', 6, [2]), { x: f32([2], [3.9, -3.9]) });
    expect(y.dtype).toBe('int32');
    expect(vals(y)).toEqual([3, -3]);
  });
});
