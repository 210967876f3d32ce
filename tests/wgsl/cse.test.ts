/** WGSL statement CSE (codegen/wgsl/cse.ts): what gets a `let` before a store. */
import { describe, expect, it } from 'vitest';
import { E, printExpr } from '@aic/loop-ir';
import { ExprKeys, sharedSubexprs } from '../../codegen/wgsl/cse.ts';

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
