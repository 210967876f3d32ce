import { describe, expect, it } from 'vitest';
import { A, evalOp, f32, t, vals } from '../helpers.ts';

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const close = (got: number[], want: number[]) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 5));
};

describe('RNN', () => {
  // hidden 1, input 1: h_t = tanh(0.5 x_t + 1 * h_{t-1})
  const X = f32([2, 1, 1], [1, 2]), W = f32([1, 1, 1], [0.5]), R = f32([1, 1, 1], [1]);
  it('forward: Y and Y_h', () => {
    const [y, yh] = evalOp('RNN', [X, W, R], { hidden_size: A.int(1) }, { outputs: 2 });
    const h1 = Math.tanh(0.5), h2 = Math.tanh(1 + h1);
    expect(y.shape).toEqual([2, 1, 1, 1]);
    close(vals(y), [h1, h2]);
    close(vals(yh), [h2]);
  });
  it('reverse direction and Relu activation', () => {
    const [y, yh] = evalOp('RNN', [X, W, R], { direction: A.str('reverse'), activations: { type: 'strings', value: ['Relu'] } }, { outputs: 2 });
    // t=1 first: relu(1) = 1; then t=0: relu(0.5 + 1) = 1.5
    close(vals(y), [1.5, 1]);
    close(vals(yh), [1.5]);
  });
  it('bidirectional with bias, initial_h and layout=1', () => {
    const Xb = f32([1, 2, 1], [1, 2]); // [batch 1, seq 2, input 1]
    const Wb = f32([2, 1, 1], [0.5, 0.5]), Rb = f32([2, 1, 1], [1, 1]);
    const B = f32([2, 2], [0.25, 0.25, 0, 0]); // forward bias 0.5 in total
    const h0 = f32([1, 2, 1], [1, 0]); // layout 1: [batch, dirs, hidden]
    const [y, yh] = evalOp('RNN', [Xb, Wb, Rb, B, undefined, h0], { direction: A.str('bidirectional'), layout: A.int(1) }, { outputs: 2 });
    const f1 = Math.tanh(0.5 + 0.5 + 1), f2 = Math.tanh(1 + 0.5 + f1);
    const r1 = Math.tanh(1), r0 = Math.tanh(0.5 + r1);
    expect(y.shape).toEqual([1, 2, 2, 1]);
    close(vals(y), [f1, r0, f2, r1]);
    expect(yh.shape).toEqual([1, 2, 1]);
    close(vals(yh), [f2, r0]);
  });
  it('sequence_lens zero-fills Y past the end of each sequence', () => {
    const Xs = f32([2, 2, 1], [1, 1, 2, 2]); // [seq, batch, input]
    const [y, yh] = evalOp('RNN', [Xs, W, R, undefined, t('int32', [2], [1, 2])], {}, { outputs: 2 });
    const h1 = Math.tanh(0.5), h2 = Math.tanh(1 + h1);
    close(vals(y), [h1, h1, 0, h2]);
    close(vals(yh), [h1, h2]);
  });
});

describe('GRU', () => {
  // hidden 1; z gate: 0 (-> 0.5), r gate: 0 (-> 0.5), h gate: W 1, R 1; Rbh = 1; x = 1, h0 = 1
  const X = f32([1, 1, 1], [1]);
  const W = f32([1, 3, 1], [0, 0, 1]), R = f32([1, 3, 1], [0, 0, 1]);
  const B = f32([1, 6], [0, 0, 0, 0, 0, 1]);
  const h0 = f32([1, 1, 1], [1]);
  it('linear_before_reset = 0: r multiplies h before R', () => {
    const [, yh] = evalOp('GRU', [X, W, R, B, undefined, h0], { hidden_size: A.int(1) }, { outputs: 2 });
    close(vals(yh), [0.5 * Math.tanh(1 + 0.5 * 1 + 1) + 0.5]);
  });
  it('linear_before_reset = 1: r multiplies (h R + Rb)', () => {
    const [, yh] = evalOp('GRU', [X, W, R, B, undefined, h0], { linear_before_reset: A.int(1) }, { outputs: 2 });
    close(vals(yh), [0.5 * Math.tanh(1 + 0.5 * (1 + 1)) + 0.5]);
  });
});

describe('LSTM', () => {
  const X = f32([1, 1, 1], [1]);
  it('gates i, o, f, c; Y_h and Y_c', () => {
    const W = f32([1, 4, 1], [0, 0, 0, 1]), R = f32([1, 4, 1], [0, 0, 0, 0]);
    const [y, yh, yc] = evalOp('LSTM', [X, W, R], { hidden_size: A.int(1) }, { outputs: 3 });
    const c = 0.5 * Math.tanh(1);
    close(vals(y), [0.5 * Math.tanh(c)]);
    close(vals(yh), [0.5 * Math.tanh(c)]);
    close(vals(yc), [c]);
  });
  it('peepholes and initial_c', () => {
    const W = f32([1, 4, 1], [0, 0, 0, 1]), R = f32([1, 4, 1], [0, 0, 0, 0]);
    const P = f32([1, 3], [1, 2, 0]); // p_i = 1, p_o = 2, p_f = 0
    const c0 = f32([1, 1, 1], [1]);
    const [, yh, yc] = evalOp('LSTM', [X, W, R, undefined, undefined, undefined, c0, P], {}, { outputs: 3 });
    const c = 0.5 * 1 + sig(1) * Math.tanh(1);
    close(vals(yc), [c]);
    close(vals(yh), [sig(2 * c) * Math.tanh(c)]);
  });
  it('input_forget couples f = 1 - i', () => {
    const W = f32([1, 4, 1], [1, 0, 0, 1]), R = f32([1, 4, 1], [0, 0, 0, 0]);
    const c0 = f32([1, 1, 1], [2]);
    const [, , yc] = evalOp('LSTM', [X, W, R, undefined, undefined, undefined, c0], { input_forget: A.int(1) }, { outputs: 3 });
    const i = sig(1);
    close(vals(yc), [(1 - i) * 2 + i * Math.tanh(1)]);
  });
  it('rejects a W of the wrong shape', () => {
    expect(() => evalOp('LSTM', [X, f32([1, 3, 1], [0, 0, 0]), f32([1, 4, 1], [0, 0, 0, 0])], { hidden_size: A.int(1) }))
      .toThrow(/W dim 1/);
  });
});
