/**
 * Copy loops in vectors (CPU targets). A convolution's padded input copy (ir-spec padCopy2d, per plane
 * after pad-planes.ts) is a serial loop `for v < n { T[base + v] = f(X[src + v]) }`. The C compiler
 * vectorizes it when f is the identity, but not when f converts (int8 kernels: u8 -> i32 minus the
 * zero point, a third of a depthwise QConv's time on C), and the wasm back end never vectorizes. Such a
 * loop becomes blocks of `lanes` with the last block clamped to end at n (it overlaps the block before
 * it and writes the same values again): every value and place is unchanged, so results are identical.
 */
import { E, S, linearize, numel, substituteStmt, walkExpr, walkStmt, type Expr, type Kernel, type Stmt } from '@aic/loop-ir';
import { guardedLoads } from './defaults.ts';

/**
 * `for v < n { body(v) }` as blocks of `lanes` (vectorized inner loop), the last one clamped to
 * [n - lanes, n). The caller guarantees body may run twice at a place with the same effect.
 */
export function clampedBlocks(n: number, lanes: number, names: { block: string; lane: string }, body: (v: Expr) => Stmt): Stmt {
  const start = n % lanes ? E.min(E.mul(E.v(names.block), E.i(lanes)), E.i(n - lanes)) : E.mul(E.v(names.block), E.i(lanes));
  return S.for(names.block, Math.ceil(n / lanes), S.for(names.lane, lanes, body(E.add(start, E.v(names.lane))), { k: 'vectorized', lanes }));
}

type For = Extract<Stmt, { k: 'for' }>;
type Store = Extract<Stmt, { k: 'store' }>;

/** The loop's one store, when it is a contiguous copy into a kernel-local buffer that re-running leaves as it was. */
function copyStore(f: For, locals: ReadonlySet<string>): Store | undefined {
  if (f.kind.k !== 'serial' || f.ext.k !== 'const' || f.body.k !== 'store') return undefined;
  const st = f.body, v = new Map([[f.v, f.ext.v]]);
  if (!locals.has(st.buf) || st.idx.lanes !== 1 || st.val.lanes !== 1) return undefined;
  const coef = (e: Expr) => { const l = linearize(e, v); return l ? (l.coef.get(f.v) ?? 0) : undefined; };
  if (coef(st.idx) !== 1) return undefined;
  let ok = true;
  // the value reads other buffers only (not the one written), contiguously or at one place, and uses v
  // nowhere but in those indices
  const inIndex = new Set<Expr>();
  walkExpr(st.val, (x) => {
    if (x.k !== 'load') return;
    if (x.buf === st.buf || x.lanes !== 1) ok = false;
    const c = coef(x.idx);
    if (c !== 0 && c !== 1) ok = false;
    walkExpr(x.idx, (y) => { inIndex.add(y); });
  });
  walkExpr(st.val, (x) => { if (x.k === 'var' && x.name === f.v && !inIndex.has(x)) ok = false; });
  return ok ? st : undefined;
}

/** Every such copy loop of `k` with at least 4 iterations, in vector blocks of up to `lanes`. */
export function vectorizeCopies(k: Kernel, lanes: number): Kernel {
  if (lanes < 4) return k;
  const locals = new Set<string>(), used = new Set<string>();
  walkStmt(k.body, (x) => {
    if (x.k === 'alloc' && x.buf.scope === 'local' && !x.buf.layout) locals.add(x.buf.name);
    if (x.k === 'for') used.add(x.v);
  });
  const fresh = (p: string) => { let i = 0; while (used.has(`${p}${i}`)) i++; used.add(`${p}${i}`); return `${p}${i}`; };
  const sizes = new Map(k.params.map((b) => [b.name, numel(b.shape)] as [string, number]));
  walkStmt(k.body, (x) => { if (x.k === 'alloc') sizes.set(x.buf.name, numel(x.buf.shape)); });
  let changed = false;
  // innermost loops first (as mapStmt), with the extents of the loops around each
  const visit = (s: Stmt, ext: ReadonlyMap<string, number>): Stmt => {
    switch (s.k) {
      case 'seq': return { ...s, body: s.body.map((b) => visit(b, ext)) };
      case 'if': return { ...s, then: visit(s.then, ext), ...(s.else ? { else: visit(s.else, ext) } : {}) };
      case 'alloc': return { ...s, body: visit(s.body, ext) };
      case 'let': { const inner = new Map(ext); inner.delete(s.v); return { ...s, body: visit(s.body, inner) }; }
      case 'for': break;
      default: return s;
    }
    const inner = new Map(ext);
    if (s.ext.k === 'const') inner.set(s.v, s.ext.v); else inner.delete(s.v);
    const f: For = { ...s, body: visit(s.body, inner) };
    const st = copyStore(f, locals);
    // a load in a select branch (a padded copy's `select(inside, X[...], 0)`) that may leave its buffer
    // over the loops around it: a vector reads it for every lane, so the copy of a 3-D conv's padding
    // planes read before its input (r3d_18 on C: SIGSEGV); a 2-D conv's border rows, split off by
    // pad-planes.ts, have no select left
    if (!st || f.ext.k !== 'const' || guardedLoads(st.val, inner, sizes).size) return f;
    // the widest power of two up to `lanes` that the row fills (14 columns: two blocks of 8 on 16 lanes)
    const n = f.ext.v, v = f.v;
    let L = lanes;
    while (L > n && L > 4) L /= 2;
    if (L > n) return f;
    changed = true;
    return clampedBlocks(n, L, { block: fresh(`${v}b`), lane: fresh(`${v}l`) }, (ve) => substituteStmt(st, { [v]: ve }));
  };
  const body = visit(k.body, new Map());
  return changed ? { ...k, body } : k;
}
