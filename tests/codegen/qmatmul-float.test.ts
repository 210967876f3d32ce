/**
 * aic.QMatMulF (ir-spec/ops/qfused.ts): a Gemm / MatMul of dequantized int8 operands whose float result
 * nothing quantizes again (a quantized classifier's last layer) runs as an int8 product with a float
 * epilogue. The fused graph agrees with the unfused QDQ graph within float rounding on the interpreter,
 * and C, wasm-simd and WGSL give the interpreter's values (shapes off the vector widths: K 37, N 21).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { closeWgsl, getTarget, passTargetOf, runOn } from '@aic/codegen';

let seed = 4242;
const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 2 ** 32; };
const ints = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + Math.floor(rnd() * (hi - lo + 1)));
const lit = (a: number[]) => `[${a.join(', ')}]`;
const R = 3, K = 37, N = 21;

/** Gemm(DQ(x), DQ(w)^T, bias): bias as DequantizeLinear(int32) in accumulator units, or a float constant */
function model(floatBias: boolean, op: 'Gemm' | 'MatMul'): string {
  const ws = Array.from({ length: N }, (_, i) => 2 ** -(5 + (i % 4)));
  const bias = floatBias ? `  b: f32[${N}] = ${lit(ints(N, -500, 500).map((v) => v / 7))}` : `  bq: i32[${N}] = ${lit(ints(N, -3000, 3000))}\n  bs: f32[${N}] = ${lit(ws.map((w) => 0.0625 * w))}`;
  const b = floatBias ? 'b' : 'DequantizeLinear(bq, bs, axis = 0)';
  const prod = op === 'Gemm'
    ? `Gemm(DequantizeLinear(x, xs, xz), DequantizeLinear(wq, ws, axis = 0), ${b}, transB = 1)`
    : `Add(MatMul(DequantizeLinear(x, xs, xz), DequantizeLinear(wt, ws, axis = 1)), ${b})`;
  return `graph g(x: u8[${R}, ${K}]) -> (y: f32[${R}, ${N}]) {
  xs: f32[] = 0.0625
  xz: u8[] = 9
  wq: i8[${N}, ${K}] = ${lit(ints(N * K, -127, 127))}
  wt: i8[${K}, ${N}] = ${lit(ints(K * N, -127, 127))}
  ws: f32[${N}] = ${lit(ws)}
${bias}
  y = ${prod}
}`;
}

afterAll(() => closeWgsl());

describe('aic.QMatMulF', () => {
  for (const [floatBias, op] of [[false, 'Gemm'], [true, 'Gemm'], [false, 'MatMul']] as const) {
    it(`${op} with ${floatBias ? 'a float' : 'a dequantized int32'} bias: fused, near the QDQ graph, the same on C, wasm-simd and WGSL`, async () => {
      const src = model(floatBias, op), g0 = parseGraph(src);
      const feeds = new Map<string, RValue>([['x', Tensor.fromNumbers('uint8', [R, K], ints(R * K, 0, 255))]]);
      const want = Array.from((run(g0, feeds).get('y') as Tensor).num);
      const scale = Math.max(...want.map(Math.abs));
      for (const t of ['c', 'wasm-simd', 'wgsl']) {
        const g = runPipeline(parseGraph(src), pipelineFor(2), { target: passTargetOf(getTarget(t)!), out: () => {} }).graph;
        if (op === 'Gemm') expect(g.nodes.map((n) => n.op)).toEqual(['QMatMulF']);
        else expect(g.nodes.map((n) => n.op)).toContain('QMatMulF');
        const fused = Array.from((run(g, feeds).get('y') as Tensor).num);
        fused.forEach((v, i) => expect(Math.abs(v - want[i]!), `interp at ${i}`).toBeLessThanOrEqual(1e-5 * scale));
        const got = Array.from(((await runOn(getTarget(t)!, g, feeds, { version: 'test', source: 'qmatmul-float' })).outputs.get('y') as Tensor).num);
        got.forEach((v, i) => expect(Math.abs(v - fused[i]!), `${t} at ${i}`).toBeLessThanOrEqual(1e-6 * scale));
      }
    }, 120_000);
  }
});
