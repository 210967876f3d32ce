/**
 * Schedules as data (Halide/TVM style): a list of directives over the axes of a compute stage —
 * split, tile, reorder, fuse, vectorize, unroll, parallel, bind (GPU), cache (staging a buffer's region
 * in shared/local memory, see cache.ts), and the kernel-level inline / compute-at (stages.ts). Applying a directive is a pure
 * function of the axis state; realizing a stage under a schedule yields the loop nest. A schedule
 * never changes results: splits that don't divide get guards, reductions keep their order per
 * output element, and register tiles are initialised and stored exactly once per element.
 */
import { E, S, flatIndex, mapExpr, substitute, type Buffer, type Expr, type LoopKind, type ScalarType, type Stmt } from './ir.ts';
import { simplifyStmt as simplifyStmt0 } from './simplify.ts';
import { applyCaches } from './cache.ts';
import { bufferIndex, logicalShape } from './layout.ts';
import type { ComputeStage } from './te.ts';

export type Directive =
  /**
   * tail 'guard' (default): a factor that does not divide gets an `if` around the body; 'clamp' (output
   * axes only, factor <= extent): the last block starts at n - f instead (index min(o*f, n - f) + i),
   * overlapping the previous one, whose elements it re-computes and stores again with the same values:
   * no branch in the loop nest, indices affine in the inner loop (vectorizable), results unchanged.
   * 'pad' (output axes): the last block runs past the extent unguarded, for outputs whose layout pads
   * the axis to whole blocks (NC4HW4 channels); the schedule must know every access stays inside its
   * buffer (codegen/schedule/blocked.ts proves it) and the extra elements land in padding nobody reads.
   * 'store' (output axes): the last block's reduction runs past the extent unguarded (in the register
   * tile) and only its stores are guarded, for a reduction whose loads stay inside their buffers over
   * the whole last block (a weight packed and zero-filled to whole blocks: codegen/schedule/defaults.ts
   * proves it): 921 output channels in 58 vectors of 16, not scalar lanes under a per-lane branch.
   */
  | { d: 'split'; axis: string; factor: number; tail?: 'guard' | 'clamp' | 'pad' | 'store' }
  | { d: 'tile'; axes: [string, string]; factors: [number, number] }
  | { d: 'reorder'; order: string[] }
  | { d: 'fuse'; axes: [string, string] }
  | { d: 'vectorize'; axis: string }
  | { d: 'unroll'; axis: string }
  | { d: 'parallel'; axis: string }
  | { d: 'bind'; axis: string; to: { axis: 'workgroup' | 'local'; dim: 'x' | 'y' | 'z' } }
  /**
   * Stage the part of buffer `buf` that the body of loop `at` reads into a scratch tile of `scope`
   * (`shared`: GPU workgroup memory, filled cooperatively by the local invocations, with barriers
   * around the use; `local`: a private copy per iteration). Loads of `buf` inside the loop read the tile.
   */
  | { d: 'cache'; buf: string; at: string; scope: 'shared' | 'local' }
  /**
   * Kernel-level (see stages.ts): substitute the definition of the kernel-private temp `buf` into every
   * later load of it; its stage and the temp disappear.
   */
  | { d: 'inline'; buf: string }
  /**
   * Kernel-level: the algorithm that computes a conv / matmul kernel (`direct`, `winograd(4,3)`,
   * `winograd(2,3)`); chosen before the loop directives (codegen/schedule/algorithms), which then name
   * the algorithm's loops. Realization skips it.
   */
  | { d: 'algorithm'; name: string; params?: number[] }
  /**
   * Kernel-level: how a padded conv input is copied (codegen/schedule/pad-planes.ts): `plane` (default
   * where it applies) copies one padded plane at a time inside the conv's outer loop, `whole` the whole
   * padded input before it. Applied after realization; results are the same bits either way.
   */
  | { d: 'pad-copy'; mode: 'plane' | 'whole' }
  /**
   * Kernel-level: the arithmetic of an integer sum (codegen/schedule/float-sum.ts): `f32` computes an
   * int8 sum in f32 lanes where that is exact (every partial sum within 2^24), `i32` keeps int32 lanes.
   * Applied before realization with the algorithm; results are the same integers either way.
   */
  | { d: 'accumulate'; type: 'f32' | 'i32' }
  /**
   * Kernel-level: the width in lanes of the column panels a constant vector operand (a MatMul's B) is
   * packed in, where the target's default schedule packs one (codegen/schedule/col-pack.ts, narrow-vector
   * targets): the register tile then holds lanes / W vectors per row. Applied with the default
   * schedule's packing; results are the same bits at every width.
   */
  | { d: 'panel'; lanes: number }
  /**
   * Kernel-level (see stages.ts): compute the region of temp `buf` that the body of loop `at` reads into a
   * tile local to each iteration, from `buf`'s definition, right before it is used.
   */
  | { d: 'compute-at'; buf: string; at: string };

/** A kernel-level directive (`algorithm`, `pad-copy`, `accumulate`, `panel`): it names no loop and realization skips it. */
export const isKernelLevel = (d: Directive): boolean => d.d === 'algorithm' || d.d === 'pad-copy' || d.d === 'accumulate' || d.d === 'panel';

export interface CacheSpec { buf: string; at: string; scope: 'shared' | 'local' }

/** The loop a directive names (realizeKernel routes each directive to the stage owning that loop). */
export function directiveLoop(d: Directive): string {
  switch (d.d) {
    case 'reorder': return d.order[0];
    case 'tile': case 'fuse': return d.axes[0];
    case 'cache': case 'compute-at': return d.at;
    case 'inline': return d.buf;
    case 'algorithm': case 'pad-copy': case 'accumulate': case 'panel': return '';
    default: return d.axis;
  }
}

export interface Leaf { name: string; extent: number; reduce: boolean; kind: LoopKind }
export interface AxisState {
  /** loops, outermost first */
  leaves: Leaf[];
  /** each original axis as an expression of leaf variables */
  defs: Record<string, Expr>;
  /**
   * conditions (from non-dividing splits) under which an iteration is real; tagged by reduce-ness, and
   * `store` for a split tail 'store' (checked on the stores of a reduction's output, not its steps)
   */
  guards: { c: Expr; reduce: boolean; store?: boolean }[];
  /** cache directives, realized after the loop nest is built */
  caches?: CacheSpec[];
}

export class ScheduleError extends Error {}

export function initialState(st: ComputeStage): AxisState {
  const leaves: Leaf[] = st.axes.map((a, i) => ({ name: a, extent: logicalShape(st.out)[i], reduce: false, kind: { k: 'serial' } }));
  const defs: Record<string, Expr> = {};
  for (const a of st.axes) defs[a] = E.v(a);
  for (const r of reducesOf(st.body)) for (const ax of r.axes) {
    leaves.push({ name: ax.name, extent: ax.extent, reduce: true, kind: { k: 'serial' } });
    defs[ax.name] = E.v(ax.name);
  }
  return { leaves, defs, guards: [] };
}

/**
 * The distinct reductions of a body: structurally identical ones (an epilogue that reads the reduced
 * value twice, e.g. y * sigmoid(y)) are one reduction, computed once.
 */
export function reducesOf(e: Expr): Extract<Expr, { k: 'reduce' }>[] {
  const out: Extract<Expr, { k: 'reduce' }>[] = [];
  const seen = new Set<string>();
  mapExpr(e, (x) => {
    if (x.k === 'reduce') {
      const key = JSON.stringify(x);
      if (!seen.has(key)) { seen.add(key); out.push(x); }
    }
    return x;
  });
  return out;
}

function leafIndex(s: AxisState, name: string): number {
  const i = s.leaves.findIndex((l) => l.name === name);
  if (i < 0) throw new ScheduleError(`no loop '${name}' (loops: ${s.leaves.map((l) => l.name).join(', ')})`);
  return i;
}

export function applyDirective(s0: AxisState, dir: Directive): AxisState {
  const s: AxisState = { leaves: s0.leaves.map((l) => ({ ...l })), defs: { ...s0.defs }, guards: s0.guards.slice(), ...(s0.caches ? { caches: s0.caches.slice() } : {}) };
  switch (dir.d) {
    case 'split': {
      const i = leafIndex(s, dir.axis);
      const l = s.leaves[i];
      const f = dir.factor;
      if (!(f >= 1) || !Number.isInteger(f)) throw new ScheduleError(`split ${dir.axis}: factor must be a positive integer`);
      const outer: Leaf = { name: `${l.name}_o`, extent: Math.ceil(l.extent / f), reduce: l.reduce, kind: { k: 'serial' } };
      const inner: Leaf = { name: `${l.name}_i`, extent: dir.tail === 'pad' ? f : Math.min(f, l.extent), reduce: l.reduce, kind: { k: 'serial' } };
      const clamp = dir.tail === 'clamp' && l.extent % f !== 0;
      if (clamp && l.reduce) throw new ScheduleError(`split ${dir.axis} clamp: a reduction loop cannot be clamped (its last elements would count twice)`);
      if (clamp && l.extent < f) throw new ScheduleError(`split ${dir.axis} by ${f} clamp: the factor exceeds the extent ${l.extent}`);
      // clamp: the last block starts at n - f (overlapping the one before): indices stay affine in the inner loop
      const value = clamp
        ? E.add(E.min(E.mul(E.v(outer.name), E.i(f)), E.i(l.extent - f)), E.v(inner.name))
        : E.add(E.mul(E.v(outer.name), E.i(f)), E.v(inner.name));
      for (const k of Object.keys(s.defs)) s.defs[k] = substitute(s.defs[k], { [l.name]: value });
      s.guards = s.guards.map((g) => ({ ...g, c: substitute(g.c, { [l.name]: value }) }));
      if ((dir.tail === 'pad' || dir.tail === 'store') && l.reduce) throw new ScheduleError(`split ${dir.axis} ${dir.tail}: a reduction loop cannot run past its extent`);
      if (l.extent % f !== 0 && !clamp && dir.tail !== 'pad') s.guards.push({ c: E.lt(value, E.i(l.extent)), reduce: l.reduce, ...(dir.tail === 'store' ? { store: true } : {}) });
      s.leaves.splice(i, 1, outer, inner);
      return s;
    }
    case 'tile': {
      let t = applyDirective(s, { d: 'split', axis: dir.axes[0], factor: dir.factors[0] });
      t = applyDirective(t, { d: 'split', axis: dir.axes[1], factor: dir.factors[1] });
      return applyDirective(t, { d: 'reorder', order: [`${dir.axes[0]}_o`, `${dir.axes[1]}_o`, `${dir.axes[0]}_i`, `${dir.axes[1]}_i`] });
    }
    case 'reorder': {
      const idx = dir.order.map((n) => leafIndex(s, n));
      const slots = idx.slice().sort((a, b) => a - b);
      const moved = idx.map((i) => s.leaves[i]);
      const leaves = s.leaves.slice();
      slots.forEach((slot, k) => { leaves[slot] = moved[k]; });
      s.leaves = leaves;
      return s;
    }
    case 'fuse': {
      const i = leafIndex(s, dir.axes[0]), j = leafIndex(s, dir.axes[1]);
      if (j !== i + 1) throw new ScheduleError(`fuse ${dir.axes.join(', ')}: the loops must be adjacent, outer first`);
      const a = s.leaves[i], b = s.leaves[j];
      if (a.reduce !== b.reduce) throw new ScheduleError('fuse: cannot fuse a reduction loop with an output loop');
      const f: Leaf = { name: `${a.name}_${b.name}`, extent: a.extent * b.extent, reduce: a.reduce, kind: { k: 'serial' } };
      const env = { [a.name]: E.div(E.v(f.name), E.i(b.extent)), [b.name]: E.mod(E.v(f.name), E.i(b.extent)) };
      for (const k of Object.keys(s.defs)) s.defs[k] = substitute(s.defs[k], env);
      s.guards = s.guards.map((g) => ({ ...g, c: substitute(g.c, env) }));
      s.leaves.splice(i, 2, f);
      return s;
    }
    case 'vectorize': {
      const l = s.leaves[leafIndex(s, dir.axis)];
      if (l.reduce) throw new ScheduleError(`vectorize ${dir.axis}: a reduction loop cannot be vectorized (results would be reassociated)`);
      l.kind = { k: 'vectorized', lanes: l.extent };
      return s;
    }
    case 'unroll': s.leaves[leafIndex(s, dir.axis)].kind = { k: 'unrolled' }; return s;
    case 'parallel': {
      const l = s.leaves[leafIndex(s, dir.axis)];
      if (l.reduce) throw new ScheduleError(`parallel ${dir.axis}: a reduction loop cannot run in parallel`);
      l.kind = { k: 'parallel' };
      return s;
    }
    case 'bind': {
      const l = s.leaves[leafIndex(s, dir.axis)];
      if (l.reduce) throw new ScheduleError(`bind ${dir.axis}: a reduction loop cannot be bound to a GPU axis`);
      l.kind = { k: 'gpu', axis: dir.to.axis, dim: dir.to.dim };
      return s;
    }
    case 'cache': {
      leafIndex(s, dir.at);
      s.caches = [...(s.caches ?? []), { buf: dir.buf, at: dir.at, scope: dir.scope }];
      return s;
    }
    case 'algorithm': return s; // chosen before realization (codegen/schedule/algorithms)
    case 'pad-copy': return s; // applied after realization (codegen/schedule/pad-planes.ts)
    case 'accumulate': return s; // applied before realization (codegen/schedule/float-sum.ts)
    case 'panel': return s; // applied with the default schedule's packing (codegen/schedule/col-pack.ts)
    case 'inline': case 'compute-at':
      throw new ScheduleError(`${printDirective(dir)}: a kernel-level directive (it acts on several stages): apply it with realizeKernel / realizeStages`);
  }
}

export function applySchedule(st: ComputeStage, dirs: Directive[]): AxisState {
  return dirs.reduce(applyDirective, initialState(st));
}

const INIT: Record<string, number> = { sum: 0, prod: 1, max: -Infinity, min: Infinity };

/**
 * The loop nest of a compute stage under a schedule. Output leaves placed inside the first
 * reduction loop form a register tile of accumulators.
 */
export function realizeStage(st: ComputeStage, s: AxisState, fresh: (p: string) => string, buffers: readonly Buffer[] = []): Stmt {
  const simplifyStmt = (x: Stmt) => simplifyStmt0(s.caches?.length ? applyCaches(x, s.caches, fresh, buffers) : x);
  const reds = reducesOf(st.body);
  const outIdx = bufferIndex(st.out, st.axes.map((a) => s.defs[a]));
  const wrapLoops = (leaves: Leaf[], body: Stmt) => leaves.reduceRight((acc, l) => S.for(l.name, l.extent, acc, l.kind), body);
  // 'all': every guard; 'steps': the reduction's steps (not the store-only guards); 'out': the output loops'
  const guarded = (body: Stmt, which: 'out' | 'all' | 'steps') => {
    const gs = s.guards.filter((g) => which === 'all' || (which === 'steps' ? !g.store : !g.reduce)).map((g) => g.c);
    return gs.length ? S.if(gs.reduce((a, b) => E.and(a, b)), body) : body;
  };
  const sub = (e: Expr) => mapExpr(e, (x) => (x.k === 'var' && s.defs[x.name] !== undefined && x.name !== undefined ? s.defs[x.name] : x));
  const p = s.leaves.findIndex((l) => l.reduce);
  if (reds.length === 0) {
    return simplifyStmt(wrapLoops(s.leaves, guarded(S.store(st.out.name, outIdx, sub(st.body)), 'all')));
  }
  if (reds.length > 1) {
    // several reductions in one body: each keeps its own accumulator inside every output loop
    if (s.leaves.slice(p).some((l) => !l.reduce)) throw new ScheduleError('a body with several reductions cannot have output loops inside its reduction loops');
    return simplifyStmt(wrapLoops(s.leaves.filter((l) => !l.reduce), guarded(hoistAll(st, s, outIdx, fresh), 'out')));
  }
  const R = reds[0];
  const outer = s.leaves.slice(0, p);
  const rest = s.leaves.slice(p);
  const tile = rest.filter((l) => !l.reduce);
  const tileSize = tile.reduce((a, l) => a * l.extent, 1);
  const tileIdx = tile.length ? flatIndex(tile.map((l) => E.v(l.name)), tile.map((l) => l.extent)) : E.i(0);
  const acc = fresh('acc');
  const accBuf: Buffer = { name: acc, dtype: R.t, shape: [tileSize], scope: 'register', role: 'scratch' };
  const cur = E.load(acc, tileIdx, R.t);
  const v = sub(R.body);
  const upd = reduceUpdate(R.op, R.t, cur, v);
  const init = S.store(acc, tileIdx, E.c(initValue(R.op, R.t), R.t));
  const post = sub(mapExpr(st.body, (x) => (x.k === 'reduce' ? E.load(acc, tileIdx, R.t) : x)));
  const body = S.alloc(accBuf, S.seq(
    wrapLoops(tile, init),
    wrapLoops(rest, guarded(S.store(acc, tileIdx, upd), 'steps')),
    wrapLoops(tile, guarded(S.store(st.out.name, outIdx, post), 'out')),
  ));
  return simplifyStmt(wrapLoops(outer, body));
}

/**
 * A NaN guard `select(isnan(x), k, x)` / `select(not(isnan(x)), x, k)` with a constant k (MaxPool's
 * NaN-skipping window): x and k, else undefined.
 */
function nanGuard(e: Expr): { x: Expr; k: number } | undefined {
  if (e.k !== 'select') return undefined;
  const isnanOf = (c: Expr, x: Expr) => c.k === 'call' && c.fn === 'isnan' && JSON.stringify(c.args[0]) === JSON.stringify(x);
  if (e.a.k === 'const' && isnanOf(e.c, e.b)) return { x: e.b, k: e.a.v };
  if (e.b.k === 'const' && e.c.k === 'un' && e.c.op === 'not' && isnanOf(e.c.x, e.a)) return { x: e.a, k: e.b.v };
  return undefined;
}

/** A value that is never NaN: an integer, a non-NaN constant, a NaN guard with a non-NaN k, or a select of such values. */
function neverNaN(e: Expr): boolean {
  if (e.t !== 'f32' && e.t !== 'f64' && e.t !== 'f16') return true;
  if (e.k === 'const') return !Number.isNaN(e.v);
  const g = nanGuard(e);
  if (g) return !Number.isNaN(g.k);
  return e.k === 'select' && neverNaN(e.a) && neverNaN(e.b);
}

/**
 * One step of a reduction: cur (+ * max min) v. A float max / min propagates NaN (a NaN v wins),
 * unless v is never NaN (neverNaN): then a plain compare + select, the same values with fewer
 * operations. A NaN guard whose constant is the reduction's identity (-inf for max, +inf for min)
 * is dropped: a NaN x fails the comparison and keeps cur, as the identity would (cur is never NaN
 * then). MaxPool's NaN-skipping window: 6 vector operations per element -> 1, a max.
 */
function reduceUpdate(op: string, t: ScalarType, cur: Expr, v: Expr): Expr {
  if (op === 'sum') return E.add(cur, v);
  if (op === 'prod') return E.mul(cur, v);
  if (t !== 'f32' && t !== 'f64') return op === 'max' ? E.max(cur, v) : E.min(cur, v);
  const g = nanGuard(v);
  const x = g && g.k === (op === 'max' ? -Infinity : Infinity) ? g.x : v;
  const better = op === 'max' ? E.gt(x, cur) : E.lt(x, cur);
  return E.select(x !== v || neverNaN(x) ? better : E.or(better, E.call('isnan', x)), x, cur);
}

function hoistAll(st: ComputeStage, s: AxisState, outIdx: Expr, fresh: (p: string) => string): Stmt {
  const pre: Stmt[] = [];
  const allocs: Buffer[] = [];
  const sub = (e: Expr) => mapExpr(e, (x) => (x.k === 'var' && s.defs[x.name] !== undefined ? s.defs[x.name] : x));
  const body = mapExpr(st.body, (e) => {
    if (e.k !== 'reduce') return e;
    const name = fresh('acc');
    allocs.push({ name, dtype: e.t, shape: [1], scope: 'register', role: 'scratch' });
    const cur = E.load(name, E.i(0), e.t);
    const v = e.body;
    const upd = reduceUpdate(e.op, e.t, cur, v);
    let loop: Stmt = S.store(name, E.i(0), upd);
    for (let d = e.axes.length - 1; d >= 0; d--) loop = S.for(e.axes[d].name, e.axes[d].extent, loop);
    pre.push(S.store(name, E.i(0), E.c(initValue(e.op, e.t), e.t)), loop);
    return cur;
  });
  let out: Stmt = S.seq(...pre.map((p) => mapStmtVars(p, sub)), S.store(st.out.name, outIdx, sub(body)));
  for (const a of allocs.reverse()) out = S.alloc(a, out);
  return out;
}

function mapStmtVars(s: Stmt, sub: (e: Expr) => Expr): Stmt {
  if (s.k === 'store') return { ...s, idx: sub(s.idx), val: sub(s.val) };
  if (s.k === 'for') return { ...s, body: mapStmtVars(s.body, sub) };
  return s;
}

export function initValue(op: string, t: string): number {
  const v = INIT[op];
  if (t === 'f32' || t === 'f64') return v;
  const lim: Record<string, [number, number]> = {
    i8: [-128, 127], i16: [-32768, 32767], i32: [-2147483648, 2147483647], i64: [-(2 ** 63), 2 ** 63 - 1],
    u8: [0, 255], u16: [0, 65535], u32: [0, 4294967295], u64: [0, 2 ** 64 - 1], bool: [0, 1],
  };
  if (v === -Infinity) return lim[t][0];
  if (v === Infinity) return lim[t][1];
  return v;
}

// ---- text form ---------------------------------------------------------------------------------

export function printDirective(d: Directive): string {
  switch (d.d) {
    case 'split': return `split ${d.axis} by ${d.factor}${d.tail === 'clamp' || d.tail === 'pad' || d.tail === 'store' ? ` ${d.tail}` : ''}`;
    case 'tile': return `tile ${d.axes[0]}, ${d.axes[1]} by ${d.factors[0]}, ${d.factors[1]}`;
    case 'reorder': return `reorder ${d.order.join(', ')}`;
    case 'fuse': return `fuse ${d.axes[0]}, ${d.axes[1]}`;
    case 'vectorize': return `vectorize ${d.axis}`;
    case 'unroll': return `unroll ${d.axis}`;
    case 'parallel': return `parallel ${d.axis}`;
    case 'bind': return `bind ${d.axis} to ${d.to.axis}.${d.to.dim}`;
    case 'cache': return `cache ${d.buf} at ${d.at} in ${d.scope}`;
    case 'inline': return `inline ${d.buf}`;
    case 'compute-at': return `compute-at ${d.buf} at ${d.at}`;
    case 'algorithm': return `algorithm ${d.name}${d.params?.length ? `(${d.params.join(',')})` : ''}`;
    case 'pad-copy': return `pad-copy ${d.mode}`;
    case 'accumulate': return `accumulate ${d.type}`;
    case 'panel': return `panel ${d.lanes}`;
  }
}

export function parseDirective(line: string): Directive {
  const t = line.trim();
  let m: RegExpExecArray | null;
  if ((m = /^split\s+(\w+)\s+by\s+(\d+)(?:\s+(clamp|pad|store))?$/.exec(t))) return { d: 'split', axis: m[1], factor: Number(m[2]), ...(m[3] ? { tail: m[3] as 'clamp' | 'pad' | 'store' } : {}) };
  if ((m = /^tile\s+(\w+)\s*,\s*(\w+)\s+by\s+(\d+)\s*,\s*(\d+)$/.exec(t))) return { d: 'tile', axes: [m[1], m[2]], factors: [Number(m[3]), Number(m[4])] };
  if ((m = /^reorder\s+(.+)$/.exec(t))) return { d: 'reorder', order: m[1].split(',').map((x) => x.trim()) };
  if ((m = /^fuse\s+(\w+)\s*,\s*(\w+)$/.exec(t))) return { d: 'fuse', axes: [m[1], m[2]] };
  if ((m = /^(vectorize|unroll|parallel)\s+(\w+)$/.exec(t))) return { d: m[1] as 'vectorize', axis: m[2] };
  if ((m = /^bind\s+(\w+)\s+to\s+(workgroup|local)\.([xyz])$/.exec(t))) return { d: 'bind', axis: m[1], to: { axis: m[2] as 'workgroup', dim: m[3] as 'x' } };
  if ((m = /^cache\s+(\w+)\s+at\s+(\w+)\s+in\s+(shared|local)$/.exec(t))) return { d: 'cache', buf: m[1], at: m[2], scope: m[3] as 'shared' };
  if ((m = /^inline\s+(\w+)$/.exec(t))) return { d: 'inline', buf: m[1] };
  if ((m = /^compute-at\s+(\w+)\s+at\s+(\w+)$/.exec(t))) return { d: 'compute-at', buf: m[1], at: m[2] };
  if ((m = /^algorithm\s+([a-z0-9+_-]+)(?:\s*\(\s*(\d+(?:\s*,\s*\d+)*)\s*\))?$/.exec(t))) return { d: 'algorithm', name: m[1], ...(m[2] ? { params: m[2].split(',').map((x) => Number(x.trim())) } : {}) };
  if ((m = /^pad-copy\s+(plane|whole)$/.exec(t))) return { d: 'pad-copy', mode: m[1] as 'plane' | 'whole' };
  if ((m = /^accumulate\s+(f32|i32)$/.exec(t))) return { d: 'accumulate', type: m[1] as 'f32' | 'i32' };
  if ((m = /^panel\s+(\d+)$/.exec(t))) return { d: 'panel', lanes: Number(m[1]) };
  throw new ScheduleError(`cannot parse schedule directive '${t}' (split A by N [clamp|pad] | tile A, B by N, M | reorder A, B, ... | fuse A, B | vectorize A | unroll A | parallel A | bind A to workgroup.x | cache BUF at A in shared|local | inline BUF | compute-at BUF at A | algorithm direct|winograd(M,3) | pad-copy plane|whole | accumulate f32|i32 | panel N)`);
}

/** A schedule file: `kernel NAME { directive; ... }` blocks (one directive per line or ';'-separated). */
export function parseScheduleFile(text: string): Map<string, Directive[]> {
  const out = new Map<string, Directive[]>();
  const re = /kernel\s+([A-Za-z0-9_]+)\s*\{([^}]*)\}/g;
  let m: RegExpExecArray | null;
  const stripped = text.replace(/#[^\n]*/g, '');
  while ((m = re.exec(stripped))) {
    out.set(m[1], m[2].split(/[;\n]/).map((x) => x.trim()).filter(Boolean).map(parseDirective));
  }
  if (out.size === 0 && stripped.trim()) throw new ScheduleError('schedule file: expected `kernel NAME { directives }` blocks');
  return out;
}

export function printSchedule(kernel: string, dirs: Directive[]): string {
  return `kernel ${kernel} {\n${dirs.map((d) => `  ${printDirective(d)}`).join('\n')}${dirs.length ? '\n' : ''}}\n`;
}
