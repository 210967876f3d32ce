/**
 * NC4HW4 kernels on WGSL (-O3) with vec4<f32> channel lanes: one graph with odd shapes (6 and 10
 * channels, not whole blocks; widths 11 and 5, not whole register tiles) through direct, depthwise
 * (stride 2) and grouped Conv, BatchNorm and Relu epilogues, Add, Concat, MaxPool,
 * AveragePool and GlobalAveragePool matches the reference interpreter on the -O0 graph and, to the
 * bit, the same -O3 graph compiled with the generic one-element-per-invocation GPU schedules (the
 * scalar path); the blocked kernels load and store whole vec4 words.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { closeWgsl, compileWgsl, lowerGraph, passTarget, prepareForRun, runWgsl, WGSL_CAPS } from '@aic/codegen';
import { scalarLaneSchedules } from '../../codegen/wgsl/schedule.ts';
import { webgpuSkipReason } from '../webgpu.ts';
import { excess } from '../model-zoo.ts';

let skipWhy: string | undefined;
beforeAll(async () => { skipWhy = await webgpuSkipReason(); }, 400_000);
afterAll(() => closeWgsl());

/** n weights in (-1, 1): a fixed quasi-random sequence per seed */
const values = (n: number, seed: number): string => `[${Array.from({ length: n }, (_, i) => (Math.sin(seed * 7.1 + i * 12.9898) * 0.999).toFixed(4)).join(', ')}]`;

const SRC = `graph g(x: f32[1, 6, 11, 11]) -> (y: f32[1, 10, 1, 1], z: f32[1, 10, 5, 5]) {
  w1: f32[8, 6, 3, 3] = ${values(432, 11)}
  b1: f32[8] = ${values(8, 12)}
  c1 = Conv(x, w1, b1, pads = [1, 1, 1, 1])
  r1 = Relu(c1)
  wd: f32[8, 1, 3, 3] = ${values(72, 13)}
  d = Conv(r1, wd, group = 8, strides = [2, 2], pads = [1, 1, 1, 1])
  wg: f32[8, 4, 1, 1] = ${values(32, 14)}
  gc = Conv(d, wg, group = 2)
  s: f32[8] = ${values(8, 15)}
  bb: f32[8] = ${values(8, 16)}
  m: f32[8] = ${values(8, 17)}
  v: f32[8] = [0.5, 1.0, 1.5, 2.0, 0.25, 0.75, 1.25, 1.75]
  bn = BatchNormalization(gc, s, bb, m, v)
  a = Add(bn, d)
  mp = MaxPool(a, kernel_shape = [3, 3], pads = [1, 1, 1, 1])
  ap = AveragePool(mp, kernel_shape = [2, 2])
  mq = MaxPool(mp, kernel_shape = [2, 2])
  e = Add(ap, mq)
  cat = Concat(e, ap, axis = 1)
  w2: f32[10, 16, 3, 3] = ${values(1440, 18)}
  b2: f32[10] = ${values(10, 19)}
  z = Conv(cat, w2, b2, pads = [1, 1, 1, 1])
  zr = Relu(z)
  y = GlobalAveragePool(zr)
}`;

const input = (): Map<string, RValue> => new Map([['x', Tensor.fromNumbers('float32', [1, 6, 11, 11], Array.from({ length: 726 }, (_, i) => Math.cos(i * 0.23) * 1.5))]]);
const meta = { version: 'test', source: 'nc4hw4-vec4', sourceHash: '-' };
const o3 = () => {
  const g = runPipeline(parseGraph(SRC), pipelineFor(3), { target: passTarget('wgsl'), out: () => {} }).graph;
  prepareForRun(g, input());
  return g;
};

describe('NC4HW4 on WGSL: vec4<f32> channel lanes', () => {
  it('blocked Conv / pooling / epilogue / Add kernels load and store whole vec4', () => {
    const c = compileWgsl(o3(), meta);
    const entries = c.wgsl.split(/\n(?=\/\/ )/).filter((e) => /@compute/.test(e));
    const kinds = ['conv', 'maxpool', 'averagepool', 'globalaveragepool', 'add'];
    for (const kind of kinds) {
      const es = entries.filter((e) => new RegExp(`kernel k\\d+_(fused)?${kind}\\b`).test(e));
      expect(es.length, kind).toBeGreaterThan(0);
      for (const e of es) {
        expect(e, kind).toMatch(/array<vec4<f32>, \d+>|bitcast<vec4<f32>>\(\w+_b\d\[/);
        expect(e, kind).toMatch(/\w+_b\d\[[^\]]+\] = bitcast<vec4<u32>>\(/);
      }
    }
    // a direct conv reads its packed weights as vec4 and keeps vec4 accumulators
    const convs = entries.filter((e) => /kernel k\d+_fusedconv\b/.test(e));
    expect(convs.some((e) => /var acc\w*: array<vec4<f32>, \d+>/.test(e))).toBe(true);
  });

  it('matches the reference interpreter and, bit for bit, the scalar-lane schedules', async (ctx) => {
    if (skipWhy) return ctx.skip(skipWhy);
    const want = run(parseGraph(SRC), input());
    const vec = (await runWgsl(compileWgsl(o3(), meta), input())).outputs;
    const scalar = (await runWgsl(compileWgsl(o3(), { ...meta, schedules: scalarLaneSchedules(lowerGraph(o3(), WGSL_CAPS), WGSL_CAPS) }), input())).outputs;
    for (const k of ['y', 'z']) {
      const got = vec.get(k)!, ref = want.get(k) as Tensor, sc = scalar.get(k)!;
      expect(got.shape).toEqual(ref.shape);
      const e = excess(got.num, ref.num, 1e-4, 1e-4);
      expect(e.worst, `${k}[${e.at}]: ${got.num[e.at]} vs ${ref.num[e.at]}`).toBeLessThanOrEqual(0);
      expect(Array.from(got.num), k).toEqual(Array.from(sc.num));
    }
  }, 300_000);
});
