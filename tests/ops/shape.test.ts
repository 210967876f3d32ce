import { describe, expect, it } from 'vitest';
import { AicError, Graph, Node, Tensor, Value, type Attr } from '@aic/core';
import { getOp, inferGraph, type OnnxImportView } from '@aic/ir-spec';
import { A, evalOp, f32, i64, t, vals } from '../helpers.ts';

const strs = (shape: number[], v: string[]) => new Tensor('string', shape, v);
const ints = (shape: number[], v: number[]) => t('int32', shape, v);
const BIG = 9.223372036854775807e18;

function expectUnsupported(f: () => unknown): void {
  try { f(); } catch (e) { expect(e).toBeInstanceOf(AicError); expect((e as AicError).exitCode).toBe(3); return; }
  throw new Error('expected an unsupported error');
}

/** Apply an op's ONNX fromOnnx to attrs/inputs as the loader would. */
function importView(op: string, opset: number, attrs: Record<string, Attr>, inputs: (Value | null)[]): OnnxImportView {
  const v: OnnxImportView = {
    opset, attrs, inputs, loc: {},
    constInput: (c: Tensor) => { const val = new Value('c', { dtype: c.dtype, shape: c.shape.slice() }); val.const = c; return val; },
  };
  getOp(op)!.onnx!.fromOnnx!(v);
  return v;
}

describe('shape ops', () => {
  it('Reshape with 0 and -1', () => {
    const [y] = evalOp('Reshape', [f32([2, 3, 4], new Array(24).fill(0).map((_, i) => i)), i64([2], [0, -1])], {}, { constIdx: [1] });
    expect(y.shape).toEqual([2, 12]);
    expect(vals(y).slice(0, 3)).toEqual([0, 1, 2]);
  });
  it('Reshape allowzero keeps a zero dim', () => {
    const [y] = evalOp('Reshape', [f32([0, 3], []), i64([2], [3, 0])], { allowzero: A.int(1) }, { constIdx: [1] });
    expect(y.shape).toEqual([3, 0]);
  });
  it('Reshape infers a symbolic batch dim', () => {
    const g = new Graph('g');
    const x = new Value('x', { dtype: 'float32', shape: ['N', 3, 4] });
    const s = new Value('s', { dtype: 'int64', shape: [2] }); s.const = i64([2], [0, -1]);
    const y = new Value('y', { dtype: 'float32', shape: undefined });
    g.inputs.push(x); g.constants.push(s);
    g.nodes.push(new Node({ op: 'Reshape', inputs: [x, s], outputs: [y] }));
    inferGraph(g);
    expect(y.type.shape).toEqual(['N', 12]);
  });
  it('Reshape works on strings', () => {
    const [y] = evalOp('Reshape', [strs([2, 2], ['a', 'b', 'c', 'd']), i64([1], [4])], {}, { constIdx: [1] });
    expect(y.data).toEqual(['a', 'b', 'c', 'd']);
  });
  it('Transpose default reverses axes', () => {
    const [y] = evalOp('Transpose', [f32([2, 3], [1, 2, 3, 4, 5, 6])]);
    expect(y.shape).toEqual([3, 2]);
    expect(vals(y)).toEqual([1, 4, 2, 5, 3, 6]);
  });
  it('Squeeze / Unsqueeze / Flatten', () => {
    expect(evalOp('Squeeze', [f32([1, 3, 1], [1, 2, 3])])[0].shape).toEqual([3]);
    expect(evalOp('Squeeze', [f32([1, 3, 1], [1, 2, 3]), i64([1], [-1])], {}, { constIdx: [1] })[0].shape).toEqual([1, 3]);
    expect(evalOp('Unsqueeze', [f32([3], [1, 2, 3]), i64([2], [-1, 0])], {}, { constIdx: [1] })[0].shape).toEqual([1, 3, 1]);
    expect(evalOp('Flatten', [f32([2, 3, 4], new Array(24).fill(0))], { axis: A.int(-1) })[0].shape).toEqual([6, 4]);
    expect(evalOp('Flatten', [f32([2, 3, 4], new Array(24).fill(0))], { axis: A.int(0) })[0].shape).toEqual([1, 24]);
  });
  it('Concat along the last axis', () => {
    const [y] = evalOp('Concat', [f32([2, 1], [1, 2]), f32([2, 2], [3, 4, 5, 6])], { axis: A.int(-1) });
    expect(y.shape).toEqual([2, 3]);
    expect(vals(y)).toEqual([1, 3, 4, 2, 5, 6]);
  });
  it('Split by sizes and by num_outputs', () => {
    const x = f32([7], [0, 1, 2, 3, 4, 5, 6]);
    const ys = evalOp('Split', [x], { num_outputs: A.int(3) }, { outputs: 3 });
    expect(ys.map((y) => vals(y))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    const zs = evalOp('Split', [f32([2, 3], [1, 2, 3, 4, 5, 6]), i64([2], [1, 2])], { axis: A.int(1) }, { outputs: 2, constIdx: [1] });
    expect(vals(zs[0])).toEqual([1, 4]);
    expect(vals(zs[1])).toEqual([2, 3, 5, 6]);
  });
  it('Slice with negative step and huge bounds', () => {
    const x = f32([10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const [y] = evalOp('Slice', [x, i64([1], [-1]), i64([1], [-BIG]), i64([1], [0]), i64([1], [-3])], {}, { constIdx: [1, 2, 3, 4] });
    expect(vals(y)).toEqual([9, 6, 3, 0]);
    const m = f32([3, 4], new Array(12).fill(0).map((_, i) => i));
    const [z] = evalOp('Slice', [m, i64([2], [1, 0]), i64([2], [BIG, 100]), i64([2], [0, 1]), i64([2], [1, 2])], {}, { constIdx: [1, 2, 3, 4] });
    expect(z.shape).toEqual([2, 2]);
    expect(vals(z)).toEqual([4, 6, 8, 10]);
  });
  it('Gather with negative indices, on strings too', () => {
    const [y] = evalOp('Gather', [f32([2, 3], [1, 2, 3, 4, 5, 6]), i64([2], [-1, 0])], { axis: A.int(1) });
    expect(vals(y)).toEqual([3, 1, 6, 4]);
    const [s] = evalOp('Gather', [strs([3], ['x', 'y', 'z']), ints([2], [2, 0])]);
    expect(s.data).toEqual(['z', 'x']);
  });
  it('GatherElements and GatherND with batch_dims', () => {
    const [y] = evalOp('GatherElements', [f32([2, 2], [1, 2, 3, 4]), i64([2, 2], [0, 0, 1, 0])], { axis: A.int(1) });
    expect(vals(y)).toEqual([1, 1, 4, 3]);
    const [z] = evalOp('GatherND', [f32([2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]), i64([2, 1], [1, 0])], { batch_dims: A.int(1) });
    expect(z.shape).toEqual([2, 2]);
    expect(vals(z)).toEqual([2, 3, 4, 5]);
  });
  it('ScatterElements reductions', () => {
    const [y] = evalOp('ScatterElements', [f32([1, 5], [1, 2, 3, 4, 5]), i64([1, 2], [1, 1]), f32([1, 2], [1.5, 2])],
      { axis: A.int(1), reduction: A.str('add') });
    expect(vals(y)).toEqual([1, 5.5, 3, 4, 5]);
    const [m] = evalOp('ScatterElements', [f32([3], [1, 5, 3]), i64([2], [0, -2]), f32([2], [4, 2])], { reduction: A.str('max') });
    expect(vals(m)).toEqual([4, 5, 3]);
    const [s] = evalOp('Scatter', [f32([3], [1, 5, 3]), i64([1], [2]), f32([1], [9])]);
    expect(vals(s)).toEqual([1, 5, 9]);
  });
  it('ScatterND with mul reduction', () => {
    const [y] = evalOp('ScatterND', [f32([4], [1, 2, 3, 4]), i64([3, 1], [1, 1, 3]), f32([3], [10, 2, 5])], { reduction: A.str('mul') });
    expect(vals(y)).toEqual([1, 40, 3, 20]);
  });
  it('Expand and Tile', () => {
    const [y] = evalOp('Expand', [f32([3, 1], [1, 2, 3]), i64([3], [2, 1, 2])], {}, { constIdx: [1] });
    expect(y.shape).toEqual([2, 3, 2]);
    expect(vals(y)).toEqual([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
    const [z] = evalOp('Tile', [f32([2, 1], [1, 2]), i64([2], [1, 2])], {}, { constIdx: [1] });
    expect(vals(z)).toEqual([1, 1, 2, 2]);
  });
  it('Pad modes', () => {
    const x = f32([3], [1, 2, 3]);
    const pads = i64([2], [2, 2]);
    expect(vals(evalOp('Pad', [x, pads], { mode: A.str('reflect') }, { constIdx: [1] })[0])).toEqual([3, 2, 1, 2, 3, 2, 1]);
    expect(vals(evalOp('Pad', [x, pads], { mode: A.str('edge') }, { constIdx: [1] })[0])).toEqual([1, 1, 1, 2, 3, 3, 3]);
    expect(vals(evalOp('Pad', [x, pads], { mode: A.str('wrap') }, { constIdx: [1] })[0])).toEqual([2, 3, 1, 2, 3, 1, 2]);
    expect(vals(evalOp('Pad', [x, i64([2], [-1, 1])], {}, { constIdx: [1] })[0])).toEqual([2, 3, 0]);
    const [c] = evalOp('Pad', [f32([2, 2], [1, 2, 3, 4]), i64([2], [1, 0]), f32([], [9]), i64([1], [1])], {}, { constIdx: [1, 3] });
    expect(c.shape).toEqual([2, 3]);
    expect(vals(c)).toEqual([9, 1, 2, 9, 3, 4]);
  });
  it('Shape (start/end) and Size', () => {
    const x = f32([2, 3, 4], new Array(24).fill(0));
    expect(vals(evalOp('Shape', [x], { start: A.int(-2) })[0])).toEqual([3, 4]);
    expect(vals(evalOp('Shape', [x], { end: A.int(10) })[0])).toEqual([2, 3, 4]);
    expect(vals(evalOp('Size', [x])[0])).toEqual([24]);
  });
  it('Constant, ConstantOfShape, Range, EyeLike', () => {
    expect(vals(evalOp('Constant', [], { value_ints: A.ints([1, 2]) })[0])).toEqual([1, 2]);
    expect(evalOp('Constant', [], { value_string: A.str('hi') })[0].data).toEqual(['hi']);
    const [c] = evalOp('ConstantOfShape', [i64([2], [2, 2])], { value: A.tensor(ints([1], [7])) }, { constIdx: [0] });
    expect(c.dtype).toBe('int32');
    expect(vals(c)).toEqual([7, 7, 7, 7]);
    expect(vals(evalOp('Range', [f32([], [1]), f32([], [2]), f32([], [0.5])])[0])).toEqual([1, 1.5]);
    expect(vals(evalOp('Range', [ints([], [10]), ints([], [4]), ints([], [-3])])[0])).toEqual([10, 7]);
    expect(vals(evalOp('EyeLike', [f32([2, 3], new Array(6).fill(5))], { k: A.int(1) })[0])).toEqual([0, 1, 0, 0, 0, 1]);
  });
  it('DepthToSpace DCR vs CRD, SpaceToDepth', () => {
    const x = f32([1, 8, 1, 1], [0, 1, 2, 3, 4, 5, 6, 7]);
    const [d] = evalOp('DepthToSpace', [x], { blocksize: A.int(2) });
    expect(d.shape).toEqual([1, 2, 2, 2]);
    expect(vals(d)).toEqual([0, 2, 4, 6, 1, 3, 5, 7]);
    expect(vals(evalOp('DepthToSpace', [x], { blocksize: A.int(2), mode: A.str('CRD') })[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const [s] = evalOp('SpaceToDepth', [f32([1, 1, 2, 2], [0, 1, 2, 3])], { blocksize: A.int(2) });
    expect(s.shape).toEqual([1, 4, 1, 1]);
    expect(vals(s)).toEqual([0, 1, 2, 3]);
  });
  it('Compress, NonZero, OneHot', () => {
    const cond = t('bool', [3], [0, 1, 1]);
    expect(vals(evalOp('Compress', [f32([3, 2], [1, 2, 3, 4, 5, 6]), cond], { axis: A.int(0) })[0])).toEqual([3, 4, 5, 6]);
    expect(vals(evalOp('Compress', [f32([3, 2], [1, 2, 3, 4, 5, 6]), t('bool', [3], [1, 0, 1])])[0])).toEqual([1, 3]);
    const [nz] = evalOp('NonZero', [f32([2, 2], [1, 0, 0, 1])]);
    expect(nz.shape).toEqual([2, 2]);
    expect(vals(nz)).toEqual([0, 1, 0, 1]);
    const [oh] = evalOp('OneHot', [i64([3], [0, 2, -1]), f32([], [3]), f32([2], [0, 1])], {}, { constIdx: [1] });
    expect(oh.shape).toEqual([3, 3]);
    expect(vals(oh)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 1]);
    const [oh0] = evalOp('OneHot', [i64([2], [1, 5]), f32([], [2]), f32([2], [-1, 1])], { axis: A.int(0) }, { constIdx: [1] });
    expect(vals(oh0)).toEqual([-1, -1, 1, -1]);
  });
  it('Trilu and ReverseSequence', () => {
    const ones = f32([3, 3], new Array(9).fill(1));
    expect(vals(evalOp('Trilu', [ones, i64([], [1])])[0])).toEqual([0, 1, 1, 0, 0, 1, 0, 0, 0]);
    expect(vals(evalOp('Trilu', [ones, i64([], [-1])], { upper: A.int(0) })[0])).toEqual([0, 0, 0, 1, 0, 0, 1, 1, 0]);
    const [r] = evalOp('ReverseSequence', [f32([4, 2], [0, 1, 2, 3, 4, 5, 6, 7]), i64([2], [4, 2])]);
    expect(vals(r)).toEqual([6, 3, 4, 1, 2, 5, 0, 7]);
  });
  it('Resize linear half_pixel, nearest asymmetric floor, align_corners', () => {
    const x = f32([1, 2], [1, 3]);
    const sc = f32([2], [1, 2]);
    expect(vals(evalOp('Resize', [x, undefined, sc], { mode: A.str('linear') }, { constIdx: [2] })[0])).toEqual([1, 1.5, 2.5, 3]);
    expect(vals(evalOp('Resize', [x, undefined, sc],
      { coordinate_transformation_mode: A.str('asymmetric'), nearest_mode: A.str('floor') }, { constIdx: [2] })[0])).toEqual([1, 1, 3, 3]);
    const [ac] = evalOp('Resize', [x, undefined, undefined, i64([2], [1, 3])],
      { mode: A.str('linear'), coordinate_transformation_mode: A.str('align_corners') }, { constIdx: [3] });
    expect(ac.shape).toEqual([1, 3]);
    expect(vals(ac)).toEqual([1, 2, 3]);
  });
  it('Resize tf_crop_and_resize with axes and extrapolation', () => {
    const x = f32([1, 4], [0, 10, 20, 30]);
    const [y] = evalOp('Resize', [x, f32([2], [0, 1.5]), undefined, i64([1], [3])],
      { mode: A.str('linear'), coordinate_transformation_mode: A.str('tf_crop_and_resize'), axes: A.ints([1]), extrapolation_value: A.float(-1) },
      { constIdx: [3] });
    expect(vals(y)).toEqual([0, 22.5, -1]);
  });
  it('Resize linear on integers is unsupported', () => {
    expectUnsupported(() => evalOp('Resize', [ints([1, 2], [1, 3]), undefined, f32([2], [1, 2])], { mode: A.str('linear') }));
  });
  it('Identity passes strings through', () => {
    expect(evalOp('Identity', [strs([2], ['a', 'b'])])[0].data).toEqual(['a', 'b']);
  });
  it('old opsets: attributes become inputs', () => {
    const x = new Value('x', { dtype: 'float32', shape: [4] });
    const s = importView('Slice', 1, { starts: A.ints([1]), ends: A.ints([3]) }, [x]);
    expect(s.inputs.length).toBe(3);
    expect(vals(s.inputs[1]!.const!)).toEqual([1]);
    expect(vals(s.inputs[2]!.const!)).toEqual([3]);
    const r = importView('Reshape', 1, { shape: A.ints([2, 2]) }, [x]);
    expect(vals(r.inputs[1]!.const!)).toEqual([2, 2]);
    const p = importView('Pad', 2, { pads: A.ints([1, 1]), value: A.float(2), mode: A.str('constant') }, [x]);
    expect(vals(p.inputs[1]!.const!)).toEqual([1, 1]);
    expect(vals(p.inputs[2]!.const!)).toEqual([2]);
    const u = importView('Upsample', 7, { scales: A.floats([1, 2]), mode: A.str('nearest') }, [x]);
    expect(u.inputs[1]).toBeNull();
    expect(vals(u.inputs[2]!.const!)).toEqual([1, 2]);
    expect(u.attrs.coordinate_transformation_mode).toEqual(A.str('asymmetric'));
  });
});
