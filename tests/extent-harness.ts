/**
 * Compile a model ONCE with a symbolic dim as a run-time extent (as `aic compile --max-shape S=N`
 * does for a sequence length: extentSymbol, the model optimized at each value lowered, compileFor with
 * `extents`) and run the artifact at any value. Shared by tests/codegen/symbolic-extent.test.ts and
 * scripts/symbolic-seq.ts.
 */
import { cloneGraph, type Dim, type Graph, type RValue, type Tensor } from '@aic/core';
import { loadGraph, optimizeGraph, optimizeSymbolic } from '@aic/api/internal';
import { C_TARGET, WASM_SIMD_TARGET, WGSL_TARGET, bindExtentAt, extentSpec, buildC, compileFor, extentSymbol, runC, type Compiled } from '@aic/codegen';
import { runWasmSync, type WasmCompiled } from '../codegen/wasm/target.ts';
import { runWgslSync, type WgslCompiled } from '../codegen/wgsl/target.ts';
import type { CArtifact } from '../codegen/c/render.ts';

export type ExtentTarget = 'c' | 'wasm-simd' | 'wgsl';

export interface ExtentArtifact {
  compiled: Compiled;
  compileMs: number;
  run(feeds: Map<string, RValue>): Map<string, Tensor>;
}

/** model: a path or a graph (taken as loaded: not modified). */
export async function compileWithExtent(model: string | Graph, target: ExtentTarget, max: Record<string, number>, shapes: Record<string, Dim[]> = {}, level = 2): Promise<ExtentArtifact> {
  const t0 = performance.now();
  const g = typeof model === 'string' ? await loadGraph(model, { validate: true }) : cloneGraph(model);
  const ext = extentSymbol(g, shapes, max);
  if (!ext) throw new Error('the model has no symbolic dim past the first');
  const t = target === 'c' ? C_TARGET : target === 'wgsl' ? WGSL_TARGET : WASM_SIMD_TARGET;
  const spec = extentSpec(ext.symbol, ext.max, (v) => optimizeGraph(bindExtentAt(g, ext.symbol, v), { level, target, out: () => {} }).graph);
  const compiled = compileFor(t as typeof C_TARGET, spec.graphAt(ext.max), { version: 'test', source: 'model', sourceHash: '-', extents: spec }) as Compiled;
  return runnable(compiled, target, t0);
}

/**
 * Compile as `aic compile --max-shape` and the API do (optimizeSymbolic: a batch, a run-time extent, or
 * both: ids [B, S]) and run the artifact at any values.
 */
export async function compileWithSymbols(model: string | Graph, target: ExtentTarget, max: Record<string, number>, shapes: Record<string, Dim[]> = {}, level = 2): Promise<ExtentArtifact> {
  const t0 = performance.now();
  const g = typeof model === 'string' ? await loadGraph(model, { validate: true }) : cloneGraph(model);
  const sym = optimizeSymbolic(g, { shapes, max }, (x) => optimizeGraph(x, { level, target, out: () => {} }).graph);
  const t = target === 'c' ? C_TARGET : target === 'wgsl' ? WGSL_TARGET : WASM_SIMD_TARGET;
  const compiled = compileFor(t as typeof C_TARGET, sym.graph, { version: 'test', source: 'model', sourceHash: '-', extents: sym.extents, batch: sym.batch }) as Compiled;
  return runnable(compiled, target, t0);
}

function runnable(compiled: Compiled, target: ExtentTarget, t0: number): ExtentArtifact {
  if (target === 'c') {
    const art = compiled.art as CArtifact;
    const built = buildC(art, compiled.prog);
    return { compiled, compileMs: performance.now() - t0, run: (feeds) => runC(built, art, compiled.prog, feeds).outputs };
  }
  if (target === 'wgsl') return { compiled, compileMs: performance.now() - t0, run: (feeds) => runWgslSync(compiled.art as WgslCompiled, feeds) };
  return { compiled, compileMs: performance.now() - t0, run: (feeds) => runWasmSync(compiled.art as WasmCompiled, feeds) };
}

/** onnxruntime on the model's 'input' (int64 ids) -> its 'output', when onnxruntime-node is installed (else undefined) */
export async function ortRunner(model: string): Promise<(x: Tensor) => Promise<Float32Array | undefined>> {
  const ort = await import('onnxruntime-node').catch(() => undefined);
  const session = ort ? await ort.InferenceSession.create(model) : undefined;
  return async (x) => {
    if (!ort || !session) return undefined;
    const r = await session.run({ input: new ort.Tensor('int64', BigInt64Array.from(Array.from(x.num, (v) => BigInt(v))), x.shape) });
    return r.output!.data as Float32Array;
  };
}
