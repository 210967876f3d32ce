/**
 * Elementwise kernels over maps whose rows do not fill whole vectors (7x7, 14x14) are scheduled over
 * their trailing axes merged (codegen/schedule/defaults.ts flattenElementwise): a [1, 48, 7, 7] SiLU runs
 * as one loop of 2352 in vectors of 16 on C; a per-channel operand ([1, 48, 1, 1]) stops the merge at
 * h*w. Values as the interpreter's on C and wasm-simd.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { compileC, getTarget, passTargetOf, runOn } from '@aic/codegen';
import { printKernel } from '@aic/loop-ir';

const vals = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 4);
const SILU = (hw: number) => `graph g(x: f32[1, 48, ${hw}, ${hw}]) -> (y: f32[1, 48, ${hw}, ${hw}]) {
  y = Mul(x, Sigmoid(x))
}`;
const SCALE = `graph g(x: f32[1, 48, 14, 14]) -> (y: f32[1, 48, 14, 14]) {
  s: f32[1, 48, 1, 1] = [${vals(48).join(', ')}]
  y = Mul(Sigmoid(x), s)
}`;

const o2 = (src: string, t: string) => runPipeline(parseGraph(src), pipelineFor(2), { target: passTargetOf(getTarget(t)!), out: () => {} }).graph;
const loopsC = (src: string) => compileC(o2(src, 'c'), { version: 'test', source: 'flatten', sourceHash: '-' }).prog.kernels.map(printKernel).join('\n');

describe('elementwise kernels over merged trailing axes', () => {
  it('a 48x7x7 SiLU is one loop in vectors of 16 on C; 48x16x16 keeps its rows', () => {
    const k = loopsC(SILU(7));
    expect(k).toMatch(/for f\w* in 0\.\.147 \{\s*for f\w*_i in 0\.\.16 vectorized\(16\)/);
    expect(loopsC(SILU(16))).toMatch(/in 0\.\.16 vectorized\(16\)/);
    expect(loopsC(SILU(16))).not.toMatch(/for f\w* in/);
  });
  it('a per-channel operand stops the merge at h*w (196 = 49 vectors of 4)', () => {
    expect(loopsC(SCALE)).toMatch(/for f\w*_i in 0\.\.4 vectorized\(4\)/);
  });
  for (const [name, src, hw] of [['SiLU 7x7', SILU(7), 7], ['SiLU 14x14', SILU(14), 14], ['per-channel scale 14x14', SCALE, 14]] as const) {
    for (const t of ['c', 'wasm-simd']) {
      it(`${name} on ${t} equals the interpreter`, async () => {
        const feeds = new Map<string, RValue>([['x', Tensor.fromNumbers('float32', [1, 48, hw, hw], vals(48 * hw * hw))]]);
        const want = Array.from((run(parseGraph(src), feeds).get('y') as Tensor).num);
        const got = Array.from(((await runOn(getTarget(t)!, o2(src, t), feeds, { version: 'test', source: 'flatten' })).outputs.get('y') as Tensor).num);
        got.forEach((v, i) => expect(Math.abs(v - want[i]!), `at ${i}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i]!))));
      }, 60_000);
    }
  }
});
