/**
 * Blocked (-O3) convs whose output channels are an odd number of 4-lane blocks (wasm-simd) take two
 * blocks per register tile with the last pair clamped (it re-computes the block before it), as even
 * counts do; the packed weight's index keeps no / or % by the block (pack.ts folds
 * (min(o * 2, last) + i) * x + lane). C's 16-lane blocks keep one block for odd counts. A 1x1
 * and a 3x3 conv into 3 blocks (12 channels on wasm-simd's 4 lanes, 48 on C's 16), a 1x1 into 10
 * channels (3 blocks, the last one partial), batch 2: the -O3 graph matches the reference interpreter
 * on the loop-IR interpreter, C and WebAssembly SIMD.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { printDirective, printKernel } from '@aic/loop-ir';
import { checkCompiled, compileAt, values } from './dsl-values.ts';

const graph = (C: number, M: number) => `graph g(x: f32[2, 4, 10, 10]) -> (y: f32[2, ${M}, 10, 10]) {
  w1: f32[${C}, 4, 1, 1] = ${values(C * 4, 11)}
  w2: f32[${C}, ${C}, 3, 3] = ${values(C * C * 9, 12)}
  b2: f32[${C}] = ${values(C, 13)}
  w3: f32[${M}, ${C}, 1, 1] = ${values(M * C, 14)}
  c1 = Conv(x, w1)
  r1 = Relu(c1)
  c2 = Conv(r1, w2, b2, pads = [1, 1, 1, 1])
  r2 = Relu(c2)
  y = Conv(r2, w3)
}`;

const input = (): Map<string, RValue> => {
  const t = new Tensor('float32', [2, 4, 10, 10]);
  for (let i = 0; i < t.size; i++) t.num[i] = Math.cos(i * 0.29) * 1.5;
  return new Map([['x', t]]);
};

const meta = { version: 'test', source: 'blocked-pairs', sourceHash: '-' };

describe('odd numbers of channel blocks: clamped pairs of blocks per tile (-O3)', () => {
  for (const [target, C, M, x] of [['wasm-simd', 12, 10, 4], ['c', 48, 40, 16]] as const) {
    it(`${target}: ${C} and ${M} channels on ${x}-lane blocks`, async () => {
      const src = graph(C, M);
      const { want, compiled, feeds } = compileAt(src, target, input, meta);
      const prog = compiled.prog;
      const convs = prog.kernels.filter((k) => /_(fused)?conv$/.test(k.name) && k.params.some((p) => p.layout?.name === `NC${x}HW${x}` && p.role === 'output'));
      const paired = convs.filter((k) => (prog.schedules.get(k.name) ?? []).map(printDirective).includes('split i1_o by 2 clamp'));
      // wasm-simd: the 12 -> 12 3x3 and the 12 -> 10 1x1 at least (3 blocks each); C's 16-lane blocks keep
      // one block per tile for odd counts (measured no faster paired)
      const why = convs.map((k) => `${k.name}: ${(prog.schedules.get(k.name) ?? []).map(printDirective).join('; ')}`).join('\n');
      if (x === 4) expect(paired.length, why).toBeGreaterThanOrEqual(2);
      else expect(paired.length, why).toBe(0);
      for (const k of paired) expect(printKernel(k)).not.toMatch(new RegExp(` / ${x}\\b| % ${x}\\b`));
      await checkCompiled(compiled, target, feeds, want.get('y') as Tensor);
    }, 120_000);
  }
});
