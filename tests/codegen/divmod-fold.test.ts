/**
 * pack.ts simplifyDivMod: (x*B + i) / B -> x and % B -> i where 0 <= i < B is a loop variable of
 * extent <= B, or f % c (c <= B) of a non-negative f: a fused loop's inner part (`fuse kw, ci_i` in
 * a blocked conv: (ci_o*4 + f % 4) / 4 is ci_o, so the fused loop's addresses stay linear in f).
 */
import { describe, expect, it } from 'vitest';
import { E, S, printStmt, type Stmt } from '@aic/loop-ir';
import { simplifyDivMod } from '../../codegen/schedule/pack.ts';

const store = (idx: ReturnType<typeof E.i>): Stmt => S.for('o', 8, S.for('f', 12, S.store('y', idx, E.c(1, 'f32'))));
const text = (s: Stmt) => printStmt(simplifyDivMod(s)).join('\n');

describe('simplifyDivMod', () => {
  it('folds a fused loop\'s f % c inside a block of B >= c', () => {
    const ch = E.add(E.mul(E.v('o'), E.i(4)), E.mod(E.v('f'), E.i(4)));
    const t = text(store(E.add(E.mul(E.div(ch, E.i(4)), E.i(100)), E.mod(ch, E.i(4)))));
    expect(t).toContain('y[((o * 100) + (f % 4))]');
    // a block of 8 from lanes of 4: / 8 -> o / 2, % 8 -> (o % 2) * 4 + f % 4
    const t8 = text(store(E.add(E.mul(E.div(ch, E.i(8)), E.i(100)), E.mod(ch, E.i(8)))));
    expect(t8).toContain('y[(((o / 2) * 100) + (((o % 2) * 4) + (f % 4)))]');
  });
  it('keeps f % c when c exceeds the block, and a possibly negative f', () => {
    const wide = E.add(E.mul(E.v('o'), E.i(4)), E.mod(E.v('f'), E.i(5)));
    expect(text(store(E.div(wide, E.i(4))))).toContain('(((o * 4) + (f % 5)) / 4)');
    const neg = E.add(E.mul(E.v('o'), E.i(4)), E.mod(E.sub(E.v('f'), E.i(3)), E.i(4)));
    expect(text(store(E.div(neg, E.i(4))))).toContain('/ 4)');
  });
});
