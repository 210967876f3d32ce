/** Calibration math on known arrays: ranges, histograms, thresholds, scales and zero points. */
import { describe, expect, it } from 'vitest';
import { Tensor } from '@aic/core';
import { quantize } from '@aic/passes';

const { RangeStats, chooseRange, percentileThreshold, entropyThreshold, activationParams, quantizeWeight, quantizeBias, sqnrDb } = quantize;

describe('range statistics', () => {
  it('minmax takes the extremes over every sample and always contains 0', () => {
    const s = new RangeStats(false);
    s.add([0.5, 2, 1]);
    s.add([3, 0.25]);
    expect([s.min, s.max]).toEqual([0.25, 3]);
    expect(chooseRange(s, 'minmax')).toEqual({ lo: 0, hi: 3 });
    s.add([-1.5]);
    expect(chooseRange(s, 'minmax')).toEqual({ lo: -1.5, hi: 3 });
  });

  it('the |x| histogram doubles its range by merging bin pairs, exactly', () => {
    const s = new RangeStats(true, 8);
    s.add([0.1, 0.9, -0.5]); // range ~0.9: bins of ~0.1125
    const r0 = s.range;
    s.add([3]); // > 2 * 0.9: two doublings
    expect(s.range).toBeCloseTo(r0 * 4, 12);
    const counts = Array.from(s.hist!);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(4);
    // merged bins of width r0 / 2: 0.1 in the first, 0.5 and 0.9 (just under r0) in the second
    expect(counts[0]).toBe(1);
    expect(counts[1]).toBe(2);
    expect(counts[2]).toBe(0);
    expect(counts[6]).toBe(1); // 3 / (3.6 / 8) = 6.67
  });

  it('percentile: the upper edge of the bin where the cumulative count reaches P%', () => {
    const hist = [50, 30, 10, 5, 3, 1, 0, 1]; // 100 values over [0, 8)
    expect(percentileThreshold(hist, 8, 50)).toBe(1);
    expect(percentileThreshold(hist, 8, 90)).toBe(3);
    expect(percentileThreshold(hist, 8, 99)).toBe(6);
    expect(percentileThreshold(hist, 8, 100)).toBe(8);
  });

  it('percentile clips a lone outlier that minmax keeps', () => {
    const x = Array.from({ length: 100000 }, (_, i) => ((i % 1000) / 1000) * 2 - 1); // uniform in [-1, 1)
    x.push(50);
    const s = new RangeStats(true);
    s.add(x);
    expect(chooseRange(s, 'minmax')).toEqual({ lo: -1, hi: 50 });
    const p = chooseRange(s, 'percentile', 99.9);
    expect(p.hi).toBeGreaterThan(0.99);
    expect(p.hi).toBeLessThan(1.1);
    expect(p.lo).toBe(-1);
  });

  it('entropy: a uniform histogram keeps its whole range, a long tail is cut', () => {
    const flat = new Array(2048).fill(10);
    expect(entropyThreshold(flat, 2048, 128)).toBe(2048);
    // Laplace-like: mass decays fast; the KL threshold lands well inside the range but past the bulk
    const tail = Array.from({ length: 2048 }, (_, i) => Math.round(1e6 * Math.exp(-i / 40)));
    const t = entropyThreshold(tail, 2048, 128);
    expect(t).toBeGreaterThan(128);
    expect(t).toBeLessThan(1024);
    // a Relu's spike of zeros does not pull the threshold down
    const relu = new Array(2048).fill(10);
    relu[0] = 1e7;
    expect(entropyThreshold(relu, 2048, 256)).toBe(2048);
    // fewer values than bins: min/max
    const few = new RangeStats(true);
    few.add([0.1, 0.2, 5]);
    expect(chooseRange(few, 'entropy')).toEqual({ lo: 0, hi: 5 });
    // the percentile that keeps everything but 1e-4 of the mass lies in the same region
    const p = percentileThreshold(tail, 2048, 99.99);
    expect(t).toBeLessThan(p * 2);
  });
});

describe('scales and zero points', () => {
  it('uint8 activations: asymmetric, zero exact', () => {
    expect(activationParams({ lo: 0, hi: 2.55 }, 'uint8')).toEqual({ scale: Math.fround(0.01), zeroPoint: 0 });
    const p = activationParams({ lo: -1, hi: 3 }, 'uint8');
    expect(p.scale).toBe(Math.fround(4 / 255));
    expect(p.zeroPoint).toBe(Math.round(1 / Math.fround(4 / 255)));
    expect(activationParams({ lo: -1, hi: 3 }, 'int8').zeroPoint).toBe(p.zeroPoint - 128);
    expect(activationParams({ lo: 0, hi: 0 }, 'uint8')).toEqual({ scale: 1, zeroPoint: 0 });
  });

  it('per-channel weights: scale max|w|/127 per output channel, values in [-127, 127]', () => {
    const w = Tensor.fromNumbers('float32', [2, 1, 1, 3], [1, -0.5, 0.25, 0.01, 0.03, -0.04]);
    const pc = quantizeWeight(w, 0);
    expect(Array.from(pc.scale)).toEqual([Math.fround(1 / 127), Math.fround(0.04 / 127)]);
    expect(Array.from(pc.q.num)).toEqual([127, -64, 32, 32, 95, -127]);
    const pt = quantizeWeight(w, undefined);
    expect(Array.from(pt.scale)).toEqual([Math.fround(1 / 127)]);
    expect(Array.from(pt.q.num)).toEqual([127, -64, 32, 1, 4, -5]); // the small channel loses its precision
    expect(quantizeWeight(Tensor.fromNumbers('float32', [1, 2], [0, 0]), 0).scale[0]).toBe(1);
  });

  it('int32 bias with scale = input scale * weight scale', () => {
    const b = Tensor.fromNumbers('float32', [2], [0.5, -0.25]);
    const { q, scale } = quantizeBias(b, 0.01, Float32Array.of(0.5, 0.25));
    expect(Array.from(scale)).toEqual([Math.fround(0.005), Math.fround(0.0025)]);
    expect(Array.from(q.num)).toEqual([100, -100]);
  });

  it('SQNR in dB', () => {
    expect(sqnrDb(100, 1)).toBe(20);
    expect(sqnrDb(1, 0)).toBe(Infinity);
  });
});
