/**
 * Per-kernel times of a WebAssembly model (`aic profile --target wasm-simd`, benchmarks/wasm-bench.ts):
 * the module is compiled with every kernel exported (WasmCompileOptions.exportKernels), instantiated
 * with the same host imports as the generated loader, and the plan's steps are called one by one from
 * JavaScript, each timed with performance.now() (time-steps.ts); two warm-up runs let V8 tier the kernels up.
 */
import { Tensor, castTensor, diag, tensorToBytes, type RValue } from '@aic/core';
import type { WasmCompiled } from './target.ts';
import { timeSteps } from './time-steps.ts';

type WA = { Module: new (b: Uint8Array) => unknown; Instance: new (m: unknown, i: object) => { exports: Record<string, unknown> } };

/** Median (or fastest: `stat` 'min') ms of every step over `runs` timed runs (after `warmup` untimed ones), in plan order. */
export function timeWasmSteps(compiled: WasmCompiled, feeds: Map<string, RValue>, runs: number, warmup = 2, stat: 'median' | 'min' = 'median'): number[] {
  const WAsm = (globalThis as unknown as { WebAssembly: WA }).WebAssembly;
  const { art } = compiled;
  const host: Record<string, unknown> = {};
  for (const n of art.meta.imports) host[n] = n === 'fmod' ? (a: number, b: number) => a % b : (Math as unknown as Record<string, unknown>)[n];
  const inst = new WAsm.Instance(new WAsm.Module(art.wasm), { Math: host });
  const mem = new Uint8Array((inst.exports.memory as { buffer: ArrayBuffer }).buffer);
  if (art.weights && art.meta.weights) mem.set(art.weights, art.meta.weights.offset);
  for (const i of art.meta.inputs) {
    const t = feeds.get(i.name);
    if (!(t instanceof Tensor)) throw diag.missingInput(i.name);
    mem.set(tensorToBytes(castTensor(t, i.dtype as Tensor['dtype'])), i.offset);
  }
  const fns = art.steps.map((s) => {
    const f = inst.exports[s.kernel];
    if (typeof f !== 'function') throw new Error(`wasm profile: kernel ${s.kernel} is not exported (compile with exportKernels)`);
    return f as (...a: number[]) => void;
  });
  return timeSteps(fns, art.steps.map((s) => s.args), runs, warmup, 0, stat);
}
