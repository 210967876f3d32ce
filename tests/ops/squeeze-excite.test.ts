/**
 * aic.SqueezeExcite: hand-computed values, equality with its unfused sequence (GlobalAveragePool,
 * aic.FusedConv twice, Mul), shape checks, and its compute definition (plain and under the default
 * schedules, through the loop-IR interpreter) against the reference; the Mish epilogue of aic.FusedConv too.
 */
import { describe, expect, it } from 'vitest';
import { AicError, Graph, Node, Tensor, Value, type Attr } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { C_CAPS, chooseSchedules, lowerGraph, rescheduleProgram, runProgram } from '@aic/codegen';
import { A, evalOp, f32, vals } from '../helpers.ts';

const aic = { domain: 'aic' };

function rand(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return ((s >>> 8) / (1 << 24)) * 4 - 2; });
}
const randT = (shape: number[], seed: number) => f32(shape, rand(shape.reduce((a, b) => a * b, 1), seed));

/** one-node graph: X a graph input, the weights constants */
function seGraph(x: number[], cr: number, attrs: Record<string, Attr>, bias = true): { g: Graph; feeds: Map<string, Tensor> } {
  const g = new Graph('se');
  const c = x[1];
  const xv = new Value('x', { dtype: 'float32', shape: x });
  g.inputs.push(xv);
  const konst = (name: string, t: Tensor) => { const v = new Value(name, { dtype: 'float32', shape: t.shape.slice() }); v.const = t; g.constants.push(v); return v; };
  const ins = [xv, konst('w1', randT([cr, c, 1, 1], 3)), bias ? konst('b1', randT([cr], 4)) : null, konst('w2', randT([c, cr, 1, 1], 5)),
    ...(bias ? [konst('b2', randT([c], 6))] : [])];
  const y = new Value('y', { dtype: 'float32', shape: undefined });
  g.nodes.push(new Node({ op: 'SqueezeExcite', domain: 'aic', inputs: ins, outputs: [y], attrs }));
  g.outputs.push(y);
  inferGraph(g, { strict: true });
  return { g, feeds: new Map([['x', randT(x, 9)]]) };
}

describe('aic.SqueezeExcite', () => {
  it('hand-computed: X * HardSigmoid(W2 Relu(W1 mean(X) + B1) + B2)', () => {
    // channel means [2, 0]; W1 . [2, 0] + 0.5 = 2.5; relu 2.5; W2 * 2.5 = [1, -1]; hardsigmoid(0.2 x + 0.5) = [0.7, 0.3]
    const x = f32([1, 2, 1, 2], [1, 3, 2, -2]);
    const [y] = evalOp('SqueezeExcite', [x, f32([1, 2, 1, 1], [1, 1]), f32([1], [0.5]), f32([2, 1, 1, 1], [0.4, -0.4]), f32([2], [0, 0])],
      { activation: A.str('Relu'), gate: A.str('HardSigmoid'), gate_params: A.floats([0.2, 0.5]) }, aic);
    expect(y.shape).toEqual([1, 2, 1, 2]);
    expect(vals(y, 6)).toEqual([0.7, 2.1, 0.6, -0.6]);
  });
  it('equals GlobalAveragePool, FusedConv(Silu), FusedConv(Sigmoid), Mul', () => {
    const x = randT([2, 4, 3, 5], 1), w1 = randT([2, 4, 1, 1], 2), w2 = randT([4, 2, 1, 1], 3), b2 = randT([4], 4);
    const [y] = evalOp('SqueezeExcite', [x, w1, undefined, w2, b2], { activation: A.str('Silu'), gate: A.str('Sigmoid') }, aic);
    const [p] = evalOp('GlobalAveragePool', [x]);
    const [h] = evalOp('FusedConv', [p, w1], { activation: A.str('Silu') }, aic);
    const [s] = evalOp('FusedConv', [h, w2, b2], { activation: A.str('Sigmoid') }, aic);
    const [want] = evalOp('Mul', [x, s]);
    expect(vals(y)).toEqual(vals(want));
  });
  it('rejects a gate that changes the shape of X, and unknown activations', () => {
    const code = (f: () => unknown) => { try { f(); } catch (e) { return e instanceof AicError ? e.code : String(e); } return undefined; };
    const x = f32([1, 1, 1, 2], [1, 2]);
    const mismatch = code(() => evalOp('Add', [f32([2], [1, 2]), f32([3], [1, 2, 3])]));
    expect(code(() => evalOp('SqueezeExcite', [x, f32([1, 1, 1, 1], [1]), undefined, f32([3, 1, 1, 1], [1, 2, 3])], {}, aic))).toBe(mismatch);
    const unsupported = code(() => evalOp('Gelu', [x], { approximate: A.str('cubic') }));
    expect(code(() => evalOp('SqueezeExcite', [x, f32([1, 1, 1, 1], [1]), undefined, f32([1, 1, 1, 1], [1])], { gate: A.str('Swish') }, aic))).toBe(unsupported);
  });
});

describe('compute definitions (loop-IR interpreter, plain and default schedules)', () => {
  const check = (g: Graph, feeds: Map<string, Tensor>) => {
    const ref = vals(run(g, feeds).get('y') as Tensor);
    const plain = vals(runProgram(lowerGraph(g, C_CAPS), feeds).get('y')!);
    const p = lowerGraph(g, C_CAPS);
    rescheduleProgram(p, chooseSchedules(p, C_CAPS));
    const sched = vals(runProgram(p, feeds).get('y')!);
    expect(sched).toEqual(plain);
    ref.forEach((r, i) => expect(Math.abs(plain[i] - r), `[${i}]`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(r))));
    return p;
  };
  it('SqueezeExcite (Relu, HardSigmoid; with biases): four compute stages in one kernel', () => {
    const { g, feeds } = seGraph([1, 8, 5, 5], 2, { activation: A.str('Relu'), gate: A.str('HardSigmoid'), gate_params: A.floats([1 / 6, 0.5]) });
    const p = check(g, feeds);
    expect(p.kernels).toHaveLength(1);
    expect(p.sources.get(p.kernels[0].name)!.stages.map((s) => s.kind)).toEqual(['compute', 'compute', 'compute', 'compute']);
  });
  it('SqueezeExcite (Silu, Sigmoid; no biases), batch 2', () => {
    const { g, feeds } = seGraph([2, 16, 3, 4], 4, { activation: A.str('Silu'), gate: A.str('Sigmoid') }, false);
    check(g, feeds);
  });
  it('FusedConv with a Mish epilogue', () => {
    const g = new Graph('mish');
    const x = new Value('x', { dtype: 'float32', shape: [1, 4, 4, 4] });
    const w = new Value('w', { dtype: 'float32', shape: [8, 4, 1, 1] });
    w.const = randT([8, 4, 1, 1], 2);
    g.inputs.push(x);
    g.constants.push(w);
    const y = new Value('y', { dtype: 'float32', shape: undefined });
    g.nodes.push(new Node({ op: 'FusedConv', domain: 'aic', inputs: [x, w], outputs: [y], attrs: { activation: A.str('Mish') } }));
    g.outputs.push(y);
    inferGraph(g, { strict: true });
    check(g, new Map([['x', randT([1, 4, 4, 4], 7)]]));
  });
});
