/**
 * wasm-simd -O3 (TargetCaps.loopEntryCost): a blocked 1x1 conv runs its reduction's lanes outside its
 * blocks (reorder ..., r_i, .., r_o) when one lane pass reads at most 16 KiB (packed weights of the
 * tile's blocks and its input pixels, per input block) and the input channels are whole blocks; a conv
 * with 18 input channels (guarded last block) or 512 (a 24 KiB pass) keeps blocks outside, and C
 * keeps them everywhere. Every variant matches the reference interpreter.
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
