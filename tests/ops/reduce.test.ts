import { describe, expect, it } from 'vitest';
import { AicError, Tensor, Value, type Attr } from '@aic/core';
import { getOp, resolveOnnx, type OnnxImportView } from '@aic/ir-spec';
import { A, evalOp, f32, i64, t, vals } from '../helpers.ts';

const x23 = () => f32([2, 3], [1, 2, 3, 4, 5, 6]);
const ax = (...a: number[]) => i64([a.length], a);
/** evalOp with axes as a graph constant (so inference sees it) */
const red = (op: string, x: Tensor, axes: number[] | null, attrs: Record<string, Attr> = {}) =>
  evalOp(op, [x, axes ? ax(...axes) : undefined], attrs, { constIdx: [1] })[0];

function exitCode(f: () => unknown): number | undefined {
  try { f(); } catch (e) { return e instanceof AicError ? e.exitCode : -1; }
  return undefined;
}

function importView(opset: number, attrs: Record<string, Attr>, nInputs = 1): OnnxImportView {
  return {
    opset, attrs, loc: {},
    inputs: Array.from({ length: nInputs }, (_, i) => new Value(`x${i}`, { dtype: 'float32', shape: [2, 3] })),
    constInput: (c: Tensor) => { const v = new Value('c', { dtype: c.dtype, shape: c.shape.slice() }); v.const = c; return v; },
  };
}

describe('Reduce*', () => {
  it('ReduceSum keepdims / no keepdims / all / negative axes', () => {
    let y = red('ReduceSum', x23(), [1]);
    expect(y.shape).toEqual([2, 1]);
    expect(vals(y)).toEqual([6, 15]);
    y = red('ReduceSum', x23(), [0], { keepdims: A.int(0) });
    expect(y.shape).toEqual([3]);
    expect(vals(y)).toEqual([5, 7, 9]);
    y = red('ReduceSum', x23(), null);
    expect(y.shape).toEqual([1, 1]);
    expect(vals(y)).toEqual([21]);
    y = red('ReduceSum', x23(), [-1], { keepdims: A.int(0) });
    expect(vals(y)).toEqual([6, 15]);
    y = red('ReduceSum', x23(), [0, 1], { keepdims: A.int(0) });
    expect(y.shape).toEqual([]);
    expect(vals(y)).toEqual([21]);
  });
  it('axes given at run time (non-constant input)', () => {
    const [y] = evalOp('ReduceSum', [x23(), ax(1)], { keepdims: A.int(0) });
    expect(y.shape).toEqual([2]);
    expect(vals(y)).toEqual([6, 15]);
  });
  it('noop_with_empty_axes', () => {
    let y = red('ReduceSum', x23(), [], { noop_with_empty_axes: A.int(1) });
    expect(y.shape).toEqual([2, 3]);
    expect(vals(y)).toEqual([1, 2, 3, 4, 5, 6]);
    y = red('ReduceMax', x23(), null, { noop_with_empty_axes: A.int(1) });
    expect(vals(y)).toEqual([1, 2, 3, 4, 5, 6]);
    // empty axes without noop: reduce everything
    y = red('ReduceSum', x23(), [], { keepdims: A.int(0) });
    expect(vals(y)).toEqual([21]);
    // spec ("the input") and reference (|x|) disagree: unsupported, never a guess
    expect(exitCode(() => red('ReduceL1', x23(), null, { noop_with_empty_axes: A.int(1) }))).toBe(3);
  });
  it('Mean / Max / Min / Prod', () => {
    expect(vals(red('ReduceMean', x23(), [0], { keepdims: A.int(0) }))).toEqual([2.5, 3.5, 4.5]);
    expect(vals(red('ReduceMax', x23(), [1], { keepdims: A.int(0) }))).toEqual([3, 6]);
    expect(vals(red('ReduceMin', x23(), [1], { keepdims: A.int(0) }))).toEqual([1, 4]);
    expect(vals(red('ReduceProd', x23(), [1], { keepdims: A.int(0) }))).toEqual([6, 120]);
  });
  it('L1 / L2 / SumSquare / LogSum / LogSumExp', () => {
    expect(vals(red('ReduceL1', f32([2, 2], [-1, 2, 3, -4]), [1], { keepdims: A.int(0) }))).toEqual([3, 7]);
    expect(vals(red('ReduceL2', f32([2, 2], [3, -4, 6, 8]), [1], { keepdims: A.int(0) }))).toEqual([5, 10]);
    expect(vals(red('ReduceSumSquare', f32([2, 2], [3, -4, 6, 8]), [1], { keepdims: A.int(0) }))).toEqual([25, 100]);
    expect(vals(red('ReduceLogSum', f32([2, 2], [1, 2, 3, 4]), [1], { keepdims: A.int(0) }), 4)).toEqual([1.0986, 1.9459]);
    expect(vals(red('ReduceLogSumExp', f32([2, 2], [0, 0, 1, 1]), [1], { keepdims: A.int(0) }), 4)).toEqual([0.6931, 1.6931]);
    // max-shifted: no overflow for large inputs
    expect(vals(red('ReduceLogSumExp', t('float64', [2], [1000, 1000]), null, { keepdims: A.int(0) }), 4)).toEqual([1000.6931]);
  });
  it('reductions over an empty set follow the spec', () => {
    const e = () => f32([2, 0], []);
    const k0 = { keepdims: A.int(0) };
    expect(vals(red('ReduceSum', e(), [1], k0))).toEqual([0, 0]);
    expect(vals(red('ReduceProd', e(), [1], k0))).toEqual([1, 1]);
    expect(vals(red('ReduceMin', e(), [1], k0))).toEqual([Infinity, Infinity]);
    expect(vals(red('ReduceMax', e(), [1], k0))).toEqual([-Infinity, -Infinity]);
    expect(vals(red('ReduceLogSumExp', e(), [1], k0))).toEqual([-Infinity, -Infinity]);
    expect(vals(red('ReduceLogSum', e(), [1], k0))).toEqual([-Infinity, -Infinity]);
    expect(vals(red('ReduceL2', e(), [1], k0))).toEqual([0, 0]);
    expect(vals(red('ReduceMax', t('int32', [0], []), null, k0))).toEqual([-(2 ** 31)]);
    expect(vals(red('ReduceMin', t('uint8', [0], []), null, k0))).toEqual([255]);
    // undefined by the spec
    expect(exitCode(() => red('ReduceMean', e(), [1], k0))).toBe(3);
    // output [0, 1]: nothing to compute
    expect(red('ReduceMean', f32([0, 3], []), [1]).shape).toEqual([0, 1]);
  });
  it('integer semantics', () => {
    // int32 sums wrap like C
    expect(vals(red('ReduceSum', t('int32', [2], [2 ** 31 - 1, 1]), null, { keepdims: A.int(0) }))).toEqual([-(2 ** 31)]);
    // int8 product wraps: 16 * 16 = 256 -> 0
    expect(vals(red('ReduceProd', t('int8', [2], [16, 16]), null, { keepdims: A.int(0) }))).toEqual([0]);
    // integer mean truncates toward zero
    expect(vals(red('ReduceMean', t('int32', [2, 2], [1, 2, -1, -2]), [1], { keepdims: A.int(0) }))).toEqual([1, -1]);
    expect(vals(red('ReduceMax', t('bool', [2, 2], [0, 1, 0, 0]), [1], { keepdims: A.int(0) }))).toEqual([1, 0]);
    expect(exitCode(() => red('ReduceLogSumExp', t('int32', [2], [1, 2]), null))).toBe(3);
  });
  it('NaN propagates through ReduceMax', () => {
    expect(vals(red('ReduceMax', f32([3], [1, NaN, 2]), null, { keepdims: A.int(0) }))).toEqual([NaN]);
  });
  it('verification', () => {
    expect(exitCode(() => red('ReduceSum', x23(), [1, -1]))).toBe(1); // repeated axis
    expect(exitCode(() => red('ReduceSum', x23(), [2]))).toBe(1); // out of range
  });
  it('flops', () => {
    const def = getOp('ReduceSum')!;
    expect(def.flops).toBeDefined();
  });
});

describe('Reduce* ONNX mapping', () => {
  it('older opsets: the axes attribute becomes a constant input', () => {
    const v = importView(11, { axes: A.ints([1, -1]), keepdims: A.int(0) });
    getOp('ReduceMean')!.onnx!.fromOnnx!(v);
    expect(v.attrs.axes).toBeUndefined();
    expect(v.inputs[1]!.const!.toNumbers()).toEqual([1, -1]);
    expect(v.inputs[1]!.const!.dtype).toBe('int64');
    // ReduceSum takes axes as an input from opset 13, the others from 18
    const s = importView(13, {}, 2);
    getOp('ReduceSum')!.onnx!.fromOnnx!(s);
    expect(s.inputs.length).toBe(2);
    const m = importView(13, { axes: A.ints([0]) });
    getOp('ReduceMax')!.onnx!.fromOnnx!(m);
    expect(m.inputs[1]!.const!.toNumbers()).toEqual([0]);
    // no axes attribute: reduce all (input left absent)
    const n = importView(1, {});
    getOp('ReduceL2')!.onnx!.fromOnnx!(n);
    expect(n.inputs.length).toBe(1);
  });
  it('toOnnx moves constant axes back to the attribute for old opsets', () => {
    const v = importView(11, { keepdims: A.int(0) });
    v.inputs[1] = v.constInput(ax(0, 1));
    getOp('ReduceMean')!.onnx!.toOnnx!(v);
    expect(v.attrs.axes).toEqual({ type: 'ints', value: [0, 1] });
    expect(v.inputs.length).toBe(1);
    const w = importView(11, { noop_with_empty_axes: A.int(1) });
    expect(exitCode(() => getOp('ReduceMean')!.onnx!.toOnnx!(w))).toBe(3);
  });
  it('Softmax toOnnx: coerced form only at opset < 13, unless the axis is the last', () => {
    const v = importView(11, { axis: A.int(1), coerce_2d: A.int(1) });
    getOp('Softmax')!.onnx!.toOnnx!(v);
    expect(v.attrs).toEqual({ axis: { type: 'int', value: 1 } });
    const w = importView(13, { axis: A.int(0), coerce_2d: A.int(1) });
    expect(exitCode(() => getOp('Softmax')!.onnx!.toOnnx!(w))).toBe(3);
    const z = importView(13, { axis: A.int(1), coerce_2d: A.int(1) }); // rank 2: axis 1 is the last
    getOp('Softmax')!.onnx!.toOnnx!(z);
    expect(z.attrs).toEqual({ axis: { type: 'int', value: 1 } });
  });
  it('an axes attribute in a new opset is rejected, not ignored', () => {
    expect(exitCode(() => getOp('ReduceSum')!.onnx!.fromOnnx!(importView(13, { axes: A.ints([0]) })))).toBe(1);
  });
  it('every opset resolves', () => {
    for (const op of ['ReduceSum', 'ReduceMean', 'ArgMax', 'Softmax', 'Hardmax', 'TopK']) {
      for (const opset of [1, 6, 11, 13, 18, 21]) expect('def' in resolveOnnx(op, '', opset)).toBe(true);
    }
    expect('def' in resolveOnnx('CumSum', '', 10)).toBe(false);
    expect('def' in resolveOnnx('CumSum', '', 14)).toBe(true);
    expect('def' in resolveOnnx('Unique', '', 11)).toBe(true);
  });
});

describe('ArgMax / ArgMin', () => {
  const x = () => f32([2, 3], [2, 1, 2, 0, 5, 5]);
  it('first / last index on ties', () => {
    let [y] = evalOp('ArgMax', [x()], { axis: A.int(1) });
    expect(y.dtype).toBe('int64');
    expect(y.shape).toEqual([2, 1]);
    expect(vals(y)).toEqual([0, 1]);
    [y] = evalOp('ArgMax', [x()], { axis: A.int(-1), select_last_index: A.int(1), keepdims: A.int(0) });
    expect(y.shape).toEqual([2]);
    expect(vals(y)).toEqual([2, 2]);
  });
  it('ArgMin along axis 0', () => {
    const [y] = evalOp('ArgMin', [x()], { keepdims: A.int(0) });
    expect(vals(y)).toEqual([1, 0, 0]);
  });
});

describe('Softmax / LogSoftmax / Hardmax', () => {
  it('Softmax along the last axis', () => {
    const [y] = evalOp('Softmax', [f32([1, 3], [1, 2, 3])]);
    expect(vals(y, 4)).toEqual([0.09, 0.2447, 0.6652]);
  });
  it('LogSoftmax', () => {
    const [y] = evalOp('LogSoftmax', [f32([3], [1, 2, 3])]);
    expect(vals(y, 4)).toEqual([-2.4076, -1.4076, -0.4076]);
  });
  it('opset < 13 semantics: coerced to 2-D at axis', () => {
    const ones = () => f32([2, 2], [1, 1, 1, 1]);
    expect(vals(evalOp('Softmax', [ones()], { axis: A.int(0) })[0])).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(vals(evalOp('Softmax', [ones()], { axis: A.int(0), coerce_2d: A.int(1) })[0])).toEqual([0.25, 0.25, 0.25, 0.25]);
    const [h] = evalOp('Hardmax', [f32([2, 2], [1, 3, 3, 0])], { axis: A.int(0), coerce_2d: A.int(1) });
    expect(vals(h)).toEqual([0, 1, 0, 0]);
  });
  it('fromOnnx marks old opsets and applies the old default axis', () => {
    const v = importView(11, {});
    getOp('Softmax')!.onnx!.fromOnnx!(v);
    expect(v.attrs.axis).toEqual({ type: 'int', value: 1 });
    expect(v.attrs.coerce_2d).toEqual({ type: 'int', value: 1 });
    const w = importView(13, {});
    getOp('LogSoftmax')!.onnx!.fromOnnx!(w);
    expect(w.attrs.coerce_2d).toBeUndefined();
    expect(w.attrs.axis).toBeUndefined();
  });
  it('Hardmax picks the first maximum', () => {
    const [y] = evalOp('Hardmax', [f32([2, 3], [3, 1, 3, 0, 2, 1])]);
    expect(vals(y)).toEqual([1, 0, 0, 0, 1, 0]);
  });
  it('rejects an out-of-range axis', () => {
    expect(exitCode(() => evalOp('Softmax', [f32([3], [1, 2, 3])], { axis: A.int(1) }))).toBe(1);
  });
});

describe('TopK', () => {
  const x = () => f32([1, 4], [1, 3, 3, 2]);
  it('largest, ties broken by lower index', () => {
    const [v, i] = evalOp('TopK', [x(), i64([1], [2])], { axis: A.int(1) }, { outputs: 2, constIdx: [1] });
    expect(v.shape).toEqual([1, 2]);
    expect(vals(v)).toEqual([3, 3]);
    expect(vals(i)).toEqual([1, 2]);
  });
  it('smallest, K at run time', () => {
    const [v, i] = evalOp('TopK', [x(), i64([1], [3])], { largest: A.int(0) }, { outputs: 2 });
    expect(vals(v)).toEqual([1, 2, 3]);
    expect(vals(i)).toEqual([0, 3, 1]);
  });
  it('K larger than the axis is an error', () => {
    expect(exitCode(() => evalOp('TopK', [x(), i64([1], [5])], {}, { outputs: 2, constIdx: [1] }))).toBe(1);
  });
  it('opset 1: the k attribute becomes an input', () => {
    const v = importView(1, { k: A.int(2) });
    getOp('TopK')!.onnx!.fromOnnx!(v);
    expect(v.attrs.k).toBeUndefined();
    expect(v.inputs[1]!.const!.toNumbers()).toEqual([2]);
  });
});

describe('CumSum', () => {
  const x = () => f32([4], [1, 2, 3, 4]);
  const cs = (attrs: Record<string, Attr>) => vals(evalOp('CumSum', [x(), i64([], [0])], attrs, { constIdx: [1] })[0]);
  it('inclusive / exclusive / reverse', () => {
    expect(cs({})).toEqual([1, 3, 6, 10]);
    expect(cs({ exclusive: A.int(1) })).toEqual([0, 1, 3, 6]);
    expect(cs({ reverse: A.int(1) })).toEqual([10, 9, 7, 4]);
    expect(cs({ reverse: A.int(1), exclusive: A.int(1) })).toEqual([9, 7, 4, 0]);
  });
  it('2-D along axis 0 and -1 (int32 axis)', () => {
    const m = () => f32([2, 2], [1, 2, 3, 4]);
    expect(vals(evalOp('CumSum', [m(), i64([], [0])])[0])).toEqual([1, 2, 4, 6]);
    expect(vals(evalOp('CumSum', [m(), t('int32', [1], [-1])])[0])).toEqual([1, 3, 3, 7]);
  });
  it('int32 wraps', () => {
    const [y] = evalOp('CumSum', [t('int32', [2], [2 ** 31 - 1, 1]), i64([], [0])]);
    expect(vals(y)).toEqual([2 ** 31 - 1, -(2 ** 31)]);
  });
});

describe('Unique', () => {
  const x = () => f32([6], [2, 1, 1, 3, 4, 3]);
  it('sorted (default)', () => {
    const [y, idx, inv, cnt] = evalOp('Unique', [x()], {}, { outputs: 4 });
    expect(vals(y)).toEqual([1, 2, 3, 4]);
    expect(vals(idx)).toEqual([1, 0, 3, 4]);
    expect(vals(inv)).toEqual([1, 0, 0, 2, 3, 2]);
    expect(vals(cnt)).toEqual([2, 1, 2, 1]);
  });
  it('unsorted: order of first occurrence', () => {
    const [y, idx, inv, cnt] = evalOp('Unique', [x()], { sorted: A.int(0) }, { outputs: 4 });
    expect(vals(y)).toEqual([2, 1, 3, 4]);
    expect(vals(idx)).toEqual([0, 1, 3, 4]);
    expect(vals(inv)).toEqual([0, 1, 1, 2, 3, 2]);
    expect(vals(cnt)).toEqual([1, 2, 2, 1]);
  });
  it('unique rows (axis 0) and columns (axis -1)', () => {
    const m = () => f32([3, 3], [2, 3, 4, 1, 0, 0, 2, 3, 4]);
    let [y, idx, inv, cnt] = evalOp('Unique', [m()], { axis: A.int(0) }, { outputs: 4 });
    expect(y.shape).toEqual([2, 3]);
    expect(vals(y)).toEqual([1, 0, 0, 2, 3, 4]);
    expect(vals(idx)).toEqual([1, 0]);
    expect(vals(inv)).toEqual([1, 0, 1]);
    expect(vals(cnt)).toEqual([1, 2]);
    [y, idx, inv, cnt] = evalOp('Unique', [f32([2, 3], [1, 0, 1, 5, 4, 5])], { axis: A.int(-1) }, { outputs: 4 });
    expect(y.shape).toEqual([2, 2]);
    expect(vals(y)).toEqual([0, 1, 4, 5]);
    expect(vals(idx)).toEqual([1, 0]);
    expect(vals(inv)).toEqual([1, 0, 1]);
    expect(vals(cnt)).toEqual([1, 2]);
  });
  it('strings', () => {
    const s = new Tensor('string', [3], ['b', 'a', 'b']);
    const [y, , , cnt] = evalOp('Unique', [s], {}, { outputs: 4 });
    expect(y.data).toEqual(['a', 'b']);
    expect(vals(cnt)).toEqual([1, 2]);
  });
  it('NaN is unsupported (implementations differ)', () => {
    expect(exitCode(() => evalOp('Unique', [f32([2], [NaN, NaN])]))).toBe(3);
  });
});
