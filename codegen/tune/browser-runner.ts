/**
 * `aic tune --target wasm-simd|wgsl --runner browser`: the same runner as the Node one (runners.ts:
 * the profile, batch graphs, outputs checked against copy 0), but each build is timed by the browser
 * that opens the printed URL (browser-page.ts) instead of this process's V8 / WebGPU adapter. For wgsl
 * the log's machine is the page's adapter.
 */
import * as fs from 'node:fs';
import { castTensor, diag, elementWidth, Tensor, tensorFromBytes, tensorToBytes, type DType, type Graph, type RValue } from '@aic/core';
import { compileFor } from '../driver.ts';
import { WASM_SIMD_TARGET, type WasmCompiled } from '../wasm/target.ts';
import { WGSL_TARGET, feedsFor, tensorsFrom } from '../wgsl/target.ts';
import { runner, tuneOpts, type Exec, type TuneRunner } from './runners.ts';
import { gpuMachine, wgslTimed } from './runner-wgsl.ts';
import type { Machine } from './log.ts';
import { BrowserBridge } from './browser-bridge.ts';
import { BROWSER_PAGE } from './browser-page.ts';

const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');

function browserExec(bridge: BrowserBridge, reps: number): Exec {
  return (g, feeds, schedules) => {
    const c = compileFor(WASM_SIMD_TARGET, g, { ...tuneOpts(schedules), exportKernels: true });
    const { art } = c.art as WasmCompiled;
    const writes: [number, string][] = [];
    if (art.weights && art.meta.weights) writes.push([art.meta.weights.offset, b64(art.weights)]);
    for (const i of art.meta.inputs) {
      const t = feeds.get(i.name);
      if (!(t instanceof Tensor)) throw diag.missingInput(i.name);
      writes.push([i.offset, b64(tensorToBytes(castTensor(t, i.dtype as DType)))]);
    }
    const outs = art.meta.outputs.map((o) => ({ ...o, bytes: o.length * elementWidth(o.dtype as DType) }));
    const r = bridge.call({ wasm: b64(art.wasm), imports: art.meta.imports, writes, steps: art.steps, outputs: outs.map((o) => ({ offset: o.offset, bytes: o.bytes })), reps, warmup: 2, minSampleMs: 1 });
    const stepMs = r.stepMs as number[], bytes = r.outputs as string[];
    if (stepMs.length !== art.steps.length || bytes.length !== outs.length) throw diag.runtime('browser', 'a malformed answer from the page');
    const outputs = new Map(outs.map((o, i) => [o.name, tensorFromBytes(o.dtype as DType, o.shape, new Uint8Array(Buffer.from(bytes[i], 'base64')))]));
    return { stepMs, outputs, prog: c.prog };
  };
}

function browserGpuExec(bridge: BrowserBridge, reps: number, seen: { machine?: Machine }): Exec {
  return (g, feeds, schedules) => {
    const c = compileFor(WGSL_TARGET, g, tuneOpts(schedules));
    const words = Object.fromEntries(Object.entries(feedsFor(c.art, feeds)).map(([k, v]) => [k, Array.from(v)]));
    const r = bridge.call({ host: c.art.host, ...(c.art.weights ? { weights: b64(c.art.weights) } : {}), feeds: words, reps });
    const ms = r.dispatchMs as number[];
    if (!Array.isArray(ms) || ms.length !== c.art.manifest.dispatches.length || !r.outputs) throw diag.runtime('browser', 'a malformed answer from the page');
    seen.machine ??= gpuMachine(r.adapter as { vendor: string; architecture: string; description: string });
    return wgslTimed(c, { dispatchMs: ms, outputs: tensorsFrom(c.art, r.outputs as Record<string, number[]>) });
  };
}

/** Serve the page, print its URL, and measure there. close() ends the page's loop and the server. */
export function browserRunner(graph: Graph, feeds: Map<string, RValue>, seed: number, reps = 10, target = 'wasm-simd'): TuneRunner {
  const bridge = new BrowserBridge(BROWSER_PAGE);
  // written synchronously: the search blocks this thread while the browser works
  fs.writeSync(2, `aic: open this URL in the browser to tune for: ${bridge.url}\n`);
  if (target !== 'wgsl') return { ...runner(WASM_SIMD_TARGET, browserExec(bridge, reps), graph, feeds, seed), close: () => bridge.close() };
  const seen: { machine?: Machine } = {};
  return { ...runner(WGSL_TARGET, browserGpuExec(bridge, reps, seen), graph, feeds, seed), machine: () => seen.machine!, close: () => bridge.close() };
}
