/**
 * aic.ChannelShuffle: hand-computed values, equality with Reshape -> Transpose -> Reshape, checks, and
 * its compute definition (plain and default schedules, loop-IR interpreter) against the reference.
 */
import { describe, expect, it } from 'vitest';
import { AicError, Graph, Node, Tensor, Value } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { C_CAPS, chooseSchedules, lowerGraph, rescheduleProgram, runProgram } from '@aic/codegen';
import { A, evalOp, f32, i64, vals } from '../helpers.ts';

const aic = { domain: 'aic' };
const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('aic.ChannelShuffle', () => {
  it('hand-computed: 6 channels in 2 groups -> 0 3 1 4 2 5', () => {
    const [y] = evalOp('ChannelShuffle', [f32([1, 6, 1, 1], iota(6))], { group: A.int(2) }, aic);
    expect(vals(y)).toEqual([0, 3, 1, 4, 2, 5]);
  });
  it('equals Reshape -> Transpose -> Reshape (3 groups, batch 2, 3-D spatial)', () => {
    const x = f32([2, 6, 2, 1, 3], iota(72));
    const [y] = evalOp('ChannelShuffle', [x], { group: A.int(3) }, aic);
    const [s] = evalOp('Reshape', [x, i64([6], [2, 3, 2, 2, 1, 3])], {}, { constIdx: [1] });
    const [t] = evalOp('Transpose', [s], { perm: A.ints([0, 2, 1, 3, 4, 5]) });
    const [want] = evalOp('Reshape', [t, i64([5], [2, 6, 2, 1, 3])], {}, { constIdx: [1] });
    expect(y.shape).toEqual([2, 6, 2, 1, 3]);
    expect(vals(y)).toEqual(vals(want));
  });
  it('rejects channels that do not split into the groups', () => {
    expect(() => evalOp('ChannelShuffle', [f32([1, 5, 1, 1], iota(5))], { group: A.int(2) }, aic)).toThrow(AicError);
    expect(() => evalOp('ChannelShuffle', [f32([1, 4, 1, 1], iota(4))], { group: A.int(0) }, aic)).toThrow(AicError);
  });
  it('several inputs and outputs: Concat -> shuffle -> equal parts; symbolic or mismatched inputs', () => {
    const a = f32([1, 4, 1, 1], iota(4)), b = f32([1, 2, 1, 1], [10, 11]);
    const [p, q] = evalOp('ChannelShuffle', [a, b], { group: A.int(2) }, { ...aic, outputs: 2 });
    // concat 0 1 2 3 10 11; output channel c reads (c mod 2) * 3 + c / 2: 0 3 1 10 2 11
    expect([...vals(p), ...vals(q)]).toEqual([0, 3, 1, 10, 2, 11]);
    const graph = (cx: number | string, dt: 'float32' | 'float16') => {
      const g = new Graph('s');
      const x = new Value('x', { dtype: 'float32', shape: [1, cx, 4, 4] }), y = new Value('y', { dtype: dt, shape: [1, 4, 4, 4] });
      const o1 = new Value('o1', { dtype: 'float32', shape: undefined }), o2 = new Value('o2', { dtype: 'float32', shape: undefined });
      g.inputs.push(x, y);
      g.nodes.push(new Node({ op: 'ChannelShuffle', domain: 'aic', inputs: [x, y], outputs: [o1, o2], attrs: { group: A.int(8) } }));
      g.outputs.push(o1, o2);
      return g;
    };
    // a symbolic count before a static one: the parts' channels are unknown, not the static input's
    const g = graph('C', 'float32');
    inferGraph(g);
    expect(g.outputs.map((o) => o.shape)).toEqual([undefined, undefined]);
    const s = graph(12, 'float32');
    inferGraph(s);
    expect(s.outputs.map((o) => o.shape)).toEqual([[1, 8, 4, 4], [1, 8, 4, 4]]);
    expect(() => inferGraph(graph(12, 'float16'), { strict: true })).toThrow(AicError);
  });
  it('compute definition: plain and scheduled equal the reference', () => {
    const g = new Graph('shuffle');
    const x = new Value('x', { dtype: 'float32', shape: [1, 8, 3, 4] });
    const y = new Value('y', { dtype: 'float32', shape: undefined });
    g.inputs.push(x);
    g.nodes.push(new Node({ op: 'ChannelShuffle', domain: 'aic', inputs: [x], outputs: [y], attrs: { group: A.int(4) } }));
    g.outputs.push(y);
    inferGraph(g, { strict: true });
    const feeds = new Map([['x', Tensor.fromNumbers('float32', [1, 8, 3, 4], iota(96))]]);
    const ref = vals(run(g, feeds).get('y') as Tensor);
    expect(vals(runProgram(lowerGraph(g, C_CAPS), feeds).get('y')!)).toEqual(ref);
    const p = lowerGraph(g, C_CAPS);
    rescheduleProgram(p, chooseSchedules(p, C_CAPS));
    expect(vals(runProgram(p, feeds).get('y')!)).toEqual(ref);
  });
});
