/**
 * One training step as a graph (aic train-step): the parameters are inputs and `<param>_next` is
 * param - lr * gradient, with the gradient from the gradient model (checked by hand in cli-grad);
 * two steps fed back into each other equal two steps of plain SGD written out here, and of SGD with
 * momentum and Adam written out from the ONNX Momentum / Adam formulas (state fed back as well).
 * The generated wasm-simd loader's `step(feeds)` keeps parameters and state between calls and
 * `parameters()` returns them: two calls equal two interpreter steps fed back by hand.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type Graph, type RValue, type Value } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { autodiff } from '@aic/passes';
import { compileWasm, loadWasmSync } from '../../codegen/wasm/target.ts';

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

/** Run `steps` steps of `graph`, feeding every `<name>_next` back as `<name>`; the last feeds and each step's loss. */
function runSteps(graph: Graph, init: Value[], steps: number): Map<string, number[]> & { losses: number[] } {
  let feeds = new Map<string, RValue>(init.map((v) => [v.name, v.const!]));
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const outs = run(graph, new Map<string, RValue>([['x', Tensor.fromNumbers('float32', [2, 3], X)], ['target', Tensor.fromNumbers('float32', [2, 2], T)], ...feeds]));
    losses.push((outs.get('loss') as Tensor).toNumbers()[0]!);
    feeds = new Map(init.map((v) => [v.name, outs.get(`${v.name}_next`)!]));
  }
  return Object.assign(new Map([...feeds].map(([k, v]) => [k, (v as Tensor).toNumbers()])), { losses });
}

/** `n` steps of an update rule by hand: rule(t, x, g, state) -> state after the step (x first). */
function handSteps(n: number, rule: (t: number, x: number, g: number, s: number[]) => number[], nState: number) {
  let w = [0.5, -1, 2, 0.25, 1.5, -0.75], b = [0.1, -0.2];
  let sw = w.map(() => new Array<number>(nState).fill(0)), sb = b.map(() => new Array<number>(nState).fill(0));
  for (let t = 0; t < n; t++) {
    const g = handGrad(w, b);
    const nw = w.map((x, i) => rule(t, x, g.w[i]!, sw[i]!)), nb = b.map((x, i) => rule(t, x, g.b[i]!, sb[i]!));
    w = nw.map((r) => r[0]!); sw = nw.map((r) => r.slice(1));
    b = nb.map((r) => r[0]!); sb = nb.map((r) => r.slice(1));
  }
  return { w, b, sw, sb };
}

describe('aic train-step (momentum, adam)', () => {
  const lr = 0.05;
  it('weight decay: each gradient gets wd * param (sgd by hand; momentum and adam through norm_coefficient)', () => {
    const wd = 0.2;
    const { graph, params } = autodiff.trainStepModel(parseGraph(LINEAR), { loss: 'mse', lr, weightDecay: wd });
    const got = runSteps(graph, params, 2);
    const want = handSteps(2, (_t, x, g) => [x - lr * (g + wd * x)], 0);
    got.get('w')!.forEach((v, i) => expect(v).toBeCloseTo(want.w[i]!, 5));
    got.get('b')!.forEach((v, i) => expect(v).toBeCloseTo(want.b[i]!, 5));
    for (const optimizer of ['momentum', 'adam'] as const) {
      const node = autodiff.trainStepModel(parseGraph(LINEAR), { loss: 'mse', lr, optimizer, weightDecay: wd }).graph.nodes.find((n) => n.domain === 'ai.onnx.preview.training')!;
      expect(node.attrs.norm_coefficient?.value).toBeCloseTo(wd, 6);
    }
  });
  it('momentum: V = alpha V + G (beta 1 from the second step on too), X -= R V', () => {
    const { graph, params, state } = autodiff.trainStepModel(parseGraph(LINEAR), { loss: 'mse', lr, optimizer: 'momentum', momentum: 0.8 });
    expect(graph.inputs.map((v) => v.name)).toEqual(['x', 'target', 'w', 'b', 'w_velocity', 'b_velocity', 'step']);
    expect(graph.outputs.map((v) => v.name)).toEqual(['loss', 'w_next', 'b_next', 'w_velocity_next', 'b_velocity_next', 'step_next']);
    const got = runSteps(graph, [...params, ...state], 2);
    const want = handSteps(2, (_t, x, g, [v]) => { const vn = 0.8 * v! + g; return [x - lr * vn, vn]; }, 1);
    got.get('w')!.forEach((v, i) => expect(v).toBeCloseTo(want.w[i]!, 5));
    got.get('b')!.forEach((v, i) => expect(v).toBeCloseTo(want.b[i]!, 5));
    got.get('w_velocity')!.forEach((v, i) => expect(v).toBeCloseTo(want.sw[i]![0]!, 5));
    expect(got.get('step')).toEqual([2]);
  });
  it('adam: bias correction with T = the step number (from 1), eps added to sqrt(H)', () => {
    const [a, bt, eps] = [0.9, 0.99, 1e-3];
    const { graph, params, state } = autodiff.trainStepModel(parseGraph(LINEAR), { loss: 'mse', lr, optimizer: 'adam', beta1: a, beta2: bt, eps });
    expect(graph.inputs.map((v) => v.name)).toEqual(['x', 'target', 'w', 'b', 'w_m', 'b_m', 'w_v', 'b_v', 'step']);
    const got = runSteps(graph, [...params, ...state], 2);
    const want = handSteps(2, (t, x, g, [m, h]) => {
      const mn = a * m! + (1 - a) * g, hn = bt * h! + (1 - bt) * g * g, T = t + 1;
      const r = (lr * Math.sqrt(1 - bt ** T)) / (1 - a ** T);
      return [x - (r * mn) / (Math.sqrt(hn) + eps), mn, hn];
    }, 2);
    got.get('w')!.forEach((v, i) => expect(v).toBeCloseTo(want.w[i]!, 5));
    got.get('b')!.forEach((v, i) => expect(v).toBeCloseTo(want.b[i]!, 5));
    got.get('w_m')!.forEach((v, i) => expect(v).toBeCloseTo(want.sw[i]![0]!, 5));
    got.get('b_v')!.forEach((v, i) => expect(v).toBeCloseTo(want.sb[i]![1]!, 5));
    expect(got.get('step')).toEqual([2]);
  });
});

describe('aic train-step state names', () => {
  it('a parameter named step leaves the step count another name', () => {
    const { graph } = autodiff.trainStepModel(parseGraph(LINEAR.replace(/\bw\b/g, 'step')), { loss: 'mse', lr: 0.1, optimizer: 'momentum' });
    expect(graph.inputs.map((v) => v.name)).toEqual(['x', 'target', 'step', 'b', 'step_velocity', 'b_velocity', '_step']);
    expect(graph.outputs.map((v) => v.name).at(-1)).toBe('_step_next');
  });
});

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

type Arrays = Record<string, Float32Array | BigInt64Array>;
interface StepModel { step(f: Arrays): Arrays; parameters(): Arrays }

describe('wasm-simd loader of aic train-step', () => {
  it('step() carries parameters and adam state; parameters() equals the interpreter after two steps', () => {
    const { graph, params, state } = autodiff.trainStepModel(parseGraph(LINEAR), { loss: 'mse', lr: 0.05, optimizer: 'adam', eps: 1e-3 });
    const compiled = compileWasm(graph, { simd: true, version: 'test', source: 'test', sourceHash: '-' });
    expect(compiled.art.dts).toContain('step(feeds: Omit<Inputs, "w" | "b" | "w_m" | "b_m" | "w_v" | "b_v" | "step">');
    const m = loadWasmSync(compiled) as unknown as StepModel;
    const data = { x: new Float32Array(X), target: new Float32Array(T) };
    expect(() => m.step(data)).toThrow("step: 'w' has no value yet");
    const init: Arrays = Object.fromEntries([...params, ...state].map((v) => [v.name,
      v.dtype === 'int64' ? new BigInt64Array(v.const!.toNumbers().map(BigInt)) : new Float32Array(v.const!.toNumbers())]));
    const first = m.step({ ...data, ...init });
    const second = m.step(data);
    expect(Object.keys(second)).toEqual(['loss']);
    const want = runSteps(graph, [...params, ...state], 2);
    expect(first.loss![0]).toBeCloseTo(want.losses[0]!, 5);
    expect(second.loss![0]).toBeCloseTo(want.losses[1]!, 5);
    const held = m.parameters();
    expect(Object.keys(held)).toEqual(['w', 'b', 'w_m', 'b_m', 'w_v', 'b_v', 'step']);
    expect(held.step![0]).toBe(2n);
    for (const k of ['w', 'b', 'w_m', 'w_v']) Array.from(held[k] as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(want.get(k)![i]!, 5));
    // a copy: changing it leaves the held parameters alone
    (held.w as Float32Array)[0] = 99;
    expect((m.parameters().w as Float32Array)[0]).not.toBe(99);
  });
});
