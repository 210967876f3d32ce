/**
 * Running a graph on a target: the reference interpreter, or a compiled target (C built with the
 * system cc, WebAssembly in this process, WGSL through WebGPU). The graph runs as given (optimize it
 * first for speed); every target checks the feeds as the interpreter does.
 */
import * as path from 'node:path';
import { Tensor, cloneGraph, diag, type Graph, type RValue } from '@aic/core';
import { checkFeed, run as interpret } from '@aic/interp';
import { validateGraph } from '@aic/ir-spec';
import { buildC, closeWgsl, compileC, compileWasm, compileWgsl, describeAdapter, prepareForRun, runC, runWasm, runWgsl } from '@aic/codegen';
import { runTargetOrThrow } from './targets.ts';
import { VERSION } from './compile.ts';

export interface RunGraphOptions {
  target?: string;
  /** the model's file name, recorded in compiled artifacts */
  source?: string;
  onNote?: (msg: string) => void;
}

export async function runGraph(g: Graph, feeds: Map<string, RValue>, opts: RunGraphOptions = {}): Promise<{ outputs: Map<string, RValue>; ms: number }> {
  const name = opts.target ?? 'interp';
  runTargetOrThrow(name);
  const note = opts.onNote ?? (() => {});
  validateGraph(g);
  for (const v of g.inputs) {
    const x = feeds.get(v.name);
    if (x === undefined) throw diag.missingInput(v.name);
    // compiled kernels trust their buffer sizes: every target gets the interpreter's feed checks
    if (x instanceof Tensor) checkFeed(v, x);
  }
  if (name === 'interp') {
    const t0 = performance.now();
    const outputs = interpret(g, feeds);
    return { outputs, ms: performance.now() - t0 };
  }
  const pg = cloneGraph(g); // prepareForRun binds shape-deciding inputs as constants: not in the caller's graph
  prepareForRun(pg, feeds);
  const common = { version: VERSION, source: path.basename(opts.source ?? g.name), sourceHash: '-' };
  if (name === 'c') {
    const compiled = compileC(pg, common);
    const built = buildC(compiled.art, compiled.prog);
    note(`built ${built.exe}${built.cached ? ' (cached)' : ` in ${built.compileMs.toFixed(0)} ms`}`);
    const r = runC(built, compiled.art, compiled.prog, feeds);
    return { outputs: r.outputs as Map<string, RValue>, ms: r.ms };
  }
  if (name === 'wasm-simd' || name === 'wasm') {
    const compiled = compileWasm(pg, { ...common, simd: name === 'wasm-simd' });
    const t0 = performance.now();
    const outputs = (await runWasm(compiled, feeds)) as Map<string, RValue>;
    return { outputs, ms: performance.now() - t0 };
  }
  if (name === 'wgsl') {
    const compiled = compileWgsl(pg, common);
    try {
      const r = await runWgsl(compiled, feeds);
      if (r.adapter) note(`WebGPU adapter: ${describeAdapter(r.adapter)}`);
      return { outputs: r.outputs as Map<string, RValue>, ms: r.ms };
    } finally {
      closeWgsl();
    }
  }
  throw diag.unsupportedFeature(`running on target '${name}'`);
}
