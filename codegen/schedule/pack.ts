/**
 * Packed weights: a constant weight whose dim 0 a schedule vectorizes (Conv's output channels, Gemm's
 * transposed B rows) is re-laid out at compile time as [ceil(D0/B), rest..., B] (zero-filled), so the
 * B lanes of one vector are contiguous. Loads keep their meaning: W[d0, rest...] reads
 * Wp[d0 / B, rest..., d0 % B]. `simplifyDivMod` then folds (o*B + i) / B -> o and % B -> i for a loop
 * variable 0 <= i < B, which turns the packed index of a vectorized split back into a unit-stride ramp.
 */
import { Tensor } from '@aic/core';
import { E, flatIndex, mapExpr, mapStmt, numel, type Buffer, type Expr, type Stmt } from '@aic/loop-ir';
import type { KernelSource, Program, ProgramBuffer } from '../lower/program.ts';

/** The multi-index of a load written by tensorRef.at (nested flatIndex), or undefined. */
export function peelIndex(idx: Expr, shape: readonly number[]): Expr[] | undefined {
  const out: Expr[] = [];
  let e = idx;
  for (let d = shape.length - 1; d >= 1; d--) {
    if (e.k !== 'bin' || e.op !== 'add' || e.a.k !== 'bin' || e.a.op !== 'mul' || e.a.b.k !== 'const' || e.a.b.v !== shape[d]) return undefined;
    out.unshift(e.b);
    e = e.a.a;
  }
  out.unshift(e);
  return out;
}

function loadsOf(s: KernelSource, buf: string): Extract<Expr, { k: 'load' }>[] {
  const out: Extract<Expr, { k: 'load' }>[] = [];
  const visit = (e: Expr) => mapExpr(e, (x) => { if (x.k === 'load' && x.buf === buf) out.push(x); return x; });
  for (const st of s.stages) {
    if (st.kind === 'compute') visit(st.body);
    else mapStmt(st.body, (x) => { if (x.k === 'load' && x.buf === buf) out.push(x); return x; });
  }
  return out;
}

/** Can param `p` of kernel `src` be packed along dim 0 (a constant weight, every load peelable)? */
export function packable(prog: Program, src: KernelSource, p: number): boolean {
  const param = src.params[p];
  if (!param || param.role !== 'weight' || param.shape.length < 2) return false;
  const loads = loadsOf(src, param.name);
  return loads.length > 0 && loads.every((l) => peelIndex(l.idx, param.shape) !== undefined);
}

/**
 * Pack param `p` of kernel `kernel` with block B: a new weight buffer (the original stays when other
 * kernels use it), the kernel's param reshaped and its loads rewritten. Returns the packed param.
 * `dim` (default 0) is the packed dim: W[..., d, ...] reads Wp[d / B, other dims..., d % B] (a MatMul's
 * B[k, n] packed along n is [N/B, K, B]: one column panel contiguous).
 */
export function packWeight(prog: Program, kernel: string, p: number, B: number, dim = 0): Buffer {
  const src = prog.sources.get(kernel)!;
  const step = prog.steps.find((s) => s.kernel === kernel)!;
  const param = src.params[p];
  const orig = prog.weights.find((w) => w.name === step.args[p])!;
  const D0 = param.shape[dim];
  const rest = param.shape.filter((_, i) => i !== dim);
  const outer = numel(param.shape.slice(0, dim)), inner = numel(param.shape.slice(dim + 1));
  const blocks = Math.ceil(D0 / B), S = numel(rest);
  const shape = [blocks, ...rest, B];
  const data = new Tensor(orig.data!.dtype, shape);
  const from = orig.data!.num, to = data.num;
  for (let a = 0; a < outer; a++) {
    for (let d = 0; d < D0; d++) {
      const ob = Math.floor(d / B), ib = d % B;
      for (let i = 0; i < inner; i++) to[(ob * S + a * inner + i) * B + ib] = from[(a * D0 + d) * inner + i];
    }
  }
  let name = `${orig.name}_pk${B}${dim ? `d${dim}` : ''}`;
  while (prog.weights.some((w) => w.name === name)) name += '_';
  const packed: ProgramBuffer = { ...orig, name, shape, data, dtype: orig.dtype };
  prog.weights.push(packed);
  step.args[p] = name;
  if (!prog.steps.some((s) => s.args.includes(orig.name)) && !prog.outputs.some((o) => o.name === orig.name)) {
    prog.weights.splice(prog.weights.indexOf(orig), 1);
  }
  const np: Buffer = { ...param, shape };
  src.params = src.params.map((q, i) => (i === p ? np : q));
  const rewrite = (e: Expr): Expr => {
    if (e.k !== 'load' || e.buf !== param.name) return e;
    const idx = peelIndex(e.idx, param.shape)!;
    return { ...e, idx: flatIndex([E.div(idx[dim], E.i(B)), ...idx.filter((_, i) => i !== dim), E.mod(idx[dim], E.i(B))], shape) };
  };
  src.stages = src.stages.map((st) => (st.kind === 'compute'
    ? { ...st, body: mapExpr(st.body, rewrite) }
    : { ...st, body: mapStmt(st.body, rewrite) }));
  return np;
}

/** An index expression that is >= 0: loop variables and non-negative constants under + and *. */
function nonNeg(e: Expr, ext: Map<string, number>): boolean {
  if (e.k === 'var') return ext.has(e.name);
  if (e.k === 'const') return e.v >= 0;
  if (e.k !== 'bin') return false;
  // a clamped block's start, min(o * 2, last), is as non-negative as its operands
  if (e.op === 'max') return nonNeg(e.a, ext) || nonNeg(e.b, ext);
  if ((e.op === 'div' || e.op === 'mod') && e.b.k === 'const' && e.b.v > 0) return nonNeg(e.a, ext);
  return (e.op === 'add' || e.op === 'mul' || e.op === 'min') && nonNeg(e.a, ext) && nonNeg(e.b, ext);
}

/** n with 0 <= e < n: a loop variable (its extent), or y % c of a non-negative y (a fused loop's inner part) */
function below(e: Expr, ext: Map<string, number>): number {
  if (e.k === 'var') return ext.get(e.name) ?? Infinity;
  if (e.k === 'bin' && e.op === 'mod' && e.b.k === 'const' && e.b.v > 0 && nonNeg(e.a, ext)) return e.b.v;
  return Infinity;
}

/**
 * (x*B + i) / B -> x and (x*B + i) % B -> i where i is a loop variable of extent <= B (so 0 <= i < B)
 * and x is >= 0 (loop variables and non-negative constants under + and *); more generally, for
 * (x*K + i) with i of extent <= K and K dividing B (B = K*Q): / B -> x / Q and % B -> (x % Q)*K + i
 * (a vector of K lanes of channel i inside a group of B channels reads one group: no gather). i may
 * also be f % c with c <= K (a fused loop f's inner part: `fuse kw, ci_i` in a blocked conv).
 */
export function simplifyDivMod(s: Stmt, ext: Map<string, number> = new Map()): Stmt {
  const fold = (e: Expr): Expr => mapExpr(e, (x) => {
    if (x.k !== 'bin' || (x.op !== 'div' && x.op !== 'mod') || x.t !== 'i32' || x.b.k !== 'const') return x;
    // (x*B + i) + 0 (an extent-1 reduction added to a split index) is x*B + i
    let a = x.a;
    while (a.k === 'bin' && a.op === 'add' && a.b.k === 'const' && a.b.v === 0) a = a.a;
    const B = x.b.v;
    if (a.k === 'bin' && a.op === 'add' && a.a.k === 'bin' && a.a.op === 'mul' && a.a.b.k === 'const' && a.a.b.v === B
      && nonNeg(a.a.a, ext) && below(a.b, ext) <= B) {
      return x.op === 'div' ? a.a.a : a.b;
    }
    if (a.k === 'bin' && a.op === 'add' && a.a.k === 'bin' && a.a.op === 'mul' && a.a.b.k === 'const' && a.a.b.v > 0 && B % a.a.b.v === 0
      && nonNeg(a.a.a, ext) && below(a.b, ext) <= a.a.b.v) {
      const K = a.a.b.v, Q = B / K;
      return x.op === 'div' ? E.div(a.a.a, E.i(Q)) : E.add(E.mul(E.mod(a.a.a, E.i(Q)), E.i(K)), a.b);
    }
    // a plain loop variable below B
    if (below(a, ext) <= B) return x.op === 'div' ? E.i(0) : a;
    return x;
  });
  switch (s.k) {
    case 'for': {
      const inner = new Map(ext);
      if (s.ext.k === 'const') inner.set(s.v, s.ext.v);
      return { ...s, ext: fold(s.ext), body: simplifyDivMod(s.body, inner) };
    }
    case 'store': return { ...s, idx: fold(s.idx), val: fold(s.val) };
    case 'if': return { ...s, c: fold(s.c), then: simplifyDivMod(s.then, ext), ...(s.else ? { else: simplifyDivMod(s.else, ext) } : {}) };
    case 'alloc': return { ...s, body: simplifyDivMod(s.body, ext) };
    case 'let': return { ...s, val: fold(s.val), body: simplifyDivMod(s.body, ext) };
    case 'seq': return { k: 'seq', body: s.body.map((b) => simplifyDivMod(b, ext)) };
    default: return s;
  }
}
