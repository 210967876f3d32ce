/**
 * `aic tune --target wgsl`: the shared runner (runners.ts: profile, batch graphs, outputs checked
 * against copy 0) timing each build on this process's WebGPU adapter (the GPU child process of
 * codegen/wgsl: the system's Vulkan driver, else chromium's SwiftShader): every dispatch timed alone
 * by the generated host module (host-runtime.mjs timeDispatches: warm-ups, then the median of `reps`
 * samples to the queue's completion), a step's time the sum of its dispatches'.
 */
import type { Graph, RValue, Tensor } from '@aic/core';
import { compileFor } from '../driver.ts';
import type { Program } from '../lower/program.ts';
import type { WgslManifest } from '../wgsl/render.ts';
import { WGSL_TARGET, timeWgslSync, wgslAdapterSync, type WgslCompiled } from '../wgsl/target.ts';
import { runner, tuneOpts, type Exec, type TuneRunner } from './runners.ts';
import { thisMachine, type Machine } from './log.ts';

/** ms per program step from ms per dispatch (a dispatch belongs to the step of its kernel and node). */
export function stepMsOf(prog: Program, m: WgslManifest, dispatchMs: readonly number[]): number[] {
  return prog.steps.map((s) => m.dispatches.reduce((a, d, i) => a + (d.kernel === s.kernel && d.node === s.node ? dispatchMs[i] : 0), 0));
}

/** How one build is timed on the GPU: the driver's WGSL compile, then the host module's dispatch timer. */
export function wgslTimed(c: { art: WgslCompiled; prog: Program }, t: { dispatchMs: number[]; outputs: Map<string, Tensor> }) {
  return { stepMs: stepMsOf(c.prog, c.art.manifest, t.dispatchMs), outputs: t.outputs, prog: c.prog };
}

function wgslExec(reps: number): Exec {
  return (g, feeds, schedules) => {
    const c = compileFor(WGSL_TARGET, g, tuneOpts(schedules));
    return wgslTimed(c, timeWgslSync(c.art, feeds, reps));
  };
}

/** The adapter as a log's machine: this host's CPU, and the GPU adapter (what decides the speed). */
export function gpuMachine(adapter: { vendor: string; architecture: string; description: string }, base: Machine = thisMachine()): Machine {
  return { ...base, gpu: `${[adapter.vendor, adapter.architecture].filter(Boolean).join(' ') || 'unknown adapter'}${adapter.description ? ` (${adapter.description})` : ''}` };
}

/** This process's WebGPU adapter as a machine (starts the GPU process; AicError exit 1 when there is none). */
export const wgslMachine = (): Machine => gpuMachine(wgslAdapterSync());

export const wgslRunner = (graph: Graph, feeds: Map<string, RValue>, seed: number, reps = 10): TuneRunner => ({ ...runner(WGSL_TARGET, wgslExec(reps), graph, feeds, seed), machine: wgslMachine });
