/**
 * Auto-tuning as a library function (`aic tune` is a thin layer over it) and tuning logs applied at
 * compile time (`--tuning-log`). The search, runners and log format are codegen/tune's.
 */
import { AicError, diag, type Graph } from '@aic/core';
import {
  TUNE_TARGETS, browserRunner, cRunner, findTarget, lowerGraph, prepareForRun, thisMachine, tune, tuningSchedules, wasmSimdRunner, wgslMachine, wgslRunner,
  type LogIssue, type Machine, type ModelCheck, type TuneRecord, type TuneRunner, type WorkloadResult,
} from '@aic/codegen';
import type { Directive } from '@aic/loop-ir';
import { randomFeeds } from '@aic/passes';
import { VERSION } from './compile.ts';

export interface TuneGraphOptions {
  target: string;
  trials: number;
  budgetMs: number;
  seed: number;
  /** timed runs per measurement (after the warm-up) */
  reps?: number;
  /** where wasm-simd is timed: this process (node, the default) or the browser that opens the printed URL */
  where?: 'node' | 'browser';
  previous?: readonly TuneRecord[];
  onRecord?: (r: TuneRecord) => void;
  onBatch?: () => void;
  /** the whole-model check at the end (codegen/tune/model-check.ts) */
  onModelCheck?: (m: ModelCheck) => void;
  /** tests: a fake clock and runner */
  clock?: () => number;
  runner?: (g: Graph) => TuneRunner;
}

/** Tune an optimized graph (static shapes) on the target this process runs on. */
export function tuneGraph(graph: Graph, o: TuneGraphOptions): WorkloadResult[] {
  if (!(TUNE_TARGETS as readonly string[]).includes(o.target)) throw diag.usage(`--target '${o.target}': aic tune measures on ${TUNE_TARGETS.join(', ')}`);
  const t = findTarget(o.target)!;
  const feeds = randomFeeds(graph, o.seed);
  prepareForRun(graph, feeds);
  if (o.where === 'browser' && o.target === 'c') throw diag.tuneUnsupported('aic tune --runner browser --target c (the browser runner measures wasm-simd and wgsl)');
  const runner = o.runner ? o.runner(graph)
    : o.target === 'c' ? cRunner(graph, feeds, o.seed, o.reps)
      : o.where === 'browser' ? browserRunner(graph, feeds, o.seed, o.reps, o.target)
        : o.target === 'wgsl' ? wgslRunner(graph, feeds, o.seed, o.reps) : wasmSimdRunner(graph, feeds, o.seed, o.reps);
  const prog = lowerGraph(graph, t.caps!);
  try {
    return tune(prog, runner, {
      seed: o.seed, trials: o.trials, budgetMs: o.budgetMs, clock: o.clock ?? (() => performance.now()), machine: thisMachine(), version: VERSION,
      previous: o.previous, onRecord: o.onRecord, onBatch: o.onBatch, onModelCheck: o.onModelCheck,
    });
  } finally { runner.close?.(); }
}

/** wgsl records apply on the adapter they were measured on: this process's (none: every record is foreign). */
function gpuHere(): Machine {
  try { return wgslMachine(); } catch (e) {
    if (e instanceof AicError) return { ...thisMachine(), gpu: 'no WebGPU adapter' };
    throw e;
  }
}

/** A tuning-log issue as the catalog's warning. */
export function tuningIssue(i: LogIssue): AicError {
  return i.kind === 'corrupt' ? diag.tuneLogCorrupt(i.file, i.line, i.why) : i.kind === 'foreign' ? diag.tuneLogForeign(i.file, i.line, i.why) : diag.tuneLogMismatched(i.file, i.line, i.why);
}

/** Schedules from tuning logs for a graph on a target (before --schedule overrides), and the warnings. */
export function tuningLogSchedules(graph: Graph, target: string, logs: readonly { file: string; text: string }[]): { schedules: Map<string, Directive[]>; kernels: number; warnings: AicError[] } {
  const t = findTarget(target);
  if (!t) throw diag.usage(`unknown target '${target}'`);
  const r = tuningSchedules(graph, t, logs, VERSION, target === 'wgsl' ? gpuHere() : thisMachine());
  return { schedules: r.schedules, kernels: r.kernels, warnings: r.issues.map(tuningIssue) };
}
