// The memory plan's in-place rule (codegen/memory/plan.ts elementwiseSafe): an output may take over
// an input's memory only when every element is read at the index it is written at, exactly once.
import { describe, expect, it } from 'vitest';
import { E, S, type Buffer, type Kernel } from '@aic/loop-ir';
import { elementwiseSafe } from '../../codegen/memory/plan.ts';

const buf = (name: string, role: Buffer['role']): Buffer => ({ name, dtype: 'f32', shape: [10], scope: 'global', role });
const kernel = (idx: (o: ReturnType<typeof E.v>, i: ReturnType<typeof E.v>) => ReturnType<typeof E.v>): Kernel => {
  const o = E.v('i_o'), i = E.v('i_i');
  const at = idx(o, i);
  return {
    name: 'k_add', params: [buf('in0', 'input'), buf('in1', 'input'), buf('out0', 'output')],
    body: S.for('i_o', 3, S.for('i_i', 4, S.store('out0', at, E.add(E.load('in0', at, 'f32'), E.load('in1', at, 'f32'))))),
  };
};

describe('memory plan: in place', () => {
  it('an elementwise add split with a guard-free exact tiling may write over its input', () => {
    expect(elementwiseSafe(kernel((o, i) => E.add(E.mul(o, E.i(4)), i)), 'in0', 'out0')).toBe(true);
  });

  it('a clamped split (overlapping last block, stored twice) may not: the second pass would read what the first overwrote', () => {
    // 10 elements in blocks of 4: the last block starts at min(o*4, 6), re-computing elements 6 and 7
    const k = kernel((o, i) => E.add(E.min(E.mul(o, E.i(4)), E.i(6)), i));
    expect(elementwiseSafe(k, 'in0', 'out0')).toBe(false);
    // run it over one buffer to show why: in place, elements 6 and 7 get in1 added twice
    const mem = Array.from({ length: 10 }, (_, j) => j), one = Array(10).fill(1);
    for (let o = 0; o < 3; o++) for (let i = 0; i < 4; i++) { const j = Math.min(o * 4, 6) + i; mem[j] = mem[j]! + one[j]!; }
    expect(mem.slice(6, 8)).toEqual([8, 9]);
  });
});
