/**
 * Compile a model ONCE with a symbolic batch (as `aic compile --input-shape input=Nx...` does: load,
 * bindSymbolicBatch, -O2 for the target, compile) and run the artifact at any batch; the interpreter's
 * reference at that batch. Shared by tests/codegen/symbolic-*.test.ts and scripts/symbolic-models.ts.
 */
import { Tensor, type Dim, type Graph, type RValue } from '@aic/core';
import { loadGraph, optimizeGraph, bindInputShapes } from '@aic/api/internal';
import { C_TARGET, WASM_SIMD_TARGET, WGSL_TARGET, runWgslSync, type WgslCompiled, bindSymbolicBatch, buildC, compileFor, runC, type Compiled, type SymbolicBatch } from '@aic/codegen';
import { runWasmSync, type WasmCompiled } from '../codegen/wasm/target.ts';
import type { CArtifact } from '../codegen/c/render.ts';
import { run } from '@aic/interp';

export type SymTarget = 'c' | 'wasm-simd' | 'wgsl';

export interface SymbolicArtifact {
  batch: SymbolicBatch | undefined;
  compiled: Compiled;
  /** run the artifact on these feeds (any batch) */
  run(feeds: Map<string, RValue>): Map<string, Tensor>;
}

export async function compileSymbolic(model: string, target: SymTarget, shapes: Record<string, readonly Dim[]>, max?: Record<string, number>, level = 2): Promise<SymbolicArtifact> {
  const g = await loadGraph(model, { validate: true });
  const batch = bindSymbolicBatch(g, { shapes: Object.fromEntries(Object.entries(shapes).map(([k, d]) => [k, d.slice()])), max });
  const t = target === 'c' ? C_TARGET : target === 'wgsl' ? WGSL_TARGET : WASM_SIMD_TARGET;
  const { graph } = optimizeGraph(g, { level, target, out: () => {} });
  const compiled = compileFor(t as typeof C_TARGET, graph, { version: 'test', source: model, sourceHash: '-', batch }) as Compiled;
  if (target === 'c') {
    const art = compiled.art as CArtifact;
    const built = buildC(art, compiled.prog);
    return { batch, compiled, run: (feeds) => runC(built, art, compiled.prog, feeds).outputs };
  }
  if (target === 'wgsl') return { batch, compiled, run: (feeds) => runWgslSync(compiled.art as WgslCompiled, feeds) };
  return { batch, compiled, run: (feeds) => runWasmSync(compiled.art as WasmCompiled, feeds) };
}

/** The model's graph with its inputs re-declared at batch n (every input's dim 0). */
async function atBatch(model: string, inputs: string[], n: number): Promise<Graph> {
  const g = await loadGraph(model, {});
  for (const v of g.inputs) if (inputs.includes(v.name) && typeof v.shape?.[0] === 'number') v.type = { ...v.type, shape: ['N', ...v.shape.slice(1)] };
  bindInputShapes(g, Object.fromEntries(g.inputs.filter((v) => inputs.includes(v.name)).map((v) => [v.name, [n, ...(v.shape!.slice(1) as number[])]])));
  return g;
}

/**
 * The interpreter on the whole batch (the model re-declared at batch n); when the model fixes
 * batch-1 constants (a Reshape to [1, ...]) and the interpreter refuses batch n, sample by sample,
 * stacked (what a one-sample model means at batch n). `how` says which.
 */
export async function reference(model: string, feeds: Map<string, Tensor>, batched: string[]): Promise<{ outputs: Map<string, Tensor>; how: 'whole batch' | 'per sample' }> {
  const n = feeds.get(batched[0]!)!.shape[0]!;
  try {
    const g = await atBatch(model, batched, n);
    return { outputs: run(g, feeds) as Map<string, Tensor>, how: 'whole batch' };
  } catch {
    const g = await atBatch(model, batched, 1);
    const parts: Map<string, RValue>[] = [];
    for (let s = 0; s < n; s++) parts.push(run(g, new Map([...feeds].map(([k, t]) => [k, batched.includes(k) ? sample(t, s) : t]))));
    const outputs = new Map<string, Tensor>();
    for (const k of parts[0]!.keys()) outputs.set(k, stack(parts.map((p) => p.get(k) as Tensor)));
    return { outputs, how: 'per sample' };
  }
}

/** Sample s of t (dim 0 kept, as 1). */
export function sample(t: Tensor, s: number): Tensor {
  const per = t.size / t.shape[0]!;
  const r = new Tensor(t.dtype, [1, ...t.shape.slice(1)]);
  for (let i = 0; i < per; i++) r.num[i] = t.num[s * per + i]!;
  return r;
}

function stack(ts: Tensor[]): Tensor {
  const per = ts[0]!.size;
  const r = new Tensor(ts[0]!.dtype, [ts.length * ts[0]!.shape[0]!, ...ts[0]!.shape.slice(1)]);
  ts.forEach((t, s) => { for (let i = 0; i < per; i++) r.num[s * per + i] = t.num[i]!; });
  return r;
}

/** n samples: `base` repeated, each sample perturbed differently (float) or shifted (integer ids, kept in [0, vocab)). */
export function batchOf(base: Tensor, n: number, vocab = 1000): Tensor {
  const per = base.size / base.shape[0]!;
  const r = new Tensor(base.dtype, [n, ...base.shape.slice(1)]);
  const int = !base.dtype.startsWith('float');
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < per; i++) {
      const v = base.num[i % base.size]!;
      r.num[s * per + i] = int ? ((Number(v) + 7 * s) % vocab) : Number(v) * (1 + 0.1 * s) + 0.01 * s * Math.sin(i);
    }
  }
  return r;
}
