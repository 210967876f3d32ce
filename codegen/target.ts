/**
 * The one interface every target implements (docs/adding-a-target.md). A target declares what it is
 * (capabilities, dtypes, tolerance), and the hooks the one compile driver (driver.ts) calls: default
 * schedules, the memory plan and rendering, writing the artifact, running it. Targets register in
 * codegen/targets.ts; the CLI, the benchmarks and the conformance runners reach them only through there.
 */
import type { Graph, RValue, Tensor } from '@aic/core';
import type { TargetCaps } from '@aic/ir-spec';
import type { Directive, LegalizeOptions, ScalarType } from '@aic/loop-ir';
import type { Program } from './lower/program.ts';
import type { MemoryPlan } from './memory/plan.ts';
import type { SymbolicBatch } from './lower/symbolic.ts';
import type { ExtentSpec } from './lower/extents.ts';

/** What `aic compile` / `aic run` pass to the driver. */
export interface CompileOptions {
  version: string;
  /** the model file's name (for comments and READMEs) */
  source: string;
  sourceHash: string;
  /** per-kernel schedule overrides (--schedule FILE) */
  schedules?: Map<string, Directive[]>;
  /** skip default schedules (plain loop nests) */
  noSchedule?: boolean;
  /** targets with a weights file: put the weights inside the artifact instead (--embed-weights) */
  embedWeights?: boolean;
  /** export every kernel under its name (per-kernel profiling; wasm) */
  exportKernels?: boolean;
  /** a symbolic batch (lower/symbolic.ts bindSymbolicBatch): the artifact runs the one-sample program per sample */
  batch?: SymbolicBatch;
  /** a symbolic dim as a run-time extent (lower/extents.ts): the graph at each value it is lowered at */
  extents?: ExtentSpec;
}

/** What rendering produced: the memory plan and the target's own artifact. */
export interface Rendered<A = unknown> {
  plan: MemoryPlan;
  /** the target's artifact (CArtifact, WasmCompiled, WgslCompiled...) */
  art: A;
}

/** A compiled model: the program as scheduled and the rendered artifact. */
export interface Compiled<A = unknown> extends Rendered<A> {
  target: Target<A>;
  prog: Program;
  compileMs: number;
}

export interface Tolerance { rtol: number; atol: number }

export interface RunResult { outputs: Map<string, RValue>; ms: number }

export interface Target<A = unknown> {
  readonly name: string;
  readonly summary: string;
  /** can `aic compile --target` emit it */
  readonly compile: boolean;
  /** can `aic run --target` execute it */
  readonly run: boolean;
  /** what the target needs: every dim static, shape-deciding inputs bound as constants */
  readonly needsStaticShapes: boolean;
  /** false: reachable by name from the tests and conformance runners only, not listed or accepted by the CLI */
  readonly listed: boolean;
  /** what lowering and schedules read (vector lanes, dtypes, GPU limits); absent: runs the graph itself */
  readonly caps?: TargetCaps;
  /** element types it computes (caps.dtypes for compiled targets) */
  readonly dtypes: readonly ScalarType[] | 'all';
  /** float comparison tolerance of the conformance sweeps */
  readonly tolerance: Tolerance;
  /** what the renderer prints natively; packages/loop-ir legalize.ts rewrites the rest (the renderer calls it on every kernel) */
  readonly legal?: LegalizeOptions;
  /** `--emit` forms besides loops and schedule (emit() prints them) */
  readonly forms: readonly string[];
  /** default schedules per kernel (driver: then --schedule overrides, then reschedule) */
  defaultSchedules?(prog: Program, overrides?: Map<string, Directive[]>): Map<string, Directive[]>;
  /**
   * after scheduling, before the memory plan (target-specific index cleanups); on a program with
   * `sampled` (one value of a run-time extent, lower/extents.ts) nothing here may depend on a loop's
   * extent: the samples must merge into one program
   */
  finish?(prog: Program): void;
  /** run-time extents (lower/extents.ts): after finish, at each value, before merging (WGSL: kernel bodies become their dispatches) */
  finishExtents?(prog: Program): void;
  /** run-time extents on a grid whose counts the host computes per run: loops along the symbol may be fused and bound; divisors: more split factors of counts */
  readonly extentGrid?: { divisors: number[] };
  /** memory plan + render */
  render?(prog: Program, opts: CompileOptions): Rendered<A>;
  /** the text of one of `forms` */
  emit?(c: Compiled<A>, form: string): string;
  /** `--stats` lines (each ending in a newline); bytes formats a byte count */
  stats?(c: Compiled<A>, bytes: (n: number) => string): string;
  /** write the artifact into DIR (each file atomically); the files written */
  writeArtifact?(dir: string, c: Compiled<A>): string[];
  /** run a compiled model (`aic run`); note: progress notes for the user */
  runCompiled?(c: Compiled<A>, feeds: Map<string, RValue>, note: (s: string) => void): Promise<RunResult>;
  /** run a compiled model synchronously (conformance sweeps) */
  runCompiledSync?(c: Compiled<A>, feeds: Map<string, RValue>): Map<string, Tensor>;
  /** targets without a compile step (the interpreters) run the graph itself */
  runGraph?(g: Graph, feeds: Map<string, RValue>, opts: { strict: boolean }): Map<string, RValue>;
  /** release what running holds (a GPU process); lets a CLI exit promptly */
  close?(): void;
}

/** CPU targets compare at rtol 1e-3 / atol 1e-5. */
export const CPU_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-5 };
