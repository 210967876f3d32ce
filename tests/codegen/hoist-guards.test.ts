/** hoistGuards (codegen/lower/hoist-guards.ts): a guard leaves the loops it does not depend on, and no other. */
import { describe, expect, it } from 'vitest';
import { E, S, printKernel } from '@aic/loop-ir';
import { hoistGuards } from '../../codegen/lower/hoist-guards.ts';

const k = (body: Parameters<typeof hoistGuards>[0]) => printKernel({ name: 'k', params: [], body: hoistGuards(body) });

describe('hoistGuards', () => {
  it('moves a guard on the outer index out of the inner loop, and keeps one that reads the loop variable', () => {
    const store = S.store('out', E.add(E.mul(E.v('o'), E.i(16)), E.v('i')), E.c(1));
    const guarded = S.for('o', E.v('n'), S.for('i', 16, S.if(E.lt(E.v('o'), E.v('n')), store), { k: 'vectorized', lanes: 16 }));
    expect(k(guarded)).toBe(printKernel({ name: 'k', params: [], body: S.for('o', E.v('n'), S.if(E.lt(E.v('o'), E.v('n')), S.for('i', 16, store, { k: 'vectorized', lanes: 16 }))) }));
    const perLane = S.for('i', 16, S.if(E.lt(E.v('i'), E.v('n')), store));
    expect(k(perLane)).toBe(printKernel({ name: 'k', params: [], body: perLane }));
  });
});
