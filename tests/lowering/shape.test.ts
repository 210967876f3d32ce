/**
 * Compute definitions of the shape family: one-node graphs lowered to loop IR and run by the loop-IR
 * interpreter (runProgram), compared with the graph interpreter.
 */
import { describe, expect, it } from 'vitest';
import { AicError, Graph, Node, Tensor, Value, type Attr, type RValue } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { LOOPS_CAPS, lowerGraph, runProgram } from '@aic/codegen';
import { A, f32, i64, t } from '../helpers.ts';

/** Build a one-node graph; inputs in constIdx become constants (shape-deciding inputs must be). */
function build(op: string, inputs: (Tensor | undefined)[], attrs: Record<string, Attr>, constIdx: number[], nOut: number) {
  const g = new Graph('test');
  const feeds = new Map<string, RValue>();
  const ins = inputs.map((x, i) => {
    if (x === undefined) return null;
    const v = new Value(`in${i}`, { dtype: x.dtype, shape: x.shape.slice() });
    if (constIdx.includes(i)) { v.const = x; g.constants.push(v); } else { g.inputs.push(v); feeds.set(v.name, x); }
    return v;
  });
  const outs = Array.from({ length: nOut }, (_, i) => new Value(`out${i}`, { dtype: 'float32', shape: undefined }));
  g.nodes.push(new Node({ op, inputs: ins, outputs: outs, attrs }));
  g.outputs = outs;
  inferGraph(g, { strict: true });
  return { g, feeds };
}

/** Lower and run the node, check every output equals the interpreter's (exactly, or to 1e-5 for floats). */
function check(op: string, inputs: (Tensor | undefined)[], attrs: Record<string, Attr> = {},
  opts: { constIdx?: number[]; outputs?: number } = {}): Tensor[] {
  const { g, feeds } = build(op, inputs, attrs, opts.constIdx ?? [], opts.outputs ?? 1);
  const want = run(g, feeds);
  const got = runProgram(lowerGraph(g, LOOPS_CAPS), feeds);
  return g.outputs.map((o) => {
    const w = want.get(o.name) as Tensor, r = got.get(o.name)!;
    expect(r.dtype).toBe(w.dtype);
    expect(r.shape).toEqual(w.shape);
    const a = Array.from(r.num), b = Array.from(w.num);
    if (w.dtype.startsWith('float')) b.forEach((y, i) => expect(Math.abs(a[i]! - y)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(y))));
    else expect(a).toEqual(b);
    return r;
  });
}
const seq = (n: number, f = (i: number) => i) => Array.from({ length: n }, (_, i) => f(i));
const x234 = f32([2, 3, 4], seq(24, (i) => i * 0.5 - 3));

describe('shape ops lowered to loop IR', () => {
  it('Reshape / Transpose / Squeeze / Unsqueeze / Flatten', () => {
    check('Reshape', [x234, i64([2], [4, -1])], {}, { constIdx: [1] });
    const [y] = check('Transpose', [x234], { perm: A.ints([2, 0, 1]) });
    expect(y.shape).toEqual([4, 2, 3]);
    check('Unsqueeze', [x234, i64([2], [0, -1])], {}, { constIdx: [1] });
    check('Squeeze', [f32([1, 3, 1], [1, 2, 3]), i64([1], [0])], {}, { constIdx: [1] });
    check('Flatten', [x234], { axis: A.int(-1) });
  });

  it('Concat and Split (uneven sizes, omitted parts)', () => {
    check('Concat', [x234, f32([2, 1, 4], seq(8)), f32([2, 0, 4], [])], { axis: A.int(1) });
    check('Split', [x234, i64([3], [1, 0, 2])], { axis: A.int(1) }, { constIdx: [1], outputs: 3 });
  });

  it('Slice with negative steps and clamped bounds', () => {
    check('Slice', [x234, i64([2], [-1, 10]), i64([2], [-100, 0]), i64([2], [2, 1]), i64([2], [-2, -1])], {}, { constIdx: [1, 2, 3, 4] });
  });

  it('Gather / GatherElements / GatherND with negative indices', () => {
    check('Gather', [x234, i64([2, 2], [-1, 0, 2, -3])], { axis: A.int(1) });
    check('GatherElements', [x234, t('int32', [2, 3, 1], [0, -1, 3, 2, -4, 1])], { axis: A.int(2) });
    check('GatherND', [x234, i64([2, 2], [1, -1, 0, 2])]);
    check('GatherND', [x234, i64([2, 1], [2, 0])], { batch_dims: A.int(1) });
  });

  it('ScatterElements / ScatterND with reductions and duplicates', () => {
    const ind = i64([2, 2], [0, 2, -1, 0]);
    for (const r of ['none', 'add', 'mul', 'max', 'min']) {
      check('ScatterElements', [f32([2, 3], seq(6)), ind, f32([2, 2], [5, -1, 7, 2])], { axis: A.int(1), reduction: A.str(r) });
    }
    for (const r of ['none', 'add', 'mul']) {
      check('ScatterND', [x234, i64([3, 2], [0, 1, 1, -1, 0, 1]), f32([3, 4], seq(12))], { reduction: A.str(r) });
    }
    check('ScatterND', [t('int32', [4], [1, 2, 3, 4]), i64([2, 1], [3, 0]), t('int32', [2], [9, 8])], { reduction: A.str('max') });
  });

  it('Expand / Tile / Pad in every mode', () => {
    check('Expand', [f32([3, 1], [1, 2, 3]), i64([3], [2, 1, 4])], {}, { constIdx: [1] });
    check('Tile', [f32([2, 2], [1, 2, 3, 4]), i64([2], [2, 3])], {}, { constIdx: [1] });
    for (const mode of ['constant', 'edge', 'reflect', 'wrap']) {
      check('Pad', [f32([3, 4], seq(12)), i64([4], [2, -1, 5, 3]), f32([], [7.5])], { mode: A.str(mode) }, { constIdx: [1] });
    }
  });

  it('Shape / Size / ConstantOfShape / Range / EyeLike / Constant', () => {
    check('Shape', [x234], { start: A.int(-2) });
    check('Size', [x234]);
    check('ConstantOfShape', [i64([2], [2, 3])], { value: A.tensor(t('int32', [1], [4])) }, { constIdx: [0] });
    check('Range', [f32([], [1]), f32([], [2.2]), f32([], [0.3])], {}, { constIdx: [0, 1, 2] });
    check('Range', [t('int32', [], [10]), t('int32', [], [-3]), t('int32', [], [-4])], {}, { constIdx: [0, 1, 2] });
    check('EyeLike', [f32([3, 5], seq(15))], { k: A.int(-1), dtype: A.int(7) });
    check('Constant', [], { value: A.tensor(f32([2, 5], [1, 1, 1, 1, 1, 2, 3, 4, 4, 4])) });
  });

  it('DepthToSpace (DCR, CRD) / SpaceToDepth', () => {
    const x = f32([1, 8, 2, 3], seq(48));
    check('DepthToSpace', [x], { blocksize: A.int(2), mode: A.str('DCR') });
    check('DepthToSpace', [x], { blocksize: A.int(2), mode: A.str('CRD') });
    check('SpaceToDepth', [f32([1, 2, 4, 6], seq(48))], { blocksize: A.int(2) });
  });

  it('Compress / NonZero (constant inputs) / OneHot / Trilu / ReverseSequence', () => {
    check('Compress', [x234, t('bool', [3], [1, 0, 1])], { axis: A.int(1) }, { constIdx: [1] });
    check('Compress', [x234, t('bool', [7], [0, 1, 1, 0, 0, 1, 1])], {}, { constIdx: [1] });
    check('NonZero', [t('int32', [2, 3], [0, 1, 0, 5, 0, 2])], {}, { constIdx: [0] });
    check('OneHot', [f32([2, 2], [1, -1, 2.7, 5]), i64([], [4]), t('int32', [2], [-2, 9])], { axis: A.int(1) }, { constIdx: [1] });
    check('Trilu', [x234, i64([], [-1])], { upper: A.int(0) });
    check('Trilu', [x234, i64([], [1])]);
    check('ReverseSequence', [f32([4, 3], seq(12)), i64([3], [4, 0, 2])], { batch_axis: A.int(1), time_axis: A.int(0) });
  });

  it('Resize: nearest, linear, cubic (antialias, exclude_outside), tf_crop_and_resize', () => {
    const x = f32([1, 1, 4, 4], seq(16, (i) => (i * 7) % 11 - 3));
    const sc = (a: number, b: number) => f32([4], [1, 1, a, b]);
    const cases: [Record<string, Attr>, Tensor][] = [
      [{ mode: A.str('nearest'), nearest_mode: A.str('round_prefer_ceil') }, sc(1.7, 0.6)],
      [{ mode: A.str('nearest'), coordinate_transformation_mode: A.str('asymmetric'), nearest_mode: A.str('floor') }, sc(2, 3)],
      [{ mode: A.str('linear') }, sc(0.6, 1.8)],
      [{ mode: A.str('linear'), antialias: A.int(1) }, sc(0.5, 0.75)],
      [{ mode: A.str('cubic'), exclude_outside: A.int(1), cubic_coeff_a: A.float(-0.5) }, sc(1.5, 0.8)],
      [{ mode: A.str('cubic'), antialias: A.int(1), coordinate_transformation_mode: A.str('half_pixel_symmetric') }, sc(0.6, 0.6)],
      [{ mode: A.str('linear'), coordinate_transformation_mode: A.str('align_corners') }, sc(1.25, 2)],
    ];
    for (const [attrs, s] of cases) check('Resize', [x, undefined, s], attrs, { constIdx: [2] });
    // roi as a runtime input
    check('Resize', [x, f32([8], [0, 0, 0.2, 0.1, 1, 1, 0.9, 1.3]), undefined, i64([4], [1, 1, 3, 5])],
      { mode: A.str('linear'), coordinate_transformation_mode: A.str('tf_crop_and_resize'), extrapolation_value: A.float(-9) }, { constIdx: [3] });
    check('Resize', [t('int32', [1, 2, 3], seq(6)), undefined, f32([3], [1, 2, 1.5])], { mode: A.str('nearest') }, { constIdx: [2] });
  });

  it('shape-deciding inputs that are not constants are unsupported', () => {
    const { g } = build('Slice', [x234, i64([1], [1]), i64([1], [2])], {}, [1], 1);
    // ends is a graph input: its output shape is unknown, so lowering refuses
    expect(() => lowerGraph(g, LOOPS_CAPS)).toThrow(AicError);
  });
});
