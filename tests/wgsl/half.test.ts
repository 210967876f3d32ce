/**
 * float16 / bfloat16 through --target wgsl (wgsl/half.ts: 16-bit patterns in words, weights two per
 * word, integer conversions): Cast gives the interpreter's bits, and small_cnn with float16 weights or
 * entirely in float16 matches the interpreter at float16 tolerance. Whether it runs: tests/webgpu.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor, castTensor, parseNpy } from '@aic/core';
import { loadOnnx } from '@aic/onnx';
import { run } from '@aic/interp';
import { halfValue } from '@aic/loop-ir';
import { closeWgsl, compileWgsl, runWgsl } from '@aic/codegen';
import type { Graph } from '@aic/core';
import { webgpuSkipReason } from '../webgpu.ts';
import { castModel, excess, f16Boundaries, sameBits, toHalfModel } from '../fp16-models.ts';

let skipWhy: string | undefined;
beforeAll(async () => { skipWhy = await webgpuSkipReason(); }, 400_000);
afterAll(() => closeWgsl());

async function onGpu(g: Graph, feeds: Map<string, Tensor>) {
  return (await runWgsl(compileWgsl(g, { version: 'test', source: 'half', sourceHash: '-' }), feeds)).outputs;
}

const DT: Record<number, Tensor['dtype']> = { 1: 'float32', 10: 'float16', 16: 'bfloat16' };
const CASTS: [string, number, number, () => number[]][] = [
  ['float32 -> float16', 1, 10, f16Boundaries],
  // f32 subnormals left out: a GPU may flush them
  ['float32 -> bfloat16', 1, 16, () => [...f16Boundaries(), 3.4e38, 3.3961e38, -3.4e38].filter((v) => !(Math.abs(v) > 0 && Math.abs(v) < 2 ** -126))],
  ['float16 -> float32 (every bit pattern)', 10, 1, () => Array.from({ length: 65536 }, (_, b) => halfValue(b, 'f16'))],
  ['bfloat16 -> float32 (every normal bit pattern)', 16, 1, () => Array.from({ length: 65536 }, (_, b) => halfValue(b, 'bf16')).filter((v) => !(Math.abs(v) > 0 && Math.abs(v) < 2 ** -126))],
];

describe('Cast to / from float16 and bfloat16 on wgsl: the interpreter\'s bits', () => {
  for (const [name, from, to, values] of CASTS) {
    it(name, async (ctx) => {
      if (skipWhy) return ctx.skip(skipWhy);
      const v = values();
      const x = Tensor.fromNumbers(DT[from], [v.length], v);
      const want = run(castModel(from, to, v.length), { x }).get('y') as Tensor;
      const got = (await onGpu(castModel(from, to, v.length), new Map([['x', x]]))).get('y')!;
      expect(got.dtype).toBe(DT[to]);
      expect(sameBits(got, want)).toBeUndefined();
    }, 300_000);
  }
});

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/models');
const onnxBytes = new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'small_cnn.onnx')));
const input = parseNpy(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'small_cnn.input.npy'))));

describe('small_cnn in float16 on wgsl matches the interpreter at float16 tolerance', () => {
  const variants: [string, Uint8Array, Tensor['dtype']][] = [
    ['float16 weights + Cast', toHalfModel(onnxBytes, 'weights'), 'float32'],
    ['bfloat16 weights + Cast', toHalfModel(onnxBytes, 'weights', true), 'float32'],
    ['all float16', toHalfModel(onnxBytes, 'all'), 'float16'],
  ];
  for (const [name, bytes, inDtype] of variants) {
    it(name, async (ctx) => {
      if (skipWhy) return ctx.skip(skipWhy);
      const x = castTensor(input, inDtype);
      const want = run(loadOnnx(bytes), { input: x }).get('output') as Tensor;
      const c = compileWgsl(loadOnnx(bytes), { version: 'test', source: 'half', sourceHash: '-' });
      // the weights travel and live on the GPU in 16 bits: two per word
      const f32Bytes = 4 * 20618;
      expect(c.weights!.length).toBeLessThan(f32Bytes * 0.6);
      const got = (await runWgsl(c, new Map([['input', x]]))).outputs.get('output')!;
      expect(got.dtype).toBe(want.dtype);
      expect(excess(got, want, 1e-2, 1e-3)).toBeLessThanOrEqual(0);
    }, 300_000);
  }
});
