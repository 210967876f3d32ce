/**
 * int8 kernels on WGSL (codegen/wgsl/int-dot.ts, dot4.ts): fused / imported int8 convolutions and
 * matmuls sum dot4 over packed words (four bytes each), run as dot4I8Packed where the device's WGSL
 * has packed_4x8_integer_dot_product and unpacked otherwise; both forms match the interpreter exactly
 * on odd shapes (channels and K no multiple of 4, padding, batch 2, nonzero zero points, int8 and uint8
 * activations, extreme values) and on small_cnn quantized by aic quantize.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { Tensor, type Graph, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { loadOnnxFile } from '@aic/onnx';
import { pipelineFor, quantize, runPipeline } from '@aic/passes';
import { closeWgsl, compileWgsl, passTarget, prepareForRun, runWgsl } from '@aic/codegen';
import { webgpuSkipReason } from '../webgpu.ts';

let skipWhy: string | undefined;
beforeAll(async () => { skipWhy = await webgpuSkipReason(); }, 400_000);
afterAll(() => closeWgsl());

/** n deterministic integers in [lo, hi] */
function ints(n: number, seed: number, lo: number, hi: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => { s = (Math.imul(s, 22695477) + 1) >>> 0; return lo + (s >>> 8) % (hi - lo + 1); });
}
const list = (v: number[]) => `[${v.join(', ')}]`;

interface Case { name: string; src: string; input: [string, string, number[]] }
const CASES: Case[] = [
  {
    name: 'QLinearConv u8 x i8, 6 input channels (a quad tail), per-channel scales, pads 1, batch 2, bias',
    input: ['x', 'uint8', [2, 6, 5, 7]],
    src: `graph g(x: u8[2, 6, 5, 7]) -> (y: u8[2, 5, 5, 7]) {
  xs: f32[] = 0.05
  xz: u8[] = 131
  w: i8[5, 6, 3, 3] = ${list(ints(270, 1, -128, 127))}
  ws: f32[5] = [0.01, 0.02, 0.005, 0.03, 0.011]
  wz: i8[5] = [0, 0, 0, 0, 0]
  ys: f32[] = 0.3
  yz: u8[] = 128
  b: i32[5] = [100, -200, 0, 5000, -7]
  y = QLinearConv(x, xs, xz, w, ws, wz, ys, yz, b, pads = [1, 1, 1, 1])
}`,
  },
  {
    name: 'QLinearConv i8 x i8 to int8, 9 channels, stride 2',
    input: ['x', 'int8', [1, 9, 7, 6]],
    src: `graph g(x: i8[1, 9, 7, 6]) -> (y: i8[1, 4, 3, 2]) {
  xs: f32[] = 0.05
  xz: i8[] = -7
  w: i8[4, 9, 3, 3] = ${list(ints(324, 2, -128, 127))}
  ws: f32[] = 0.01
  wz: i8[] = 0
  ys: f32[] = 0.3
  yz: i8[] = 5
  y = QLinearConv(x, xs, xz, w, ws, wz, ys, yz, strides = [2, 2])
}`,
  },
  {
    name: 'MatMulInteger u8 x i8, K 13, extremes (255 * -128)',
    input: ['a', 'uint8', [3, 13]],
    src: `graph g(a: u8[3, 13]) -> (y: i32[3, 7]) {
  b: i8[13, 7] = ${list([...new Array(7).fill(-128), ...ints(84, 3, -128, 127)])}
  az: u8[] = 0
  y = MatMulInteger(a, b, az)
}`,
  },
  {
    name: 'QLinearMatMul u8 x i8, K 33, batch 2',
    input: ['a', 'uint8', [2, 4, 33]],
    src: `graph g(a: u8[2, 4, 33]) -> (y: u8[2, 4, 10]) {
  as: f32[] = 0.03
  az: u8[] = 120
  b: i8[33, 10] = ${list(ints(330, 4, -127, 127))}
  bs: f32[] = 0.02
  bz: i8[] = 0
  ys: f32[] = 0.4
  yz: u8[] = 100
  y = QLinearMatMul(a, as, az, b, bs, bz, ys, yz)
}`,
  },
];

function feedsOf(c: Case, extreme = false): Map<string, RValue> {
  const [name, dtype, shape] = c.input;
  const t = new Tensor(dtype as 'uint8', shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const [lo, hi] = dtype === 'uint8' ? [0, 255] : [-128, 127];
  t.num.set(extreme ? new Array(n).fill(hi) : ints(n, 9, lo, hi));
  return new Map([[name, t]]);
}

const meta = { version: 'test', source: 'int8-dot4', sourceHash: '-' };
const exact = (got: Tensor, want: Tensor, what: string) => {
  expect(got.dtype, what).toBe(want.dtype);
  expect(Array.from(got.num), what).toEqual(Array.from(want.num));
};

/** Run g (optimized for wgsl at -O2) with both dot4 forms; check both against the interpreter on the same graph. */
async function bothForms(g: Graph, feeds: Map<string, RValue>, what: string, close?: number): Promise<void> {
  const o = runPipeline(g, pipelineFor(2), { target: passTarget('wgsl'), out: () => {} }).graph;
  prepareForRun(o, feeds);
  const want = run(o, feeds);
  const c = compileWgsl(o, meta);
  expect(c.wgsl, what).toMatch(/aic_dot4\(/);
  expect(c.manifest.dot4, what).toBeDefined();
  for (const packed of [true, false]) {
    const r = await runWgsl(c, feeds, { packedDot4: packed });
    expect(r.dot4).toBe(packed ? 'packed' : 'unpacked');
    for (const [k, w] of want) {
      const got = r.outputs.get(k)!, ref = w as Tensor;
      if (close === undefined) exact(got, ref, `${what} ${k} packed=${packed}`);
      else for (let i = 0; i < ref.size; i++) expect(Math.abs(got.num[i] - ref.num[i]), `${what} ${k}[${i}]`).toBeLessThanOrEqual(close);
    }
  }
}

describe('int8 dot4 kernels on WGSL', () => {
  for (const c of CASES) {
    it(c.name, async (ctx) => {
      if (skipWhy) return ctx.skip(skipWhy);
      const want = run(parseGraph(c.src), feedsOf(c));
      expect(Array.from((want.get('y') as Tensor).num).some((v) => v !== 0)).toBe(true);
      await bothForms(parseGraph(c.src), feedsOf(c), c.name);
      await bothForms(parseGraph(c.src), feedsOf(c, true), `${c.name} (extremes)`);
    }, 120_000);
  }

  it('the weights are packed four to a word', () => {
    const g = runPipeline(parseGraph(CASES[0].src), pipelineFor(2), { target: passTarget('wgsl'), out: () => {} }).graph;
    const c = compileWgsl(g, meta);
    // 270 int8 weights: ceil(6 / 4) * 5 * 3 * 3 = 90 words, not 270
    expect(c.prog.weights.some((w) => w.shape.reduce((a, b) => a * b, 1) === 90 && w.dtype === 'i32')).toBe(true);
    expect(c.prog.weights.some((w) => w.shape.reduce((a, b) => a * b, 1) === 270)).toBe(false);
  });

  it('small_cnn quantized by aic quantize matches the interpreter', async (ctx) => {
    if (skipWhy) return ctx.skip(skipWhy);
    const m = loadOnnxFile(path.resolve(import.meta.dirname, '../fixtures/models/small_cnn.onnx'));
    const sample = (k: number) => {
      const t = new Tensor('float32', [1, 1, 28, 28]);
      for (let i = 0; i < t.size; i++) t.num[i] = Math.sin(i * 0.11 + k) * Math.cos(i * 0.037 * (k + 1));
      return t;
    };
    const q = quantize.quantizeGraph(m, [0, 1, 2, 3].map((k) => new Map([['input', sample(k)]])));
    // softmax probabilities after an exact int8 trunk: float rounding only
    await bothForms(q.graph, new Map([['input', sample(7)]]), 'small_cnn int8', 1e-6);
  }, 300_000);
});
