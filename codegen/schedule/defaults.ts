/**
 * Default schedules, chosen per kernel from its compute stages' shapes and the target's declared
 * capabilities (never its name or the op's name): the loads in a stage's body decide.
 *
 * - Elementwise (no reduction): vectorize the innermost output axis when it divides into vectors.
 * - One reduction (GEMM, MatMul, Conv, 1x1 Conv, depthwise Conv, pooling, reductions): a register
 *   tile R x W of accumulators over two output axes, the reduction loops outside the tile, the W axis
 *   vectorized and the R axis unrolled (a GEMM micro-kernel). The vector axis v is one where
 *   every load is either independent of v or unit-stride in v ("contiguous"; MatMul's n, Conv's ow),
 *   or where the only loads depending on v are constant weights indexed by v in their dim 0, which
 *   are then packed [D0/W, ..., W] at compile time ("packed"; Conv's output channels, Gemm's
 *   transposed B). The row axis is one the vector operand does not depend on (its vector load is
 *   reused by every row). Vector width: target f32 lanes scaled to the accumulator type (f64
 *   accumulators: half), a power of two dividing v's extent (no remainder guards in the tile).
 * Schedules never change results (a reduction keeps its order per output element).
 */
import type { TargetCaps } from '@aic/ir-spec';
import { type ComputeStage, type Directive, type Expr, type ScalarType } from '@aic/loop-ir';
import type { KernelSource, Program } from '../lower/program.ts';
import { packWeight, packable, peelIndex } from './pack.ts';

type Reduce = Extract<Expr, { k: 'reduce' }>;
type Load = Extract<Expr, { k: 'load' }>;

/** Visit every node of an expression (pre-order, the nodes themselves: identity is kept). */
function visit(e: Expr, f: (e: Expr) => void): void {
  f(e);
  switch (e.k) {
    case 'load': visit(e.idx, f); break;
    case 'bin': visit(e.a, f); visit(e.b, f); break;
    case 'un': case 'cast': case 'bcast': visit(e.x, f); break;
    case 'call': e.args.forEach((a) => visit(a, f)); break;
    case 'select': visit(e.c, f); visit(e.a, f); visit(e.b, f); break;
    case 'ramp': visit(e.base, f); break;
    case 'reduce': visit(e.body, f); break;
    default: break;
  }
}
function reducesOf(e: Expr): Reduce[] {
  const out: Reduce[] = [];
  visit(e, (x) => { if (x.k === 'reduce') out.push(x); });
  return out;
}
function loadsOf(e: Expr): Load[] {
  const out: Load[] = [];
  visit(e, (x) => { if (x.k === 'load') out.push(x); });
  return out;
}
function hasReduce(st: ComputeStage): boolean {
  return reducesOf(st.body).length > 0;
}
const bytes = (t: ScalarType) => (t === 'f64' || t === 'i64' || t === 'u64' ? 8 : t === 'f32' || t === 'i32' || t === 'u32' ? 4 : t === 'i16' || t === 'u16' ? 2 : 1);

/** Integer value of an index expression under env (NaN when it is not a plain index expression). */
function evalIdx(e: Expr, env: Record<string, number>): number {
  switch (e.k) {
    case 'const': return e.v;
    case 'var': return env[e.name] ?? 0;
    case 'bin': {
      const a = evalIdx(e.a, env), b = evalIdx(e.b, env);
      switch (e.op) {
        case 'add': return a + b;
        case 'sub': return a - b;
        case 'mul': return a * b;
        case 'div': return b === 0 ? NaN : Math.trunc(a / b);
        case 'mod': return b === 0 ? NaN : a % b;
        case 'min': return Math.min(a, b);
        case 'max': return Math.max(a, b);
        default: return NaN;
      }
    }
    default: return NaN;
  }
}
function usesVar(e: Expr, v: string): boolean {
  let u = false;
  visit(e, (x) => { if (x.k === 'var' && x.name === v) u = true; });
  return u;
}
/** d idx / d v when idx is affine in v (checked at 3 points, other vars at two settings), else NaN. */
function coef(idx: Expr, v: string, vars: string[]): number {
  if (!usesVar(idx, v)) return 0;
  let c = NaN;
  for (const base of [0, 1]) {
    const env: Record<string, number> = Object.fromEntries(vars.map((x) => [x, base]));
    const f = (x: number) => evalIdx(idx, { ...env, [v]: x });
    const c1 = f(1) - f(0), c2 = f(2) - f(1), c3 = f(5) - f(4);
    if (!(c1 === c2 && c2 === c3)) return NaN;
    if (!Number.isNaN(c) && c !== c1) return NaN;
    c = c1;
  }
  return c;
}
/** loads that sit inside a select branch (guarded: reading them for every lane could leave the buffer) */
function guardedLoads(e: Expr): Set<Load> {
  const out = new Set<Load>();
  visit(e, (x) => {
    if (x.k === 'select') for (const l of [...loadsOf(x.a), ...loadsOf(x.b)]) out.add(l);
  });
  return out;
}

const pow2Divisor = (n: number, max: number) => { let w = 1; while (w * 2 <= max && n % (w * 2) === 0) w *= 2; return w; };
const bestDivisor = (n: number, max: number) => { for (let r = Math.min(n, max); r >= 1; r--) if (n % r === 0) return r; return 1; };

/** Elementwise: vectorize the innermost output axis when it divides into whole vectors. */
function elementwise(st: ComputeStage, caps: TargetCaps): Directive[] {
  const r = st.axes.length;
  if (caps.vectorLanes <= 1 || r === 0) return [];
  const L = Math.max(1, Math.floor(caps.vectorLanes * 4 / bytes(st.out.dtype)));
  const inner = st.axes[r - 1];
  const n = st.out.shape[r - 1];
  const guarded = guardedLoads(st.body);
  for (const l of loadsOf(st.body)) {
    const c = coef(l.idx, inner, st.axes);
    if (Number.isNaN(c) || (guarded.has(l) && c !== 0)) return [];
  }
  const W = n % L === 0 ? L : pow2Divisor(n, L);
  if (W < 4 || n < W) return [];
  return [{ d: 'split', axis: inner, factor: W }, { d: 'vectorize', axis: `${inner}_i` }];
}

export interface PackRequest { param: number; block: number }
export interface StageSchedule { dirs: Directive[]; packs: PackRequest[] }

/** Register-tiled reduction (GEMM micro-kernel / direct convolution); see the file comment. */
function reduction(src: KernelSource, st: ComputeStage, caps: TargetCaps, prog?: Program): StageSchedule | undefined {
  const reds = reducesOf(st.body);
  if (reds.length !== 1 || caps.vectorLanes <= 1) return undefined;
  const R = reds[0];
  const L = Math.max(1, Math.floor(caps.vectorLanes * 4 / bytes(R.t)));
  const out = st.axes.map((a, i) => ({ name: a, extent: st.out.shape[i] }));
  const vars = [...st.axes, ...R.axes.map((a) => a.name)];
  const loads = loadsOf(R.body);
  const allLoads = loadsOf(st.body);
  const guarded = guardedLoads(st.body);
  const paramIndex = (buf: string) => src.params.findIndex((p) => p.name === buf);
  type Cand = { v: string; W: number; packs: PackRequest[] };
  const cands: Cand[] = [];
  for (const ax of out) {
    if (ax.extent < 4) continue;
    // contiguous: every load independent of v or unit-stride in it
    const cs = allLoads.map((l) => coef(l.idx, ax.name, vars));
    const okA = cs.every((c, i) => c === 0 || (c === 1 && !guarded.has(allLoads[i])));
    if (okA) {
      const W = pow2Divisor(ax.extent, L);
      if (W >= 4) cands.push({ v: ax.name, W, packs: [] });
      continue;
    }
    // packed: the loads depending on v are constant weights indexed by v in dim 0 (inside the reduction)
    if (!prog) continue;
    const dep = allLoads.filter((_, i) => cs[i] !== 0);
    const packs: PackRequest[] = [];
    let okB = dep.length > 0;
    const W = pow2Divisor(ax.extent, L);
    for (const l of dep) {
      const p = paramIndex(l.buf);
      const param = src.params[p];
      const idx = param ? peelIndex(l.idx, param.shape) : undefined;
      const isWeight = p >= 0 && packable(prog, src, p) && loads.includes(l);
      if (!isWeight || !idx || !(idx[0].k === 'var' && idx[0].name === ax.name) || idx.slice(1).some((e) => usesVar(e, ax.name)) || guarded.has(l)) {
        // a load outside the reduction (bias) may be contiguous in v instead
        const c = coef(l.idx, ax.name, vars);
        if (!loads.includes(l) && c === 1 && !guarded.has(l)) continue;
        // an epilogue load (residual) gathered once per output element is fine
        if (!loads.includes(l) && !Number.isNaN(c) && !guarded.has(l)) continue;
        okB = false;
        break;
      }
      if (!packs.some((q) => q.param === p)) packs.push({ param: p, block: W });
    }
    if (okB && W >= 4 && packs.length) cands.push({ v: ax.name, W, packs });
  }
  if (!cands.length) return undefined;
  // widest vector; then contiguous (no packing); then the innermost axis
  cands.sort((a, b) => b.W - a.W || a.packs.length - b.packs.length || st.axes.indexOf(b.v) - st.axes.indexOf(a.v));
  const c = cands[0];
  // the vector operand: reduction loads that depend on v; rows: an axis none of them depends on
  const vecLoads = loads.filter((l) => coef(l.idx, c.v, vars) !== 0);
  const maxRows = c.W * bytes(R.t) >= 64 ? 8 : 6;
  let row: { name: string; R: number } | undefined;
  for (const ax of out.slice().reverse()) {
    if (ax.name === c.v || ax.extent < 2) continue;
    if (vecLoads.some((l) => usesVar(l.idx, ax.name))) continue;
    // an odd extent (13, 7) with no divisor in range: the whole axis when it still fits the registers
    let Rr = bestDivisor(ax.extent, maxRows);
    if (Rr < 4 && ax.extent <= maxRows + 6) Rr = ax.extent;
    if (!row || Rr > row.R) row = { name: ax.name, R: Rr };
  }
  const dirs: Directive[] = [{ d: 'split', axis: c.v, factor: c.W }];
  const inner = [`${c.v}_i`];
  if (row && row.R > 1) {
    dirs.push({ d: 'split', axis: row.name, factor: row.R });
    inner.unshift(`${row.name}_i`);
  }
  const outerLeaves: string[] = [];
  for (const a of st.axes) {
    if (a === c.v) outerLeaves.push(`${a}_o`);
    else if (row && row.R > 1 && a === row.name) outerLeaves.push(`${a}_o`);
    else outerLeaves.push(a);
  }
  dirs.push({ d: 'reorder', order: [...outerLeaves, ...R.axes.map((a) => a.name), ...inner] });
  dirs.push({ d: 'vectorize', axis: `${c.v}_i` });
  if (inner.length > 1) dirs.push({ d: 'unroll', axis: inner[0] });
  return { dirs, packs: c.packs };
}

export function defaultSchedule(src: KernelSource, caps: TargetCaps, prog?: Program): Directive[] {
  return defaultScheduleWithPacks(src, caps, prog).dirs;
}

function defaultScheduleWithPacks(src: KernelSource, caps: TargetCaps, prog?: Program): StageSchedule {
  const dirs: Directive[] = [];
  const packs: PackRequest[] = [];
  for (const st of src.stages) {
    if (st.kind !== 'compute') continue;
    if (!hasReduce(st)) { dirs.push(...elementwise(st, caps)); continue; }
    const r = reduction(src, st, caps, prog);
    if (r) { dirs.push(...r.dirs); packs.push(...r.packs.filter((p) => !packs.some((q) => q.param === p.param))); }
  }
  return { dirs, packs };
}

/**
 * Default schedules for every kernel of a program. Kernels whose schedule vectorizes a packed weight
 * get that weight packed here (the program's weights and the kernel's source change).
 */
export function chooseSchedules(prog: Program, caps: TargetCaps): Map<string, Directive[]> {
  const out = new Map<string, Directive[]>();
  for (const [name, src] of prog.sources) {
    const { dirs, packs } = defaultScheduleWithPacks(src, caps, prog);
    for (const p of packs) packWeight(prog, name, p.param, p.block);
    if (dirs.length) out.set(name, dirs);
  }
  return out;
}
