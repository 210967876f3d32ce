import { describe, expect, it } from 'vitest';
import { AicError, Graph, Node, Tensor, Value, type Attr } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { A, evalOp, f32, i64, t, vals } from '../helpers.ts';

const iota = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from);

/** deterministic pseudo-random values in [-1, 1) */
function rand(shape: number[], seed: number): Tensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 31 - 1; });
  return f32(shape, v);
}

function expectClose(got: number[], want: number[], tol = 1e-4): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => { if (Math.abs(g - want[i]) > tol * (1 + Math.abs(want[i]))) throw new Error(`[${i}] ${g} != ${want[i]}`); });
}

function code(f: () => unknown): string | undefined {
  try { f(); } catch (e) { return e instanceof AicError ? e.code : String(e); }
  return undefined;
}

// ---- naive references (straight from the definitions, any spatial rank) --------------------------

interface ConvP { strides: number[]; dil: number[]; pb: number[]; group: number; out: number[] }

function unravel(i: number, shape: number[]): number[] {
  const r = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) { r[k] = i % shape[k]; i = Math.floor(i / shape[k]); }
  return r;
}
const ravel = (ix: number[], shape: number[]) => ix.reduce((a, v, k) => a * shape[k] + v, 0);

function naiveConv(x: Tensor, w: Tensor, p: ConvP): number[] {
  const [N, C] = x.shape, M = w.shape[0], Cg = C / p.group, Mg = M / p.group;
  const xs = x.shape.slice(2), ks = w.shape.slice(2), kn = ks.reduce((a, b) => a * b, 1);
  const on = p.out.reduce((a, b) => a * b, 1);
  const y: number[] = [];
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) for (let o = 0; o < on; o++) {
    const oi = unravel(o, p.out);
    let s = 0;
    for (let c = 0; c < Cg; c++) for (let k = 0; k < kn; k++) {
      const ki = unravel(k, ks);
      const ii = oi.map((v, a) => v * p.strides[a] + ki[a] * p.dil[a] - p.pb[a]);
      if (ii.some((v, a) => v < 0 || v >= xs[a])) continue;
      const ic = Math.floor(m / Mg) * Cg + c;
      s += x.num[(n * C + ic) * xs.reduce((a, b) => a * b, 1) + ravel(ii, xs)] * w.num[(m * Cg + c) * kn + k];
    }
    y.push(s);
  }
  return y;
}

function naiveConvT(x: Tensor, w: Tensor, p: ConvP): number[] {
  const [N, C] = x.shape, Mg = w.shape[1], M = Mg * p.group, Cg = C / p.group;
  const xs = x.shape.slice(2), ks = w.shape.slice(2), kn = ks.reduce((a, b) => a * b, 1);
  const xn = xs.reduce((a, b) => a * b, 1), on = p.out.reduce((a, b) => a * b, 1);
  const y = new Array<number>(N * M * on).fill(0);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < xn; i++) {
    const ii = unravel(i, xs), g = Math.floor(c / Cg);
    for (let mm = 0; mm < Mg; mm++) for (let k = 0; k < kn; k++) {
      const ki = unravel(k, ks);
      const oi = ii.map((v, a) => v * p.strides[a] + ki[a] * p.dil[a] - p.pb[a]);
      if (oi.some((v, a) => v < 0 || v >= p.out[a])) continue;
      y[(n * M + g * Mg + mm) * on + ravel(oi, p.out)] += x.num[(n * C + c) * xn + i] * w.num[(c * Mg + mm) * kn + k];
    }
  }
  return y;
}

describe('Conv', () => {
  const x44 = f32([1, 1, 4, 4], iota(16));
  const ones33 = f32([1, 1, 3, 3], new Array(9).fill(1));

  it('3x3 ones kernel with pads 1 on a 4x4 input (hand computed) plus bias', () => {
    const [y] = evalOp('Conv', [x44, ones33, f32([1], [0.5])], { pads: A.ints([1, 1, 1, 1]) });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    expect(vals(y)).toEqual([14, 24, 30, 22, 33, 54, 63, 45, 57, 90, 99, 69, 46, 72, 78, 54].map((v) => v + 0.5));
  });

  it('stride 2 with pads 1 picks every other window', () => {
    const [y] = evalOp('Conv', [x44, ones33], { pads: A.ints([1, 1, 1, 1]), strides: A.ints([2, 2]) });
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(vals(y)).toEqual([14, 30, 57, 99]);
  });

  it('auto_pad SAME_UPPER / SAME_LOWER put the odd pad at the end / beginning', () => {
    const w = f32([1, 1, 2, 2], [1, 1, 1, 1]);
    const [u] = evalOp('Conv', [x44, w], { auto_pad: A.str('SAME_UPPER') });
    const [l] = evalOp('Conv', [x44, w], { auto_pad: A.str('SAME_LOWER') });
    expect(vals(u).slice(0, 4)).toEqual([14, 18, 22, 12]);
    expect(vals(l).slice(0, 4)).toEqual([1, 3, 5, 7]);
    const [v] = evalOp('Conv', [x44, w], { auto_pad: A.str('VALID') });
    expect(v.shape).toEqual([1, 1, 3, 3]);
  });

  const cases: { name: string; x: number[]; w: number[]; attrs: Record<string, Attr>; p: ConvP }[] = [
    { name: '2-d groups, 6 output channels (block remainder)', x: [2, 4, 7, 6], w: [6, 2, 3, 2],
      attrs: { group: A.int(2), pads: A.ints([1, 0, 2, 1]), strides: A.ints([2, 1]) },
      p: { strides: [2, 1], dil: [1, 1], pb: [1, 0], group: 2, out: [4, 6] } },
    { name: '2-d dilations and strides', x: [1, 3, 9, 8], w: [5, 3, 3, 3],
      attrs: { dilations: A.ints([2, 3]), strides: A.ints([2, 2]), pads: A.ints([2, 1, 1, 2]) },
      p: { strides: [2, 2], dil: [2, 3], pb: [2, 1], group: 1, out: [4, 3] } },
    { name: 'depthwise', x: [1, 5, 6, 6], w: [5, 1, 3, 3], attrs: { group: A.int(5), pads: A.ints([1, 1, 1, 1]) },
      p: { strides: [1, 1], dil: [1, 1], pb: [1, 1], group: 5, out: [6, 6] } },
    { name: '1-d', x: [2, 3, 10], w: [4, 3, 3], attrs: { strides: A.ints([3]), pads: A.ints([1, 2]) },
      p: { strides: [3], dil: [1], pb: [1], group: 1, out: [4] } },
    { name: '3-d', x: [1, 2, 4, 5, 3], w: [3, 2, 2, 3, 2], attrs: { pads: A.ints([1, 0, 1, 0, 1, 0]), strides: A.ints([1, 2, 1]) },
      p: { strides: [1, 2, 1], dil: [1, 1, 1], pb: [1, 0, 1], group: 1, out: [4, 2, 3] } },
  ];
  for (const c of cases) {
    it(`matches a naive reference: ${c.name}`, () => {
      const x = rand(c.x, 1), w = rand(c.w, 2);
      const [y] = evalOp('Conv', [x, w], c.attrs);
      expect(y.shape).toEqual([c.x[0], c.w[0], ...c.p.out]);
      expectClose(vals(y), naiveConv(x, w, c.p));
    });
  }

  it('rejects mismatched channels and reports symbolic batch dims', () => {
    expect(code(() => evalOp('Conv', [f32([1, 2, 3, 3], new Array(18).fill(0)), ones33]))).toBe('AIC0021');
    const g = new Graph('g');
    const x = new Value('x', { dtype: 'float32', shape: ['N', 3, 32, 32] });
    const w = new Value('w', { dtype: 'float32', shape: [8, 3, 3, 3] });
    const y = new Value('y', { dtype: 'float32', shape: undefined });
    g.inputs = [x, w];
    g.nodes.push(new Node({ op: 'Conv', inputs: [x, w], outputs: [y], attrs: { strides: A.ints([2, 2]), pads: A.ints([1, 1, 1, 1]) } }));
    g.outputs = [y];
    inferGraph(g, { strict: true });
    expect(y.type.shape).toEqual(['N', 8, 16, 16]);
  });
});

describe('ConvInteger', () => {
  it('subtracts zero points and accumulates in int32', () => {
    const [y] = evalOp('ConvInteger', [t('uint8', [1, 1, 2, 2], [2, 3, 4, 5]), t('uint8', [1, 1, 1, 1], [3]),
      t('uint8', [], [1]), t('uint8', [], [1])]);
    expect(y.dtype).toBe('int32');
    expect(vals(y)).toEqual([2, 4, 6, 8]);
  });
});

describe('ConvTranspose', () => {
  it('2x2 ones kernel on a 2x2 input (hand computed)', () => {
    const [y] = evalOp('ConvTranspose', [f32([1, 1, 2, 2], [1, 2, 3, 4]), f32([1, 1, 2, 2], [1, 1, 1, 1])]);
    expect(y.shape).toEqual([1, 1, 3, 3]);
    expect(vals(y)).toEqual([1, 3, 2, 4, 10, 6, 3, 7, 4]);
  });

  it('stride 2 with output_padding 1 and a bias', () => {
    const [y] = evalOp('ConvTranspose', [f32([1, 1, 2, 2], [1, 2, 3, 4]), f32([1, 1, 1, 1], [2]), f32([1], [10])],
      { strides: A.ints([2, 2]), output_padding: A.ints([1, 1]) });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    expect(vals(y)).toEqual([12, 10, 14, 10, 10, 10, 10, 10, 16, 10, 18, 10, 10, 10, 10, 10]);
  });

  it('matches a naive reference with groups, strides, dilations and pads', () => {
    const x = rand([2, 4, 3, 4], 3), w = rand([4, 3, 3, 2], 4);
    const [y] = evalOp('ConvTranspose', [x, w], { group: A.int(2), strides: A.ints([2, 3]), dilations: A.ints([2, 1]), pads: A.ints([1, 0, 2, 1]) });
    // H: 2*(3-1) + (3-1)*2+1 - 3 = 6; W: 3*(4-1) + 2 - 1 = 10
    expect(y.shape).toEqual([2, 6, 6, 10]);
    expectClose(vals(y), naiveConvT(x, w, { strides: [2, 3], dil: [2, 1], pb: [1, 0], group: 2, out: [6, 10] }));
  });

  it('output_shape larger than the full size zero-extends at the end', () => {
    const x = rand([1, 1, 3], 5), w = rand([1, 1, 3], 6);
    const [y] = evalOp('ConvTranspose', [x, w], { strides: A.ints([2]), output_shape: A.ints([8]) });
    expect(y.shape).toEqual([1, 1, 8]);
    expectClose(vals(y), [...naiveConvT(x, w, { strides: [2], dil: [1], pb: [0], group: 1, out: [7] }), 0]);
  });

  it('refuses an output_shape that needs ambiguous cropping', () => {
    const x = rand([1, 1, 3], 5), w = rand([1, 1, 3], 6);
    expect(code(() => evalOp('ConvTranspose', [x, w], { strides: A.ints([2]), output_shape: A.ints([5]) }))).toBe('AIC0203');
  });
});

describe('pooling', () => {
  const x44 = f32([1, 1, 4, 4], iota(16));

  it('MaxPool and AveragePool with ceil_mode (hand computed)', () => {
    const attrs = { kernel_shape: A.ints([3, 3]), strides: A.ints([2, 2]), ceil_mode: A.int(1) };
    const [m] = evalOp('MaxPool', [x44], attrs);
    expect(m.shape).toEqual([1, 1, 2, 2]);
    expect(vals(m)).toEqual([11, 12, 15, 16]);
    const [a] = evalOp('AveragePool', [x44], attrs);
    expect(vals(a)).toEqual([6, 7.5, 12, 13.5]);
    const [f] = evalOp('MaxPool', [x44], { kernel_shape: A.ints([3, 3]), strides: A.ints([2, 2]) });
    expect(f.shape).toEqual([1, 1, 1, 1]);
  });

  it('ceil_mode drops a window that would start in the right padding', () => {
    const attrs = { kernel_shape: A.ints([1, 2]), strides: A.ints([1, 2]), pads: A.ints([0, 0, 0, 1]), ceil_mode: A.int(1) };
    // ceil((5 + 1 - 2) / 2) + 1 = 3 windows: [1,2] [3,4] [5,pad]
    expect(vals(evalOp('MaxPool', [f32([1, 1, 1, 5], iota(5))], attrs)[0])).toEqual([2, 4, 5]);
    // ceil((4 + 1 - 2) / 2) + 1 = 3, but the third window would start in the padding: 2 windows
    const [y] = evalOp('MaxPool', [f32([1, 1, 1, 4], iota(4))], attrs);
    expect(y.shape).toEqual([1, 1, 1, 2]);
    expect(vals(y)).toEqual([2, 4]);
  });

  it('AveragePool count_include_pad', () => {
    const x = f32([1, 1, 3, 3], iota(9));
    const attrs = { kernel_shape: A.ints([2, 2]), strides: A.ints([2, 2]), pads: A.ints([1, 1, 1, 1]) };
    expect(vals(evalOp('AveragePool', [x], { ...attrs, count_include_pad: A.int(1) })[0])).toEqual([0.25, 1.25, 2.75, 7]);
    expect(vals(evalOp('AveragePool', [x], attrs)[0])).toEqual([1, 2.5, 5.5, 7]);
  });

  it('MaxPool Indices are flat NCHW input indices (row and column major)', () => {
    const x = f32([1, 2, 2, 2], [1, 4, 3, 2, 5, 6, 8, 7]);
    const [y, i] = evalOp('MaxPool', [x], { kernel_shape: A.ints([2, 2]) }, { outputs: 2 });
    expect(vals(y)).toEqual([4, 8]);
    expect(i.dtype).toBe('int64');
    expect(vals(i)).toEqual([1, 6]);
    const [, c] = evalOp('MaxPool', [x], { kernel_shape: A.ints([2, 2]), storage_order: A.int(1) }, { outputs: 2 });
    expect(vals(c)).toEqual([2, 5]);
  });

  it('LpPool and GlobalLpPool', () => {
    const [y] = evalOp('LpPool', [f32([1, 1, 4], [3, 4, 6, 8])], { kernel_shape: A.ints([2]), strides: A.ints([2]) });
    expect(vals(y, 5)).toEqual([5, 10]);
    const [g] = evalOp('GlobalLpPool', [f32([1, 2, 2], [3, 4, -1, 1])], { p: A.int(1) });
    expect(g.shape).toEqual([1, 2, 1]);
    expect(vals(g)).toEqual([7, 2]);
  });

  it('GlobalAveragePool and GlobalMaxPool', () => {
    const x = f32([1, 2, 2, 2], [1, 2, 3, 4, -5, -6, -7, -8]);
    expect(vals(evalOp('GlobalAveragePool', [x])[0])).toEqual([2.5, -6.5]);
    const [m] = evalOp('GlobalMaxPool', [x]);
    expect(m.shape).toEqual([1, 2, 1, 1]);
    expect(vals(m)).toEqual([4, -5]);
  });

  it('MaxUnpool scatters to the default output size', () => {
    const [y] = evalOp('MaxUnpool', [f32([1, 1, 2, 2], [5, 6, 7, 8]), i64([1, 1, 2, 2], [5, 7, 13, 15])],
      { kernel_shape: A.ints([2, 2]), strides: A.ints([2, 2]) });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    expect(vals(y)).toEqual([0, 0, 0, 0, 0, 5, 0, 6, 0, 0, 0, 0, 0, 7, 0, 8]);
  });
});

describe('normalization', () => {
  it('BatchNormalization inference', () => {
    const [y] = evalOp('BatchNormalization', [f32([1, 2, 1, 2], [1, 2, 3, 4]), f32([2], [1, 2]), f32([2], [0, 1]),
      f32([2], [1.5, 3.5]), f32([2], [0.25, 0.25])], { epsilon: A.float(0) });
    expect(vals(y)).toEqual([-1, 1, -1, 3]);
  });

  it('BatchNormalization training_mode: batch statistics and running updates', () => {
    const [y, rm, rv] = evalOp('BatchNormalization', [f32([1, 1, 1, 4], [1, 2, 3, 4]), f32([1], [1]), f32([1], [0]),
      f32([1], [0]), f32([1], [1])], { epsilon: A.float(0), training_mode: A.int(1) }, { outputs: 3 });
    const s = Math.sqrt(1.25);
    expectClose(vals(y), [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]);
    expectClose(vals(rm), [0.25]);
    expectClose(vals(rv), [1.025]);
  });

  it('InstanceNormalization', () => {
    const [y] = evalOp('InstanceNormalization', [f32([2, 1, 2], [1, 3, 10, 20]), f32([1], [2]), f32([1], [1])], { epsilon: A.float(0) });
    expect(vals(y)).toEqual([-1, 3, -1, 3]);
  });

  it('LayerNormalization with Mean and InvStdDev', () => {
    const [y, m, inv] = evalOp('LayerNormalization', [f32([2, 2], [1, 3, 2, 6]), f32([2], [1, 1]), f32([2], [0, 1])],
      { epsilon: A.float(0) }, { outputs: 3 });
    expect(vals(y)).toEqual([-1, 2, -1, 2]);
    expect(m.shape).toEqual([2, 1]);
    expect(vals(m)).toEqual([2, 4]);
    expect(vals(inv)).toEqual([1, 0.5]);
  });

  it('LayerNormalization over two axes with a broadcast scale', () => {
    const [y] = evalOp('LayerNormalization', [f32([1, 2, 2], [0, 2, 4, 6]), f32([2], [1, 10])], { axis: A.int(1), epsilon: A.float(0) });
    const s = Math.sqrt(5);
    expectClose(vals(y), [-3 / s, -10 / s, 1 / s, 30 / s]);
  });

  it('GroupNormalization with per-group and per-channel scale', () => {
    const x = f32([1, 4, 1, 1], [1, 3, 10, 20]);
    const attrs = { num_groups: A.int(2), epsilon: A.float(0) };
    expect(vals(evalOp('GroupNormalization', [x, f32([2], [1, 2]), f32([2], [0, 0])], attrs)[0])).toEqual([-1, 1, -2, 2]);
    expect(vals(evalOp('GroupNormalization', [x, f32([4], [1, 1, 1, 3]), f32([4], [0, 0, 0, 1])], attrs)[0])).toEqual([-1, 1, -1, 4]);
  });

  it('LRN across channels', () => {
    const [y] = evalOp('LRN', [f32([1, 3, 1, 1], [1, 2, 3])], { size: A.int(3), alpha: A.float(3), beta: A.float(1), bias: A.float(1) });
    expectClose(vals(y), [1 / 6, 2 / 15, 3 / 14]);
  });

  it('MeanVarianceNormalization over the default axes', () => {
    const [y] = evalOp('MeanVarianceNormalization', [f32([2, 1, 1, 2], [1, 3, 5, 7])]);
    const s = Math.sqrt(5);
    expectClose(vals(y), [-3 / s, -1 / s, 1 / s, 3 / s]);
  });
});

describe('Dropout', () => {
  it('is the identity in inference with an all-true mask', () => {
    const x = f32([2, 2], [1, -2, 3, 4]);
    const [y, m] = evalOp('Dropout', [x, f32([], [0.5])], {}, { outputs: 2 });
    expect(vals(y)).toEqual([1, -2, 3, 4]);
    expect(m.dtype).toBe('bool');
    expect(vals(m)).toEqual([1, 1, 1, 1]);
  });

  it('training with ratio 0 is the identity; ratio > 0 is unsupported', () => {
    const x = f32([2], [1, 2]);
    expect(vals(evalOp('Dropout', [x, f32([], [0]), t('bool', [], [1])])[0])).toEqual([1, 2]);
    expect(code(() => evalOp('Dropout', [x, f32([], [0.3]), t('bool', [], [1])]))).toBe('AIC0203');
  });
});
