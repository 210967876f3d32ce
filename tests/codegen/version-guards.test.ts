/** versionGuards (codegen/lower/version-guards.ts): a guard-free copy of a tile for full tiles, the guarded one for the tail; same results. */
import { describe, expect, it } from 'vitest';
import { E, S, printKernel, printStmt, runKernel, type Stmt } from '@aic/loop-ir';
import { versionGuards } from '../../codegen/lower/version-guards.ts';

const n = E.v('n');
// out[o*16 + i] = o*16 + i + 1 for o < ceil(n/16), i < 16, guarded by o*16 + i < n (a split with a guarded tail)
const idx = E.add(E.mul(E.v('o'), E.i(16)), E.v('i'));
const store = S.store('out', idx, E.add(E.cast(idx, 'f32'), E.c(1)));
const tile = (body: Stmt) => S.for('o', E.div(E.add(n, E.i(15)), E.i(16)), S.for('i', 16, body, { k: 'vectorized', lanes: 16 }));
const guarded = tile(S.if(E.lt(idx, n), store));

function run(body: Stmt, nv: number): number[] {
  const out = new Float32Array(64);
  runKernel({ name: 'k', params: [], body: S.let('n', 'i32', E.i(nv), body) }, { out });
  return Array.from(out);
}

describe('versionGuards', () => {
  it('checks the guard once at the tile\'s last lane: the full tile without it, the tail as before', () => {
    const v = versionGuards(guarded);
    const fast = S.for('i', 16, store, { k: 'vectorized', lanes: 16 });
    const slow = S.for('i', 16, S.if(E.lt(idx, n), store), { k: 'vectorized', lanes: 16 });
    const once = E.lt(E.add(E.mul(E.v('o'), E.i(16)), E.i(15)), n);
    const want = S.for('o', E.div(E.add(n, E.i(15)), E.i(16)), S.if(once, fast, slow));
    expect(printStmt(v).join('\n')).toBe(printStmt(want).join('\n'));
  });

  it('gives the same results at every extent, tail or none', () => {
    const v = versionGuards(guarded);
    for (const nv of [1, 7, 15, 16, 17, 33, 48, 64]) expect(run(v, nv)).toEqual(run(guarded, nv));
    expect(run(v, 17).slice(0, 18)).toEqual([...Array.from({ length: 17 }, (_, i) => i + 1), 0]);
  });

  it('in the tail, a vector loop whose lanes all pass runs unguarded (a 32-wide tile of two vectors at n = 20)', () => {
    const at = (h: number) => E.add(E.add(E.mul(E.v('o'), E.i(32)), E.i(h)), E.v('i'));
    const half = (h: number) => S.for('i', 16, S.if(E.lt(at(h), n), S.store('out', at(h), E.add(E.cast(at(h), 'f32'), E.c(1)))), { k: 'vectorized', lanes: 16 });
    const wide = S.for('o', E.div(E.add(n, E.i(31)), E.i(32)), S.seq(half(0), half(16)));
    const v = versionGuards(wide);
    const text = printStmt(v).join('\n');
    expect(text).toContain('if ((((o * 32) + 16) + 15) < n)');
    expect(text).toContain('if ((((o * 32) + 0) + 15) < n)');
    for (const nv of [1, 16, 20, 32, 33, 64]) expect(run(v, nv)).toEqual(run(wide, nv));
  });

  it('keeps a guard it cannot check once (a let-bound index, a load) and static loops alone', () => {
    const viaLet = tile(S.let('j', 'i32', idx, S.if(E.lt(E.v('j'), n), S.store('out', E.v('j'), E.c(1)))));
    expect(printKernel({ name: 'k', params: [], body: versionGuards(viaLet) })).toBe(printKernel({ name: 'k', params: [], body: viaLet }));
    const viaLoad = tile(S.if(E.lt(E.load('lim', E.i(0), 'i32'), n), store));
    expect(printKernel({ name: 'k', params: [], body: versionGuards(viaLoad) })).toBe(printKernel({ name: 'k', params: [], body: viaLoad }));
    const fixed = S.for('o', 4, S.for('i', 16, S.if(E.lt(idx, E.i(60)), store)));
    expect(versionGuards(fixed)).toEqual(fixed);
  });
});
