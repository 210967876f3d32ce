/**
 * Common subexpressions of one WGSL statement: structurally equal subtrees get one number, and the
 * non-trivial ones that occur more than once are bound to a `let` before the statement (WGSL compilers
 * see each once: legalized erf repeats its clamped argument, and SwiftShader's shader compile time
 * grows with the text). Subtrees holding a runtime check stay where they are (evaluating one out of a
 * select branch not taken would report a failure that did not happen).
 */
import { childExprs, isCheck, type Expr } from '@aic/loop-ir';

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
