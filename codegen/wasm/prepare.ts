/**
 * Before emission: a kernel body's vectorized loops become 4-lane vector code where a v128 can hold
 * every value (loop-ir vectorizeLoop), else serial loops; unrolled loops are expanded. The prepared
 * body goes to KernelEmitter (emit.ts), which also uses vecSupported for its auto-vectorized loops.
 */
import { unrollCopies, vectorizeLoop, walkExprs as exprsOf, type Stmt } from '@aic/loop-ir';
import { VEC_OK } from './wasm-types.ts';

/** Can every vector value of this (vectorized) body live in a v128? */
export function vecSupported(s: Stmt): boolean {
  let ok = true;
  exprsOf(s, (e) => {
    if (e.lanes === 1) return;
    if (e.lanes !== 4 || !VEC_OK.has(e.t)) ok = false;
    if (e.k === 'reduce') ok = false;
    if (e.k === 'ramp' && e.t !== 'i32') ok = false;
  });
  let stores = true;
  const vs = (x: Stmt): void => {
    if (x.k === 'store' && (x.val.lanes > 1 || x.idx.lanes > 1) && (x.val.lanes !== 4 && x.val.lanes !== 1)) stores = false;
    if (x.k === 'for' || x.k === 'alloc' || x.k === 'let') vs(x.body);
    if (x.k === 'if') { vs(x.then); if (x.else) vs(x.else); }
    if (x.k === 'seq') x.body.forEach(vs);
  };
  vs(s);
  return ok && stores;
}

/** Does a (prepared) statement hold any vector value? */
function hasVector(s: Stmt): boolean {
  let v = false;
  exprsOf(s, (e) => { if (e.lanes > 1) v = true; });
  return v;
}

/**
 * Expand vectorized (when SIMD can express them) and unrolled loops; everything else unchanged.
 * `auto`: tried on serial loops whose body holds no vector code (unscheduled loops, e.g. the extern
 * stages of fused kernels); returns the loop vectorized, or undefined to keep it scalar.
 */
export function prepare(s: Stmt, simd: boolean, auto?: (loop: Extract<Stmt, { k: 'for' }>) => Stmt | undefined): Stmt {
  switch (s.k) {
    case 'for': {
      if (s.kind.k === 'vectorized') {
        const v = simd ? vectorizeLoop(s) : undefined;
        if (v && vecSupported(v)) return prepare(v, simd, auto);
        return { ...s, kind: { k: 'serial' }, body: prepare(s.body, simd, auto) };
      }
      const copies = unrollCopies(s);
      if (copies) return prepare({ k: 'seq', body: copies }, simd, auto);
      const body = prepare(s.body, simd, auto);
      if (auto && s.kind.k === 'serial' && !hasVector(body)) {
        const v = auto(s);
        if (v) return v;
      }
      return { ...s, body };
    }
    case 'seq': return { k: 'seq', body: s.body.map((b) => prepare(b, simd, auto)) };
    case 'if': return { ...s, then: prepare(s.then, simd, auto), ...(s.else ? { else: prepare(s.else, simd, auto) } : {}) };
    case 'alloc': case 'let': return { ...s, body: prepare(s.body, simd, auto) };
    default: return s;
  }
}
