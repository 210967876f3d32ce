/**
 * Per-kernel times of a WebAssembly model (`aic profile --target wasm-simd`, benchmarks/wasm-bench.ts):
 * the module is compiled with every kernel exported (WasmCompileOptions.exportKernels), instantiated
 * with the same host imports as the generated loader, and the plan's steps are called one by one from
 * JavaScript, each timed with performance.now(); two warm-up runs let V8 tier the kernels up.
 */
import { Tensor, castTensor, diag, tensorToBytes, type RValue } from '@aic/core';
import type { WasmCompiled } from './target.ts';

type WA = { Module: new (b: Uint8Array) => unknown; Instance: new (m: unknown, i: object) => { exports: Record<string, unknown> } };

const median = (xs: number[]) => { const s = xs.slice().sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

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
  const times: number[][] = art.steps.map(() => []);
  for (let r = 0; r < runs + warmup; r++) {
    art.steps.forEach((s, i) => {
      const t = performance.now();
      fns[i](...s.args);
      if (r >= warmup) times[i].push(performance.now() - t);
    });
  }
  return times.map(stat === 'min' ? (t) => Math.min(...t) : median);
}
