/**
 * Measuring a model on the real target under schedule overrides (kernel -> directives): one compile
 * through the one driver (compileFor) with every candidate of a round in place, one build, one run,
 * per-kernel medians after a warm-up, and the outputs (checked against the default's by search.ts).
 * - c: the model built with the target's normal flags plus -DAIC_PROFILE (clock_gettime around every
 *   kernel call, the median of `reps` runs after one warm-up: what `aic profile` reads);
 * - wasm-simd: one module with every kernel exported, instantiated in this process's V8, every step
 *   called from JavaScript (two warm-up runs, then the median of `reps`), and the outputs of a run
 *   through the generated runtime.
 */
import type { Graph, RValue, Tensor } from '@aic/core';
import type { Directive } from '@aic/loop-ir';
import { compileFor } from '../driver.ts';
import { C_TARGET } from '../c/target.ts';
import { buildC, defaultCFlags, runC } from '../c/build.ts';
import { WASM_SIMD_TARGET, type WasmCompiled } from '../wasm/target.ts';
import { timeWasmSteps } from '../wasm/profile.ts';
import type { Program } from '../lower/program.ts';

export interface Measured {
  /** µs per kernel name (a kernel called by several steps: their sum) */
  kernelUs: Map<string, number>;
  outputs: Map<string, Tensor>;
  /** the directives each kernel was realized with */
  realized: Map<string, Directive[]>;
}

export interface TuneRunner {
  readonly target: string;
  /** compile, build and time the model with these overrides; throws when a schedule does not apply */
  measure(schedules: Map<string, Directive[]>): Measured;
}

export const TUNE_TARGETS = ['c', 'wasm-simd'] as const;

function perKernel(prog: Program, stepMs: number[]): Map<string, number> {
  const out = new Map<string, number>();
  prog.steps.forEach((s, i) => out.set(s.kernel, (out.get(s.kernel) ?? 0) + stepMs[i] * 1000));
  return out;
}

const opts = (schedules: Map<string, Directive[]>) => ({ version: 'tune', source: 'tune', sourceHash: '-', schedules });

export function cRunner(graph: Graph, feeds: Map<string, RValue>, reps = 10): TuneRunner {
  return {
    target: 'c',
    measure(schedules) {
      const c = compileFor(C_TARGET, graph, opts(schedules));
      const built = buildC(c.art, c.prog, { cflags: [...defaultCFlags(), '-DAIC_PROFILE', '-DAIC_PROFILE_WARMUP=1'] });
      const { outputs, stderr } = runC(built, c.art, c.prog, feeds, reps + 1);
      const ms = c.prog.steps.map(() => NaN);
      for (const m of stderr.matchAll(/^#(\d+)\s+([\d.]+)/gm)) ms[Number(m[1])] = Number(m[2]);
      if (ms.some((x) => Number.isNaN(x))) throw new Error(`the profiled model printed no per-kernel table:\n${stderr.slice(0, 400)}`);
      return { kernelUs: perKernel(c.prog, ms), outputs, realized: new Map(c.prog.schedules) };
    },
  };
}

export function wasmSimdRunner(graph: Graph, feeds: Map<string, RValue>, reps = 10): TuneRunner {
  return {
    target: 'wasm-simd',
    measure(schedules) {
      const c = compileFor(WASM_SIMD_TARGET, graph, { ...opts(schedules), exportKernels: true });
      const ms = timeWasmSteps(c.art as WasmCompiled, feeds, reps);
      const outputs = WASM_SIMD_TARGET.runCompiledSync!(c, feeds);
      return { kernelUs: perKernel(c.prog, ms), outputs, realized: new Map(c.prog.schedules) };
    },
  };
}
