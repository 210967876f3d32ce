/**
 * Shared by the DSL-graph codegen tests: deterministic constants written as DSL text, a closeness
 * check, and one compiled program checked on the loop-IR interpreter and its target (C or wasm-simd).
 */
import { expect } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { buildC, compileC, compileWasm, passTarget, prepareForRun, runC, runProgram, runWasm } from '@aic/codegen';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { excess } from '../model-zoo.ts';

/** n deterministic values in [-1, 1) as a DSL constant literal */
export function values(n: number, seed: number): string {
  const out: string[] = [];
  let s = seed;
  for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) % 2147483648; out.push(((s / 2147483648) * 2 - 1).toFixed(4)); }
  return `[${out.join(', ')}]`;
}

/** feeds { x: sin(i * step) * amp } of a shape: a smooth input for the DSL graphs */
export function sineInput(shape: number[], step: number, amp: number): Map<string, RValue> {
  const t = new Tensor('float32', shape);
  for (let i = 0; i < t.size; i++) t.num[i] = Math.sin(i * step) * amp;
  return new Map([['x', t]]);
}

/** got equals want within rtol = atol = 1e-4, naming the worst element */
export function check(got: Tensor, want: Tensor, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  const e = excess(got.num, want.num, 1e-4, 1e-4);
  expect(e.worst, `${what}[${e.at}] got ${got.num[e.at]} want ${want.num[e.at]}`).toBeLessThanOrEqual(0);
}

/** the program's output `y` on the loop-IR interpreter and on the compiled target equals want */
export async function checkCompiled(compiled: ReturnType<typeof compileC> | ReturnType<typeof compileWasm>, target: 'c' | 'wasm-simd', feeds: Map<string, RValue>, want: Tensor): Promise<void> {
  check(runProgram(compiled.prog, feeds).get('y') as Tensor, want, 'loops');
  if (target === 'c') {
    const cc = compiled as ReturnType<typeof compileC>;
    check(runC(buildC(cc.art, cc.prog), cc.art, cc.prog, feeds).outputs.get('y') as Tensor, want, 'c');
  } else {
    check((await runWasm(compiled as ReturnType<typeof compileWasm>, feeds)).get('y') as Tensor, want, 'wasm-simd');
  }
}

/** A DSL graph's reference outputs, and the graph through -O<level> for a target, compiled (with feeds prepared for it) */
export function compileAt(src: string, target: 'c' | 'wasm-simd', input: () => Map<string, RValue>, meta: { version: string; source: string; sourceHash: string }, level = 3) {
  const want = run(parseGraph(src), input());
  const g = runPipeline(parseGraph(src), pipelineFor(level), { target: passTarget(target), out: () => {} }).graph;
  const feeds = input();
  prepareForRun(g, feeds);
  const compiled = target === 'c' ? compileC(g, meta) : compileWasm(g, { ...meta, simd: true });
  return { want, compiled, feeds };
}
