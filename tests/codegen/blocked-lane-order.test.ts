/**
 * wasm-simd -O3 (TargetCaps.loopEntryCost): a blocked 1x1 conv runs its reduction's lanes outside its
 * blocks (reorder ..., r_i, .., r_o) when one lane pass reads at most 16 KiB (packed weights of the
 * tile's blocks and its input pixels, per input block) and the input channels are whole blocks; a conv
 * with 18 input channels (guarded last block) or 512 (a 24 KiB pass) keeps blocks outside, and C
 * keeps them everywhere. One-block (depthwise) tiles take 7 pixels on wasm-simd (16 vector
 * registers: 7 loads, the weight, 7 accumulators), 8 on C. Every variant matches the reference interpreter.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@aic/core';
import { printDirective } from '@aic/loop-ir';
import { checkCompiled, compileAt, sineInput, values } from './dsl-values.ts';

const SRC = `graph g(x: f32[1, 18, 7, 7]) -> (y: f32[1, 8, 7, 7]) {
  w1: f32[32, 18, 1, 1] = ${values(32 * 18, 1)}
  w2: f32[512, 32, 1, 1] = ${values(512 * 32, 2)}
  w3: f32[8, 512, 1, 1] = ${values(8 * 512, 3)}
  c1 = Conv(x, w1)
  r1 = Relu(c1)
  c2 = Conv(r1, w2)
  r2 = Relu(c2)
  y = Conv(r2, w3)
}`;

const meta = { version: 'test', source: 'blocked-lane-order', sourceHash: '-' };

describe('blocked 1x1 convs: lane loop outside the block loop where a pass fits L1 (-O3)', () => {
  for (const target of ['wasm-simd', 'c'] as const) {
    it(`${target}: ${target === 'wasm-simd' ? 'the 32-channel conv only' : 'none'}; outputs match`, async () => {
      const { want, compiled, feeds } = compileAt(SRC, target, () => sineInput([1, 18, 7, 7], 0.41, 1.3), meta);
      const prog = compiled.prog;
      const convs = prog.kernels.filter((k) => /conv$/.test(k.name)).map((k) => k.name);
      expect(convs.length, convs.join(' ')).toBe(3);
      // is the reduction's lane loop (r.._i) before its block loop (r.._o) in the reorder?
      const lanesOuter = convs.map((k) => {
        const order = (prog.schedules.get(k) ?? []).map(printDirective).find((d) => d.startsWith('reorder')) ?? '';
        const i = order.search(/\br\d+_i\b/), o = order.search(/\br\d+_o\b/);
        return i >= 0 && o >= 0 && i < o;
      });
      expect(lanesOuter).toEqual(target === 'wasm-simd' ? [false, true, false] : [false, false, false]);
      await checkCompiled(compiled, target, feeds, want.get('y') as Tensor);
    }, 120_000);
  }
});

/** a depthwise 3x3 (one block per tile) on a 56-wide map (8 rows divide it, as 7 do), then a 1x1 to close the graph */
const DW = `graph g(x: f32[1, 16, 56, 56]) -> (y: f32[1, 4, 56, 56]) {
  wd: f32[16, 1, 3, 3] = ${values(144, 5)}
  w2: f32[4, 16, 1, 1] = ${values(64, 6)}
  d = Conv(x, wd, group = 16, pads = [1, 1, 1, 1])
  r = Relu(d)
  y = Conv(r, w2)
}`;

describe('one-block tiles fit the target\'s vector registers (TargetCaps.vectorRegisters)', () => {
  for (const [target, rows] of [['wasm-simd', 7], ['c', 8]] as const) {
    it(`${target}: a depthwise conv's tile takes ${rows} pixels; outputs match`, async () => {
      const { want, compiled, feeds } = compileAt(DW, target, () => sineInput([1, 16, 56, 56], 0.53, 1.1), meta);
      const prog = compiled.prog;
      const dw = prog.kernels.find((k) => /conv$/.test(k.name) && k.params[1].shape[1] === 1)!;
      const dirs = (prog.schedules.get(dw.name) ?? []).map(printDirective);
      // the split of the pixel axis (not the channel axis, split by the block)
      expect(dirs.filter((d) => /^split i\d+ by \d+/.test(d)).some((d) => d.includes(`by ${rows}`)), dirs.join('; ')).toBe(true);
      await checkCompiled(compiled, target, feeds, want.get('y') as Tensor);
    }, 120_000);
  }
});
