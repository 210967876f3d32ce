/**
 * Vectorization of `vectorized(L)` loops, shared by every renderer: the loop variable becomes a
 * ramp, operations on ramps/vectors become L-lane vector operations, register accumulators
 * allocated inside the loop get one slot per lane. Returns undefined when the body cannot be
 * vectorized (data-dependent branches, vector-valued lets...): renderers then emit the scalar loop.
 */
import { E, type Expr, type Stmt } from './ir.ts';

export function vectorizeLoop(loop: Extract<Stmt, { k: 'for' }>): Stmt | undefined {
  if (loop.kind.k !== 'vectorized') return undefined;
  const L = loop.kind.lanes;
  if (loop.ext.k !== 'const' || loop.ext.v !== L) return undefined;
  const widened = new Set<string>();
  try {
    return vecStmt(loop.body, { [loop.v]: E.ramp(E.i(0), 1, L) }, L, widened);
  } catch (e) {
    if (e instanceof NotVectorizable) return undefined;
    throw e;
  }
}

class NotVectorizable extends Error {}

function vecStmt(s: Stmt, env: Record<string, Expr>, L: number, widened: Set<string>): Stmt {
  switch (s.k) {
    case 'seq': return { k: 'seq', body: s.body.map((b) => vecStmt(b, env, L, widened)) };
    case 'store': {
      let idx = vecExpr(s.idx, env, L, widened);
      let val = vecExpr(s.val, env, L, widened);
      if (widened.has(s.buf)) idx = widenIdx(idx, L);
      if (idx.lanes === 1) {
        // a scalar location written by every lane: only valid if the value is the same for all lanes
        if (val.lanes !== 1) throw new NotVectorizable();
        return { ...s, idx, val };
      }
      if (val.lanes === 1) val = E.bcast(val, L);
      return { k: 'store', buf: s.buf, idx, val };
    }
    case 'for': {
      if (s.kind.k !== 'serial' && s.kind.k !== 'unrolled') throw new NotVectorizable();
      const ext = vecExpr(s.ext, env, L, widened);
      if (ext.lanes !== 1) throw new NotVectorizable();
      const inner = { ...env };
      delete inner[s.v];
      return { ...s, ext, body: vecStmt(s.body, inner, L, widened) };
    }
    case 'alloc': {
      if (s.buf.scope !== 'register' && s.buf.scope !== 'local') throw new NotVectorizable();
      widened.add(s.buf.name);
      const buf = { ...s.buf, shape: [s.buf.shape.reduce((a, b) => a * b, 1) * L] };
      return { k: 'alloc', buf, body: vecStmt(s.body, env, L, widened) };
    }
    case 'let': {
      const val = vecExpr(s.val, env, L, widened);
      if (val.lanes !== 1) {
        // substitute the vector value into the body instead of binding it
        return vecStmt(s.body, { ...env, [s.v]: val }, L, widened);
      }
      const inner = { ...env };
      delete inner[s.v];
      return { ...s, val, body: vecStmt(s.body, inner, L, widened) };
    }
    case 'if': {
      const c = vecExpr(s.c, env, L, widened);
      if (c.lanes !== 1) throw new NotVectorizable();
      return { k: 'if', c, then: vecStmt(s.then, env, L, widened), ...(s.else ? { else: vecStmt(s.else, env, L, widened) } : {}) };
    }
    case 'barrier': throw new NotVectorizable();
  }
}

/** Register buffer index i (scalar, same for all lanes) -> lane-private slots i*L + lane. */
function widenIdx(idx: Expr, L: number): Expr {
  if (idx.lanes !== 1) throw new NotVectorizable();
  return E.ramp(E.mul(idx, E.i(L)), 1, L);
}

function vecExpr(e: Expr, env: Record<string, Expr>, L: number, widened: Set<string>): Expr {
  switch (e.k) {
    case 'const': return e;
    case 'var': return env[e.name] ?? e;
    case 'load': {
      let idx = vecExpr(e.idx, env, L, widened);
      if (widened.has(e.buf)) idx = widenIdx(idx, L);
      return { ...e, idx, lanes: idx.lanes };
    }
    case 'bin': {
      const a = vecExpr(e.a, env, L, widened), b = vecExpr(e.b, env, L, widened);
      if (a.lanes === 1 && b.lanes === 1) return { ...e, a, b };
      // ramp arithmetic stays a ramp where it can (keeps loads contiguous)
      if (e.t === 'i32') {
        if (e.op === 'add' && a.k === 'ramp' && b.lanes === 1) return E.ramp(E.add(a.base, b), a.stride, L);
        if (e.op === 'add' && b.k === 'ramp' && a.lanes === 1) return E.ramp(E.add(a, b.base), b.stride, L);
        if (e.op === 'add' && a.k === 'ramp' && b.k === 'ramp') return E.ramp(E.add(a.base, b.base), a.stride + b.stride, L);
        if (e.op === 'sub' && a.k === 'ramp' && b.lanes === 1) return E.ramp(E.sub(a.base, b), a.stride, L);
        if (e.op === 'mul' && a.k === 'ramp' && b.k === 'const') return E.ramp(E.mul(a.base, b), a.stride * b.v, L);
        if (e.op === 'mul' && b.k === 'ramp' && a.k === 'const') return E.ramp(E.mul(b.base, a), b.stride * a.v, L);
      }
      return { ...e, a: a.lanes === 1 ? E.bcast(a, L) : a, b: b.lanes === 1 ? E.bcast(b, L) : b, lanes: L };
    }
    case 'un': { const x = vecExpr(e.x, env, L, widened); return { ...e, x, lanes: x.lanes }; }
    case 'call': {
      const args = e.args.map((a) => vecExpr(a, env, L, widened));
      if (args.every((a) => a.lanes === 1)) return { ...e, args };
      return { ...e, args: args.map((a) => (a.lanes === 1 ? E.bcast(a, L) : a)), lanes: L };
    }
    case 'select': {
      const c = vecExpr(e.c, env, L, widened), a = vecExpr(e.a, env, L, widened), b = vecExpr(e.b, env, L, widened);
      if (c.lanes === 1 && a.lanes === 1 && b.lanes === 1) return { ...e, c, a, b };
      const w = (x: Expr) => (x.lanes === 1 ? E.bcast(x, L) : x);
      return { ...e, c: w(c), a: w(a), b: w(b), lanes: L };
    }
    case 'cast': { const x = vecExpr(e.x, env, L, widened); return { ...e, x, lanes: x.lanes }; }
    case 'bcast': case 'ramp': throw new NotVectorizable();
    case 'reduce': throw new NotVectorizable();
  }
}
