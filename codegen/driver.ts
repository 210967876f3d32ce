/**
 * The one compile driver, for every target: lower -> default schedules -> --schedule overrides ->
 * reschedule -> target cleanups -> memory plan + render (the target's hooks, target.ts). Also the two
 * ways of running a graph on a target: `aic run` (runOn) and the conformance sweeps (runSyncOn).
 */
import { diag, type Graph, type RValue } from '@aic/core';
import { ScheduleError, isKernelLevel, type Directive } from '@aic/loop-ir';
import { pipelineFor, runPipeline } from '@aic/passes';
import { prepareForRun } from './compile-graph.ts';
import { expandSequences } from './expand-sequences.ts';
import type { ShapeInput } from './shape-inputs.ts';
import { lowerGraph, rescheduleProgram, type Program } from './lower/program.ts';
import type { CompileOptions, Compiled, RunResult, Target } from './target.ts';
import { attachBatch } from './lower/batch-run.ts';
import { compileExtents } from './extents-run.ts';

/** Default schedules, then the --schedule overrides, realized into the program's kernels. */
export function scheduleProgram(target: Target, prog: Program, opts: Pick<CompileOptions, 'schedules' | 'noSchedule'>): void {
  let chosen: Map<string, Directive[]>;
  try {
    chosen = opts.noSchedule || !target.defaultSchedules ? new Map<string, Directive[]>() : target.defaultSchedules(prog, opts.schedules);
  } catch (e) { // a kernel-level choice the default cannot make (`panel` of a width the kernel has not)
    if (e instanceof ScheduleError) throw diag.usage(`schedule: ${e.message}`);
    throw e;
  }
  for (const [k, d] of opts.schedules ?? []) {
    if (!prog.sources.has(k)) throw diag.usage(`--schedule: no kernel '${k}' (kernels: ${[...prog.sources.keys()].join(', ')})`);
    // `split A by N pad` runs past A's extent unguarded (`store`: all but the stores): only where the
    // default schedule proved the extra lanes' loads stay inside their buffers (a channel-blocked
    // output's last block: blocked.ts; a weight packed zero-filled to whole blocks: defaults.ts)
    for (const x of d) {
      if (x.d !== 'split' || (x.tail !== 'pad' && x.tail !== 'store')) continue;
      const proven = (chosen.get(k) ?? []).some((y) => y.d === 'split' && y.tail === x.tail && y.axis === x.axis && y.factor === x.factor);
      if (!proven) throw diag.usage(`--schedule: kernel ${k}: 'split ${x.axis} by ${x.factor} ${x.tail}' only where the default schedule has it (see --emit schedule); use clamp or no tail`);
    }
    // kernel-level choices alone (`algorithm`, `pad-copy`, `accumulate`, `panel`) merge with the default schedule
    // (the target's defaults apply `algorithm` and `accumulate`); any loop directive replaces it
    if (d.length === 0 || d.some((x) => !isKernelLevel(x))) chosen.set(k, d);
    else {
      const own = new Set<string>(d.filter((x) => x.d !== 'algorithm').map((x) => x.d));
      if (own.size) chosen.set(k, [...(chosen.get(k) ?? []).filter((x) => !own.has(x.d)), ...d.filter((x) => own.has(x.d))]);
    }
  }
  try {
    rescheduleProgram(prog, chosen);
  } catch (e) {
    if (e instanceof ScheduleError) throw diag.usage(`schedule: ${e.message}`);
    throw e;
  }
}

/** A graph (optimized, static shapes) -> the target's artifact. */
export function compileFor<A>(target: Target<A>, g: Graph, opts: CompileOptions): Compiled<A> {
  if (!target.caps || !target.render) throw diag.unsupportedFeature(`compiling for target '${target.name}'`);
  const t0 = performance.now();
  if (opts.extents) return renderFor(target, compileExtents(target, opts.extents, opts), opts, t0);
  const prog = lowerGraph(g, target.caps);
  scheduleProgram(target, prog, opts);
  return renderFor(target, prog, opts, t0);
}

/** A lowered and scheduled program -> the target's artifact (memory plan and render). */
export function renderFor<A>(target: Target<A>, prog: Program, opts: CompileOptions, t0 = performance.now()): Compiled<A> {
  if (!target.render) throw diag.unsupportedFeature(`compiling for target '${target.name}'`);
  target.finish?.(prog);
  if (opts.batch) attachBatch(prog, opts.batch, target.name);
  const r = target.render(prog, opts);
  return { ...r, target, prog, compileMs: performance.now() - t0 };
}

export interface RunOnOptions {
  version: string; source: string; note?: (s: string) => void; onBind?: (s: ShapeInput) => void;
  /** schedules for the graph as compiled (after shape inputs are bound): `aic run --tuning-log` */
  schedules?: (g: Graph) => Map<string, Directive[]> | undefined;
}

/**
 * `aic run`: the optimized graph on a target. Compiled targets bind shape-deciding inputs from the
 * feeds (prepareForRun), compile with default schedules (or opts.schedules on top), then run the artifact.
 */
export async function runOn(target: Target, g: Graph, feeds: Map<string, RValue>, opts: RunOnOptions): Promise<RunResult> {
  const note = opts.note ?? (() => {});
  if (target.runGraph) {
    const t0 = performance.now();
    const outputs = target.runGraph(g, feeds, { strict: true });
    return { outputs, ms: performance.now() - t0 };
  }
  if (!target.runCompiled && !target.runCompiledSync) throw diag.unsupportedFeature(`running on target '${target.name}'`);
  const ex = expandSequences(g, feeds, note); // sequences/optionals of known structure -> tensors
  if (ex) feeds = ex.feeds;
  prepareForRun(g, feeds, opts.onBind);
  const c = compileFor(target, g, { version: opts.version, source: opts.source, sourceHash: '-', schedules: opts.schedules?.(g) });
  const t0 = performance.now();
  const r = target.runCompiled ? await target.runCompiled(c, feeds, note) : { outputs: target.runCompiledSync!(c, feeds) as Map<string, RValue>, ms: 0 };
  if (!target.runCompiled) r.ms = performance.now() - t0;
  return ex ? { ...r, outputs: ex.pack(r.outputs) } : r;
}

/**
 * The conformance runner of a target (scripts/conformance.ts): the graph as imported; compiled
 * targets see it as `aic run` gives it to them, cleaned up (-O1: Constant nodes folded), then compile
 * with default schedules and run synchronously.
 */
export function runSyncOn(target: Target, g0: Graph, feeds: Map<string, RValue>): Map<string, RValue> {
  if (target.runGraph) return target.runGraph(g0, feeds, { strict: false });
  if (!target.runCompiledSync) throw diag.unsupportedFeature(`running on target '${target.name}' synchronously`);
  const g = runPipeline(g0, pipelineFor(1)).graph;
  const ex = expandSequences(g, feeds);
  if (ex) feeds = ex.feeds;
  prepareForRun(g, feeds);
  const c = compileFor(target, g, { version: 'test', source: g.name, sourceHash: '-' });
  const outs = target.runCompiledSync(c, feeds) as Map<string, RValue>;
  return ex ? ex.pack(outs) : outs;
}

/** The `--stats` memory line every target prints. */
export function memoryStats(c: Compiled, bytes: (n: number) => string, extra = ''): string {
  return `memory: peak activation bytes ${c.plan.arenaBytes} (${bytes(c.plan.arenaBytes)}), naive sum ${c.plan.naiveBytes} (${bytes(c.plan.naiveBytes)})${extra}\n`;
}
