/**
 * Depthwise convs over the flattened padded plane (`algorithm direct-flat`,
 * codegen/schedule/algorithms/flat.ts), forced through the --schedule file on odd shapes (channels not
 * a multiple of 4, 5x5 and 3x3 taps, asymmetric pads, dilation 2, unpadded, a depth multiplier of 2,
 * batch > 1, a bias + relu epilogue run in the flat stage, a residual one kept at the valid positions):
 * the results match the reference interpreter on the scheduled loop IR, C and WebAssembly SIMD, and the
 * loop IR equals direct to the last bit. The cost model picks it for narrow maps on 16 lanes only.
 */
import { describe, expect, it } from 'vitest';
import { AicError } from '@aic/core';
import { compileC } from '@aic/codegen';
import { parseScheduleFile } from '@aic/loop-ir';
import { algorithmCosts, algorithmName } from '../../codegen/schedule/algorithms/choose.ts';
import type { ConvInfo } from '../../codegen/schedule/algorithms/conv-info.ts';
import { checkForcedAlgorithm, convKernel, convModel, type ConvCase } from './conv-case.ts';

const meta = { version: 'test', source: 'flat', sourceHash: '-' };

const CASES: ConvCase[] = [
  { name: 'depthwise 5x5 pad 2 on 7x7, 19 channels, bias + relu', N: 1, C: 19, H: 7, W: 7, M: 19, k: 5, pads: [2, 2, 2, 2], group: 19, bias: true, relu: true },
  { name: 'depthwise 3x3 pad 1 on 5x9, batch 2, residual + relu', N: 2, C: 6, H: 5, W: 9, M: 6, pads: [1, 1, 1, 1], group: 6, bias: true, residual: true, relu: true },
  { name: 'depthwise 3x3 dilation 2, asymmetric pads', N: 1, C: 5, H: 11, W: 10, M: 5, pads: [2, 1, 2, 3], dilations: [2, 2], group: 5 },
  { name: 'depthwise 3x3 unpadded on 6x13', N: 1, C: 3, H: 6, W: 13, M: 3, group: 3, bias: true },
  { name: 'depth multiplier 2, 3x5 taps', N: 1, C: 4, H: 8, W: 7, M: 8, k: [3, 5], pads: [1, 2, 1, 2], group: 4, bias: true },
];

describe('depthwise over the flattened padded plane (direct-flat)', () => {
  for (const c of CASES) {
    it(`${c.name} (loops, c, wasm-simd)`, () => checkForcedAlgorithm(c, 'direct-flat'), 120_000);
  }

  it('refuses direct-flat for a strided or dense conv (usage error naming the kernel)', () => {
    for (const c of [
      { name: 's2', N: 1, C: 4, H: 9, W: 9, M: 4, pads: [1, 1, 1, 1], strides: [2, 2], group: 4 },
      { name: 'dense', N: 1, C: 4, H: 9, W: 9, M: 4, pads: [1, 1, 1, 1] },
    ] as ConvCase[]) {
      const g = convModel(c).graph();
      const k = convKernel(g);
      let err: unknown;
      try { compileC(g, { ...meta, schedules: parseScheduleFile(`kernel ${k} { algorithm direct-flat }`) }); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(AicError);
      expect((err as AicError).exitCode).toBe(2);
      expect((err as AicError).message).toContain(k);
    }
  });

  it('the cost model picks it for depthwise convs on 7x7 and 14x14 maps on 16 lanes, not on 56x56 or on 4 lanes', () => {
    const dw = (C: number, H: number, k: number): ConvInfo => ({
      N: 1, C, H, W: H, M: C, KH: k, KW: k, OH: H, OW: H, strides: [1, 1], dilations: [1, 1], pads: [k >> 1, k >> 1, k >> 1, k >> 1], group: C,
      weight: undefined as unknown as ConvInfo['weight'], stage: 0, reduce: undefined as unknown as ConvInfo['reduce'],
    });
    const best = (c: ConvInfo, lanes: number) => algorithmCosts(c, lanes).reduce((x, y) => (y.cost < x.cost ? y : x)).alg;
    expect(algorithmName(best(dw(1152, 7, 5), 16))).toMatch(/^direct-flat/);
    expect(algorithmName(best(dw(672, 14, 5), 16))).toMatch(/^direct-flat/);
    expect(algorithmName(best(dw(960, 7, 3), 16))).toMatch(/^direct-flat/);
    expect(best(dw(144, 56, 3), 16).name).toBe('direct');
    expect(best(dw(1152, 7, 5), 4).name).toBe('direct');
    expect(best(dw(672, 14, 5), 4).name).toBe('direct');
  });
});
