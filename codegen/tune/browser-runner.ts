/**
 * `aic tune --target wasm-simd --runner browser`: the same runner as the Node one (runners.ts: the
 * profile, batch graphs, outputs checked against copy 0), but each build is timed by the browser that
 * opens the printed URL (browser-page.ts) instead of this process's V8.
 */
import * as fs from 'node:fs';
import { castTensor, diag, elementWidth, Tensor, tensorFromBytes, tensorToBytes, type DType, type Graph, type RValue } from '@aic/core';
import { compileFor } from '../driver.ts';
import { WASM_SIMD_TARGET, type WasmCompiled } from '../wasm/target.ts';
import { runner, tuneOpts, type Exec, type TuneRunner } from './runners.ts';
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

/** Serve the page, print its URL, and measure there. close() ends the page's loop and the server. */
export function browserRunner(graph: Graph, feeds: Map<string, RValue>, seed: number, reps = 10): TuneRunner {
  const bridge = new BrowserBridge(BROWSER_PAGE);
  // written synchronously: the search blocks this thread while the browser works
  fs.writeSync(2, `aic: open this URL in the browser to tune for: ${bridge.url}\n`);
  return { ...runner(WASM_SIMD_TARGET, browserExec(bridge, reps), graph, feeds, seed), close: () => bridge.close() };
}
