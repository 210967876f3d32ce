/**
 * Kernel-level schedule directives over several stages (Halide's compute_inline / compute_at):
 *
 * - `inline T`: the stage that computes the kernel-private temp T disappears; every later load of T
 *   reads T's compute expression instead, at the consumer's load indices.
 * - `compute-at T at LOOP`: at the start of every iteration of LOOP, the region of T that the body of
 *   LOOP reads (its affine bounding box) is computed from T's expression into a tile local to the
 *   iteration, and the loads inside the body read the tile. When no load of T is left anywhere else,
 *   the producing stage and T disappear.
 *
 * Neither changes results: the producer must be a compute stage (or an imperative stage recorded as
 * the realization of one, see `markComputed`) without reductions, the only writer of T, and no stage
 * between it and the consumer may write a buffer it reads.
 */
import { E, S, flatIndex, mapExpr, mapStmt, numel, substitute, walkStmt, type Buffer, type Expr, type Kernel, type Stmt } from './ir.ts';
import { simplifyStmt } from './simplify.ts';
import { intervalOf, linearize } from './cache.ts';
import { logicalShape } from './layout.ts';
import { ScheduleError, applyDirective, directiveLoop, initialState, realizeStage, type AxisState, type Directive } from './schedule.ts';
import type { ComputeStage, Stage } from './te.ts';

const COMPUTED = new WeakMap<Stmt, ComputeStage>();

/** Record that an imperative stage body is the (unscheduled) realization of a compute stage. */
export function markComputed(body: Stmt, st: ComputeStage): Stmt {
  COMPUTED.set(body, st);
  return body;
}
/** The compute stage an imperative stage body realizes, if recorded. */
export function computedBy(body: Stmt): ComputeStage | undefined {
  return COMPUTED.get(body);
}

/** Directives that act on the kernel's stage list rather than on one stage's loops. */
export function isStageDirective(d: Directive): d is Extract<Directive, { d: 'inline' | 'compute-at' }> {
  return d.d === 'inline' || d.d === 'compute-at';
}

export interface StagedKernel { name: string; params: Buffer[]; stages: Stage[]; temps: Buffer[]; fresh: (p: string) => string }

const loadsOf = (e: Expr, out = new Set<string>()) => { mapExpr(e, (x) => { if (x.k === 'load') out.add(x.buf); return x; }); return out; };
const stmtLoads = (s: Stmt, out = new Set<string>()) => { mapStmt(s, (x) => { if (x.k === 'load') out.add(x.buf); return x; }); return out; };
const stmtStores = (s: Stmt, out = new Set<string>()) => { walkStmt(s, (x) => { if (x.k === 'store') out.add(x.buf); }); return out; };
const stageReads = (st: Stage) => (st.kind === 'compute' ? loadsOf(st.body) : stmtLoads(st.body));
const stageWrites = (st: Stage) => (st.kind === 'compute' ? new Set([st.out.name]) : stmtStores(st.body));
const hasReduce = (e: Expr) => { let r = false; mapExpr(e, (x) => { if (x.k === 'reduce') r = true; return x; }); return r; };

interface Producer { index: number; def: ComputeStage; temp: Buffer }

function findProducer(stages: readonly Stage[], temps: readonly Buffer[], name: string, what: string): Producer {
  const temp = temps.find((t) => t.name === name);
  if (!temp) throw new ScheduleError(`${what}: '${name}' is not a kernel-private temp (temps: ${temps.map((t) => t.name).join(', ') || 'none'})`);
  const writers = stages.map((st, i) => [st, i] as const).filter(([st]) => stageWrites(st).has(name));
  if (writers.length !== 1) throw new ScheduleError(`${what}: ${name} is written by ${writers.length} stages (exactly one must compute it)`);
  const [st, index] = writers[0];
  const def = st.kind === 'compute' ? st : computedBy(st.body);
  if (!def || def.out.name !== name) throw new ScheduleError(`${what}: ${name} is filled by an imperative stage, not by a compute definition`);
  if (hasReduce(def.body)) throw new ScheduleError(`${what}: the definition of ${name} has a reduction (only element-wise producers can be inlined or computed at a loop)`);
  return { index, def, temp };
}

/** The producer's inputs must hold the same values from its stage up to stage `last`. */
function checkInputsStable(stages: readonly Stage[], p: Producer, last: number, what: string): void {
  const ins = loadsOf(p.def.body);
  for (let i = p.index + 1; i <= last; i++) {
    for (const w of stageWrites(stages[i])) {
      if (ins.has(w)) throw new ScheduleError(`${what}: ${w}, which the definition of ${p.temp.name} reads, is written by a later stage before the use`);
    }
  }
}

/**
 * Per-dimension indices of a flat load index into `shape`: the nested form flatIndex builds where every
 * coordinate provably lies in its dimension (given loop extents `ext`), else div/mod of the flat index
 * (exact for any in-range index).
 */
export function unflatten(idx: Expr, shape: readonly number[], ext: ReadonlyMap<string, number>): Expr[] {
  const r = shape.length;
  if (r === 0) return [];
  const match = (e: Expr, d: number): Expr[] | undefined => {
    if (d === 0) return [e];
    if (e.k === 'bin' && e.op === 'add' && e.a.k === 'bin' && e.a.op === 'mul' && e.a.b.k === 'const' && e.a.b.v === shape[d]) {
      const rest = match(e.a.a, d - 1);
      return rest && [...rest, e.b];
    }
    return undefined;
  };
  const m = match(idx, r - 1);
  if (m && m.every((x, d) => { const q = intervalOf(x, ext); return q !== undefined && q[0] >= 0 && q[1] < shape[d]; })) return m;
  return decodeFlat(idx, shape);
}

/** The producer's expression at the given coordinates of its output. */
function valueAt(def: ComputeStage, coords: Expr[]): Expr {
  const env: Record<string, Expr> = {};
  def.axes.forEach((a, i) => { env[a] = coords[i]; });
  return substitute(def.body, env);
}

function inlineStage(stages: Stage[], temps: Buffer[], name: string): { stages: Stage[]; temps: Buffer[] } {
  const what = `inline ${name}`;
  const p = findProducer(stages, temps, name, what);
  let last = p.index;
  stages.forEach((st, i) => {
    if (i === p.index || !stageReads(st).has(name)) return;
    if (i < p.index) throw new ScheduleError(`${what}: stage ${i} reads ${name} before it is computed`);
    if (st.kind !== 'compute') throw new ScheduleError(`${what}: ${name} is read by an imperative stage (only compute stages can take the inlined expression)`);
    last = i;
  });
  checkInputsStable(stages, p, last, what);
  const shape = p.temp.shape;
  const rewrite = (st: ComputeStage): ComputeStage => {
    const ext = new Map<string, number>(st.axes.map((a, i) => [a, logicalShape(st.out)[i]]));
    mapExpr(st.body, (x) => { if (x.k === 'reduce') for (const ax of x.axes) ext.set(ax.name, ax.extent); return x; });
    return { ...st, body: mapExpr(st.body, (x) => (x.k === 'load' && x.buf === name ? valueAt(p.def, unflatten(x.idx, shape, ext)) : x)) };
  };
  const out = stages.flatMap((st, i): Stage[] => (i === p.index ? [] : st.kind === 'compute' && i > p.index ? [rewrite(st)] : [st]));
  return { stages: out, temps: temps.filter((t) => t.name !== name) };
}

// ---- compute-at ----------------------------------------------------------------------------------

function findLoop(s: Stmt, v: string): Extract<Stmt, { k: 'for' }>[] {
  const out: Extract<Stmt, { k: 'for' }>[] = [];
  walkStmt(s, (x) => { if (x.k === 'for' && x.v === v) out.push(x); });
  return out;
}

const strideOf = (shape: readonly number[]) => shape.map((_, i) => numel(shape.slice(i + 1)));


function computeAt(nest: Stmt, p: Producer, at: string, fresh: (q: string) => string, what: string): Stmt {
  const loops = findLoop(nest, at);
  if (loops.length !== 1) throw new ScheduleError(`${what}: no single loop '${at}' in the realized loop nest`);
  const loop = loops[0];
  if (loop.kind.k !== 'serial' && loop.kind.k !== 'unrolled') throw new ScheduleError(`${what}: the loop must be serial or unrolled (it is ${loop.kind.k})`);
  const name = p.temp.name, shape = p.temp.shape, n = numel(shape);
  const inner = new Map<string, number>();
  const bound = new Set<string>();
  walkStmt(loop.body, (x) => {
    if (x.k === 'for') {
      if (x.ext.k !== 'const') throw new ScheduleError(`${what}: loop ${x.v} has no constant extent`);
      inner.set(x.v, x.ext.v);
    }
    if (x.k === 'let') bound.add(x.v);
    if (x.k === 'alloc') bound.add(x.buf.name);
    if (x.k === 'store' && x.buf === name) throw new ScheduleError(`${what}: the loop writes ${name}`);
  });
  const allExt = new Map<string, number>();
  walkStmt(nest, (x) => { if (x.k === 'for' && x.ext.k === 'const') allExt.set(x.v, x.ext.v); });
  const loads = new Map<string, Expr>();
  mapStmt(loop.body, (e) => {
    if (e.k === 'load' && e.buf === name) {
      if (e.lanes !== 1) throw new ScheduleError(`${what}: vector loads of ${name} cannot be computed at a loop`);
      loads.set(JSON.stringify(e.idx), e.idx);
    }
    return e;
  });
  if (loads.size === 0) throw new ScheduleError(`${what}: the loop does not read ${name}`);
  const strides = strideOf(shape);
  const tiles: { key: string; buf: Buffer; read: Expr; fill: Stmt }[] = [];
  for (const [key, idx] of loads) {
    const lin = linearize(idx, inner);
    if (!lin || ![...lin.coef.values()].every((c) => Number.isInteger(c))) {
      throw new ScheduleError(`${what}: the region of ${name} read inside ${at} is not an affine bounding box (index not affine in the loops inside ${at})`);
    }
    let bad = false;
    mapExpr(lin.base, (x) => { if (x.k === 'load' || (x.k === 'var' && bound.has(x.name))) bad = true; return x; });
    if (bad) throw new ScheduleError(`${what}: the region of ${name} read inside ${at} depends on values computed inside the loop (not an affine bounding box)`);
    // split coefficients over T's dimensions (outermost dimension whose stride divides them)
    const dims = new Map<number, { v: string; m: number }[]>();
    for (const [v, c] of lin.coef) {
      if (c === 0) continue;
      let d = strides.findIndex((s) => s > 0 && c % s === 0);
      if (d < 0) d = strides.length - 1;
      dims.set(d, [...(dims.get(d) ?? []), { v, m: c / (strides[d] || 1) }]);
    }
    const ds = [...dims.keys()].sort((a, b) => a - b);
    const lo: number[] = [], t: number[] = [];
    for (const d of ds) {
      let l = 0, h = 0;
      for (const { v, m } of dims.get(d)!) { const x = m * (inner.get(v)! - 1); l += Math.min(0, x); h += Math.max(0, x); }
      lo.push(l); t.push(h - l + 1);
    }
    const tshape = t.length ? t : [1];
    const T = numel(tshape);
    if (T > (1 << 24)) throw new ScheduleError(`${what}: the tile would hold ${T} elements`);
    const buf: Buffer = { name: fresh(`${name}_at`), dtype: p.temp.dtype, shape: tshape, scope: 'local', role: 'scratch' };
    const read = flatIndex(ds.map((d, i) => dims.get(d)!.reduce<Expr>((acc, { v, m }) => E.add(acc, E.mul(E.v(v), E.i(m))), E.i(-lo[i]))), tshape);
    // fill: one loop per tile dimension; element o of the tile is T's element base + sum (o_i + lo_i) * stride
    const ov = tshape.map(() => fresh('ca'));
    const src = ds.reduce<Expr>((acc, d, i) => E.add(acc, E.mul(E.add(E.v(ov[i]), E.i(lo[i])), E.i(strides[d]))), lin.base);
    const tIdx = flatIndex(ov.map((v) => E.v(v)), tshape);
    const ext = new Map([...allExt, ...ov.map((v, i) => [v, tshape[i]] as [string, number])]);
    const span = intervalOf(src, ext);
    const a = fresh('cai');
    const fill0 = span && span[0] >= 0 && span[1] < n
      ? S.store(buf.name, tIdx, valueAt(p.def, unflatten(src, shape, ext)))
      : S.let(a, 'i32', src, S.if(E.and(E.ge(E.v(a), E.i(0)), E.lt(E.v(a), E.i(n))),
        S.store(buf.name, tIdx, valueAt(p.def, decodeFlat(E.v(a), shape))), S.store(buf.name, tIdx, E.c(0, p.temp.dtype))));
    const fill = ov.reduceRight<Stmt>((acc, v, i) => S.for(v, tshape[i], acc), fill0);
    tiles.push({ key, buf, read, fill });
  }
  const byKey = new Map(tiles.map((t) => [t.key, t]));
  const body = mapStmt(loop.body, (e) => {
    if (e.k !== 'load' || e.buf !== name) return e;
    const t = byKey.get(JSON.stringify(e.idx));
    return t ? E.load(t.buf.name, t.read, e.t) : e;
  });
  let nb: Stmt = S.seq(...tiles.map((t) => t.fill), body);
  for (const t of tiles.slice().reverse()) nb = S.alloc(t.buf, nb);
  return replaceStmt(nest, loop, { ...loop, body: nb });
}

/** s with the statement `from` (by identity) replaced by `to`. */
export function replaceStmt(s: Stmt, from: Stmt, to: Stmt): Stmt {
  if (s === from) return to;
  switch (s.k) {
    case 'for': case 'alloc': case 'let': return { ...s, body: replaceStmt(s.body, from, to) };
    case 'if': return { ...s, then: replaceStmt(s.then, from, to), ...(s.else ? { else: replaceStmt(s.else, from, to) } : {}) };
    case 'seq': return { k: 'seq', body: s.body.map((b) => replaceStmt(b, from, to)) };
    default: return s;
  }
}

/** Row-major coordinates of an in-range flat index (div/mod). */
function decodeFlat(e: Expr, shape: readonly number[]): Expr[] {
  const st = strideOf(shape);
  return shape.map((n, d) => {
    const q = st[d] === 1 ? e : E.div(e, E.i(st[d]));
    return d === 0 ? q : E.mod(q, E.i(n));
  });
}

/**
 * Realize a kernel of several stages under a schedule that may contain `inline` / `compute-at`
 * directives (the others apply to the compute stage owning the loop they name, as in realizeKernel).
 */
export function realizeStages(src: StagedKernel, dirs: readonly Directive[]): Kernel {
  let stages = src.stages.slice(), temps = src.temps.slice();
  for (const d of dirs) if (d.d === 'inline') ({ stages, temps } = inlineStage(stages, temps, d.buf));
  const states = new Map<number, AxisState>();
  stages.forEach((st, i) => { if (st.kind === 'compute') states.set(i, initialState(st)); });
  for (const d of dirs) {
    if (isStageDirective(d)) continue;
    const axis = directiveLoop(d);
    const owner = [...states.entries()].find(([, s]) => s.leaves.some((l) => l.name === axis));
    if (!owner) throw new ScheduleError(`kernel ${src.name}: no loop '${axis}' (loops: ${[...states.values()].flatMap((s) => s.leaves.map((l) => l.name)).join(', ') || 'none'})`);
    states.set(owner[0], applyDirective(owner[1], d));
  }
  const buffers = [...src.params, ...temps];
  let nests: (Stmt | null)[] = stages.map((st, i) => (st.kind === 'compute' ? realizeStage(st, states.get(i)!, src.fresh, buffers) : simplifyStmt(st.body)));
  for (const d of dirs) {
    if (d.d !== 'compute-at') continue;
    const what = `compute-at ${d.buf} at ${d.at}`;
    const live = stages.filter((_, i) => nests[i] !== null);
    const p0 = findProducer(live, temps, d.buf, what);
    const index = stages.indexOf(live[p0.index]);
    const p: Producer = { ...p0, index };
    const ci = nests.findIndex((s, i) => s !== null && i !== index && findLoop(s, d.at).length > 0);
    if (ci < 0) throw new ScheduleError(`${what}: no loop '${d.at}' in the kernel's stages`);
    if (ci < index) throw new ScheduleError(`${what}: loop ${d.at} runs before ${d.buf} is computed`);
    if (stages[ci].kind !== 'compute') throw new ScheduleError(`${what}: loop ${d.at} belongs to an imperative stage`);
    checkInputsStable(stages, p, ci, what);
    nests[ci] = simplifyStmt(computeAt(nests[ci]!, p, d.at, src.fresh, what));
    // the producer goes when nothing reads the temp any more
    if (!nests.some((s, i) => s !== null && i !== index && stmtLoads(s).has(d.buf))) {
      nests[index] = null;
      temps = temps.filter((t) => t.name !== d.buf);
    }
  }
  nests = nests.filter((s) => s !== null);
  let body: Stmt = S.seq(...(nests as Stmt[]));
  for (const t of temps.slice().reverse()) body = S.alloc(t, body);
  return { name: src.name, params: src.params, body };
}
