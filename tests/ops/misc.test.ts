import { describe, expect, it } from 'vitest';
import { Tensor } from '@aic/core';
import { A, evalOp, f32, i64, t, vals } from '../helpers.ts';

const close = (got: number[], want: number[], d = 5) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i], d));
};
const strs = (v: string[]): { type: 'strings'; value: string[] } => ({ type: 'strings', value: v });

describe('NonMaxSuppression', () => {
  // three boxes: 0 and 1 overlap with IoU 0.81 / 1.0 = ... (0..1 vs 0..0.9: inter 0.9, union 1 -> 0.9); 2 is far away
  const boxes = f32([1, 3, 4], [0, 0, 1, 1, 0, 0, 0.9, 1, 5, 5, 6, 6]);
  const scores = f32([1, 1, 3], [0.8, 0.9, 0.3]);
  it('keeps the best box of an overlapping pair and the far box', () => {
    const [y] = evalOp('NonMaxSuppression', [boxes, scores, i64([1], [10]), f32([1], [0.5])]);
    expect(y.shape).toEqual([2, 3]);
    expect(vals(y)).toEqual([0, 0, 1, 0, 0, 2]);
  });
  it('iou threshold above the overlap keeps both; score threshold and max per class', () => {
    expect(vals(evalOp('NonMaxSuppression', [boxes, scores, i64([1], [10]), f32([1], [0.95])])[0])).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 2]);
    expect(vals(evalOp('NonMaxSuppression', [boxes, scores, i64([1], [10]), f32([1], [0.95]), f32([1], [0.5])])[0])).toEqual([0, 0, 1, 0, 0, 0]);
    expect(vals(evalOp('NonMaxSuppression', [boxes, scores, i64([1], [1]), f32([1], [0.95])])[0])).toEqual([0, 0, 1]);
    expect(evalOp('NonMaxSuppression', [boxes, scores])[0].shape).toEqual([0, 3]);
  });
  it('center_point_box = 1', () => {
    const cb = f32([1, 2, 4], [0.5, 0.5, 1, 1, 0.5, 0.55, 1, 1]);
    const [y] = evalOp('NonMaxSuppression', [cb, f32([1, 1, 2], [0.1, 0.2]), i64([1], [5]), f32([1], [0.5])], { center_point_box: A.int(1) });
    expect(vals(y)).toEqual([0, 0, 1]);
  });
});

describe('RoiAlign', () => {
  // X = 4x4 ramp x[h, w] = 4h + w
  const X = f32([1, 1, 4, 4], Array.from({ length: 16 }, (_, i) => i));
  it('avg, output_half_pixel, one sample per bin at the bin centre', () => {
    // roi (0,0)-(2,2): 2x2 bins of size 1, sample at (0.5, 0.5) etc -> bilinear of a ramp = 4y + x
    const [y] = evalOp('RoiAlign', [X, f32([1, 4], [0, 0, 2, 2]), i64([1], [0])],
      { output_height: A.int(2), output_width: A.int(2), sampling_ratio: A.int(1), coordinate_transformation_mode: A.str('output_half_pixel') });
    expect(y.shape).toEqual([1, 1, 2, 2]);
    close(vals(y), [2.5, 3.5, 6.5, 7.5]);
  });
  it('half_pixel shifts the roi by -0.5', () => {
    const [y] = evalOp('RoiAlign', [X, f32([1, 4], [1, 1, 3, 3]), i64([1], [0])],
      { output_height: A.int(1), output_width: A.int(1), sampling_ratio: A.int(1) });
    // centre of (0.5..2.5) = 1.5 in both axes -> 4*1.5 + 1.5
    close(vals(y), [7.5]);
  });
});

describe('GridSample', () => {
  const X = f32([1, 1, 2, 2], [1, 2, 3, 4]);
  it('linear, align_corners: corners and the centre', () => {
    const grid = f32([1, 1, 3, 2], [-1, -1, 1, 1, 0, 0]);
    const [y] = evalOp('GridSample', [X, grid], { align_corners: A.int(1) });
    expect(y.shape).toEqual([1, 1, 1, 3]);
    close(vals(y), [1, 4, 2.5]);
  });
  it('linear, zeros padding outside; border clamps', () => {
    // align_corners=0: x = ((g + 1) * 2 - 1) / 2; g = -1 -> -0.5: half of pixel 0 and half zero
    const grid = f32([1, 1, 1, 2], [-1, -1]);
    close(vals(evalOp('GridSample', [X, grid])[0]), [0.25]);
    close(vals(evalOp('GridSample', [X, grid], { padding_mode: A.str('border') })[0]), [1]);
  });
  it('nearest rounds half to even', () => {
    // align_corners=1, g = 0 -> 0.5 -> rounds to 0 in both axes
    const [y] = evalOp('GridSample', [X, f32([1, 1, 1, 2], [0, 0])], { mode: A.str('nearest'), align_corners: A.int(1) });
    expect(vals(y)).toEqual([1]);
  });
});

describe('Bernoulli and random generators', () => {
  it('refuse to evaluate (non-deterministic)', () => {
    expect(() => evalOp('Bernoulli', [f32([2], [0.5, 0.5])])).toThrow(/non-deterministic/);
    expect(() => evalOp('RandomUniformLike', [f32([2], [0, 0])])).toThrow(/non-deterministic/);
  });
});

describe('string ops', () => {
  it('StringNormalizer removes stopwords (case-insensitive) and upper-cases', () => {
    const x = new Tensor('string', [4], ['Monday', 'tuesday', 'MONDAY', 'wed']);
    const [y] = evalOp('StringNormalizer', [x], { stopwords: strs(['monday']), case_change_action: A.str('UPPER') });
    expect(y.data).toEqual(['TUESDAY', 'WED']);
    const [e] = evalOp('StringNormalizer', [new Tensor('string', [1, 1], ['monday'])], { stopwords: strs(['monday']), is_case_sensitive: A.int(1) });
    expect(e.shape).toEqual([1, 1]);
    expect(e.data).toEqual(['']);
  });
  it('TfIdfVectorizer counts unigrams once and skip-grams per skip distance', () => {
    // pool: unigram [1], bigram [1, 2]; x = 1 3 2 1 2
    const x = t('int32', [5], [1, 3, 2, 1, 2]);
    const attrs = {
      min_gram_length: A.int(1), max_gram_length: A.int(2), max_skip_count: A.int(1), mode: A.str('TF'),
      ngram_counts: A.ints([0, 1]), ngram_indexes: A.ints([0, 1]), pool_int64s: A.ints([1, 1, 2]),
    };
    // unigram 1: twice; bigram (1,2): skip 0 at 3-4, skip 1 at 0-2 -> 2
    expect(vals(evalOp('TfIdfVectorizer', [x], attrs)[0])).toEqual([2, 2]);
    expect(vals(evalOp('TfIdfVectorizer', [x], { ...attrs, mode: A.str('IDF'), weights: A.floats([0.5, 3]) })[0])).toEqual([0.5, 3]);
  });
});

describe('signal', () => {
  it('windows', () => {
    close(vals(evalOp('HannWindow', [i64([], [4])], {}, { constIdx: [0] })[0]), [0, 0.5, 1, 0.5]);
    close(vals(evalOp('HannWindow', [i64([], [3])], { periodic: A.int(0) }, { constIdx: [0] })[0]), [0, 1, 0]);
    close(vals(evalOp('HammingWindow', [i64([], [2])], {}, { constIdx: [0] })[0]), [4 / 46, 1]);
    close(vals(evalOp('BlackmanWindow', [i64([], [2])], {}, { constIdx: [0] })[0]), [0, 1]);
  });
  it('DFT of a real signal, onesided, and its inverse', () => {
    const x = f32([1, 4, 1], [1, 2, 3, 4]);
    const [y] = evalOp('DFT', [x]);
    expect(y.shape).toEqual([1, 4, 2]);
    close(vals(y), [10, 0, -2, 2, -2, 0, -2, -2]);
    const [h] = evalOp('DFT', [x], { onesided: A.int(1) });
    expect(h.shape).toEqual([1, 3, 2]);
    close(vals(h), [10, 0, -2, 2, -2, 0]);
    const [back] = evalOp('DFT', [y], { inverse: A.int(1) });
    close(vals(back), [1, 0, 2, 0, 3, 0, 4, 0]);
  });
  it('DFT with dft_length zero-pads', () => {
    const [y] = evalOp('DFT', [f32([1, 1, 1], [1]), i64([], [2])], {}, { constIdx: [1] });
    expect(y.shape).toEqual([1, 2, 2]);
    close(vals(y), [1, 0, 1, 0]);
  });
  it('STFT frames with a window', () => {
    const sig = f32([1, 6, 1], [1, 1, 1, 1, 1, 1]);
    const [y] = evalOp('STFT', [sig, i64([], [2]), f32([4], [1, 1, 0, 0])], {}, { constIdx: [1] });
    // frames at 0 and 2 -> 2 frames; each windowed frame [1,1,0,0]: bins 0..2 = 2, 1-1i, 0
    expect(y.shape).toEqual([1, 2, 3, 2]);
    close(vals(y), [2, 0, 1, -1, 0, 0, 2, 0, 1, -1, 0, 0]);
  });
  it('MelWeightMatrix shape and triangle peak', () => {
    const [m] = evalOp('MelWeightMatrix', [t('int32', [], [2]), t('int32', [], [16]), t('int32', [], [8000]), f32([], [0]), f32([], [4000])],
      {}, { constIdx: [0, 1] });
    expect(m.shape).toEqual([9, 2]);
    // each mel bin's triangle reaches 1 at its centre
    const v = vals(m);
    expect(Math.max(...v.filter((_, i) => i % 2 === 0))).toBe(1);
    expect(Math.max(...v.filter((_, i) => i % 2 === 1))).toBe(1);
  });
});

describe('training optimizers', () => {
  const D = { domain: 'ai.onnx.preview.training' };
  it('Adagrad', () => {
    // r = 1/(1 + 1*1) = 0.5; H = 1 + 4 = 5; X = 1 - 0.5 * 2 / sqrt(5)
    const [x, h] = evalOp('Adagrad', [f32([], [1]), i64([], [1]), f32([1], [1]), f32([1], [2]), f32([1], [1])],
      { decay_factor: A.float(1), epsilon: A.float(0) }, { ...D, outputs: 2 });
    close(vals(x), [1 - 1 / Math.sqrt(5)]);
    close(vals(h), [5]);
  });
  it('Adam at T = 0 (no bias correction)', () => {
    // V = 0.5*0 + 0.5*2 = 1; H = 0.5*0 + 0.5*4 = 2; X = 1 - 0.1 * 1/sqrt(2)
    const [x, v, h] = evalOp('Adam', [f32([], [0.1]), i64([], [0]), f32([1], [1]), f32([1], [2]), f32([1], [0]), f32([1], [0])],
      { alpha: A.float(0.5), beta: A.float(0.5), epsilon: A.float(0) }, { ...D, outputs: 3 });
    close(vals(x), [1 - 0.1 / Math.sqrt(2)]);
    close(vals(v), [1]);
    close(vals(h), [2]);
  });
  it('Momentum standard and nesterov', () => {
    const ins = [f32([], [0.1]), i64([], [1]), f32([1], [1]), f32([1], [2]), f32([1], [1])];
    const at = { alpha: A.float(0.5), beta: A.float(0.25), norm_coefficient: A.float(0) };
    // V = 0.5*1 + 0.25*2 = 1
    const [xs, vs] = evalOp('Momentum', ins, { ...at, mode: A.str('standard') }, { ...D, outputs: 2 });
    close(vals(vs), [1]);
    close(vals(xs), [0.9]);
    const [xn] = evalOp('Momentum', ins, { ...at, mode: A.str('nesterov') }, { ...D, outputs: 2 });
    close(vals(xn), [1 - 0.1 * (2 + 0.5 * 1)]);
  });
});
