/**
 * aic.FusedGemm with flatten_a = 1 reads A as Flatten(A, axis = 1): equal to Flatten then Gemm in the
 * interpreter, and its compute definition (plain and default schedules, loop-IR interpreter) too.
 */
import { describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { C_CAPS, chooseSchedules, lowerGraph, rescheduleProgram, runProgram } from '@aic/codegen';
import { A, evalOp, f32, vals } from '../helpers.ts';

const wave = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(i * k) * 2);

describe('aic.FusedGemm flatten_a', () => {
  const x = f32([2, 3, 2, 2], wave(24, 0.7)), w = f32([5, 12], wave(60, 1.3)), b = f32([5], wave(5, 2.1));
  it('equals Flatten -> Gemm -> Relu', () => {
    const [y] = evalOp('FusedGemm', [x, w, b], { transB: A.int(1), flatten_a: A.int(1), activation: A.str('Relu') }, { domain: 'aic' });
    const [f] = evalOp('Flatten', [x]);
    const [want] = evalOp('Relu', [evalOp('Gemm', [f, w, b], { transB: A.int(1) })[0]]);
    expect(y.shape).toEqual([2, 5]);
    expect(vals(y)).toEqual(vals(want));
  });
  it('compute definition: plain and scheduled equal the reference', () => {
    const g = new Graph('fc');
    const xv = new Value('x', { dtype: 'float32', shape: [2, 3, 2, 2] });
    const wv = new Value('w', { dtype: 'float32', shape: [5, 12] });
    wv.const = w;
    const y = new Value('y', { dtype: 'float32', shape: undefined });
    g.inputs.push(xv);
    g.constants.push(wv);
    g.nodes.push(new Node({ op: 'FusedGemm', domain: 'aic', inputs: [xv, wv], outputs: [y], attrs: { transB: A.int(1), flatten_a: A.int(1) } }));
    g.outputs.push(y);
    inferGraph(g, { strict: true });
    const feeds = new Map<string, Tensor>([['x', x]]);
    const ref = vals(run(g, feeds).get('y') as Tensor);
    const plain = vals(runProgram(lowerGraph(g, C_CAPS), feeds).get('y')!);
    const p = lowerGraph(g, C_CAPS);
    rescheduleProgram(p, chooseSchedules(p, C_CAPS));
    expect(vals(runProgram(p, feeds).get('y')!)).toEqual(plain);
    ref.forEach((r, i) => expect(Math.abs(plain[i] - r)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(r))));
  });
});
