/**
 * wasm-simd (TargetCaps.splitReductionSpills): a blocked 1x1 conv over a map whose epilogue computes
 * a transcendental (SiLU's sigmoid) keeps its reduction in one loop (index r / 4, r % 4) instead of
 * block and lane loops, so V8 keeps the register tile's accumulators in registers while the sigmoid's
 * constants are hoisted; a Relu epilogue, a 1-pixel (squeeze-excite) conv and C keep the split. Batch
 * 2, channels not whole blocks (20): the -O3 graph matches the reference interpreter on the loop-IR
 * interpreter and on the target.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@aic/core';
import { printDirective } from '@aic/loop-ir';
import { checkCompiled, compileAt, sineInput, values } from './dsl-values.ts';

/** 3x3 conv (into 32 channels: more than one block on C too), 1x1 + SiLU, 1x1 + Relu, global pool, 1x1 + Sigmoid on the pooled pixel (SE) */
const SRC = `graph g(x: f32[2, 4, 6, 6]) -> (y: f32[2, 20, 6, 6]) {
  w1: f32[32, 4, 3, 3] = ${values(32 * 36, 1)}
  w2: f32[20, 32, 1, 1] = ${values(20 * 32, 2)}
  b2: f32[20] = ${values(20, 3)}
  w3: f32[20, 20, 1, 1] = ${values(400, 4)}
  w4: f32[20, 20, 1, 1] = ${values(400, 5)}
  c1 = Conv(x, w1, pads = [1, 1, 1, 1])
  r1 = Relu(c1)
  c2 = Conv(r1, w2, b2)
  s2 = Sigmoid(c2)
  a2 = Mul(c2, s2)
  c3 = Conv(a2, w3)
  r3 = Relu(c3)
  p = GlobalAveragePool(r3)
  c4 = Conv(p, w4)
  g4 = Sigmoid(c4)
  y = Mul(r3, g4)
}`;

const input = () => sineInput([2, 4, 6, 6], 0.37, 2);
const meta = { version: 'test', source: 'blocked-epilogue-loop', sourceHash: '-' };

describe('blocked 1x1 convs with a transcendental epilogue (-O3)', () => {
  for (const target of ['wasm-simd', 'c'] as const) {
    it(`${target}: ${target === 'wasm-simd' ? 'one reduction loop for the SiLU conv only' : 'split reductions'}; outputs match`, async () => {
      const { want, compiled, feeds } = compileAt(SRC, target, input, meta);
      const prog = compiled.prog;
      // the 1x1 convs' kernels, in order: SiLU epilogue (32 -> 20), Relu (20 -> 20), the 1-pixel one
      const convs = prog.kernels.filter((k) => /conv$/.test(k.name) && k.params[1].shape[2] === 1 && k.params[1].shape[3] === 1).map((k) => k.name);
      const splitsR = convs.map((k) => (prog.schedules.get(k) ?? []).map(printDirective).some((d) => /^split r\d+ by/.test(d)));
      expect(convs.length, convs.join(' ')).toBe(3);
      expect(splitsR).toEqual(target === 'wasm-simd' ? [false, true, true] : [true, true, true]);
      await checkCompiled(compiled, target, feeds, want.get('y') as Tensor);
    }, 120_000);
  }
});
