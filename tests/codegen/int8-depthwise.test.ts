/**
 * Depthwise convolutions at stride 2 (mobilenet_v2's downsampling blocks) on C and wasm-simd equal the
 * interpreter: int8 (QDQ fused to aic.QConv, exact) and f32 (within rounding). On wasm-simd their
 * stride-2 vector loads are two v128 loads and one i8x16.shuffle (codegen/wasm/vector-expr.ts), checked
 * here on the values and on the emitted text; widths 16 and 18 give whole and clamped vector blocks.
 * A depthwise QLinearConv with uint8 weights and zero points at the range ends checks the largest products.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { algorithmStats, compileC, getTarget, passTargetOf, runOn } from '@aic/codegen';
import { parseScheduleFile } from '@aic/loop-ir';
import { compileWasm, emitWat } from '../../codegen/wasm/target.ts';

let seed = 777;
const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 2 ** 32; };
const ints = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + Math.floor(rnd() * (hi - lo + 1)));
const lit = (a: number[]) => `[${a.join(', ')}]`;
const C = 8;

/** DQ x -> depthwise Conv 3x3 (stride s, pad 1, per-channel w, int32 bias) -> Relu -> Q */
function qdq(hw: number, s: number): string {
  return `graph g(x: u8[1, ${C}, ${hw}, ${hw}]) -> (y: u8[1, ${C}, ${Math.floor((hw + 2 - 3) / s) + 1}, ${Math.floor((hw + 2 - 3) / s) + 1}]) {
  sx: f32[] = 0.0625
  zx: u8[] = 11
  wq: i8[${C}, 1, 3, 3] = ${lit(ints(C * 9, -127, 127))}
  ws: f32[${C}] = ${lit(Array.from({ length: C }, (_, i) => 2 ** -(6 + (i % 3))))}
  bq: i32[${C}] = ${lit(ints(C, -2000, 2000))}
  bs: f32[${C}] = ${lit(Array.from({ length: C }, (_, i) => 2 ** -(10 + (i % 3))))}
  sy: f32[] = 0.125
  zy: u8[] = 5
  y = QuantizeLinear(Relu(Conv(DequantizeLinear(x, sx, zx), DequantizeLinear(wq, ws, axis = 0), DequantizeLinear(bq, bs, axis = 0), group = ${C}, pads = [1, 1, 1, 1], strides = [${s}, ${s}])), sy, zy)
}`;
}

function f32(hw: number): string {
  const o = Math.floor((hw - 1) / 2) + 1;
  return `graph g(x: f32[1, ${C}, ${hw}, ${hw}]) -> (y: f32[1, ${C}, ${o}, ${o}]) {
  w: f32[${C}, 1, 3, 3] = ${lit(ints(C * 9, -50, 50).map((v) => v / 32))}
  y = Conv(x, w, group = ${C}, pads = [1, 1, 1, 1], strides = [2, 2])
}`;
}

/** QLinearConv depthwise 5x5 with uint8 weights and zero points at the ends of the range: the largest
 * products (255 * 255) a depthwise aic.QConv accumulates */
function extremes(hw: number): string {
  return `graph g(x: u8[1, ${C}, ${hw}, ${hw}]) -> (y: u8[1, ${C}, ${hw}, ${hw}]) {
  xs: f32[] = 0.05
  xz: u8[] = 255
  wq: u8[${C}, 1, 5, 5] = ${lit(ints(C * 25, 0, 1).map((v) => v * 255))}
  ws: f32[${C}] = ${lit(Array.from({ length: C }, (_, i) => 0.001 * (i + 1)))}
  wz: u8[${C}] = ${lit(Array.from({ length: C }, (_, i) => (i % 2) * 255))}
  ys: f32[] = 7.5
  yz: u8[] = 128
  b: i32[${C}] = ${lit(ints(C, -100000, 100000))}
  y = QLinearConv(x, xs, xz, wq, ws, wz, ys, yz, b, group = ${C}, pads = [2, 2, 2, 2])
}`;
}

const o2 = (src: string, t: string) => runPipeline(parseGraph(src), pipelineFor(2), { target: passTargetOf(getTarget(t)!), out: () => {} }).graph;

/** the -O2 graph on target t has an aic.QConv and gives the reference's integers */
async function fusedEquals(src: string, t: string, feeds: Map<string, RValue>, want: Tensor): Promise<void> {
  const g = o2(src, t);
  expect(g.nodes.map((n) => n.op)).toContain('QConv');
  const got = (await runOn(getTarget(t)!, g, feeds, { version: 'test', source: 'int8-depthwise' })).outputs.get('y') as Tensor;
  expect(Array.from(got.num)).toEqual(Array.from(want.num));
  expect(new Set(Array.from(want.num)).size).toBeGreaterThan(20);
}

describe('depthwise convolution at stride 2', () => {
  for (const hw of [16, 18]) {
    for (const s of [2, 1]) {
      const src = qdq(hw, s);
      const g0 = parseGraph(src);
      const feeds = new Map<string, RValue>([['x', Tensor.fromNumbers('uint8', g0.inputs[0]!.shape as number[], ints(C * hw * hw, 0, 255))]]);
      const want = run(g0, feeds).get('y') as Tensor;
      for (const t of ['c', 'wasm-simd']) {
        it(`int8 ${hw}x${hw} stride ${s}: ${t} -O2 (aic.QConv) equals the unfused interpreter`, () => fusedEquals(src, t, feeds, want), 120_000);
      }
    }
    it(`f32 ${hw}x${hw} stride 2: wasm-simd equals the interpreter`, async () => {
      const src = f32(hw), g0 = parseGraph(src);
      const x = Tensor.fromNumbers('float32', g0.inputs[0]!.shape as number[], ints(C * hw * hw, -64, 64).map((v) => v / 16));
      const feeds = new Map<string, RValue>([['x', x]]);
      const want = run(g0, feeds).get('y') as Tensor;
      const got = (await runOn(getTarget('wasm-simd')!, o2(src, 'wasm-simd'), feeds, { version: 'test', source: 'int8-depthwise' })).outputs.get('y') as Tensor;
      const w = Array.from(want.num);
      Array.from(got.num).forEach((v, i) => expect(Math.abs(v - w[i]!), `at ${i}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(w[i]!))));
    }, 120_000);
  }
  for (const t of ['c', 'wasm-simd']) {
    it(`int8 depthwise products of 255 * 255: ${t} -O2 (aic.QConv) equals the interpreter`, async () => {
      const src = extremes(16), g0 = parseGraph(src);
      const feeds = new Map<string, RValue>([['x', Tensor.fromNumbers('uint8', [1, C, 16, 16], ints(C * 256, 0, 1).map((v) => v * 255))]]);
      await fusedEquals(src, t, feeds, run(g0, feeds).get('y') as Tensor);
    }, 120_000);
  }
  // int8 depthwise on a narrow map (7x7, 9x9): direct-flat on C's 16 lanes, chosen by the cost model or
  // asked by the schedule file, bit-equal to the unfused interpreter; asked where it cannot apply: usage error
  for (const hw of [7, 9]) {
    it(`int8 ${hw}x${hw} stride 1 on C: direct-flat (QConv) equals the unfused interpreter`, async () => {
      const src = qdq(hw, 1), g0 = parseGraph(src);
      const feeds = new Map<string, RValue>([['x', Tensor.fromNumbers('uint8', [1, C, hw, hw], ints(C * hw * hw, 0, 255))]]);
      const want = run(g0, feeds).get('y') as Tensor;
      const g = o2(src, 'c'), k = `k${g.nodes.findIndex((n) => n.op === 'QConv')}_qconv`;
      const chosen = algorithmStats(compileC(g, { version: 'test', source: 'int8-depthwise', sourceHash: '-' }).prog);
      expect(chosen).toMatch(new RegExp(`kernel ${k}\\s.*direct-flat`));
      await fusedEquals(src, 'c', feeds, want);
      const asked = compileC(g, { version: 'test', source: 'int8-depthwise', sourceHash: '-', schedules: parseScheduleFile(`kernel ${k} { algorithm direct-flat }`) });
      expect(algorithmStats(asked.prog)).toMatch(/direct-flat/);
      expect(() => compileC(o2(qdq(hw + 1, 2), 'c'), { version: 'test', source: 'int8-depthwise', sourceHash: '-', schedules: parseScheduleFile(`kernel ${k} { algorithm direct-flat }`) })).toThrow(/direct-flat needs a stride-1 conv/);
    }, 120_000);
  }
  it('int8 stride 2 on C: direct-phases by the cost model on rows of 16+ columns, direct on narrower ones; asked where it cannot apply: usage error', () => {
    const g = o2(qdq(34, 2), 'c'), k = `k${g.nodes.findIndex((n) => n.op === 'QConv')}_qconv`;
    expect(algorithmStats(compileC(g, { version: 'test', source: 'int8-depthwise', sourceHash: '-' }).prog)).toMatch(new RegExp(`kernel ${k}\\s.*direct-phases`));
    // 18 -> 9 columns: narrower than C's 16 lanes
    expect(algorithmStats(compileC(o2(qdq(18, 2), 'c'), { version: 'test', source: 'int8-depthwise', sourceHash: '-' }).prog)).toMatch(new RegExp(`kernel ${k}\\s.*direct, sum in f32 lanes`));
    expect(() => compileC(o2(qdq(18, 1), 'c'), { version: 'test', source: 'int8-depthwise', sourceHash: '-', schedules: parseScheduleFile(`kernel ${k} { algorithm direct-phases }`) })).toThrow(/direct-phases needs a grouped conv with a stride > 1/);
  });
  it('wasm-simd: the stride-2 loads are v128 loads + i8x16.shuffle, not lane-by-lane', () => {
    // the direct kernel (the cost model picks direct-phases, whose reads are unit-stride)
    const g = o2(qdq(16, 2), 'wasm-simd'), k = `k${g.nodes.findIndex((n) => n.op === 'QConv')}_qconv`;
    const wat = emitWat(compileWasm(g, { simd: true, version: 'test', source: 'test', sourceHash: '-', schedules: parseScheduleFile(`kernel ${k} { algorithm direct }`) }));
    expect(wat).toContain('i8x16.shuffle 0 1 2 3 8 9 10 11 20 21 22 23 28 29 30 31');
    expect(wat).not.toContain('i32x4.replace_lane');
  });
});
