/**
 * Guards of split loops moved out of the loops they do not depend on: `for v { if (c) B }` with c free
 * of v (and of loads) becomes `if (c) { for v { B } }`, innermost first. Realization puts a split's
 * guard around the innermost body; along a run-time extent (lower/extents.ts) that leaves a branch
 * inside register tiles and vector loops, which hoisting takes out. Results are unchanged: the loop
 * runs the same iterations where c holds and none where it does not.
 */
import { S, mapStmt, walkExpr, type Expr, type Stmt } from '@aic/loop-ir';

function uses(e: Expr, v: string): boolean {
  let r = false;
  walkExpr(e, (x) => { if ((x.k === 'var' && x.name === v) || x.k === 'load') r = true; });
  return r;
}

export function hoistGuards(s: Stmt): Stmt {
  return mapStmt(s, (e) => e, (x) => {
    if (x.k !== 'for') return x;
    const b = x.body.k === 'seq' && x.body.body.length === 1 ? x.body.body[0]! : x.body;
    if (b.k !== 'if' || b.else || uses(b.c, x.v)) return x;
    return S.if(b.c, { ...x, body: b.then });
  });
}
