/** aic fused ops: hand-computed values; each must equal its unfused sequence of base ops. */
import { describe, expect, it } from 'vitest';
import { AicError, Graph, Node, Value, type Attr } from '@aic/core';
import { A, evalOp, f32, vals } from '../helpers.ts';

const aic = { domain: 'aic' };
const act = (name: string, params?: number[]): Record<string, Attr> =>
  ({ activation: A.str(name), ...(params ? { activation_params: A.floats(params) } : {}) });

function code(f: () => unknown): string | undefined {
  try { f(); } catch (e) { return e instanceof AicError ? e.code : String(e); }
  return undefined;
}

describe('aic.FusedConv', () => {
  // 1x1 conv, one channel: y = 2 x + 0.5
  const x = f32([1, 1, 1, 2], [1, -2]), w = f32([1, 1, 1, 1], [2]), b = f32([1], [0.5]);
  it('Conv + Z + Relu', () => {
    const [y] = evalOp('FusedConv', [x, w, b, f32([1, 1, 1, 2], [-1, 3])], act('Relu'), aic);
    expect(vals(y)).toEqual([1.5, 0]); // [2.5, -3.5] + [-1, 3] = [1.5, -0.5]
  });
  it('no activation, no Z = Conv', () => {
    expect(vals(evalOp('FusedConv', [x, w, b], {}, aic)[0])).toEqual([2.5, -3.5]);
  });
  it('Clip, LeakyRelu, Silu, HardSigmoid', () => {
    expect(vals(evalOp('FusedConv', [x, w, b], act('Clip', [0, 1]), aic)[0])).toEqual([1, 0]);
    expect(vals(evalOp('FusedConv', [x, w, b], act('Clip', [-1]), aic)[0])).toEqual([2.5, -1]);
    expect(vals(evalOp('FusedConv', [x, w, b], act('LeakyRelu', [0.5]), aic)[0])).toEqual([2.5, -1.75]);
    expect(vals(evalOp('FusedConv', [x, w], act('Silu'), aic)[0], 5)).toEqual([1.76159, -0.07194]); // 2 sig(2), -4 sig(-4)
    expect(vals(evalOp('FusedConv', [x, w, b], act('HardSigmoid', [0.2, 0.5]), aic)[0])).toEqual([1, 0]);
  });
  it('pads and strides go to Conv', () => {
    const [y] = evalOp('FusedConv', [f32([1, 1, 2, 2], [1, 2, 3, 4]), f32([1, 1, 2, 2], [1, 1, 1, 1])], { pads: A.ints([1, 1, 1, 1]), strides: A.ints([2, 2]) }, aic);
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(vals(y)).toEqual([1, 2, 3, 4]);
  });
  it('rejects an unknown activation and a Z that changes the shape', () => {
    const unsupported = code(() => evalOp('Gelu', [x], { approximate: A.str('cubic') }));
    expect(code(() => evalOp('FusedConv', [x, w], act('Swish'), aic))).toBe(unsupported);
    const mismatch = code(() => evalOp('Add', [f32([2], [1, 2]), f32([3], [1, 2, 3])]));
    expect(code(() => evalOp('FusedConv', [x, w, b, f32([2, 1, 1, 2], [0, 0, 0, 0])], {}, aic))).toBe(mismatch);
    const invalid = code(() => evalOp('Conv', [x]));
    expect(code(() => evalOp('FusedConv', [x, w], act('LeakyRelu'), aic))).toBe(invalid);
  });
});

describe('aic.FusedGemm / aic.FusedMatMul', () => {
  it('Gemm + Z + HardSigmoid', () => {
    // [1, 2] . [[3], [4]] = 11; + C 1 = 12; + Z 2 = 14; hardsigmoid(0.05 * 14) = 0.7
    const [y] = evalOp('FusedGemm', [f32([1, 2], [1, 2]), f32([2, 1], [3, 4]), f32([1], [1]), f32([1, 1], [2])], act('HardSigmoid', [0.05, 0]), aic);
    expect(vals(y, 6)).toEqual([0.7]);
  });
  it('Gemm attributes apply (transB, alpha)', () => {
    const [y] = evalOp('FusedGemm', [f32([1, 2], [1, 2]), f32([1, 2], [3, 4])], { transB: A.int(1), alpha: A.float(2), ...act('Tanh') }, aic);
    expect(vals(y, 6)).toEqual([Number(Math.tanh(22).toFixed(6))]);
  });
  it('MatMul + bias + Z + Gelu, batched', () => {
    // rows: [1, 0] and [0, 1] times [[1], [-1]] = [1], [-1]; + C 0.5 -> 1.5, -0.5; + Z [0.5, 0.5] -> 2, 0
    const [y] = evalOp('FusedMatMul', [f32([2, 1, 2], [1, 0, 0, 1]), f32([2, 1], [1, -1]), f32([1], [0.5]), f32([2, 1, 1], [0.5, 0.5])], act('Gelu'), aic);
    expect(y.shape).toEqual([2, 1, 1]);
    expect(vals(y, 5)).toEqual([1.9545, 0]); // gelu(2) = 2 * Phi(2)
  });
});

describe('aic.Attention', () => {
  it('scale on Q, no mask', () => {
    // Q [1, 1, 2] = [2, 0] / 2 -> [1, 0]; K = I -> scores [1, 0]; softmax [e/(e+1), 1/(e+1)]; V [[1], [0]]
    const [y] = evalOp('Attention', [f32([1, 1, 2], [2, 0]), f32([1, 2, 2], [1, 0, 0, 1]), f32([1, 2, 1], [1, 0])],
      { scale: A.float(2), scale_at: A.str('q'), scale_divides: A.int(1) }, aic);
    expect(vals(y, 5)).toEqual([Number((Math.E / (Math.E + 1)).toFixed(5))]);
  });
  it('scale on the scores with a mask', () => {
    // scores [2, 0] * 0.5 = [1, 0]; + mask [0, -inf-ish] -> softmax [1, 0]
    const [y] = evalOp('Attention', [f32([1, 2], [2, 0]), f32([2, 2], [1, 0, 0, 1]), f32([2, 1], [3, 7]), f32([1, 2], [0, -1e9])],
      { scale: A.float(0.5), scale_at: A.str('scores') }, aic);
    expect(vals(y, 5)).toEqual([3]);
  });
});

describe('aic.FusedElementwise', () => {
  it('runs its body: Relu(a - b) * 2', () => {
    const body = new Graph('body');
    const a = new Value('a', { dtype: 'float32', shape: [3] }), b = new Value('b', { dtype: 'float32', shape: [3] });
    const two = new Value('two', { dtype: 'float32', shape: [] });
    two.const = f32([], [2]);
    const d = new Value('d', { dtype: 'float32', shape: [3] }), r = new Value('r', { dtype: 'float32', shape: [3] }), y = new Value('y', { dtype: 'float32', shape: [3] });
    body.inputs = [a, b];
    body.constants = [two];
    body.nodes = [new Node({ op: 'Sub', inputs: [a, b], outputs: [d] }), new Node({ op: 'Relu', inputs: [d], outputs: [r] }), new Node({ op: 'Mul', inputs: [r, two], outputs: [y] })];
    body.outputs = [y];
    const [out] = evalOp('FusedElementwise', [f32([3], [1, 2, 3]), f32([3], [3, 1, 0])], { body: { type: 'graph', value: body } }, aic);
    expect(vals(out)).toEqual([0, 2, 6]);
  });
});
