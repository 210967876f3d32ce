/** peelSplitGuards (codegen/schedule/peel-guards.ts): the whole blocks of a split loop run unguarded, the partial last one keeps its guard; results unchanged. */
import { describe, expect, it } from 'vitest';
import { E, S, printKernel, runKernel, type Kernel, type Stmt } from '@aic/loop-ir';
import { peelSplitGuards } from '../../codegen/schedule/peel-guards.ts';

// out[j] += in[r] * (r + 1) for r < 10, the reduction split by 4 (3 blocks, the last one partial);
// in[10], in[11] are NaN, so a lane read past the guard would show
const r = E.add(E.mul(E.v('o'), E.i(4)), E.v('i'));
const body = (guard: boolean): Stmt => S.for('i', 4, S.for('j', 3, (() => {
  const st = S.store('out', E.v('j'), E.add(E.load('out', E.v('j'), 'f32'), E.mul(E.load('in', r, 'f32'), E.cast(E.add(r, E.i(1)), 'f32'))));
  return guard ? S.if(E.lt(r, E.i(10)), st) : st;
})(), { k: 'unrolled' }));
const kernel = (b: Stmt): Kernel => ({ name: 'k', params: [], body: b });
const run = (k: Kernel) => {
  const mem = { in: Float32Array.from({ length: 12 }, (_, q) => (q < 10 ? q * 0.5 - 1 : NaN)), out: new Float32Array(3) };
  expect(runKernel(k, mem)).toBeUndefined();
  return Array.from(mem.out);
};

describe('peelSplitGuards', () => {
  it('peels the partial last block and keeps the results', () => {
    const k = kernel(S.for('o', 3, body(true)));
    const p = peelSplitGuards(k);
    const text = printKernel(p);
    expect(text).toContain('for o in 0..2 {');
    expect(text.split('< 10').length - 1).toBe(1); // one guard left, in the peeled last block
    expect(text.split('\n').filter((l) => l.includes('if')).length).toBe(1);
    expect(run(p)).toEqual(run(k));
    expect(run(p)[0]).not.toBeNaN();
  });
  it('leaves loops alone when the guard variable may run past the block', () => {
    const wide = kernel(S.for('o', 3, S.for('i', 5, S.if(E.lt(r, E.i(10)), S.store('out', E.i(0), E.c(1))))));
    expect(printKernel(peelSplitGuards(wide))).toBe(printKernel(wide));
  });
});
