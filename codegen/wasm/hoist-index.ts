/**
 * Loop-invariant parts of memory indices, computed once before their loop (V8's optimizing tier
 * does not move them: a direct conv's tap loop re-added six invariant address terms, some reloaded
 * from the stack, for every seven multiply-adds). Runs on a prepared kernel body (unrolled loops
 * expanded, vector loops turned into vector code): for each serial loop, every load / store index
 * (a scalar index, or the base of a ramp) is split as a sum of terms coef * atom + c; the terms
 * whose atoms use no variable bound inside the loop (its own, inner loops', inner lets') are bound
 * to one i32 `let` just outside the loop, shared by every index with the same invariant sum, when
 * there are at least two such terms or one scaled term. Applied from the outer loops in, an inner
 * loop's invariant part is the outer let plus the outer loop's own term. Indices keep their value
 * modulo 2^32 (additions and multiplications by constants distribute), so addresses are unchanged.
 * Atoms with loads (gathered indices) or divisions by a non-constant are never moved.
 */
import { E, type Expr, type Stmt } from '@aic/loop-ir';

export interface Term { atom: Expr; k: number; key: string }

const keyOf = (e: Expr): string => JSON.stringify(e);

function cval(e: Expr): number | undefined {
  if (e.lanes !== 1 || e.t !== 'i32') return undefined;
  if (e.k === 'const') return e.v;
  if (e.k === 'bin' && (e.op === 'add' || e.op === 'sub' || e.op === 'mul')) {
    const a = cval(e.a), b = cval(e.b);
    if (a === undefined || b === undefined) return undefined;
    return e.op === 'add' ? (a + b) | 0 : e.op === 'sub' ? (a - b) | 0 : Math.imul(a, b);
  }
  return undefined;
}

/**
 * e = sum k * atom + c over i32, terms sorted by key (undefined: not a plain i32 index, or over 200
 * nodes). `fold` evaluates constant subexpressions, `key` names atoms (equal keys merge). Shared with
 * the emitter's address split (address.ts linearize).
 */
export function linearTerms(e: Expr, fold: (e: Expr) => number | undefined, key: (e: Expr) => string): { ts: Term[]; c: number } | undefined {
  if (e.lanes !== 1 || e.t !== 'i32') return undefined;
  const ts = new Map<string, Term>();
  let c = 0, nodes = 0;
  const walk = (x: Expr, k: number): boolean => {
    if (++nodes > 200) return false;
    const v = fold(x);
    if (v !== undefined) { c = (c + Math.imul(v, k)) | 0; return true; }
    if (x.k === 'bin' && x.t === 'i32' && (x.op === 'add' || x.op === 'sub')) return walk(x.a, k) && walk(x.b, x.op === 'sub' ? -k : k);
    if (x.k === 'bin' && x.t === 'i32' && x.op === 'mul') {
      const kb = fold(x.b), ka = fold(x.a);
      if (kb !== undefined) return walk(x.a, Math.imul(k, kb));
      if (ka !== undefined) return walk(x.b, Math.imul(k, ka));
    }
    const kk = key(x);
    const t = ts.get(kk);
    if (t) t.k = (t.k + k) | 0; else ts.set(kk, { atom: x, k, key: kk });
    return true;
  };
  if (!walk(e, 1)) return undefined;
  return { ts: [...ts.values()].filter((t) => t.k !== 0).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)), c };
}
const terms = (e: Expr) => linearTerms(e, cval, keyOf);

/** can an atom be computed outside its loop? (no loads, no division by a non-constant) */
function movable(e: Expr): boolean {
  switch (e.k) {
    case 'const': case 'var': return true;
    case 'bin': return (e.op === 'div' || e.op === 'mod' ? e.b.k === 'const' && e.b.v !== 0 : true) && movable(e.a) && movable(e.b);
    case 'un': case 'cast': return movable(e.x);
    default: return false;
  }
}

function varsOf(e: Expr, out: Set<string>): Set<string> {
  if (e.k === 'var') out.add(e.name);
  switch (e.k) {
    case 'bin': varsOf(e.a, out); varsOf(e.b, out); break;
    case 'un': case 'cast': case 'bcast': varsOf(e.x, out); break;
    case 'select': varsOf(e.c, out); varsOf(e.a, out); varsOf(e.b, out); break;
    case 'load': varsOf(e.idx, out); break;
    case 'call': e.args.forEach((a) => varsOf(a, out)); break;
    case 'ramp': varsOf(e.base, out); break;
    case 'reduce': varsOf(e.body, out); break;
    default: break;
  }
  return out;
}

/** variables bound inside s (loop variables and lets; a loop's own variable too) */
export function bound(s: Stmt, out = new Set<string>()): Set<string> {
  switch (s.k) {
    case 'for': out.add(s.v); bound(s.body, out); break;
    case 'let': out.add(s.v); bound(s.body, out); break;
    case 'alloc': bound(s.body, out); break;
    case 'seq': s.body.forEach((b) => bound(b, out)); break;
    case 'if': bound(s.then, out); if (s.else) bound(s.else, out); break;
    default: break;
  }
  return out;
}

/** an index atom computable before a loop binding `inner`: movable, no variable bound inside it */
export const invariantAtom = (atom: Expr, inner: Set<string>): boolean => movable(atom) && ![...varsOf(atom, new Set())].some((v) => inner.has(v));

/** sum k * atom + c as an expression */
export const sum = (ts: Term[], c: number): Expr => {
  let e: Expr | undefined;
  for (const t of ts) { const x = t.k === 1 ? t.atom : E.mul(t.atom, E.i(t.k)); e = e ? E.add(e, x) : x; }
  if (!e) return E.i(c);
  return c ? E.add(e, E.i(c)) : e;
};

/** Rewrite the indices under loop `s`; returns the loop wrapped in the lets it needs. */
function hoistLoop(s: Extract<Stmt, { k: 'for' }>, fresh: () => string): Stmt {
  const inner = bound(s);
  const lets = new Map<string, { name: string; val: Expr }>();
  const rewrite = (idx: Expr): Expr => {
    const base = idx.k === 'ramp' ? idx.base : idx;
    const d = terms(base);
    if (!d) return idx;
    const inv = d.ts.filter((t) => invariantAtom(t.atom, inner));
    if (inv.length < 2 && !(inv.length === 1 && inv[0].k !== 1)) return idx;
    const key = inv.map((t) => `${t.k}*${t.key}`).join('+');
    let l = lets.get(key);
    if (!l) { l = { name: fresh(), val: sum(inv, 0) }; lets.set(key, l); }
    const rest = d.ts.filter((t) => !inv.includes(t));
    const nb = sum([{ atom: E.v(l.name, 'i32'), k: 1, key: '' }, ...rest], d.c);
    return idx.k === 'ramp' ? { ...idx, base: nb } : nb;
  };
  const mapE = (e: Expr): Expr => {
    switch (e.k) {
      case 'load': return { ...e, idx: rewrite(mapE(e.idx)) };
      case 'bin': return { ...e, a: mapE(e.a), b: mapE(e.b) };
      case 'un': case 'cast': case 'bcast': return { ...e, x: mapE(e.x) };
      case 'select': return { ...e, c: mapE(e.c), a: mapE(e.a), b: mapE(e.b) };
      case 'call': return { ...e, args: e.args.map(mapE) };
      case 'ramp': return { ...e, base: mapE(e.base) };
      default: return e;
    }
  };
  const mapS = (x: Stmt): Stmt => {
    switch (x.k) {
      case 'store': return { ...x, idx: rewrite(mapE(x.idx)), val: mapE(x.val) };
      case 'for': return { ...x, body: mapS(x.body) };
      case 'let': return { ...x, val: mapE(x.val), body: mapS(x.body) };
      case 'if': return { ...x, c: mapE(x.c), then: mapS(x.then), ...(x.else ? { else: mapS(x.else) } : {}) };
      case 'alloc': return { ...x, body: mapS(x.body) };
      case 'seq': return { k: 'seq', body: x.body.map(mapS) };
      default: return x;
    }
  };
  const body = hoistIndices(mapS(s.body), fresh);
  let out: Stmt = { ...s, body };
  for (const l of [...lets.values()].reverse()) out = { k: 'let', v: l.name, t: 'i32', val: l.val, body: out };
  return out;
}

/** See the file comment. `fresh` names the lets (names no kernel variable uses). */
export function hoistIndices(s: Stmt, fresh: () => string): Stmt {
  switch (s.k) {
    case 'for': return s.kind.k === 'serial' ? hoistLoop(s, fresh) : { ...s, body: hoistIndices(s.body, fresh) };
    case 'seq': return { k: 'seq', body: s.body.map((b) => hoistIndices(b, fresh)) };
    case 'if': return { ...s, then: hoistIndices(s.then, fresh), ...(s.else ? { else: hoistIndices(s.else, fresh) } : {}) };
    case 'alloc': case 'let': return { ...s, body: hoistIndices(s.body, fresh) };
    default: return s;
  }
}
