/**
 * Memory planning: intermediate buffers share one arena by liveness (greedy best-fit by size, as
 * arena planners in TFLite/ORT do), elementwise kernels write in place over an input that dies
 * at that step, and a Concat's inputs may live inside its output (concat-views.ts). `aic compile --stats` reports the arena size next to the naive sum.
 */
import { numel, walkExpr, walkStmt, type Expr, type Kernel, type Stmt } from '@aic/loop-ir';
import type { Program, ProgramBuffer } from '../lower/program.ts';
import { stateAliases } from './state-alias.ts';
import type { View } from './concat-views.ts';

export interface MemoryPlan {
  /** byte offset of each temp buffer in the arena */
  offsets: Map<string, number>;
  arenaBytes: number;
  naiveBytes: number;
  /** temp buffers written in place over an input: out -> in */
  inPlace: Map<string, string>;
  /** outputs `<X>_next` that share input X's memory (a training step's state, updated in place; state-alias.ts): out -> in */
  stateAlias: Map<string, string>;
}

const ALIGN = 64;

export function bytesOf(b: { dtype: string; shape: number[] }): number {
  const w = b.dtype === 'f64' || b.dtype === 'i64' || b.dtype === 'u64' ? 8 : b.dtype === 'f32' || b.dtype === 'i32' || b.dtype === 'u32' ? 4 : b.dtype === 'i16' || b.dtype === 'u16' || b.dtype === 'f16' || b.dtype === 'bf16' ? 2 : 1;
  return Math.max(1, numel(b.shape)) * w;
}

function exprEq(a: Expr, b: Expr): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * True when kernel param `inName` is only ever read at the very index `outName` is written at, in
 * the same store, and `outName` has a single store: then writing out over in is safe.
 */
export function elementwiseSafe(k: Kernel, inName: string, outName: string): boolean {
  let ok = true, stores = 0;
  const loadsOf = (e: Expr, acc: Expr[]) => walkExpr(e, (x) => { if (x.k === 'load' && x.buf === inName) acc.push(x.idx); });
  // a clamped split (min(o*f, n-f) + i) stores its overlap twice: the second pass would read the input
  // element the first one already overwrote (a residual added twice: tiny_bert's FFN on C)
  const clamped = (e: Expr) => { let m = false; walkExpr(e, (x) => { if (x.k === 'bin' && x.op === 'min') m = true; }); return m; };
  walkStmt(k.body, (s: Stmt) => {
    if (s.k === 'let' && clamped(s.val)) ok = false;
    if (s.k === 'store') {
      if (s.buf === outName && clamped(s.idx)) ok = false;
      const ls: Expr[] = [];
      loadsOf(s.val, ls);
      loadsOf(s.idx, ls);
      if (s.buf === outName) {
        stores++;
        if (ls.some((i) => !exprEq(i, s.idx))) ok = false;
      } else if (ls.length) ok = false;
      if (s.buf === inName) ok = false;
    } else if (s.k === 'for' || s.k === 'if' || s.k === 'let') {
      const ls: Expr[] = [];
      if (s.k === 'for') loadsOf(s.ext, ls);
      if (s.k === 'if') loadsOf(s.c, ls);
      if (s.k === 'let') loadsOf(s.val, ls);
      if (ls.length) ok = false;
    }
  });
  return ok && stores === 1;
}

export function planMemory(prog: Program): MemoryPlan {
  const temps = new Map(prog.temps.map((b) => [b.name, b] as [string, ProgramBuffer]));
  const first = new Map<string, number>(), last = new Map<string, number>();
  prog.steps.forEach((st, i) => {
    for (const a of st.args) {
      if (!temps.has(a)) continue;
      if (!first.has(a)) first.set(a, i);
      last.set(a, i);
    }
  });
  const kernels = new Map(prog.kernels.map((k) => [k.name, k]));
  // views (concat-views.ts): temps placed inside another temp's bytes; neither side of an in-place pair
  const views = prog.views ?? new Map<string, View>();
  // in place: an elementwise kernel's output takes over a same-sized input temp that dies here
  const inPlace = new Map<string, string>();
  const alias = (n: string): string => (views.has(n) ? alias(views.get(n)!.of) : inPlace.has(n) ? alias(inPlace.get(n)!) : n);
  prog.steps.forEach((st, i) => {
    const k = kernels.get(st.kernel);
    if (!k) return;
    k.params.forEach((p, pi) => {
      if (p.role !== 'output') return;
      const out = st.args[pi];
      if (!temps.has(out) || first.get(out) !== i || views.has(out)) return;
      for (let qi = 0; qi < k.params.length; qi++) {
        const q = k.params[qi], inn = st.args[qi];
        if (q.role === 'output' || !temps.has(inn) || last.get(inn) !== i || views.has(inn)) continue;
        if (st.args.filter((a) => a === inn).length > 1) continue;
        if (bytesOf(temps.get(inn)!) !== bytesOf(temps.get(out)!) || q.dtype !== p.dtype) continue;
        if ([...inPlace.values()].includes(inn)) continue;
        if (!elementwiseSafe(k, q.name, p.name)) continue;
        inPlace.set(out, inn);
        break;
      }
    });
  });
  // lifetimes of arena blocks (an in-place chain is one block)
  const life = new Map<string, [number, number]>();
  for (const name of temps.keys()) {
    const root = alias(name);
    const f = first.get(name) ?? 0, l = last.get(name) ?? f;
    const cur = life.get(root);
    life.set(root, cur ? [Math.min(cur[0], f), Math.max(cur[1], l)] : [f, l]);
  }
  const blocks = [...life.entries()].map(([name, [f, l]]) => ({ name, f, l, size: Math.ceil(bytesOf(temps.get(name)!) / ALIGN) * ALIGN }));
  blocks.sort((a, b) => b.size - a.size || a.f - b.f);
  const placed: { off: number; size: number; f: number; l: number }[] = [];
  const offsets = new Map<string, number>();
  let arena = 0;
  for (const b of blocks) {
    const overlapping = placed.filter((p) => !(p.l < b.f || b.l < p.f)).sort((x, y) => x.off - y.off);
    let off = 0, best = -1, bestGap = Infinity;
    for (const p of overlapping) {
      const gap = p.off - off;
      if (gap >= b.size && gap < bestGap) { best = off; bestGap = gap; }
      off = Math.max(off, p.off + p.size);
    }
    if (best < 0) best = off;
    placed.push({ off: best, size: b.size, f: b.f, l: b.l });
    offsets.set(b.name, best);
    arena = Math.max(arena, best + b.size);
  }
  const offsetOf = (n: string): number => (views.has(n) ? offsetOf(views.get(n)!.of) + views.get(n)!.byteOffset : inPlace.has(n) ? offsetOf(inPlace.get(n)!) : offsets.get(n)!);
  for (const name of temps.keys()) offsets.set(name, offsetOf(name));
  const naiveBytes = [...temps.values()].reduce((a, b) => a + bytesOf(b), 0);
  return { offsets, arenaBytes: arena, naiveBytes, inPlace, stateAlias: stateAliases(prog) };
}
