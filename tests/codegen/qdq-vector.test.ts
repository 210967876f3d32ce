/**
 * QuantizeLinear and a DequantizeLinear + Add + QuantizeLinear chain (a residual add between int8
 * layers) run in f32 vector lanes on wasm-simd (an elementwise kernel's vector width follows the
 * widest value it computes, f32 here, not its uint8 output; 8-bit dequantization is the f32 product,
 * the f64 one's bits) and give the interpreter's integers on C and wasm-simd, ties, NaN and
 * out-of-range values included.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { getTarget, passTargetOf, runOn } from '@aic/codegen';
import { compileWasm, emitWat } from '../../codegen/wasm/target.ts';

const SRC = `graph g(x: f32[2, 3, 32], a: u8[2, 3, 32], b: i8[2, 3, 32]) -> (q: u8[2, 3, 32], r: u8[2, 3, 32]) {
  s: f32[] = 0.1
  z: u8[] = 100
  sa: f32[] = 0.0036451586056500673
  za: u8[] = 128
  sb: f32[] = 0.00250740977935493
  zb: i8[] = -7
  sr: f32[] = 0.003554430790245533
  zr: u8[] = 117
  q = QuantizeLinear(x, s, z)
  r = QuantizeLinear(Add(DequantizeLinear(a, sa, za), DequantizeLinear(b, sb, zb)), sr, zr)
}`;

const SPECIAL = [NaN, Infinity, -Infinity, 0.05, 0.15, -0.05, 12.25, -10.05, 15.5, 100, -100, 0.25];
const n = 2 * 3 * 32;
const feeds = new Map<string, RValue>([
  ['x', Tensor.fromNumbers('float32', [2, 3, 32], Array.from({ length: n }, (_, i) => (i < SPECIAL.length ? SPECIAL[i]! : Math.sin(i) * 20)))],
  ['a', Tensor.fromNumbers('uint8', [2, 3, 32], Array.from({ length: n }, (_, i) => (i * 37) % 256))],
  ['b', Tensor.fromNumbers('int8', [2, 3, 32], Array.from({ length: n }, (_, i) => ((i * 53) % 256) - 128))],
]);
const o2 = (t: string) => runPipeline(parseGraph(SRC), pipelineFor(2), { target: passTargetOf(getTarget(t)!), out: () => {} }).graph;

describe('Q/DQ elementwise kernels in vector lanes', () => {
  const want = run(parseGraph(SRC), feeds);
  for (const t of ['c', 'wasm-simd']) {
    it(`${t} -O2 equals the interpreter`, async () => {
      const got = (await runOn(getTarget(t)!, o2(t), feeds, { version: 'test', source: 'qdq-vector' })).outputs;
      for (const k of ['q', 'r']) {
        const w = Array.from((want.get(k) as Tensor).num);
        expect(Array.from((got.get(k) as Tensor).num), `${t} ${k}`).toEqual(w);
        expect(new Set(w).size, k).toBeGreaterThan(40);
      }
    }, 120_000);
  }
  it('wasm-simd: no scalar f32/f64 arithmetic in the kernels (f32x4 lanes)', () => {
    const wat = emitWat(compileWasm(o2('wasm-simd'), { simd: true, version: 'test', source: 'test', sourceHash: '-' }));
    const kernels = wat.slice(0, wat.indexOf('(func $run'));
    expect(kernels).toContain('f32x4.nearest');
    expect(kernels).toContain('i32x4.trunc_sat_f32x4_s');
    for (const op of ['f32.nearest', 'f64.mul', 'f64.nearest', 'f32.div', 'f32.load ']) expect(kernels).not.toContain(op);
  });
});
