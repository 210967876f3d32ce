/**
 * The wasm-simd requantizing epilogue (codegen/wasm/vector-expr.ts): `cast<u8|i8>(min(hi, max(lo, v)))` stored
 * through the saturating narrows alone (no i32x4.max_s / min_s), and `narrow(round_even(y))` rounded by
 * the magic number's add (no f32x4.nearest). Scales of 2^-k put many values exactly half-way (round to
 * even) and random weights push many past both ends of the byte range: outputs equal the interpreter's.
 * A quantized residual add (DequantizeLinear x2 -> Add -> Relu -> QuantizeLinear, float in between):
 * values bounded by their integer ranges and constants cannot be NaN, so no NaN lane select and Relu's
 * max is one pmax; a zero point of 0 subtracts nothing; select(v > c, c, v) is one pmin, and the
 * saturation select(v < lo, lo, select(v > hi, hi, v)) a pmin and a pmax.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { getTarget, passTargetOf, runOn } from '@aic/codegen';
import { compileWasm, emitWat } from '../../codegen/wasm/target.ts';

let seed = 7;
const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 2 ** 32; };
const ints = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + Math.floor(rnd() * (hi - lo + 1)));

function model(C: number, M: number, hw: number, out: 'u8' | 'i8'): string {
  return `graph g(x: u8[1, ${C}, ${hw}, ${hw}]) -> (y: ${out}[1, ${M}, ${hw}, ${hw}]) {
  sx: f32[] = 1.0
  zx: u8[] = 9
  wq: i8[${M}, ${C}, 1, 1] = [${ints(M * C, -127, 127).join(', ')}]
  ws: f32[${M}] = [${Array.from({ length: M }, (_, i) => 2 ** -(5 + (i % 4))).join(', ')}]
  sy: f32[] = 1.0
  zy: ${out}[] = ${out === 'u8' ? 100 : -3}
  y = QuantizeLinear(Conv(DequantizeLinear(x, sx, zx), DequantizeLinear(wq, ws, axis = 0)), sy, zy)
}`;
}

describe('wasm-simd requantizing epilogue', () => {
  for (const out of ['u8', 'i8'] as const) {
    it(`${out} outputs: saturating narrows and magic rounding, equal to the interpreter at ties and at both ends`, async () => {
      const C = 24, M = 8, hw = 8, src = model(C, M, hw, out);
      const t = getTarget('wasm-simd')!;
      const g = runPipeline(parseGraph(src), pipelineFor(2), { target: passTargetOf(t), out: () => {} }).graph;
      expect(g.nodes.map((n) => n.op)).toContain('QConv');
      const wat = emitWat(compileWasm(g, { simd: true, version: 'test', source: 'requant', sourceHash: '-' }));
      const body = wat.slice(wat.indexOf('_qconv'));
      expect(body).toMatch(/i16x8\.narrow_i32x4_s\s+local\.tee \d+\s+local\.get \d+\s+i8x16\.narrow_i16x8_[su]\s+v128\.store32_lane/);
      expect(body).not.toMatch(/i32x4\.(max|min)_s/);
      expect(body).not.toMatch(/f32x4\.nearest/);
      const x = Tensor.fromNumbers('uint8', [1, C, hw, hw], ints(C * hw * hw, 0, 255));
      const feeds = new Map<string, RValue>([['x', x]]);
      const want = run(parseGraph(src), feeds).get('y') as Tensor;
      const got = (await runOn(t, g, feeds, { version: 'test', source: 'requant' })).outputs.get('y') as Tensor;
      expect(Array.from(got.num)).toEqual(Array.from(want.num));
      const v = Array.from(want.num), [lo, hi] = out === 'u8' ? [0, 255] : [-128, 127];
      expect(v.filter((q) => q === lo).length).toBeGreaterThan(10);
      expect(v.filter((q) => q === hi).length).toBeGreaterThan(10);
      expect(new Set(v).size).toBeGreaterThan(50);
    });
  }
  it('a quantized residual add: no NaN select, pmax for Relu, equal to the interpreter', async () => {
    const n = 4 * 6 * 8;
    const src = `graph g(a: u8[1, 4, 6, 8], b: u8[1, 4, 6, 8]) -> (y: u8[1, 4, 6, 8]) {
  sa: f32[] = 0.0625
  za: u8[] = 0
  sb: f32[] = 0.125
  zb: u8[] = 137
  sy: f32[] = 0.0625
  zy: u8[] = 0
  y = QuantizeLinear(Relu(Add(DequantizeLinear(a, sa, za), DequantizeLinear(b, sb, zb))), sy, zy)
}`;
    const t = getTarget('wasm-simd')!;
    const g = runPipeline(parseGraph(src), pipelineFor(2), { target: passTargetOf(t), out: () => {} }).graph;
    const wat = emitWat(compileWasm(g, { simd: true, version: 'test', source: 'requant', sourceHash: '-' }));
    const body = wat.slice(wat.indexOf('(func $k'));
    expect(body).toContain('f32x4.pmax');
    expect(body).not.toMatch(/f32x4\.(max|ne)\b/);
    expect(body).not.toContain('v128.bitselect'); // QuantizeLinear's saturation selects: pmin + pmax
    const feeds = new Map<string, RValue>([
      ['a', Tensor.fromNumbers('uint8', [1, 4, 6, 8], ints(n, 0, 255))],
      ['b', Tensor.fromNumbers('uint8', [1, 4, 6, 8], ints(n, 0, 255))],
    ]);
    const want = run(parseGraph(src), feeds).get('y') as Tensor;
    const got = (await runOn(t, g, feeds, { version: 'test', source: 'requant' })).outputs.get('y') as Tensor;
    expect(Array.from(got.num)).toEqual(Array.from(want.num));
    const v = Array.from(want.num);
    expect(v.filter((q) => q === 0).length).toBeGreaterThan(10); // Relu's zeros
    expect(v.filter((q) => q === 255).length).toBeGreaterThan(3); // saturated
  });
});
