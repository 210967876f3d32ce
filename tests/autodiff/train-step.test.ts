/**
 * One SGD step as a graph (aic train-step): the parameters are inputs and `<param>_next` is
 * param - lr * gradient, with the gradient from the gradient model (checked by hand in cli-grad);
 * two steps fed back into each other equal two steps of plain SGD written out here.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { autodiff } from '@aic/passes';

const LINEAR = `graph g(x: f32[2, 3]) -> (y: f32[2, 2]) {
  w: f32[3, 2] = [0.5, -1, 2, 0.25, 1.5, -0.75]
  b: f32[2] = [0.1, -0.2]
  y = Add(MatMul(x, w), b)
}`;
const X = [1, -2, 0.5, 3, 0.25, -1], T = [0.5, 1, -1, 2];

/** the mse gradient of y = x w + b by hand */
function handGrad(w: number[], b: number[]): { w: number[]; b: number[] } {
  const y = [0, 1].flatMap((i) => [0, 1].map((j) => X[i * 3]! * w[j]! + X[i * 3 + 1]! * w[2 + j]! + X[i * 3 + 2]! * w[4 + j]! + b[j]!));
  const dy = y.map((v, k) => (2 * (v - T[k]!)) / 4);
  return { w: [0, 1, 2].flatMap((k) => [0, 1].map((j) => X[k]! * dy[j]! + X[3 + k]! * dy[2 + j]!)), b: [0, 1].map((j) => dy[j]! + dy[2 + j]!) };
}

describe('aic train-step (sgd)', () => {
  it('two steps fed back equal two SGD steps by hand', () => {
    const lr = 0.05;
    const { graph, params } = autodiff.sgdStepModel(parseGraph(LINEAR), { loss: 'mse', lr });
    expect(graph.inputs.map((v) => v.name)).toEqual(['x', 'target', 'w', 'b']);
    expect(graph.outputs.map((v) => v.name)).toEqual(['loss', 'w_next', 'b_next']);
    expect(params.map((p) => p.name)).toEqual(['w', 'b']);
    let w = params[0]!.const!, b = params[1]!.const!;
    let hw = w.toNumbers(), hb = b.toNumbers();
    for (let s = 0; s < 2; s++) {
      const outs = run(graph, new Map<string, RValue>([['x', Tensor.fromNumbers('float32', [2, 3], X)], ['target', Tensor.fromNumbers('float32', [2, 2], T)], ['w', w], ['b', b]]));
      w = outs.get('w_next') as Tensor;
      b = outs.get('b_next') as Tensor;
      const g = handGrad(hw, hb);
      hw = hw.map((v, i) => v - lr * g.w[i]!);
      hb = hb.map((v, i) => v - lr * g.b[i]!);
    }
    w.toNumbers().forEach((v, i) => expect(v).toBeCloseTo(hw[i]!, 5));
    b.toNumbers().forEach((v, i) => expect(v).toBeCloseTo(hb[i]!, 5));
  });
});
