/**
 * Common subexpressions of one statement, for renderers that bind them to a variable before it:
 * structurally equal subtrees get one number (ExprKeys), and the non-trivial ones that occur more
 * than once are listed children first. WGSL binds every such subtree (its compilers see each once:
 * legalized erf repeats its clamped argument, and SwiftShader's shader compile time grows with the
 * text); C binds them in trees that repeat much (repeatedSubexprs). Subtrees holding a runtime check
 * stay where they are (evaluating one out of a select branch not taken would report a failure that
 * did not happen).
 */
import { childExprs, type Expr, type Stmt } from './ir.ts';
import { isCheck } from './checks.ts';

export class ExprKeys {
  private ids = new Map<string, number>();
  private memo = new WeakMap<Expr, number>();

  /** the same number for structurally equal expressions */
  key(e: Expr): number {
    let k = this.memo.get(e);
    if (k !== undefined) return k;
    const head = e.k === 'const' ? String(e.v) : e.k === 'var' ? e.name : e.k === 'load' ? e.buf
      : e.k === 'bin' || e.k === 'un' ? e.op : e.k === 'call' ? e.fn : e.k === 'ramp' ? String(e.stride) : '';
    const s = `${e.k}:${head}:${e.t}:${e.lanes}(${childExprs(e).map((c) => this.key(c)).join(',')})`;
    k = this.ids.get(s);
    if (k === undefined) { k = this.ids.size; this.ids.set(s, k); }
    this.memo.set(e, k);
    return k;
  }
}

const BINDABLE = new Set(['bin', 'un', 'call', 'select', 'cast', 'load']);

function hasCheck(e: Expr): boolean {
  if (e.k === 'call' && isCheck(e.fn)) return true;
  return childExprs(e).some(hasCheck);
}

/** The subexpressions of `roots` worth a `let`: repeated, not leaves, no checks; children before parents. */
export function sharedSubexprs(roots: Expr[], keys: ExprKeys): Expr[] {
  // uses in the DAG: a repeated subtree's insides count once
  const count = new Map<number, number>();
  const visit = (e: Expr): void => {
    const k = keys.key(e);
    const n = (count.get(k) ?? 0) + 1;
    count.set(k, n);
    if (n === 1) childExprs(e).forEach(visit);
  };
  roots.forEach(visit);
  const out: Expr[] = [];
  const seen = new Set<number>();
  const post = (e: Expr): void => {
    const k = keys.key(e);
    if (seen.has(k)) return;
    seen.add(k);
    childExprs(e).forEach(post);
    if ((count.get(k) ?? 0) > 1 && BINDABLE.has(e.k) && childExprs(e).length && !hasCheck(e)) out.push(e);
  };
  roots.forEach(post);
  return out;
}

/**
 * For C: the shared subexpressions of a store whose tree repeats much (at least 256 nodes, 4 times
 * its distinct ones or more: an inlined elementwise chain whose ops read their input several times), none
 * boolean (C has no plain type for a vector mask) and none reading memory only under a select arm
 * (bound before the store, such a load would run for lanes whose guard keeps it from its buffer).
 * Empty for ordinary statements, which render as they are.
 */
export function repeatedSubexprs(s: Extract<Stmt, { k: 'store' }>, keys: ExprKeys): Expr[] {
  // each distinct subtree visited once (per guard state): the tree with its repetitions can be
  // exponentially larger than this DAG, and every store of every kernel comes through here
  const size = new Map<number, number>();
  const treeSize = (e: Expr): number => {
    const k = keys.key(e);
    let n = size.get(k);
    if (n === undefined) { n = 1; for (const c of childExprs(e)) n += treeSize(c); size.set(k, n); }
    return n;
  };
  const tree = treeSize(s.idx) + treeSize(s.val);
  if (tree < 256 || tree < 4 * size.size) return [];
  const plainLoads = new Set<number>();
  const seen = new Set<string>();
  const visit = (e: Expr, guarded: boolean): void => {
    const k = keys.key(e), at = `${k}:${guarded ? 1 : 0}`;
    if (seen.has(at)) return;
    seen.add(at);
    if (e.k === 'load' && !guarded) plainLoads.add(k);
    if (e.k === 'select') { visit(e.c, guarded); visit(e.a, true); visit(e.b, true); return; }
    for (const c of childExprs(e)) visit(c, guarded);
  };
  visit(s.idx, false);
  visit(s.val, false);
  // bindable: every load the subtree evaluates outside its own selects' arms also runs unguarded in the
  // statement (a load under a select inside the subtree stays under it in the binding)
  const safe = new Map<number, boolean>();
  const ok = (e: Expr): boolean => {
    const k = keys.key(e);
    let r = safe.get(k);
    if (r === undefined) {
      if (e.k === 'select') r = ok(e.c);
      else r = (e.k !== 'load' || plainLoads.has(k)) && childExprs(e).every(ok);
      safe.set(k, r);
    }
    return r;
  };
  return sharedSubexprs([s.idx, s.val], keys).filter((e) => e.t !== 'bool' && ok(e));
}
