/**
 * Symbolic dims other than a leading batch (a sequence length...) as run-time extents. The graph is
 * bound, optimized and lowered at several values of the symbol; the programs must agree in
 * structure, and every number that differs between them must be a polynomial of the symbol
 * (extents-fit.ts; merged by extents-merge.ts). The merged program has those numbers replaced by
 * expressions of the extent variable, which each kernel that needs it loads from a one-element i32
 * buffer (`w_aic_dims`) the host sets per run. Buffers are sized for the maximum (the memory plan
 * too); their contents are compact, row-major at the run-time shape. Loops along the symbol keep
 * their splits with guarded tails (lowered at splitSentinels(), values no factor up to 16 divides),
 * or, where that does not give one program, lose them (lowered at sentinels()). A constant the graph
 * folds to a symbol-dependent size (a slice of a position table) must be, at every value, a prefix
 * of the one at the maximum. Static dims keep their fully specialized code.
 */
import { AicError, diag, type Graph } from '@aic/core';
import { E, ScheduleError, applyDirective, directiveLoop, initialState, isKernelLevel, isStageDirective, walkExpr, type AxisState, type Directive } from '@aic/loop-ir';
import { lowerGraph, rescheduleProgram, type KernelSource, type Program, type ProgramBuffer } from './program.ts';
import { mergePrograms, shapeOf } from './extents-merge.ts';
import { polyAt, polyText, type Poly } from './extents-fit.ts';
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
  /** GPU: loops along the symbol may be fused and bound (the host computes grid counts per run); more divisors of those counts */
  grid?: { divisors: number[] };
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
  const progs = xs.map((v) => ({ ...lowerGraph(spec.graphAt(v), hooks.caps), sampled: true }));
  shapeOf(progs, 'kernels', progs.map((p) => p.kernels.map((k) => k.name).join(',')));
  // default schedules at each value (they pack weights, choose algorithms), less what a symbolic loop cannot take
  const chosen = progs.map((p) => hooks.schedules(p));
  const common = new Map<string, Directive[]>();
  const divisors = new Map<string, number[]>();
  for (const name of progs[0]!.sources.keys()) {
    const srcs = progs.map((p) => p.sources.get(name)!);
    const sym = symbolicLoops(srcs);
    // the first value's (the largest): applies at every value
    const dirs = keepStatic(srcs[0]!, srcs[xs.indexOf(Math.min(...xs))]!, chosen[0]!.get(name) ?? [], sym, split, !!hooks.grid);
    common.set(name, dirs);
    divisors.set(name, [...dirs.flatMap((d) => (d.d === 'split' ? [d.factor] : d.d === 'tile' ? d.factors : [])), ...(hooks.grid?.divisors ?? [])]);
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
  if (xs[0] !== spec.max) { atMax = { ...lowerGraph(spec.graphAt(spec.max), hooks.caps), sampled: true }; hooks.schedules(atMax); }
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
 * `split`, splits and tiles of symbolic loops stay, with guarded tails, where every value gives the
 * same loops: a split factor must stay below the loop's extent at the smallest value (`low`), else
 * its outer loop has one iteration there (and goes) and its inner one the extent itself. A block
 * split further into vectors (a wide tile's 2W block of two W vectors) falls back to the vector
 * factor; any other such split goes.
 */
function keepStatic(src: KernelSource, low: KernelSource, dirs: Directive[], sym: Set<string>, split: boolean, grid = false): Directive[] {
  if (!sym.size) return dirs;
  if (dirs.some(isStageDirective)) return dirs.filter(isKernelLevel);
  const states = new Map<number, [AxisState, AxisState]>();
  src.stages.forEach((st, i) => { const lo = low.stages[i]; if (st.kind === 'compute' && lo?.kind === 'compute') states.set(i, [initialState(st), initialState(lo)]); });
  const kept: Directive[] = [];
  dirs.forEach((d, k) => {
    if (isKernelLevel(d)) { kept.push(d); return; }
    const names = d.d === 'reorder' ? d.order : d.d === 'tile' || d.d === 'fuse' ? d.axes : [directiveLoop(d)];
    const owner = [...states.entries()].find(([, s]) => s[0].leaves.some((l) => l.name === names[0]));
    if (!owner || names.some((n) => !owner[1][0].leaves.some((l) => l.name === n))) return;
    let dd = d;
    if (split && (d.d === 'split' || d.d === 'tile') && names.some((n) => sym.has(n))) {
      if (d.d === 'split') { // a guard, whatever the tail (clamp needs S >= factor)
        const factor = splitBelow(d, dirs.slice(k + 1), owner[1][1].leaves.find((l) => l.name === d.axis)?.extent ?? Infinity);
        if (!factor) return;
        dd = { d: 'split', axis: d.axis, factor };
      }
    } else if (d.d !== 'reorder' && d.d !== 'parallel' && !(grid && (d.d === 'fuse' || d.d === 'bind')) && names.some((n) => sym.has(n))) return;
    try { states.set(owner[0], [applyDirective(owner[1][0], dd), applyDirective(owner[1][1], dd)]); kept.push(dd); } catch { return; /* not applicable without the dropped ones */ }
    if (dd.d === 'fuse' && names.some((n) => sym.has(n))) sym = new Set([...sym, names.join('_')]); // a fused symbolic loop is symbolic
  });
  return kept;
}

/** The factor a split of a symbolic loop keeps, given its extent n at the smallest value: its own, the vector factor its block is split by next, or 0 (none). */
function splitBelow(d: Extract<Directive, { d: 'split' }>, rest: Directive[], n: number): number {
  if (d.factor < n) return d.factor;
  const inner = rest.find((x): x is Extract<Directive, { d: 'split' }> => x.d === 'split' && x.axis === `${d.axis}_i`);
  return inner && d.factor % inner.factor === 0 && inner.factor < n ? inner.factor : 0;
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
