/** Statement CSE (packages/loop-ir/src/cse.ts): what WGSL binds to a `let` before a store, and C to a const. */
import { describe, expect, it } from 'vitest';
import { E, ExprKeys, printExpr, repeatedSubexprs, sharedSubexprs, type Expr } from '@aic/loop-ir';

describe('WGSL common subexpressions', () => {
  it('binds repeated non-leaf subtrees once, children first; insides of a repeated subtree count once', () => {
    const x = () => E.div(E.load('a', E.add(E.v('i'), E.i(1)), 'f32'), E.c(1.5));
    const y = () => E.mul(x(), x());
    const root = E.add(E.mul(y(), E.load('b', E.v('i'), 'f32')), y());
    const got = sharedSubexprs([root], new ExprKeys()).map(printExpr);
    expect(got).toEqual(['(a[(i + 1)] / 1.5:f32)', '((a[(i + 1)] / 1.5:f32) * (a[(i + 1)] / 1.5:f32))']);
  });

  it('leaves runtime checks where they are (a select branch not taken must not report)', () => {
    const chk = () => E.load('a', E.call('check_index', E.load('ind', E.v('i'), 'i32'), E.i(4)), 'f32');
    const root = E.select(E.lt(E.v('i'), E.i(2)), E.add(chk(), chk()), E.c(0));
    expect(sharedSubexprs([root], new ExprKeys())).toEqual([]);
  });
});

describe('C common subexpressions (repeatedSubexprs)', () => {
  /** HardSwish-like: x * clamp(x / 6 + 0.5), its input a chain that reads its own input 3 times, nested n deep */
  const chain = (n: number, leaf: Expr): Expr => {
    let e = leaf;
    for (let k = 0; k < n; k++) {
      const t = E.add(E.div(e, E.c(6)), E.c(0.5));
      e = E.mul(e, E.select(E.lt(t, E.c(1)), t, E.c(1)));
    }
    return e;
  };
  const store = (val: Expr) => ({ k: 'store' as const, buf: 'o', idx: E.v('i'), val });

  it('binds the shared subtrees of a store whose tree repeats much, children first; plain statements get none', () => {
    const got = repeatedSubexprs(store(chain(4, E.load('a', E.v('i'), 'f32'))), new ExprKeys());
    expect(got.length).toBeGreaterThan(3);
    expect(printExpr(got[0]!)).toBe('a[i]');
    expect(repeatedSubexprs(store(chain(1, E.load('a', E.v('i'), 'f32'))), new ExprKeys())).toEqual([]);
  });

  it('never binds a load that occurs only under a select arm (its guard may keep it from its buffer); the select itself may be', () => {
    const guarded = E.select(E.lt(E.v('i'), E.i(4)), E.load('a', E.v('i'), 'f32'), E.c(0));
    const got = repeatedSubexprs(store(chain(4, guarded)), new ExprKeys()).map(printExpr);
    expect(got).not.toContain('a[i]');
    expect(got[0]).toBe(printExpr(guarded));
  });
});
