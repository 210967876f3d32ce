/**
 * Measuring on the real target, through the one driver (compileFor) and the target's normal build:
 * - profile(): the whole model under the default schedules, per-kernel times (each workload's share);
 * - measure(): the candidates of one workload, each on its own copy of the kernel (batch.ts) in one
 *   build, copy 0 with the default schedule, timed in one run; each copy's outputs against copy 0's
 *   on seeded random inputs.
 * c: built with the target's flags plus -DAIC_PROFILE (clock_gettime around every kernel call, the
 * median of `reps` runs after one warm-up: what `aic profile` reads). wasm-simd: one module with every
 * kernel exported, instantiated in this process's V8, every step called from JavaScript (two
 * warm-ups, then the median of `reps`); outputs from a run through the generated runtime.
 * measure(..., rounds) times one build `rounds` times (confirm.ts); model() builds the whole model
 * with given schedules once and times it on each sample() (model-check.ts). A build timed again
 * reruns the executable (c) or the instantiated module (wasm-simd); other Execs build again.
 */
import type { Graph, RValue, Tensor } from '@aic/core';
import type { Directive } from '@aic/loop-ir';
import type { TargetCaps } from '@aic/ir-spec';
import { randomFeeds } from '@aic/passes';
import { compileFor } from '../driver.ts';
import { C_TARGET } from '../c/target.ts';
import { buildC, defaultCFlags, runC } from '../c/build.ts';
import { WASM_SIMD_TARGET, type WasmCompiled } from '../wasm/target.ts';
import { timeWasmSteps } from '../wasm/profile.ts';
import type { KernelSource, Program } from '../lower/program.ts';
import type { Target } from '../target.ts';
import { batchGraph, type BatchGraph } from './batch.ts';
import { outputsAgree } from './agree.ts';
import type { Machine } from './log.ts';

export interface Batch {
  /** µs of the default copy and of every candidate */
  defaultUs: number;
  us: number[];
  /** each candidate's outputs agree with the default copy's */
  agree: boolean[];
  /** the directives the default copy and each candidate were realized with */
  defaultDirs: Directive[];
  realized: Directive[][];
  /** measure(..., rounds > 1): every round's times (round 0 is defaultUs / us above) */
  rounds?: { defaultUs: number; us: number[] }[];
}

/** The whole model built once with some schedules (the others default): each sample() one timed run, µs (the sum of its kernels' medians). */
export interface ModelTimer { sample(): number }

export interface TuneRunner {
  readonly target: string;
  /** a GPU target: its own schedule space (space-gpu.ts) */
  readonly gpu?: boolean;
  /** the target's capabilities (the schedule space of a kernel depends on them: `panel`, space.ts) */
  readonly caps?: TargetCaps;
  /** the whole model under the default schedules: µs per kernel name, and the directives each was realized with */
  profile(): { kernelUs: Map<string, number>; dirs: Map<string, Directive[]> };
  /** can the workload of this kernel source be measured alone (batch.ts)? */
  alone(src: KernelSource): boolean;
  /** candidates of one workload in one build, timed `rounds` times (default 1); throws when a schedule does not apply */
  measure(src: KernelSource, cands: Directive[][], rounds?: number): Batch;
  /** the whole model with these kernel schedules (absent: no whole-model check); throws when it does not build */
  model?(schedules: Map<string, Directive[]>): ModelTimer;
  /** the machine the log names, when not this host's CPU (wgsl: the adapter; asked after profile()) */
  machine?(): Machine;
  /** release what the runner holds (the browser runner's server) */
  close?(): void;
}

export const TUNE_TARGETS = ['c', 'wasm-simd', 'wgsl'] as const;

/** again(): the same build timed once more (absent: build again) */
export type Timed = { stepMs: number[]; outputs: Map<string, Tensor>; prog: Program; again?: () => number[] };
export type Exec = (g: Graph, feeds: Map<string, RValue>, schedules: Map<string, Directive[]>) => Timed;

export const tuneOpts = (schedules: Map<string, Directive[]>) => ({ version: 'tune', source: 'tune', sourceHash: '-', schedules });

function cExec(reps: number): Exec {
  return (g, feeds, schedules) => {
    const c = compileFor(C_TARGET, g, tuneOpts(schedules));
    const built = buildC(c.art, c.prog, { cflags: [...defaultCFlags(), '-DAIC_PROFILE', '-DAIC_PROFILE_WARMUP=1'] });
    const timed = () => {
      const { outputs, stderr } = runC(built, c.art, c.prog, feeds, reps + 1);
      const ms = c.prog.steps.map(() => NaN);
      for (const m of stderr.matchAll(/^#(\d+)\s+([\d.]+)/gm)) ms[Number(m[1])] = Number(m[2]);
      if (ms.some((x) => Number.isNaN(x))) throw new Error(`the profiled model printed no per-kernel table:\n${stderr.slice(0, 400)}`);
      return { ms, outputs };
    };
    const { ms, outputs } = timed();
    return { stepMs: ms, outputs, prog: c.prog, again: () => timed().ms };
  };
}

function wasmExec(reps: number): Exec {
  return (g, feeds, schedules) => {
    const c = compileFor(WASM_SIMD_TARGET, g, { ...tuneOpts(schedules), exportKernels: true });
    const stepMs = timeWasmSteps(c.art as WasmCompiled, feeds, reps);
    return { stepMs, outputs: WASM_SIMD_TARGET.runCompiledSync!(c, feeds), prog: c.prog, again: () => timeWasmSteps(c.art as WasmCompiled, feeds, reps) };
  };
}

/** A runner over an Exec (how one graph is built, timed per step and run): shared by the node and browser runners. */
export function runner(target: Target, exec: Exec, graph: Graph, feeds: Map<string, RValue>, seed: number): TuneRunner {
  const batches = new Map<string, BatchGraph | undefined>();
  const batchOf = (src: KernelSource, n: number) => {
    const k = `${src.name}/${n}`;
    if (!batches.has(k)) batches.set(k, batchGraph(src, n, target.caps!));
    return batches.get(k);
  };
  const feedsOf = new Map<Graph, Map<string, RValue>>();
  return {
    target: target.name,
    ...(target.caps?.gpu ? { gpu: true } : {}),
    ...(target.caps ? { caps: target.caps } : {}),
    profile() {
      const t = exec(graph, feeds, new Map());
      const kernelUs = new Map<string, number>();
      t.prog.steps.forEach((s, i) => kernelUs.set(s.kernel, (kernelUs.get(s.kernel) ?? 0) + t.stepMs[i] * 1000));
      return { kernelUs, dirs: new Map(t.prog.schedules) };
    },
    alone: (src) => !!batchOf(src, 2),
    measure(src, cands, rounds = 1) {
      const b = batchOf(src, cands.length + 1);
      if (!b) throw new Error(`kernel ${src.name} cannot be measured alone`);
      if (!feedsOf.has(b.graph)) feedsOf.set(b.graph, randomFeeds(b.graph, seed));
      const schedules = new Map(cands.map((d, i) => [b.kernels[i + 1], d]));
      const t = exec(b.graph, feedsOf.get(b.graph)!, schedules);
      const times = (stepMs: number[]) => {
        const usOf = (k: string) => t.prog.steps.reduce((a, s, i) => a + (s.kernel === k ? stepMs[i] * 1000 : 0), 0);
        return { defaultUs: usOf(b.kernels[0]), us: cands.map((_, i) => usOf(b.kernels[i + 1])) };
      };
      const all = [times(t.stepMs)];
      while (all.length < rounds) all.push(times(t.again ? t.again() : exec(b.graph, feedsOf.get(b.graph)!, schedules).stepMs));
      const outs = (i: number) => new Map(b.outputs[i].map((n, j) => [b.outputs[0][j], t.outputs.get(n)!]));
      const ref = outs(0);
      return {
        ...all[0],
        agree: cands.map((_, i) => outputsAgree(outs(i + 1), ref)),
        defaultDirs: t.prog.schedules.get(b.kernels[0]) ?? [],
        realized: cands.map((_, i) => t.prog.schedules.get(b.kernels[i + 1]) ?? []),
        ...(rounds > 1 ? { rounds: all } : {}),
      };
    },
    model(schedules) {
      let t: Timed | undefined;
      const us = (ms: number[]) => ms.reduce((a, x) => a + x, 0) * 1000;
      return { sample: () => us(!t ? (t = exec(graph, feeds, schedules)).stepMs : t.again ? t.again() : (t = exec(graph, feeds, schedules)).stepMs) };
    },
  };
}

export const cRunner = (graph: Graph, feeds: Map<string, RValue>, seed: number, reps = 10) => runner(C_TARGET, cExec(reps), graph, feeds, seed);
export const wasmSimdRunner = (graph: Graph, feeds: Map<string, RValue>, seed: number, reps = 10) => runner(WASM_SIMD_TARGET, wasmExec(reps), graph, feeds, seed);
