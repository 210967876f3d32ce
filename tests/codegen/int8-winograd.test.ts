/**
 * int8 Winograd F(2,3) (codegen/schedule/algorithms/qwinograd.ts): a QDQ 3x3 stride-1 conv fused to
 * aic.QConv, computed with integer transforms and int16-pair dot products, equals the unfused
 * interpreter bit for bit: chosen by default on wasm-simd (pair dot products), asked by the schedule
 * file on C. Odd channel counts (a pair's high half 0), odd output sides (tiles past the edge), input
 * zero points at both ends of the range and weights of +-127 (the largest transformed values). Where a
 * partial sum could pass int32 it stays direct (asked: a usage error). Rows of 4+ tiles transform in
 * vectors (5 tiles: a clamped last block; 3: scalar); on wasm-simd the output transform's /4 is one
 * i32x4.shr_s and its stride-2 row stores pair into two interleaving shuffles and v128 stores.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { algorithmStats, compileC, getTarget, passTargetOf, runOn } from '@aic/codegen';
import { parseScheduleFile } from '@aic/loop-ir';
import { compileWasm, emitWat } from '../../codegen/wasm/target.ts';

let seed = 4242;
const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 2 ** 32; };
const ints = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + Math.floor(rnd() * (hi - lo + 1)));
const lit = (a: number[]) => `[${a.join(', ')}]`;

/** DQ x -> Conv 3x3 (pad 1, per-channel w, int32 bias) -> Relu -> Q; weights `w` (default: random, a third of them +-127) */
function qdq(C: number, M: number, hw: number, zx: number, w?: number[]): string {
  const wq = w ?? ints(M * C * 9, -127, 127).map((v) => (v % 3 === 0 ? Math.sign(v || 1) * 127 : v));
  return `graph g(x: u8[1, ${C}, ${hw}, ${hw}]) -> (y: u8[1, ${M}, ${hw}, ${hw}]) {
  sx: f32[] = 0.0625
  zx: u8[] = ${zx}
  wq: i8[${M}, ${C}, 3, 3] = ${lit(wq)}
  ws: f32[${M}] = ${lit(Array.from({ length: M }, (_, i) => 2 ** -(9 + (i % 3))))}
  bq: i32[${M}] = ${lit(ints(M, -20000, 20000))}
  bs: f32[${M}] = ${lit(Array.from({ length: M }, (_, i) => 2 ** -(13 + (i % 3))))}
  sy: f32[] = 0.5
  zy: u8[] = 3
  y = QuantizeLinear(Relu(Conv(DequantizeLinear(x, sx, zx), DequantizeLinear(wq, ws, axis = 0), DequantizeLinear(bq, bs, axis = 0), pads = [1, 1, 1, 1])), sy, zy)
}`;
}

const o2 = (src: string, t: string) => runPipeline(parseGraph(src), pipelineFor(2), { target: passTargetOf(getTarget(t)!), out: () => {} }).graph;
const opts = { version: 'test', source: 'int8-winograd', sourceHash: '-' };
const kernelOf = (g: ReturnType<typeof o2>) => `k${g.nodes.findIndex((n) => n.op === 'QConv')}_qconv`;

describe('int8 Winograd F(2,3)', () => {
  for (const [C, M, hw, zx] of [[16, 12, 8, 11], [9, 8, 7, 255], [12, 16, 10, 0], [8, 8, 6, 128]] as const) {
    const src = qdq(C, M, hw, zx), g0 = parseGraph(src);
    const feeds = new Map<string, RValue>([['x', Tensor.fromNumbers('uint8', [1, C, hw, hw], ints(C * hw * hw, 0, 255))]]);
    const want = run(g0, feeds).get('y') as Tensor;
    for (const t of ['wasm-simd', 'c']) {
      it(`${C} -> ${M} channels, ${hw}x${hw}, x zero point ${zx}: ${t} equals the unfused interpreter`, async () => {
        const g = o2(src, t), k = kernelOf(g);
        expect(g.nodes.map((n) => n.op)).toContain('QConv');
        // default on wasm-simd; asked on C (whose quad dot products keep direct by default)
        const schedules = t === 'c' ? parseScheduleFile(`kernel ${k} { algorithm winograd(2,3) }`) : undefined;
        const prog = t === 'c' ? compileC(g, { ...opts, schedules }).prog : compileWasm(g, { simd: true, ...opts }).prog;
        expect(algorithmStats(prog)).toMatch(new RegExp(`kernel ${k}\\s.*winograd F\\(2,3\\)`));
        const got = (await runOn(getTarget(t)!, g, feeds, { ...opts, schedules: () => schedules })).outputs.get('y') as Tensor;
        expect(Array.from(got.num)).toEqual(Array.from(want.num));
        expect(new Set(Array.from(want.num)).size).toBeGreaterThan(20);
      }, 120_000);
    }
  }
  it('wasm-simd: constant vector shifts and paired stride-2 stores, no lane-by-lane code', () => {
    const wat = emitWat(compileWasm(o2(qdq(16, 12, 8, 11), 'wasm-simd'), { simd: true, ...opts }));
    expect(wat).toContain('i32x4.shr_s');
    expect(wat).toContain('i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23');
    expect(wat).toContain('i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31');
    expect(wat).not.toMatch(/i32x4\.(extract|replace)_lane/);
  });
  it('C keeps direct by default; winograd(4,3) or a 1x1 conv asked: usage errors', () => {
    const g = o2(qdq(16, 8, 6, 11), 'c'), k = kernelOf(g);
    // --stats names the direct int8 conv too
    expect(algorithmStats(compileC(g, opts).prog)).toMatch(new RegExp(`kernel ${k}\\s+conv 1x16x6x6 -> 8x6x6 k3x3 +direct\\n`));
    expect(() => compileC(g, { ...opts, schedules: parseScheduleFile(`kernel ${k} { algorithm winograd(4,3) }`) })).toThrow(/int8 convs have winograd\(2,3\) only, not winograd\(4,3\)/);
  });
  it('a sum that could pass int32 stays direct; asked: a usage error', () => {
    // 256 input channels of weight 127 and x zero point 0: 9 * 256 * 1143 * 1020 > 2^31
    const src = qdq(256, 8, 4, 0, new Array(8 * 256 * 9).fill(127)), g = o2(src, 'wasm-simd'), k = kernelOf(g);
    expect(algorithmStats(compileWasm(g, { simd: true, ...opts }).prog)).not.toMatch(/winograd/);
    expect(() => compileWasm(g, { simd: true, ...opts, schedules: parseScheduleFile(`kernel ${k} { algorithm winograd(2,3) }`) })).toThrow(/could pass int32/);
  });
});
