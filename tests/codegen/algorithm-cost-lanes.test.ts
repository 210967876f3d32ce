/**
 * The conv algorithm cost model weighs streamed weight bytes by the target's vector width
 * (codegen/schedule/algorithms/choose.ts byteCost): on wasm-simd (4 lanes) Winograd F(4,3) is chosen
 * for resnet18's 512-channel 7x7 layers (measured ~3x faster than direct there), while the C target
 * (16 lanes) keeps direct convolution for them; decisions on C do not change.
 */
import { describe, expect, it } from 'vitest';
import { algorithmCosts, algorithmName } from '../../codegen/schedule/algorithms/choose.ts';
import type { ConvInfo } from '../../codegen/schedule/algorithms/conv-info.ts';

const conv = (C: number, M: number, H: number): ConvInfo => ({
  N: 1, C, H, W: H, M, KH: 3, KW: 3, OH: H, OW: H, strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], group: 1,
  weight: undefined as unknown as ConvInfo['weight'], stage: 0, reduce: undefined as unknown as ConvInfo['reduce'],
});
const best = (c: ConvInfo, lanes: number) => algorithmName(algorithmCosts(c, lanes).reduce((x, y) => (y.cost < x.cost ? y : x)).alg);

describe('algorithm cost model and vector width', () => {
  it('512 channels on 7x7: winograd F(4,3) on 4 lanes, direct on 16', () => {
    expect(best(conv(512, 512, 7), 4)).toBe('winograd F(4,3)');
    expect(best(conv(512, 512, 7), 16)).toBe('direct');
  });
  it('64 channels on 56x56: winograd F(4,3) on both', () => {
    expect(best(conv(64, 64, 56), 4)).toBe('winograd F(4,3)');
    expect(best(conv(64, 64, 56), 16)).toBe('winograd F(4,3)');
  });
  it('16 -> 64 channels on 55x55 (squeezenet): winograd F(4,3) on 4 lanes, direct on 16 (transforms weigh per lane)', () => {
    const c = { ...conv(16, 64, 55) };
    expect(best(c, 4)).toBe('winograd F(4,3)');
    expect(best(c, 16)).toBe('direct');
  });
  it('a weight byte costs 4x less (in FLOP-equivalents) on 4 lanes than on 16', () => {
    // direct's cost is FLOPs / lane use + byteCost * weight bytes; 8 channels keep both tiles full
    const c = conv(8, 8, 8);
    const flops = 2 * 8 * 8 * 9 * 64, bytes = 4 * 8 * 8 * 9;
    const direct = (lanes: number) => algorithmCosts(c, lanes).find((a) => a.alg.name === 'direct')!.cost;
    expect(direct(4)).toBeCloseTo(flops + 2 * bytes, 6);
    expect(direct(16)).toBeCloseTo(flops / 0.5 + 8 * bytes, 6);
  });
});
