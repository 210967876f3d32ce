/**
 * Compute definitions of the detection / sampling / recurrent / text ops (NonMaxSuppression, RoiAlign,
 * GridSample, TfIdfVectorizer, RNN / GRU / LSTM, MelWeightMatrix, QLinearConv): one-node graphs
 * lowered to loop IR and run with the loop-IR interpreter, compared with the reference interpreter on
 * the attribute combinations the ONNX node tests miss. Shape-deciding inputs are bound as `aic run`
 * binds them (prepareForRun); NonMaxSuppression's inputs are data, so its output is a bound plus a
 * run-time count.
 */
import { describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value, type Attr, type RValue } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { LOOPS_CAPS, lowerGraph, prepareForRun, runProgram } from '@aic/codegen';
import { A, t } from '../helpers.ts';

/** Run `op` through the interpreter and through lowering + runProgram (null = omitted input). */
function expectSame(op: string, inputs: (Tensor | null)[], attrs: Record<string, Attr> = {}, outputs = 1): Tensor[] {
  const build = () => {
    const g = new Graph('t');
    const feeds = new Map<string, RValue>();
    const ins = inputs.map((x, i) => {
      if (!x) return null;
      const v = new Value(`in${i}`, { dtype: x.dtype, shape: x.shape.slice() });
      g.inputs.push(v);
      feeds.set(v.name, x);
      return v;
    });
    const outs = Array.from({ length: outputs }, (_, i) => new Value(`out${i}`, { dtype: 'float32', shape: undefined }));
    g.nodes.push(new Node({ op, inputs: ins, outputs: outs, attrs }));
    g.outputs = outs;
    inferGraph(g, { strict: true });
    return { g, feeds, outs };
  };
  const a = build();
  const res = run(a.g, a.feeds);
  const ref = a.outs.map((o) => res.get(o.name) as Tensor);
  const b = build();
  prepareForRun(b.g, b.feeds);
  const low = runProgram(lowerGraph(b.g, LOOPS_CAPS), b.feeds);
  ref.forEach((r, k) => {
    const l = low.get(b.outs[k]!.name)!;
    expect(l.dtype).toBe(r.dtype);
    expect(l.shape).toEqual(r.shape);
    const x = Array.from(l.num), y = Array.from(r.num);
    if (r.dtype.startsWith('float')) {
      y.forEach((v, i) => {
        if (Number.isNaN(v)) expect(x[i]).toBeNaN();
        else expect(Math.abs(x[i]! - v)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v)));
      });
    } else {
      expect(x).toEqual(y);
    }
  });
  return ref;
}

/** deterministic pseudo-random values in [lo, hi) */
function rnd(n: number, seed: number, lo = -1, hi = 1): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((s >>> 8) / (1 << 24)) * (hi - lo);
  });
}
const f32r = (shape: number[], seed: number, lo = -1, hi = 1) => t('float32', shape, rnd(shape.reduce((a, b) => a * b, 1), seed, lo, hi));

describe('recurrent layers', () => {
  const S = 4, B = 3, I = 2, H = 3;
  const X = f32r([S, B, I], 1), X1 = f32r([B, S, I], 2);
  const lens = t('int32', [B], [4, 2, 0]);
  it('RNN: activations with alpha/beta, clip, sequence_lens, bidirectional, layout 1', () => {
    const nd = 2;
    const W = f32r([nd, H, I], 3), R = f32r([nd, H, H], 4), Bi = f32r([nd, 2 * H], 5), h0 = f32r([B, nd, H], 6);
    for (const acts of [['Relu', 'LeakyRelu'], ['HardSigmoid', 'ScaledTanh'], ['Elu', 'Softsign'], ['Softplus', 'Affine'], ['ThresholdedRelu', 'Sigmoid']]) {
      expectSame('RNN', [X1, W, R, Bi, lens, h0], {
        hidden_size: A.int(H), direction: A.str('bidirectional'), layout: A.int(1), clip: A.float(0.7),
        activations: { type: 'strings', value: acts }, activation_alpha: A.floats([0.3, 0.6]), activation_beta: A.floats([0.2]),
      }, 2);
    }
  });
  it('GRU: linear_before_reset 0 and 1, reverse, initial state, only Y_h', () => {
    const W = f32r([1, 3 * H, I], 7), R = f32r([1, 3 * H, H], 8), Bi = f32r([1, 6 * H], 9), h0 = f32r([1, B, H], 10);
    for (const lbr of [0, 1]) {
      expectSame('GRU', [X, W, R, Bi, lens, h0], { hidden_size: A.int(H), direction: A.str('reverse'), linear_before_reset: A.int(lbr) }, 2);
      expectSame('GRU', [X, W, R, null, null, null], { linear_before_reset: A.int(lbr) }, 2);
    }
  });
  it('LSTM: peepholes, input_forget, bidirectional, initial states, all outputs', () => {
    const nd = 2;
    const W = f32r([nd, 4 * H, I], 11), R = f32r([nd, 4 * H, H], 12), Bi = f32r([nd, 8 * H], 13);
    const h0 = f32r([nd, B, H], 14), c0 = f32r([nd, B, H], 15), P = f32r([nd, 3 * H], 16);
    for (const inputForget of [0, 1]) {
      expectSame('LSTM', [X, W, R, Bi, lens, h0, c0, P], { hidden_size: A.int(H), direction: A.str('bidirectional'), input_forget: A.int(inputForget), clip: A.float(2) }, 3);
    }
    // forward, defaults, only Y
    expectSame('LSTM', [X, t('float32', [1, 4 * H, I], Array.from(W.num).slice(0, 4 * H * I)),
      t('float32', [1, 4 * H, H], Array.from(R.num).slice(0, 4 * H * H))], {}, 1);
  });
});

describe('GridSample', () => {
  const X2 = f32r([2, 2, 4, 5], 20), G2 = f32r([2, 3, 4, 2], 21, -1.4, 1.4);
  const X3 = f32r([1, 2, 3, 4, 5], 22), G3 = f32r([1, 2, 3, 2, 3], 23, -1.3, 1.3);
  it('2-D: every mode, padding mode and align_corners', () => {
    for (const mode of ['linear', 'nearest', 'cubic']) for (const pad of ['zeros', 'border', 'reflection']) for (const align of [0, 1]) {
      expectSame('GridSample', [X2, G2], { mode: A.str(mode), padding_mode: A.str(pad), align_corners: A.int(align) });
    }
  });
  it('3-D and 1-D: linear and nearest', () => {
    for (const mode of ['linear', 'nearest']) for (const pad of ['zeros', 'border', 'reflection']) for (const align of [0, 1]) {
      expectSame('GridSample', [X3, G3], { mode: A.str(mode), padding_mode: A.str(pad), align_corners: A.int(align) });
      expectSame('GridSample', [f32r([1, 2, 6], 24), f32r([1, 5, 1], 25, -1.5, 1.5)], { mode: A.str(mode), padding_mode: A.str(pad), align_corners: A.int(align) });
    }
  });
  it('exact half-way nearest positions round half to even', () => {
    // x = 0.5, 1.5, 2.5 ... in pixel coordinates (align_corners=1 on a 5-wide axis: g = (2x / 4) - 1)
    const g = [0.5, 1.5, 2.5, 3.5].flatMap((x) => [2 * x / 4 - 1, 0]);
    expectSame('GridSample', [f32r([1, 1, 1, 5], 26), t('float32', [1, 1, 4, 2], g)], { mode: A.str('nearest'), align_corners: A.int(1) });
  });
});

describe('RoiAlign', () => {
  const X = f32r([2, 3, 6, 7], 30, 0, 4);
  const rois = t('float32', [4, 4], [0, 0, 5, 4, 1.2, 0.7, 3.3, 5.9, -2, -1, 9, 8, 4, 4, 4.5, 4.2]);
  const bi = t('int64', [4], [0, 1, 1, 0]);
  it('avg and max, both coordinate modes, sampling ratios', () => {
    for (const mode of ['avg', 'max']) for (const ctm of ['half_pixel', 'output_half_pixel']) for (const ratio of [0, 2]) {
      expectSame('RoiAlign', [X, rois, bi], {
        mode: A.str(mode), coordinate_transformation_mode: A.str(ctm), sampling_ratio: A.int(ratio),
        output_height: A.int(3), output_width: A.int(2), spatial_scale: A.float(0.8),
      });
    }
  });
});

describe('NonMaxSuppression (run-time inputs: a bound and the run-time count)', () => {
  const boxes = t('float32', [2, 6, 4], [
    0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, -0.1, 1, 0.9, 0, 10, 1, 11, 0, 10.1, 1, 11.1, 1, 1, 0, 0,
    0.5, 0.5, 1, 1, 0.5, 0.5, 1, 1, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 4, 4, 2.1, 2.1, 4, 4.2,
  ]);
  const scores = t('float32', [2, 2, 6], [0.9, 0.75, 0.6, 0.95, 0.5, 0.3, 0.1, 0.2, 0.2, 0.9, 0.9, 0.4,
    0.5, 0.5, 0.7, 0.1, 0.8, 0.8, 0.3, 0.6, 0.6, 0.6, 0.2, 0.9]);
  it('thresholds, limits, center boxes, ties', () => {
    for (const cpb of [0, 1]) for (const max of [0, 1, 2, 10]) for (const iou of [0, 0.3, 0.7]) {
      expectSame('NonMaxSuppression', [boxes, scores, t('int64', [1], [max]), t('float32', [1], [iou]), t('float32', [1], [0.25])], { center_point_box: A.int(cpb) });
      expectSame('NonMaxSuppression', [boxes, scores, t('int64', [1], [max]), t('float32', [1], [iou])], { center_point_box: A.int(cpb) });
    }
    expectSame('NonMaxSuppression', [boxes, scores]);
  });
});

describe('TfIdfVectorizer (integer input)', () => {
  const X = t('int64', [2, 7], [1, 2, 3, 2, 3, 1, 4, 4, 4, 2, 3, 5, 5, 1]);
  const pool = [2, 3, 5, 4, /* bigrams */ 2, 3, 3, 1, 4, 4, 5, 5, 2, 3];
  const base = { max_gram_length: A.int(2), ngram_counts: A.ints([0, 4]), ngram_indexes: A.ints([0, 1, 2, 3, 4, 5, 6, 7, 8]), pool_int64s: A.ints(pool) };
  it('TF / IDF / TFIDF, weights, skips, gram lengths', () => {
    for (const mode of ['TF', 'IDF', 'TFIDF']) for (const minN of [1, 2]) for (const skip of [0, 1, 3]) {
      const attrs = { ...base, mode: A.str(mode), min_gram_length: A.int(minN), max_skip_count: A.int(skip) };
      expectSame('TfIdfVectorizer', [X], attrs);
      expectSame('TfIdfVectorizer', [X], { ...attrs, weights: A.floats([0.5, 1, 2, 0.25, 3, 1.5, 0.1, 2, 1]) });
    }
    // 1-D int32 input, a permuted output column map
    expectSame('TfIdfVectorizer', [t('int32', [7], [1, 2, 3, 2, 3, 1, 4])],
      { ...base, mode: A.str('TF'), min_gram_length: A.int(1), max_skip_count: A.int(2), ngram_indexes: A.ints([3, 1, 0, 2, 8, 7, 6, 5, 4]) });
  });
});

describe('MelWeightMatrix', () => {
  it('bins, lengths, edges', () => {
    const i32 = (v: number) => t('int32', [], [v]), f = (v: number) => t('float32', [], [v]);
    for (const [m, d, sr, lo, hi] of [[8, 16, 8192, 0, 4096], [5, 32, 16000, 100, 6000], [10, 64, 22050, 20.5, 8000]] as const) {
      expectSame('MelWeightMatrix', [i32(m), i32(d), i32(sr), f(lo), f(hi)]);
    }
  });
});

describe('QLinearConv', () => {
  it('pads, strides, dilations, groups, per-channel weights, bias, int8 and uint8', () => {
    const x = t('uint8', [1, 4, 5, 6], rnd(120, 40, 0, 255).map(Math.floor));
    const w = t('int8', [6, 2, 3, 2], rnd(72, 41, -128, 127).map(Math.floor));
    const q = (d: 'uint8' | 'int8', v: number[]) => t(d, v.length === 1 ? [] : [v.length], v);
    const fs = (v: number[]) => t('float32', v.length === 1 ? [] : [v.length], v);
    const B = t('int32', [6], [100, -200, 0, 5000, -7, 12]);
    for (const [yd, yz] of [['uint8', 128], ['int8', -3]] as const) {
      const ins = [x, fs([0.02]), q('uint8', [130]), w, fs([0.01, 0.02, 0.005, 0.03, 0.011, 0.007]), t('int8', [6], [0, 1, -2, 3, 0, -1]), fs([0.05]), q(yd, [yz])];
      expectSame('QLinearConv', [...ins, B], { group: A.int(2), pads: A.ints([1, 0, 2, 1]), strides: A.ints([2, 1]), dilations: A.ints([1, 2]) });
      expectSame('QLinearConv', ins, { group: A.int(2), auto_pad: A.str('SAME_UPPER') });
    }
  });
});
