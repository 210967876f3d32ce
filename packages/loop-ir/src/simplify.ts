/** Algebraic simplification of index and scalar expressions (constant folding, x*1, x+0, ...). */
import { E, mapExpr, mapStmt, type Expr, type Stmt } from './ir.ts';

type C = Extract<Expr, { k: 'const' }>;
const isC = (e: Expr, v?: number): boolean => e.k === 'const' && e.lanes === 1 && (v === undefined || e.v === v);
const cv = (e: Expr): number => (e as C).v;

export function simplifyExpr(e: Expr): Expr {
  return mapExpr(e, (x) => {
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
  });
}

export function simplifyStmt(s: Stmt): Stmt {
  return mapStmt(s, (x) => simplifyExpr(x) === x ? x : simplifyExpr(x), (st) => {
    // drop loops of extent 1: substitute 0
    if (st.k === 'for' && st.ext.k === 'const' && st.ext.v === 1 && st.kind.k === 'serial') {
      return mapStmt(st.body, (e) => (e.k === 'var' && e.name === st.v ? E.i(0) : e));
    }
    if (st.k === 'seq') {
      const body = st.body.flatMap((b) => (b.k === 'seq' ? b.body : [b]));
      return { k: 'seq', body };
    }
    return st;
  });
}
