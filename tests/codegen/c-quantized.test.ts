/**
 * A QDQ model quantized by `aic quantize` (small_cnn, 4 seeded calibration inputs) gives on C what the
 * interpreter gives, at -O0 (standalone QuantizeLinear / DequantizeLinear kernels) and -O2 (fused
 * integer kernels). Regression: GCC 12.2 deleted the calls to IPA-CP clones of the DequantizeLinear
 * kernels (uint8 in, float out, one arena; codegen/c/noclone.ts), so their outputs kept stale arena
 * bytes (max |diff| 0.015 at -O0; NaN logits on mobilenet_v3_small).
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { run } from '@aic/interp';
import { pipelineFor, quantize, runPipeline } from '@aic/passes';
import { getTarget, passTargetOf, runOn } from '@aic/codegen';
import { excess, zooModel } from '../model-zoo.ts';

/** seeded standard normal values (xorshift32 + Box-Muller) */
function normals(seed: number, n: number): Float32Array {
  let s = seed >>> 0 || 1;
  const u = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return (s + 0.5) / 2 ** 32; };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

describe('quantized small_cnn on C', () => {
  const zoo = zooModel('small_cnn');
  const g0 = loadOnnxFile(zoo.onnx);
  const input = g0.inputs[0]!;
  const shape = input.shape as number[];
  const calib = [0, 1, 2, 3].map((k) => new Map<string, Tensor>([[input.name, new Tensor('float32', shape, normals(100 + k, 784))]]));
  const { graph: q } = quantize.quantizeGraph(g0, calib, {});
  const feeds = new Map<string, RValue>([[input.name, zoo.inputs.get(input.name)!]]);

  for (const level of [0, 2]) {
    it(`matches the interpreter at -O${level}`, async () => {
      const target = getTarget('c')!;
      const g = runPipeline(q, pipelineFor(level), { target: passTargetOf(target), out: () => {} }).graph;
      if (level === 0) expect(g.nodes.filter((n) => n.op === 'DequantizeLinear').length).toBeGreaterThan(4);
      const want = run(g, feeds).get('output') as Tensor;
      const got = (await runOn(target, g, feeds, { version: 'test', source: 'c-quantized' })).outputs.get('output') as Tensor;
      expect(got.shape).toEqual([1, 10]);
      // same float operations in the same order: equal up to float32 rounding of the logits' softmax
      const e = excess(got.num, want.num, 1e-5, 1e-7);
      expect(e.worst, `output[${e.at}] C ${got.num[e.at]} interpreter ${want.num[e.at]}`).toBeLessThanOrEqual(0);
      // and not the float model's output: the QDQ graph ran
      expect(excess(got.num, zoo.outputs.get('output')!.num, 1e-7, 1e-9).worst).toBeGreaterThan(0);
    }, 120_000);
  }
});
