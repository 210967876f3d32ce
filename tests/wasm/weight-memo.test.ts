/**
 * wasm-simd emitter: within a run of stores (a tile's epilogue), values loaded from the kernel's weights
 * stay in their locals across the stores (nothing writes a weight; any other memory buffer may share
 * memory with the output, so its loads are read again). An int8 1x1 conv: its output zero point is
 * read once per tile, not once per vector, and the result still equals the interpreter. Its
 * requantization f32(acc) * scale cannot be NaN (an integer converted times a finite weight, here a
 * half-precision one read through its f32 copy), so the magic-number conversion has no NaN mask; a
 * vector multiply by a power of two is a shift.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { getTarget, passTargetOf, runOn } from '@aic/codegen';
import { compileWasm, emitWat } from '../../codegen/wasm/target.ts';

const C = 16, M = 16, hw = 8;
const lit = (n: number, f: (i: number) => number) => `[${Array.from({ length: n }, (_, i) => f(i)).join(', ')}]`;
const src = `graph g(x: u8[1, ${C}, ${hw}, ${hw}]) -> (y: u8[1, ${M}, ${hw}, ${hw}]) {
  sx: f32[] = 0.0625
  zx: u8[] = 11
  wq: i8[${M}, ${C}, 1, 1] = ${lit(M * C, (i) => ((i * 37) % 201) - 100)}
  ws: f32[${M}] = ${lit(M, (i) => 2 ** -(8 + (i % 3)))}
  bq: i32[${M}] = ${lit(M, (i) => (i * 911) % 4000 - 2000)}
  bs: f32[${M}] = ${lit(M, (i) => 2 ** -(12 + (i % 3)))}
  sy: f32[] = 0.02
  zy: u8[] = 3
  y = QuantizeLinear(Relu(Conv(DequantizeLinear(x, sx, zx), DequantizeLinear(wq, ws, axis = 0), DequantizeLinear(bq, bs, axis = 0))), sy, zy)
}`;

describe('wasm-simd: weight loads shared across a run of stores; no NaN mask where no NaN can arise', () => {
  it('an int8 1x1 conv reads its zero points once per tile and equals the interpreter', async () => {
    const g = runPipeline(parseGraph(src), pipelineFor(2), { target: passTargetOf(getTarget('wasm-simd')!), out: () => {} }).graph;
    expect(g.nodes.map((n) => n.op)).toContain('QConv');
    const wat = emitWat(compileWasm(g, { simd: true, version: 'test', source: 'test', sourceHash: '-' }));
    // the pack stage's input zero point and the epilogue's output zero point: one load each
    expect(wat.match(/i32\.load8_u/g)?.length ?? 0).toBeLessThanOrEqual(2);
    expect(wat).toContain('0x4b400000');
    expect(wat).not.toContain('f32x4.eq');
    // the input pair packing's high half * 65536 as a shift, not i32x4.mul (a slow pmulld on x64)
    expect(wat).toContain('i32x4.shl');
    expect(wat).not.toContain('i32x4.mul');
    const feeds = new Map<string, RValue>([['x', Tensor.fromNumbers('uint8', [1, C, hw, hw], Array.from({ length: C * hw * hw }, (_, i) => (i * 73) % 256))]]);
    const want = run(parseGraph(src), feeds).get('y') as Tensor;
    const got = (await runOn(getTarget('wasm-simd')!, g, feeds, { version: 'test', source: 'test' })).outputs.get('y') as Tensor;
    expect(Array.from(got.num)).toEqual(Array.from(want.num));
    expect(new Set(Array.from(want.num)).size).toBeGreaterThan(10);
  });
});
