/**
 * BatchNormalization in a training step (aic train-step --batchnorm train): the running statistics
 * become carried state (inputs `<stat>`, outputs `<stat>_next` = momentum * stat + (1 - momentum) *
 * the biased batch statistic), and the parameters' update uses the batch statistics (checked here
 * against the step written out by hand). ReduceMax's rule shares the cotangent among ties evenly, and
 * the piecewise rules take torch's side at their kinks (scripts/vjp-vs-torch.py checks both with torch).
 */
import { describe, expect, it } from 'vitest';
import { Tensor, Value, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { appendVjp, inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { autodiff } from '@aic/passes';

// y = BN(x) over 2 channels, batch 2, 2 positions; loss = sum(y * r)
const MODEL = `graph g(x: f64[2, 2, 2]) -> (y: f64[2, 2, 2]) {
  s: f64[2] = [1.5, -0.5]
  b: f64[2] = [0.25, 0.1]
  m: f64[2] = [0.2, -0.1]
  v: f64[2] = [0.8, 1.3]
  y = BatchNormalization(x, s, b, m, v, epsilon = 0.01, momentum = 0.7)
}`;
const X = [1, -2, 0.5, 3, 0.25, -1, 2, 0.75];

describe('BatchNormalization training mode in a train step', () => {
  it('carries the running statistics and steps the parameters with batch statistics', () => {
    const lr = 0.1;
    const { graph, params, state } = autodiff.trainStepModel(parseGraph(MODEL), { loss: 'sum', lr, batchnorm: 'train' });
    expect(graph.inputs.map((v) => v.name)).toEqual(['x', 's', 'b', 'm', 'v']);
    expect(graph.outputs.map((v) => v.name)).toEqual(['loss', 's_next', 'b_next', 'm_next', 'v_next']);
    expect(state.map((v) => v.name)).toEqual(['m', 'v']);
    const feeds = new Map<string, RValue>([['x', Tensor.fromNumbers('float64', [2, 2, 2], X)], ...[...params, ...state].map((p) => [p.name, p.const!] as [string, RValue])]);
    const out = run(graph, feeds);
    const get = (n: string) => (out.get(n) as Tensor).toNumbers();
    // by hand: channel c holds x[n, c, i] for n, i in {0, 1}
    const ch = (c: number) => [0, 1].flatMap((n) => [0, 1].map((i) => X[n * 4 + c * 2 + i]!));
    const mean = [0, 1].map((c) => ch(c).reduce((a, e) => a + e, 0) / 4);
    const vr = [0, 1].map((c) => ch(c).reduce((a, e) => a + (e - mean[c]!) ** 2, 0) / 4);
    const mo = Math.fround(0.7); // a float attribute
    expect(get('m_next')).toEqual([0, 1].map((c) => expect.closeTo(mo * [0.2, -0.1][c]! + (1 - mo) * mean[c]!, 12)));
    expect(get('v_next')).toEqual([0, 1].map((c) => expect.closeTo(mo * [0.8, 1.3][c]! + (1 - mo) * vr[c]!, 12)));
    // loss = sum(y): d/ds = sum(xhat) = 0 and d/db = count (4) per channel
    expect(get('s_next')).toEqual([1.5, -0.5].map((s) => expect.closeTo(s, 12)));
    expect(get('b_next')).toEqual([0.25, 0.1].map((b) => expect.closeTo(b - lr * 4, 12)));
    // the loss is sum(y) with batch statistics: sum over channels of count * b
    expect(get('loss')[0]).toBeCloseTo(4 * 0.25 + 4 * 0.1, 12);
  });

  it('without --batchnorm train, an inference-mode model keeps its statistics constant', () => {
    const { graph, state } = autodiff.trainStepModel(parseGraph(MODEL), { loss: 'sum', lr: 0.1 });
    expect(state).toEqual([]);
    expect(graph.inputs.map((v) => v.name)).toEqual(['x', 's', 'b']);
  });
});

describe('ReduceMax / ReduceMin derivative at ties', () => {
  it('shares the cotangent evenly among the tied elements (torch.amax rule)', () => {
    const g = parseGraph(`graph g(x: f64[2, 3]) -> (y: f64[2]) {
      axes: i64[1] = [1]
      y = ReduceMax(x, axes, keepdims = 0)
    }`);
    inferGraph(g);
    const u = new Value('u', { dtype: 'float64', shape: [2] });
    u.const = Tensor.fromNumbers('float64', [2], [3, 1]);
    g.constants.push(u);
    const x = g.inputs[0]!;
    const [dx] = appendVjp(g, new Map([[g.outputs[0]!, u]]), [x]);
    g.outputs = [dx!];
    inferGraph(g);
    const out = run(g, new Map<string, RValue>([['x', Tensor.fromNumbers('float64', [2, 3], [2, 5, 5, 1, 0, 5])]]));
    expect((out.get(dx!.name) as Tensor).toNumbers()).toEqual([0, 1.5, 1.5, 0, 0, 1]);
  });
});

/** d/dx of sum(op(x)) at the points xs (dy = 1) */
function unitGrad(op: string, xs: number[], attrs = ''): number[] {
  const g = parseGraph(`graph g(x: f64[${xs.length}]) -> (y: f64[${xs.length}]) {
    y = ${op}(x${attrs})
  }`);
  inferGraph(g);
  const u = new Value('u', { dtype: 'float64', shape: [xs.length] });
  u.const = Tensor.fromNumbers('float64', [xs.length], xs.map(() => 1));
  g.constants.push(u);
  const [dx] = appendVjp(g, new Map([[g.outputs[0]!, u]]), [g.inputs[0]!]);
  g.outputs = [dx!];
  inferGraph(g);
  return (run(g, new Map<string, RValue>([['x', Tensor.fromNumbers('float64', [xs.length], xs)]])).get(dx!.name) as Tensor).toNumbers();
}

describe('derivatives at kinks take torch autograd\'s side', () => {
  it('Relu 0, LeakyRelu and Elu alpha at 0; HardSwish -1/2 at -3 and 1 at 3; HardSigmoid 0 at its corners', () => {
    expect(unitGrad('Relu', [-1, 0, 1])).toEqual([0, 0, 1]);
    expect(unitGrad('LeakyRelu', [-1, 0, 1], ', alpha = 0.25')).toEqual([0.25, 0.25, 1]);
    expect(unitGrad('Elu', [0, 1], ', alpha = 0.5')).toEqual([0.5, 1]);
    expect(unitGrad('HardSwish', [-4, -3, 0, 3, 4])).toEqual([0, -0.5, 0.5, 1, 1]);
    expect(unitGrad('HardSigmoid', [-3, 0, 1], ', alpha = 0.25, beta = 0.75')).toEqual([0, 0.25, 0]);
  });
});
