/** Algebraic simplification of index and scalar expressions (constant folding, x*1, x+0, ...). */
import { E, mapExpr, mapStmt, type Expr, type Stmt } from './ir.ts';

type C = Extract<Expr, { k: 'const' }>;
const isC = (e: Expr, v?: number): boolean => e.k === 'const' && e.lanes === 1 && (v === undefined || e.v === v);
const cv = (e: Expr): number => (e as C).v;

const CMP: Partial<Record<string, (a: number, b: number) => boolean>> = {
  eq: (a, b) => a === b, ne: (a, b) => a !== b, lt: (a, b) => a < b, le: (a, b) => a <= b, gt: (a, b) => a > b, ge: (a, b) => a >= b,
};
/** a scalar bool constant's truth, or undefined */
const truth = (e: Expr): boolean | undefined => (e.k === 'const' && e.lanes === 1 && e.t === 'bool' ? e.v !== 0 : undefined);

/** One rewrite of node x, whose operands are simplified already (x itself when no rule applies). */
function rewrite(x: Expr): Expr {
  // comparisons of index constants and selects on a known condition (unrolled lanes of a Concat's
  // or a channel shuffle's parts: each lane's part is known once the channel is)
  if (x.k === 'bin' && x.t === 'bool' && CMP[x.op] && x.a.t === 'i32' && isC(x.a) && isC(x.b)) return E.c(CMP[x.op]!(cv(x.a), cv(x.b)) ? 1 : 0, 'bool');
  if (x.k === 'select' && truth(x.c) !== undefined) return truth(x.c) ? x.a : x.b;
  if (x.k !== 'bin' || x.t !== 'i32') return x;
  const { a, b } = x;
  if (isC(a) && isC(b)) {
    switch (x.op) {
      case 'add': return E.i((cv(a) + cv(b)) | 0);
      case 'sub': return E.i((cv(a) - cv(b)) | 0);
      case 'mul': return E.i(Math.imul(cv(a), cv(b)));
      case 'div': return cv(b) !== 0 ? E.i(Math.trunc(cv(a) / cv(b))) : x;
      case 'mod': return cv(b) !== 0 ? E.i(cv(a) % cv(b)) : x;
      case 'min': return E.i(Math.min(cv(a), cv(b)));
      case 'max': return E.i(Math.max(cv(a), cv(b)));
      default: return x;
    }
  }
  switch (x.op) {
    case 'add':
      if (isC(a, 0)) return b;
      if (isC(b, 0)) return a;
      // (y + c1) + c2 -> y + (c1 + c2)
      if (isC(b) && a.k === 'bin' && a.op === 'add' && isC(a.b)) return E.add(a.a, E.i((cv(a.b) + cv(b)) | 0));
      if (isC(a) && !isC(b)) return E.add(b, a);
      return x;
    case 'sub':
      if (isC(b, 0)) return a;
      return x;
    case 'mul':
      if (isC(a, 1)) return b;
      if (isC(b, 1)) return a;
      if (isC(a, 0) || isC(b, 0)) return E.i(0);
      if (isC(a) && !isC(b)) return E.mul(b, a);
      return x;
    case 'div':
      if (isC(b, 1)) return a;
      return x;
    case 'mod':
      if (isC(b, 1)) return E.i(0);
      return x;
    default:
      return x;
  }
}

/**
 * x rewritten until no rule applies. Its operands are simplified already (mapExpr goes bottom-up) and
 * every rule's result has simplified operands too ((y + c1) + c2 -> y + c: y and c are), so the node
 * alone needs another look (y + 0 after c1 + c2 = 0; a commuted constant that now folds).
 */
function simplifyNode(x: Expr): Expr {
  for (let y = rewrite(x); y !== x; y = rewrite(x)) x = y;
  return x;
}

export function simplifyExpr(e: Expr): Expr {
  return mapExpr(e, simplifyNode);
}

export function simplifyStmt(s: Stmt): Stmt {
  // mapStmt maps every sub-expression bottom-up: the node rule at each (simplifyExpr at each would
  // simplify every subtree again at every node above it, quadratic in an expression's depth)
  return mapStmt(s, simplifyNode, (st) => {
    // drop loops of extent 1: substitute 0
    if (st.k === 'for' && st.ext.k === 'const' && st.ext.v === 1 && st.kind.k === 'serial') {
      return mapStmt(st.body, (e) => (e.k === 'var' && e.name === st.v ? E.i(0) : e));
    }
    if (st.k === 'if' && truth(st.c) !== undefined) return truth(st.c) ? st.then : (st.else ?? { k: 'seq', body: [] });
    if (st.k === 'seq') {
      const body = st.body.flatMap((b) => (b.k === 'seq' ? b.body : [b]));
      return { k: 'seq', body };
    }
    return st;
  });
}
