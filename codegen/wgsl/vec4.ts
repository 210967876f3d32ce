/**
 * vec4 memory access for WGSL: a storage binding (or a function-local array) whose kernel reads or
 * writes 4 consecutive elements at an index provably a multiple of 4 (the channel lane of an NC4HW4
 * tensor, a packed OIHW4i4o weight, a widened accumulator) is declared as an array of vec4 words, so
 * such an access is one 16-byte load or store instead of four; its scalar accesses address a
 * component (`a[i >> 2][i & 3]`). Values are the same bits either way: only the access width changes.
 */
import { E, isHalfT, vectorizeLoop, walkExpr, type Expr, type ScalarType, type Stmt } from '@aic/loop-ir';

/** e / 4 when e is provably a multiple of 4 (constants, products with a multiple of 4, sums of such), else undefined. */
export function quarter(e: Expr): Expr | undefined {
  if (e.lanes !== 1 || e.t !== 'i32') return undefined;
  switch (e.k) {
    case 'const': return e.v % 4 === 0 ? E.i(e.v / 4) : undefined;
    case 'bin': {
      if (e.op === 'add' || e.op === 'sub') {
        const a = quarter(e.a), b = quarter(e.b);
        if (!a || !b) return undefined;
        if (b.k === 'const' && b.v === 0) return a;
        return E.bin(e.op, a, b);
      }
      if (e.op === 'mul') {
        for (const [k, x] of [[e.b, e.a], [e.a, e.b]] as const) {
          if (k.k === 'const' && k.v % 4 === 0) return k.v === 4 ? x : E.mul(x, E.i(k.v / 4));
        }
        const a = quarter(e.a);
        if (a) return E.mul(a, e.b);
        const b = quarter(e.b);
        return b ? E.mul(e.a, b) : undefined;
      }
      return undefined;
    }
    default: return undefined;
  }
}

/** idx as 4q + lane (lane a constant 0..3), when provable. */
export function alignedLane(idx: Expr): { q: Expr; lane: number } | undefined {
  const q = quarter(idx);
  if (q) return { q, lane: 0 };
  if (idx.k === 'bin' && idx.op === 'add' && idx.b.k === 'const' && idx.b.v >= 0) {
    const a = quarter(idx.a);
    if (a) return { q: idx.b.v >= 4 ? E.add(a, E.i(Math.floor(idx.b.v / 4))) : a, lane: idx.b.v % 4 };
  }
  return undefined;
}

/** The vec4 index of a 4-lane unit-stride access at idx (ramp(base, 1, 4) with base a multiple of 4), or undefined. */
export function vec4Index(idx: Expr): Expr | undefined {
  if (idx.k !== 'ramp' || idx.lanes !== 4 || idx.stride !== 1) return undefined;
  return quarter(idx.base);
}

/**
 * Buffers that a statement accesses as aligned vec4 (in the vector form its 4-lane vectorized loops
 * take when rendered): those worth declaring as arrays of vec4.
 */
export function vec4Buffers(s: Stmt): Set<string> {
  const out = new Set<string>();
  const expr = (e: Expr) => walkExpr(e, (x) => { if (x.k === 'load' && vec4Index(x.idx)) out.add(x.buf); });
  const visit = (x: Stmt): void => {
    switch (x.k) {
      case 'seq': x.body.forEach(visit); return;
      case 'store': expr(x.idx); expr(x.val); if (vec4Index(x.idx)) out.add(x.buf); return;
      case 'for': {
        expr(x.ext);
        const v = x.kind.k === 'vectorized' && x.kind.lanes === 4 ? vectorizeLoop(x) : undefined;
        visit(v ?? x.body);
        return;
      }
      case 'if': expr(x.c); visit(x.then); if (x.else) visit(x.else); return;
      case 'alloc': visit(x.body); return;
      case 'let': expr(x.val); visit(x.body); return;
      case 'barrier': return;
    }
  };
  visit(s);
  return out;
}

/**
 * The byte size of a storage window bound as an array of vec4 (its size rounded up to whole vec4,
 * which the 16-byte aligned buffers hold), or undefined when it stays an array of u32: no aligned
 * vec4 access to it, a tensor in it not at a multiple of 16 bytes, or 16-bit floats (half.ts).
 */
export function vec4Window(w: { start: number; end: number; names: { name: string; r: { off: number }; t: ScalarType }[] }, used: ReadonlySet<string>, maxBytes: number): number | undefined {
  if (w.start % 16 !== 0 || !w.names.some((x) => used.has(x.name))) return undefined;
  if (w.names.some((x) => (x.r.off - w.start) % 16 !== 0 || isHalfT(x.t))) return undefined;
  const size = Math.ceil((w.end - w.start) / 16) * 16;
  return size <= maxBytes ? size : undefined;
}
