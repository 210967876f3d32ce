/**
 * A channel-blocked elementwise kernel whose body divides a float by a constant (HardSwish's x / 6,
 * a QuantizeLinear's x / scale) is vectorized over the channel lanes: the channel-mixing test
 * (schedule/blocked.ts mixesChannels) looks at integer index arithmetic only. It took such a division
 * for a channel shuffle, and the quantized MobileNetV3's fake-quantizing kernels ran as unrolled
 * scalar lanes (0.24 -> 0.05 ms each, aic profile -O3).
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@aic/core';
import { printDirective } from '@aic/loop-ir';
import { checkCompiled, compileAt, sineInput, values } from './dsl-values.ts';

const SRC = `graph g(x: f32[1, 3, 6, 6]) -> (y: f32[1, 16, 6, 6]) {
  w: f32[16, 3, 3, 3] = ${values(432, 31)}
  w2: f32[16, 16, 1, 1] = ${values(256, 32)}
  s: f32[] = 0.05
  z: u8[] = 128
  c = Conv(x, w, pads = [1, 1, 1, 1])
  h = HardSwish(DequantizeLinear(QuantizeLinear(c, s, z), s, z))
  y = Conv(h, w2)
}`;
const meta = { version: 'test', source: 'blocked-float-div', sourceHash: '-' };

describe('float division in a channel-blocked elementwise kernel (-O3)', () => {
  for (const target of ['c', 'wasm-simd'] as const) {
    it(`${target}: a fake-quantized HardSwish on NC16HW16 / NC4HW4 vectorizes its channel lanes, same values`, async () => {
      const { want, compiled, feeds } = compileAt(SRC, target, () => sineInput([1, 3, 6, 6], 0.37, 2), meta, 3);
      const hs = compiled.prog.kernels.filter((k) => /hardswish|fusedelementwise/.test(k.name) && k.params.some((p) => p.role === 'output' && /^NC\d+HW\d+$/.test(p.layout?.name ?? '')));
      expect(hs.length, compiled.prog.kernels.map((k) => k.name).join(' ')).toBeGreaterThan(0);
      for (const k of hs) {
        const dirs = (compiled.prog.schedules.get(k.name) ?? []).map(printDirective);
        expect(dirs.some((d) => d.startsWith('vectorize ')), `${k.name}: ${dirs.join('; ')}`).toBe(true);
      }
      await checkCompiled(compiled, target, feeds, want.get('y') as Tensor);
    });
  }
});
