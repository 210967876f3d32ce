/**
 * Guard-free main bodies along a run-time extent (lower/extents.ts). A split along the symbol keeps a
 * guard around its innermost body (`if (i_o*16 + i_i < S)`), which stops vectorization and sits in
 * every register-tile iteration. For the body B of each innermost loop whose extent depends on the
 * symbol, the guards whose condition is monotone in B's own (constant-extent) loops are checked once,
 * at those loops' last iteration: `if (all hold there) { B without them } else { B }`. The first
 * branch is B's full tiles (vectorized, no branches), the second the tail, where each vector loop
 * whose lanes all pass its guards runs unguarded in turn (a tile wider than a short S). Results are
 * unchanged: where the check holds every iteration of B passes those guards.
 */
import { E, substitute, walkExpr, type Expr, type Stmt } from '@aic/loop-ir';

/** Version the innermost symbolic-extent loops of a kernel body. */
export function versionGuards(s: Stmt): Stmt {
  switch (s.k) {
    case 'for':
      if (s.kind.k === 'gpu' || hasGpuLoop(s.body)) return s; // a GPU grid is bound once per kernel: never duplicate it
      if (s.ext.k !== 'const' && !hasSymbolicLoop(s.body)) return { ...s, body: versionBody(s.body) };
      return { ...s, body: versionGuards(s.body) };
    case 'if': return { ...s, then: versionGuards(s.then), ...(s.else ? { else: versionGuards(s.else) } : {}) };
    case 'alloc': case 'let': return { ...s, body: versionGuards(s.body) };
    case 'seq': return { k: 'seq', body: s.body.map(versionGuards) };
    default: return s;
  }
}

function hasGpuLoop(s: Stmt): boolean {
  switch (s.k) {
    case 'for': return s.kind.k === 'gpu' || hasGpuLoop(s.body);
    case 'if': return hasGpuLoop(s.then) || (!!s.else && hasGpuLoop(s.else));
    case 'alloc': case 'let': return hasGpuLoop(s.body);
    case 'seq': return s.body.some(hasGpuLoop);
    default: return false;
  }
}

function hasSymbolicLoop(s: Stmt): boolean {
  switch (s.k) {
    case 'for': return s.ext.k !== 'const' || hasSymbolicLoop(s.body);
    case 'if': return hasSymbolicLoop(s.then) || (!!s.else && hasSymbolicLoop(s.else));
    case 'alloc': case 'let': return hasSymbolicLoop(s.body);
    case 'seq': return s.body.some(hasSymbolicLoop);
    default: return false;
  }
}

interface Scope { last: Record<string, Expr>; blocked: Set<string> }

/** Variables bound inside B: constant-extent loops (their last value) and the rest (lets: not checkable once). */
function scopeOf(b: Stmt): Scope {
  const sc: Scope = { last: {}, blocked: new Set() };
  const go = (s: Stmt): void => {
    switch (s.k) {
      case 'for':
        if (s.ext.k === 'const' && s.ext.v >= 1) sc.last[s.v] = E.i(s.ext.v - 1); else sc.blocked.add(s.v);
        go(s.body); return;
      case 'let': sc.blocked.add(s.v); go(s.body); return;
      case 'alloc': go(s.body); return;
      case 'if': go(s.then); if (s.else) go(s.else); return;
      case 'seq': s.body.forEach(go); return;
      default: return;
    }
  };
  go(b);
  return sc;
}

/** e reads no load and no variable bound in B. */
function free(e: Expr, sc: Scope): boolean {
  let ok = true;
  walkExpr(e, (x) => { if (x.k === 'load' || (x.k === 'var' && (x.name in sc.last || sc.blocked.has(x.name)))) ok = false; });
  return ok;
}

/** e is non-decreasing in every loop variable of B (and reads no load, no blocked variable). */
function monotone(e: Expr, sc: Scope): boolean {
  if (free(e, sc)) return true;
  switch (e.k) {
    case 'var': return e.name in sc.last;
    case 'cast': return e.t === 'i32' || e.t === 'i64' ? monotone(e.x, sc) : false;
    case 'bin': {
      const nonneg = (x: Expr) => x.k === 'const' && x.v >= 0;
      if (e.op === 'add' || e.op === 'min' || e.op === 'max') return monotone(e.a, sc) && monotone(e.b, sc);
      if (e.op === 'sub') return monotone(e.a, sc) && free(e.b, sc);
      if (e.op === 'mul') return (nonneg(e.a) && monotone(e.b, sc)) || (nonneg(e.b) && monotone(e.a, sc));
      if (e.op === 'div') return e.b.k === 'const' && e.b.v > 0 && monotone(e.a, sc);
      return false;
    }
    default: return false;
  }
}

/** The atoms of a conjunction. */
function atoms(c: Expr): Expr[] {
  return c.k === 'bin' && c.op === 'and' && c.t === 'bool' ? [...atoms(c.a), ...atoms(c.b)] : [c];
}

/** The condition under which guard c holds at every iteration of B, or undefined when not checkable once. */
function onceFor(c: Expr, sc: Scope): Expr[] | undefined {
  if (c.lanes !== 1) return undefined;
  const out: Expr[] = [];
  for (const a of atoms(c)) {
    if (a.k !== 'bin' || (a.op !== 'lt' && a.op !== 'le') || a.a.lanes !== 1 || !free(a.b, sc) || !monotone(a.a, sc)) return undefined;
    out.push({ ...a, a: substitute(a.a, sc.last) });
  }
  return out;
}

function versionBody(b: Stmt): Stmt {
  const sc = scopeOf(b);
  const conds = new Map<string, Expr>();
  const fast = strip(b, sc, conds);
  if (!conds.size) return b;
  const c = [...conds.values()].reduce((x, y) => E.bin('and', x, y));
  return { k: 'if', c, then: fast, else: versionVectors(b, new Set(conds.keys())) };
}

/** In the tail: each vector loop whose lanes all pass its guards runs unguarded (vectorized), else as before. */
function versionVectors(s: Stmt, outer: Set<string>): Stmt {
  const rec = (x: Stmt) => versionVectors(x, outer);
  switch (s.k) {
    case 'for': {
      if (s.kind.k !== 'vectorized') return { ...s, body: rec(s.body) };
      const conds = new Map<string, Expr>();
      const fast = strip(s, scopeOf(s), conds);
      const same = conds.size === outer.size && [...conds.keys()].every((k) => outer.has(k)); // the tile's own check, known to fail
      return conds.size && !same ? { k: 'if', c: [...conds.values()].reduce((x, y) => E.bin('and', x, y)), then: fast, else: s } : s;
    }
    case 'if': return { ...s, then: rec(s.then), ...(s.else ? { else: rec(s.else) } : {}) };
    case 'alloc': case 'let': return { ...s, body: rec(s.body) };
    case 'seq': return { k: 'seq', body: s.body.map(rec) };
    default: return s;
  }
}

/** B with every once-checkable guard replaced by its body; the conditions collected in `conds`. */
function strip(s: Stmt, sc: Scope, conds: Map<string, Expr>): Stmt {
  switch (s.k) {
    case 'if': {
      const once = s.else ? undefined : onceFor(s.c, sc);
      if (once) {
        for (const a of once) conds.set(JSON.stringify(a), a);
        return strip(s.then, sc, conds);
      }
      return { ...s, then: strip(s.then, sc, conds), ...(s.else ? { else: strip(s.else, sc, conds) } : {}) };
    }
    case 'for': case 'alloc': case 'let': return { ...s, body: strip(s.body, sc, conds) };
    case 'seq': return { k: 'seq', body: s.body.map((x) => strip(x, sc, conds)) };
    default: return s;
  }
}
