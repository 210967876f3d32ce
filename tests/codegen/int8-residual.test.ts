/**
 * int8 kernels against the reference interpreter: a QDQ residual block (batch 2, 5 input and 7 output
 * channels, 9x9 maps) -> -O2: aic.QConv 3x3 (pad 1, stride 2; paired / quad dot-product reduction),
 * aic.QConv 1x1 stride 2, and the quantized residual
 * DQ(a) + DQ(b) -> Relu -> Q as one FusedElementwise reading and writing uint8 (fuse's elementwise
 * rule with per-tensor Q/DQ). Arbitrary (not power-of-two) scales: the fused graph computes the same
 * expressions as the unfused one, so every target must give the -O0 interpreter's integers exactly.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { getTarget, passTargetOf, runOn } from '@aic/codegen';

let seed = 777;
const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 2 ** 32; };
const ints = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + Math.floor(rnd() * (hi - lo + 1)));
const lit = (a: number[]) => `[${a.join(', ')}]`;

const SRC = `graph g(x: u8[2, 5, 9, 9]) -> (y: u8[2, 7, 5, 5]) {
  sx: f32[] = 0.0473
  zx: u8[] = 121
  wa: i8[7, 5, 3, 3] = ${lit(ints(315, -127, 127))}
  was: f32[7] = [0.0031, 0.0057, 0.0022, 0.0049, 0.0013, 0.0061, 0.0037]
  ba: i32[7] = ${lit(ints(7, -4000, 4000))}
  bas: f32[7] = [0.00014663, 0.00026961, 0.00010406, 0.00023177, 0.00006149, 0.00028853, 0.00017501]
  sa: f32[] = 0.0911
  za: u8[] = 133
  wb: i8[7, 5, 1, 1] = ${lit(ints(35, -127, 127))}
  wbs: f32[] = 0.0077
  sb: f32[] = 0.0617
  zb: u8[] = 119
  sy: f32[] = 0.0733
  zy: u8[] = 0
  xd = DequantizeLinear(x, sx, zx)
  a = QuantizeLinear(Conv(xd, DequantizeLinear(wa, was, axis = 0), DequantizeLinear(ba, bas, axis = 0), pads = [1, 1, 1, 1], strides = [2, 2]), sa, za)
  b = QuantizeLinear(Conv(xd, DequantizeLinear(wb, wbs), strides = [2, 2]), sb, zb)
  y = QuantizeLinear(Relu(Add(DequantizeLinear(b, sb, zb), DequantizeLinear(a, sa, za))), sy, zy)
}`;

describe('int8 residual block vs the interpreter', () => {
  const g0 = parseGraph(SRC);
  const feeds = new Map<string, RValue>([['x', Tensor.fromNumbers('uint8', [2, 5, 9, 9], ints(810, 0, 255))]]);
  const want = run(g0, feeds);
  it('-O2: two QConvs and the residual Add as uint8 -> uint8 FusedElementwise, no Q/DQ node left', () => {
    const { graph } = runPipeline(g0, pipelineFor(2), { out: () => {} });
    expect(graph.nodes.map((n) => n.op).sort()).toEqual(['FusedElementwise', 'QConv', 'QConv']);
    const y = graph.nodes.find((n) => n.outputs[0]!.name === 'y')!;
    expect(y.op).toBe('FusedElementwise');
    expect(y.inputs.map((v) => v!.dtype)).toEqual(['uint8', 'uint8']);
  });
  for (const t of ['interp', 'c', 'wasm-simd']) {
    it(`${t} -O2 gives the -O0 interpreter's values`, async () => {
      const target = getTarget(t)!;
      const g = runPipeline(g0, pipelineFor(2), { target: passTargetOf(target), out: () => {} }).graph;
      const { outputs } = await runOn(target, g, feeds, { version: 'test', source: 'int8-residual' });
      for (const [k, v] of want) {
        const got = outputs.get(k) as Tensor;
        expect(got.dtype, k).toBe((v as Tensor).dtype);
        expect(Array.from(got.num), `${t} ${k}`).toEqual(Array.from((v as Tensor).num));
      }
    }, 180_000);
  }
});
