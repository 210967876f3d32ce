/**
 * aic.GlobalAveragePoolFlatten = Flatten(GlobalAveragePool(X)): equal to the two ops in the
 * interpreter, and its compute definition (GlobalAveragePool's, written as [N, C]) equal to the
 * unfused pair's kernels through the loop-IR interpreter, plain and under the default schedules.
 */
import { describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { C_CAPS, chooseSchedules, lowerGraph, rescheduleProgram, runProgram } from '@aic/codegen';
import { evalOp, f32, vals } from '../helpers.ts';

const wave = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 3);

function graph(fused: boolean): Graph {
  const g = new Graph('head');
  const x = new Value('x', { dtype: 'float32', shape: [2, 3, 4, 5] });
  const y = new Value('y', { dtype: 'float32', shape: undefined });
  g.inputs.push(x);
  if (fused) g.nodes.push(new Node({ op: 'GlobalAveragePoolFlatten', domain: 'aic', inputs: [x], outputs: [y] }));
  else {
    const p = new Value('p', { dtype: 'float32', shape: undefined });
    g.nodes.push(new Node({ op: 'GlobalAveragePool', inputs: [x], outputs: [p] }), new Node({ op: 'Flatten', inputs: [p], outputs: [y] }));
  }
  g.outputs.push(y);
  inferGraph(g, { strict: true });
  return g;
}

describe('aic.GlobalAveragePoolFlatten', () => {
  it('equals GlobalAveragePool -> Flatten (interpreter)', () => {
    const x = f32([2, 3, 4, 5], wave(120));
    const [y] = evalOp('GlobalAveragePoolFlatten', [x], {}, { domain: 'aic' });
    const [want] = evalOp('Flatten', [evalOp('GlobalAveragePool', [x])[0]]);
    expect(y.shape).toEqual([2, 3]);
    expect(vals(y)).toEqual(vals(want));
  });
  it('compute definition: the same values as the unfused kernels, plain and scheduled', () => {
    const feeds = new Map([['x', Tensor.fromNumbers('float32', [2, 3, 4, 5], wave(120))]]);
    const want = vals(runProgram(lowerGraph(graph(false), C_CAPS), feeds).get('y')!);
    expect(vals(runProgram(lowerGraph(graph(true), C_CAPS), feeds).get('y')!)).toEqual(want);
    const p = lowerGraph(graph(true), C_CAPS);
    rescheduleProgram(p, chooseSchedules(p, C_CAPS));
    expect(vals(runProgram(p, feeds).get('y')!)).toEqual(want);
    expect(p.kernels).toHaveLength(1);
  });
});
