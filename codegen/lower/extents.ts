/**
 * Symbolic dims other than a leading batch (a sequence length...) as run-time extents. The graph is
 * bound, optimized and lowered at several values of the symbol (sentinels(): the declared maximum,
 * the three below it, max/2 + 1 and max/4 + 1); the programs must agree in structure, and every number that
 * differs between them must be a polynomial of the symbol (extents-fit.ts). The merged program is
 * the one at the maximum with those numbers replaced by expressions of the extent variable, which
 * each kernel that needs it loads from a one-element i32 buffer (`w_aic_dims`) the host sets per run.
 * Buffers are sized for the maximum (the memory plan too); their contents are compact, row-major at
 * the run-time shape. Schedules never split, tile, fuse or vectorize a loop whose extent is
 * symbolic (those directives are dropped), so the kernels need no tails. A constant the graph
 * folds to a symbol-dependent size (a slice of a position table) must be, at every value, a prefix
 * of the one at the maximum. Static dims keep their fully specialized code.
 */
import { AicError, Tensor, diag, type Graph } from '@aic/core';
import {
  E, S, ScheduleError, applyDirective, directiveLoop, initialState, isStageDirective, walkExpr, walkExprs,
  type AxisState, type Buffer, type Directive, type Expr, type Kernel, type Stmt,
} from '@aic/loop-ir';
import { lowerGraph, rescheduleProgram, type KernelSource, type Program, type ProgramBuffer } from './program.ts';
import { hoistGuards } from './hoist-guards.ts';
import { fitPoly, floatExpr, polyAt, polyExpr, polyText, type Poly } from './extents-fit.ts';
import type { TargetCaps } from '@aic/ir-spec';

export interface ExtentSpec {
  symbol: string;
  max: number;
  /** the model bound at a value of the symbol and optimized (a fresh graph per call) */
  graphAt: (value: number) => Graph;
}

/** On a program with run-time extents: the symbol, its maximum, and the run-time shape of each input/output. */
export interface RuntimeExtents {
  symbol: string;
  max: number;
  /** program buffer (input/output) name -> dims (number, or a polynomial of the symbol) */
  dims: Record<string, (number | Poly)[]>;
  /** the i32[1] weight buffer holding the run-time value */
  buffer: string;
  /** the values the program was lowered at, and whether loops along the symbol are split (guarded tails) or plain */
  values: number[];
  split: boolean;
}

const VAR = 'aic_S';
const DIMS = 'aic_dims';
/**
 * The values of the symbol the program is lowered at: the maximum first, every residue mod 4 next to
 * it, and values far below it (so that a size that only looks polynomial near the maximum, a
 * ceil(S / 32) say, shows as what it is).
 */
export function sentinels(max: number): number[] {
  return [...new Set([max, max - 1, max - 2, max - 3, Math.floor(max / 2) + 1, Math.floor(max / 4) + 1])];
}

interface LowerHooks {
  caps: TargetCaps;
  /** move split guards out of the loops they do not depend on (hoist-guards.ts) */
  hoistGuards?: boolean;
  schedules(prog: Program): Map<string, Directive[]>;
  finish?(prog: Program): void;
}

/**
 * Lower, schedule and merge: the program with run-time extents. First with the symbolic loops split
 * as the schedule says (guarded tails: lowered at values no small factor divides, so every split has
 * its guard); where that does not give one program, with those splits dropped.
 */
export function lowerWithExtents(spec: ExtentSpec, hooks: LowerHooks): Program {
  if (!(spec.max >= 8)) throw diag.extentMaxNeeded(spec.symbol, `is at most ${spec.max}; a run-time extent needs --max-shape ${spec.symbol}=N with N >= 8`);
  try {
    if (splitSentinels(spec.max).length) return lowerAt(spec, hooks, true);
  } catch (e) {
    if (!(e instanceof AicError && e.code === 'AIC0454')) throw e;
  }
  return lowerAt(spec, hooks, false);
}

/**
 * Values that no split factor up to 16 divides (so every split along the symbol has its guard): the
 * four nearest the maximum and two far below it; fewer than four such values (a small maximum): none.
 */
export function splitSentinels(max: number): number[] {
  const ok = (v: number) => v > 16 && [2, 3, 5, 7, 11, 13].every((p) => v % p !== 0);
  const near: number[] = [];
  for (let v = max; v > 16 && near.length < 4; v--) if (ok(v)) near.push(v);
  const far = (t: number) => { let v = t; while (!ok(v)) v++; return v; };
  const all = [...new Set([...near, ...[Math.floor(max / 2) + 1, Math.floor(max / 4) + 1].map(far).filter((v) => v <= max)])];
  return all.length >= 4 ? all : [];
}

function lowerAt(spec: ExtentSpec, hooks: LowerHooks, split: boolean): Program {
  const xs = split ? splitSentinels(spec.max) : sentinels(spec.max);
  const progs = xs.map((v) => lowerGraph(spec.graphAt(v), hooks.caps));
  shapeOf(progs, 'kernels', progs.map((p) => p.kernels.map((k) => k.name).join(',')));
  // default schedules at each value (they pack weights, choose algorithms), less what a symbolic loop cannot take
  const chosen = progs.map((p) => hooks.schedules(p));
  const common = new Map<string, Directive[]>();
  const divisors = new Map<string, number[]>();
  for (const name of progs[0]!.sources.keys()) {
    const srcs = progs.map((p) => p.sources.get(name)!);
    const sym = symbolicLoops(srcs);
    // the first value's (the largest): applies at every value
    const dirs = keepStatic(srcs[0]!, chosen[0]!.get(name) ?? [], sym, split);
    common.set(name, dirs);
    divisors.set(name, dirs.flatMap((d) => (d.d === 'split' ? [d.factor] : d.d === 'tile' ? d.factors : [])));
  }
  for (const p of progs) {
    try {
      rescheduleProgram(p, common);
    } catch (e) {
      if (!(e instanceof ScheduleError)) throw e;
      throw diag.extentUnsupported(spec.symbol, `a schedule does not apply at every value (${e.message})`);
    }
    hooks.finish?.(p);
  }
  // the weights at the maximum (a slice of a position table: the artifact keeps the longest)
  let atMax = progs[0]!;
  if (xs[0] !== spec.max) { atMax = lowerGraph(spec.graphAt(spec.max), hooks.caps); hooks.schedules(atMax); }
  const prog = mergePrograms(progs, xs, spec, atMax, divisors, !!hooks.hoistGuards);
  prog.extents = { ...prog.extents!, values: xs, split };
  return prog;
}

/**
 * The spec of a symbol: `at(v)` gives the model bound at v and optimized, each value once; a value
 * the model does not take (a position table shorter than the maximum) is AIC0453.
 */
export function extentSpec(symbol: string, max: number, at: (v: number) => Graph): ExtentSpec {
  const done = new Map<number, Graph>();
  const graphAt = (v: number) => {
    if (!done.has(v)) {
      try {
        done.set(v, at(v));
      } catch (e) {
        if (!(e instanceof AicError)) throw e;
        throw diag.extentMaxNeeded(symbol, `cannot be ${v} (--max-shape ${symbol}=${max} asks for every value up to it): ${e.message}`);
      }
    }
    return done.get(v)!;
  };
  return { symbol, max, graphAt };
}

/** Loops whose extent differs between the values (output axes and reduction axes of compute stages). */
function symbolicLoops(srcs: KernelSource[]): Set<string> {
  const out = new Set<string>();
  srcs[0]!.stages.forEach((st, j) => {
    if (st.kind !== 'compute') return;
    const others = srcs.map((s) => s.stages[j]!);
    st.axes.forEach((a, i) => { if (others.some((o) => o.kind !== 'compute' || o.out.shape[i] !== st.out.shape[i])) out.add(a); });
    const red = (s: typeof st) => { const r: { name: string; extent: number }[] = []; walkExpr(s.kind === 'compute' ? s.body : E.i(0), (e) => { if (e.k === 'reduce') r.push(...e.axes); }); return r; };
    const r0 = red(st);
    for (const o of others) red(o as typeof st).forEach((ax, k) => { if (r0[k] && r0[k]!.extent !== ax.extent) out.add(r0[k]!.name); });
  });
  return out;
}

/**
 * A schedule less the directives that act on a symbolic loop (or on loops made from one); with
 * `split`, splits and tiles of symbolic loops stay, with guarded tails.
 */
function keepStatic(src: KernelSource, dirs: Directive[], sym: Set<string>, split: boolean): Directive[] {
  if (!sym.size) return dirs;
  if (dirs.some(isStageDirective)) return dirs.filter((d) => d.d === 'algorithm');
  const states = new Map<number, AxisState>();
  src.stages.forEach((st, i) => { if (st.kind === 'compute') states.set(i, initialState(st)); });
  const kept: Directive[] = [];
  for (const d of dirs) {
    if (d.d === 'algorithm') { kept.push(d); continue; }
    const names = d.d === 'reorder' ? d.order : d.d === 'tile' || d.d === 'fuse' ? d.axes : [directiveLoop(d)];
    const owner = [...states.entries()].find(([, s]) => s.leaves.some((l) => l.name === names[0]));
    if (!owner || names.some((n) => !owner[1].leaves.some((l) => l.name === n))) continue;
    let dd = d;
    if (split && (d.d === 'split' || d.d === 'tile') && names.some((n) => sym.has(n))) {
      if (d.d === 'split') dd = { d: 'split', axis: d.axis, factor: d.factor }; // a guard, whatever the tail (clamp needs S >= factor)
    } else if (d.d !== 'reorder' && d.d !== 'parallel' && names.some((n) => sym.has(n))) continue;
    try { states.set(owner[0], applyDirective(owner[1], dd)); kept.push(dd); } catch { /* not applicable without the dropped ones */ }
  }
  return kept;
}

function shapeOf(progs: Program[], what: string, keys: string[]): void {
  if (keys.some((k) => k !== keys[0])) throw diag.extentUnsupported('', `changes the model's ${what} from one value to another (the compiled program is not the same at every length)`);
}

/** Merge the programs lowered at xs (xs[0] the maximum) into one with run-time extents. */
function mergePrograms(progs: Program[], xs: number[], spec: ExtentSpec, atMax: Program, divisors: Map<string, number[]>, hoist: boolean): Program {
  const sym = spec.symbol;
  const p0 = progs[0]!;
  const fail = (what: string) => diag.extentUnsupported(sym, what);
  const lists = ['inputs', 'outputs', 'weights', 'temps'] as const;
  for (const l of lists) shapeOf(progs, `${l}`, progs.map((p) => p[l].map((b) => `${b.name}:${b.dtype}:${b.shape.length}`).join(',')));
  shapeOf(progs, 'kernel calls', progs.map((p) => JSON.stringify(p.steps.map((s) => [s.kernel, s.args]))));
  const dims: Record<string, (number | Poly)[]> = {};
  const varying: ProgramBuffer[] = [];
  const sized = new Map<string, number[]>();
  const longest = new Map<string, ProgramBuffer>();
  for (const l of lists) {
    p0[l].forEach((b, j) => {
      const bs = progs.map((p) => p[l][j]!);
      const d = b.shape.map((n, k) => {
        const ys = bs.map((x) => x.shape[k]!);
        if (ys.every((y) => y === n)) return n;
        const poly = fitPoly(xs, ys);
        if (!poly) throw fail(`gives buffer '${b.value}' dim ${k} the sizes ${ys.join(', ')} at ${xs.join(', ')}, not a polynomial of it`);
        return poly;
      });
      if (d.some((x) => typeof x !== 'number')) {
        if (b.layout) throw fail(`reaches '${b.value}', which has a blocked layout`);
        if (b.extent) throw fail(`meets '${b.value}', whose size the data decides`);
        if (l === 'inputs' || l === 'outputs') dims[b.name] = d;
      }
      if (d.some((x) => typeof x !== 'number')) sized.set(b.name, d.map((x) => (typeof x === 'number' ? x : polyAt(x, spec.max))));
      if (l === 'weights') {
        const wm = atMax.weights.find((w) => w.name === b.name);
        const full = wm?.data && sized.has(b.name) && wm.shape.join() === sized.get(b.name)!.join() ? wm : undefined;
        if (full) longest.set(b.name, full);
        if (!prefixOfMax(full ?? b, bs)) varying.push(b);
      }
    });
  }
  const resize = (b: ProgramBuffer): ProgramBuffer => (longest.has(b.name) ? { ...b, shape: sized.get(b.name)!, data: longest.get(b.name)!.data } : sized.has(b.name) ? { ...b, shape: sized.get(b.name)! } : b);
  const polys = [{ c: [0, 1] }, ...Object.values(dims).flat().filter((x): x is Poly => typeof x !== 'number')];
  const sVar = E.v(VAR);
  const kernels = p0.kernels.map((k0, i) => {
    const ks = progs.map((p) => p.kernels[i]!);
    const m: Merge = { xs, s: sVar, max: spec.max, divisors: divisors.get(k0.name) ?? [], polys, fail };
    let body = mergeNode(ks.map((k) => k.body), `kernel ${k0.name}`, m) as Stmt;
    const params = k0.params.map((b, j) => mergeBuffer(ks.map((k) => k.params[j]!), `kernel ${k0.name}`, m, true));
    if (!usesVar(body)) return { ...k0, params, body };
    if (hoist) body = hoistGuards(body);
    const dimsParam: Buffer = { name: DIMS, dtype: 'i32', shape: [1], scope: 'global', role: 'weight' };
    return { ...k0, params: [...params, dimsParam], body: S.let(VAR, 'i32', E.load(DIMS, E.i(0), 'i32'), body) } as Kernel;
  });
  // a constant whose contents depend on the symbol otherwise (a folded shape vector): no kernel may read it
  for (const w of varying) {
    const read = p0.steps.find((st) => { const k = kernels.find((x) => x.name === st.kernel)!; return st.args.some((a, j) => a === w.name && reads(k.body, k.params[j]!.name)); });
    if (read) throw fail(`folds constant '${w.value}', read by ${read.node}, to contents that depend on it (not the first elements of the one at the maximum)`);
  }
  const dimsBuf: ProgramBuffer = { name: `w_${DIMS}`, dtype: 'i32', shape: [1], scope: 'global', role: 'weight', value: `${sym}:extent`, data: new Tensor('int32', [1], Int32Array.from([spec.max])) };
  const steps = p0.steps.map((st, i) => (kernels.find((k) => k.name === st.kernel)!.params.some((p) => p.name === DIMS) ? { ...st, args: [...st.args, dimsBuf.name] } : st));
  return {
    ...p0, kernels, steps, weights: [...p0.weights.map(resize), dimsBuf],
    inputs: p0.inputs.map(resize), outputs: p0.outputs.map(resize), temps: p0.temps.map(resize),
    extents: { symbol: sym, max: spec.max, dims, buffer: dimsBuf.name, values: xs, split: false },
  };
}

/** Is a weight, at every value, the first elements of the one at the maximum (a slice of a position table)? */
function prefixOfMax(b: ProgramBuffer, bs: ProgramBuffer[]): boolean {
  const d0 = b.data;
  return bs.every(({ data: d }) => !d0 || !d
    || (d.size <= d0.size && Array.from({ length: d.size }, (_, i) => i).every((i) => Object.is(Number(d.num[i]), Number(d0.num[i])))));
}

function reads(s: Stmt, buf: string): boolean {
  let r = false;
  walkExprs(s, (e) => { if (e.k === 'load' && e.buf === buf) r = true; });
  return r;
}

function usesVar(s: Stmt): boolean {
  return JSON.stringify(s).includes(`"name":"${VAR}"`);
}

interface Merge { xs: number[]; s: Expr; max: number; divisors: number[]; polys: Poly[]; fail: (w: string) => Error }

/** A buffer of a kernel at every value: sized for the maximum (its dims polynomials of the symbol); register tiles may not depend on it. */
function mergeBuffer(bs: Buffer[], where: string, m: Merge, sizedByS: boolean): Buffer {
  const b = bs[0]!;
  if (bs.some((x) => x.dtype !== b.dtype || x.shape.length !== b.shape.length)) throw m.fail(`changes buffer '${b.name}' of ${where}`);
  if (bs.every((x) => x.shape.every((n, k) => n === b.shape[k]))) return b;
  if (!sizedByS) throw m.fail(`sizes the register tile '${b.name}' of ${where}`);
  const shape = b.shape.map((n, k) => {
    const ys = bs.map((x) => x.shape[k]!);
    if (ys.every((y) => y === n)) return n;
    const p = fitPoly(m.xs, ys);
    if (!p) throw m.fail(`gives buffer '${b.name}' of ${where} dim ${k} the sizes ${ys.join(', ')} at ${m.xs.join(', ')}, not a polynomial of it`);
    return polyAt(p, m.max);
  });
  return { ...b, shape };
}

/** A differing integer constant: a polynomial of S, or ceil(p(S) / d) for a split factor d (a guarded split's outer extent). */
function intExpr(ys: number[], t: Expr['t'], m: Merge): Expr | undefined {
  const p = fitPoly(m.xs, ys);
  if (p) return polyExpr(p, m.s, t);
  for (const d of new Set(m.divisors)) {
    if (d < 2) continue;
    const q = m.polys.find((x) => m.xs.every((v, k) => Math.ceil(polyAt(x, v) / d) === ys[k]));
    if (q) return E.cast(E.div(E.add(polyExpr(q, m.s, 'i32'), E.i(d - 1)), E.i(d)), t);
  }
  return undefined;
}

/** Merge the same node of several programs: equal parts as they are, differing integer or float constants as expressions of s. */
function mergeNode(ns: unknown[], where: string, m: Merge): unknown {
  const n0 = ns[0];
  if (n0 === null || typeof n0 !== 'object') {
    if (ns.every((n) => n === n0)) return n0;
    throw m.fail(`changes ${where} in structure (${ns.map(String).join(' / ')})`);
  }
  if (Array.isArray(n0)) {
    if (ns.some((n) => !Array.isArray(n) || n.length !== n0.length)) throw m.fail(`changes the structure of ${where}`);
    return n0.map((_, i) => mergeNode(ns.map((n) => (n as unknown[])[i]), where, m));
  }
  const o0 = n0 as Record<string, unknown>;
  if (o0.k === 'const' && typeof o0.v === 'number' && 'lanes' in o0) {
    const ys = ns.map((n) => (n as { v: number }).v);
    if (ys.every((y) => Object.is(y, ys[0]))) return n0;
    const t = o0.t as Expr['t'];
    const e = o0.lanes !== 1 ? undefined : t === 'f32' || t === 'f64' ? floatExpr(m.xs, ys, m.s, t) : intExpr(ys, t, m);
    if (!e) throw m.fail(`gives a constant of ${where} the values ${ys.join(', ')} at ${m.xs.join(', ')}, not a polynomial of it`);
    return e;
  }
  if ('scope' in o0 && 'role' in o0 && Array.isArray(o0.shape)) return mergeBuffer(ns as Buffer[], where, m, o0.scope !== 'register');
  const keys = Object.keys(o0);
  if (ns.some((n) => Object.keys(n as object).join() !== keys.join())) throw m.fail(`changes the structure of ${where}`);
  const r: Record<string, unknown> = {};
  for (const key of keys) r[key] = mergeNode(ns.map((n) => (n as Record<string, unknown>)[key]), where, m);
  return r;
}

/** How artifacts write a dim: a number, or the polynomial of the symbol. */
export function dimText(d: number | Poly, symbol: string): string {
  return typeof d === 'number' ? String(d) : polyText(d, symbol);
}

/** The dims of a program buffer at the run-time value v. */
export function dimsAt(ext: RuntimeExtents, b: ProgramBuffer, v: number): number[] {
  const d = ext.dims[b.name];
  return d ? d.map((x) => (typeof x === 'number' ? x : polyAt(x, v))) : b.shape.slice();
}
