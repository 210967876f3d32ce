/**
 * Runtime checks out of inner loops: a check (checks.ts) whose operands do not change inside a loop
 * is evaluated once before it, bound by a `let` (Gather's index check then runs per row, not per
 * element of the vectorized row). Only from loops that run at least once (constant extent >= 1) and
 * only checks every iteration evaluates (not under an `if` or a `select` branch, nor in a loop that
 * may not run), so the same checks fail as before.
 */
import { E, S, mapExpr, walkExpr, walkStmt, type Expr, type Stmt } from './ir.ts';
import { isCheck } from './checks.ts';

export function hoistChecks(s: Stmt, fresh: (p: string) => string): Stmt {
  switch (s.k) {
    case 'seq': return { ...s, body: s.body.map((b) => hoistChecks(b, fresh)) };
    case 'if': return { ...s, then: hoistChecks(s.then, fresh), ...(s.else ? { else: hoistChecks(s.else, fresh) } : {}) };
    case 'alloc': case 'let': return { ...s, body: hoistChecks(s.body, fresh) };
    case 'for': {
      const loop = { ...s, body: hoistChecks(s.body, fresh) };
      if (loop.kind.k === 'gpu' || loop.kind.k === 'parallel' || loop.ext.k !== 'const' || loop.ext.v < 1) return loop;
      return hoistOutOf(loop, fresh);
    }
    default: return s;
  }
}

function hoistOutOf(loop: Extract<Stmt, { k: 'for' }>, fresh: (p: string) => string): Stmt {
  // what the loop binds and writes: a check reading any of it stays inside
  const bound = new Set<string>([loop.v]), written = new Set<string>();
  walkStmt(loop.body, (x) => {
    if (x.k === 'for' || x.k === 'let') bound.add(x.v);
    if (x.k === 'store') written.add(x.buf);
    if (x.k === 'alloc') written.add(x.buf.name);
  });
  const invariant = (e: Expr) => {
    let ok = true;
    walkExpr(e, (x) => {
      if (x.k === 'var' && bound.has(x.name)) ok = false;
      if (x.k === 'load' && written.has(x.buf)) ok = false;
      if (x.k === 'reduce') ok = false;
    });
    return ok;
  };
  const found: Expr[] = [];
  collect(loop.body, (e) => { if (invariant(e) && !found.some((f) => same(f, e))) found.push(e); });
  if (!found.length) return loop;
  const names = found.map(() => fresh('chk'));
  const sub = (e: Expr) => mapExpr(e, (x) => {
    const i = found.findIndex((f) => same(f, x));
    return i >= 0 ? E.v(names[i]!, x.t) : x;
  });
  let out: Stmt = { ...loop, body: mapStmtExprs(loop.body, sub) };
  for (let i = found.length - 1; i >= 0; i--) out = S.let(names[i]!, found[i]!.t, found[i]!, out);
  return out;
}

/** Scalar check calls every iteration of the enclosing loop evaluates (outermost first). */
function collect(s: Stmt, f: (e: Expr) => void): void {
  const inExpr = (e: Expr): void => {
    if (e.lanes === 1 && e.k === 'call' && isCheck(e.fn)) { f(e); return; }
    if (e.k === 'select') { inExpr(e.c); return; }
    switch (e.k) {
      case 'load': inExpr(e.idx); return;
      case 'bin': inExpr(e.a); inExpr(e.b); return;
      case 'un': case 'cast': case 'bcast': inExpr(e.x); return;
      case 'call': e.args.forEach(inExpr); return;
      case 'ramp': inExpr(e.base); return;
      default: return;
    }
  };
  switch (s.k) {
    case 'seq': s.body.forEach((b) => collect(b, f)); return;
    case 'store': inExpr(s.idx); inExpr(s.val); return;
    case 'if': inExpr(s.c); return;
    case 'let': inExpr(s.val); collect(s.body, f); return;
    case 'alloc': collect(s.body, f); return;
    case 'for': inExpr(s.ext); if (s.ext.k === 'const' && s.ext.v >= 1 && s.kind.k !== 'gpu') collect(s.body, f); return;
    default: return;
  }
}

function mapStmtExprs(s: Stmt, f: (e: Expr) => Expr): Stmt {
  switch (s.k) {
    case 'seq': return { ...s, body: s.body.map((b) => mapStmtExprs(b, f)) };
    case 'store': return { ...s, idx: f(s.idx), val: f(s.val) };
    case 'if': return { ...s, c: f(s.c), then: mapStmtExprs(s.then, f), ...(s.else ? { else: mapStmtExprs(s.else, f) } : {}) };
    case 'let': return { ...s, val: f(s.val), body: mapStmtExprs(s.body, f) };
    case 'alloc': return { ...s, body: mapStmtExprs(s.body, f) };
    case 'for': return { ...s, ext: f(s.ext), body: mapStmtExprs(s.body, f) };
    default: return s;
  }
}

/** structural equality of expressions */
function same(a: Expr, b: Expr): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
