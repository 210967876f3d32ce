/**
 * float16 / bfloat16 on the compiled targets (loop-ir half.ts): Cast to and from the 16-bit formats
 * gives the interpreter's bits exactly (round to nearest even once, ties, overflow to Inf, NaN,
 * subnormals, from float32 and from float64 without double rounding), and small_cnn with float16
 * weights (+ Cast) or entirely in float16 matches the interpreter at float16 tolerance on c,
 * wasm-simd and wasm.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, castTensor, parseNpy, type RValue } from '@aic/core';
import { loadOnnx } from '@aic/onnx';
import { run } from '@aic/interp';
import { halfValue } from '@aic/loop-ir';
import { buildC, compileC, compileWasm, prepareForRun, runC } from '@aic/codegen';
import { runWasmSync } from '../../codegen/wasm/target.ts';
import { pipelineFor, runPipeline } from '@aic/passes';
import type { Graph } from '@aic/core';
import { castModel, excess, f16Boundaries, sameBits, toHalfModel } from '../fp16-models.ts';

type Runner = (g: Graph, feeds: Map<string, RValue>) => Map<string, Tensor>;
const RUNNERS: Record<string, Runner> = {
  c: (g, feeds) => {
    prepareForRun(g, feeds);
    const compiled = compileC(g, { version: 'test', source: 'half', sourceHash: '-' });
    return runC(buildC(compiled.art, compiled.prog), compiled.art, compiled.prog, feeds).outputs;
  },
  'wasm-simd': (g, feeds) => runWasmSync(compileWasm(g, { simd: true, version: 'test', source: 'half', sourceHash: '-' }), feeds),
  wasm: (g, feeds) => runWasmSync(compileWasm(g, { simd: false, version: 'test', source: 'half', sourceHash: '-' }), feeds),
};

/** f64 values that are just off a float16/bfloat16 tie: rounding them to f32 first would make them ties */
function doubleNearTies(bf16: boolean): number[] {
  const out: number[] = [];
  const t = bf16 ? 'bf16' : 'f16';
  for (let b = 1; b < (bf16 ? 0x7f7f : 0x7bff); b += bf16 ? 97 : 13) {
    const mid = (halfValue(b, t) + halfValue(b + 1, t)) / 2;
    out.push(mid * (1 + 2 ** -40), mid * (1 - 2 ** -40), mid);
  }
  return out;
}



const CASTS: [string, number, number, () => number[]][] = [
  ['float32 -> float16', 1, 10, f16Boundaries],
  ['float64 -> float16', 11, 10, () => doubleNearTies(false)],
  ['float32 -> bfloat16', 1, 16, () => [...f16Boundaries(), 3.4e38, 3.3961e38, -3.4e38, 1e-40, -1e-45]],
  ['float64 -> bfloat16', 11, 16, () => doubleNearTies(true)],
  ['float16 -> float32 (every bit pattern)', 10, 1, () => Array.from({ length: 65536 }, (_, b) => halfValue(b, 'f16'))],
  ['bfloat16 -> float64 (every bit pattern)', 16, 11, () => Array.from({ length: 65536 }, (_, b) => halfValue(b, 'bf16'))],
  ['float16 -> int32 (saturating)', 10, 6, () => [0, -0, 1.5, -2.5, 65504, -65504, Infinity, -Infinity, NaN, 0.000061]],
];
const DT: Record<number, Tensor['dtype']> = { 1: 'float32', 6: 'int32', 10: 'float16', 11: 'float64', 16: 'bfloat16' };

describe('Cast to / from float16 and bfloat16: the interpreter\'s bits on every CPU target', () => {
  for (const [name, from, to, values] of CASTS) {
    for (const [target, runner] of Object.entries(RUNNERS)) {
      it(`${name} on ${target}`, () => {
        const v = values();
        const x = Tensor.fromNumbers(DT[from], [v.length], v);
        const want = run(castModel(from, to, v.length), { x }).get('y') as Tensor;
        const got = runner(castModel(from, to, v.length), new Map([['x', x]])).get('y')!;
        expect(got.dtype).toBe(DT[to]);
        expect(sameBits(got, want)).toBeUndefined();
      }, 120_000);
    }
  }
});

const optimizeFor = (g: Graph): Graph => runPipeline(g, pipelineFor(2)).graph;

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/models');
const onnxBytes = new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'small_cnn.onnx')));
const input = parseNpy(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'small_cnn.input.npy'))));


describe('small_cnn in float16 on the CPU targets matches the interpreter at float16 tolerance', () => {
  const variants: [string, Uint8Array, Tensor['dtype']][] = [
    ['float16 weights + Cast', toHalfModel(onnxBytes, 'weights'), 'float32'],
    ['bfloat16 weights + Cast', toHalfModel(onnxBytes, 'weights', true), 'float32'],
    ['all float16', toHalfModel(onnxBytes, 'all'), 'float16'],
  ];
  for (const [name, bytes, inDtype] of variants) {
    for (const [target, runner] of Object.entries(RUNNERS)) {
      it(`${name} on ${target}`, () => {
        const x = castTensor(input, inDtype);
        const want = run(loadOnnx(bytes), { input: x }).get('output') as Tensor;
        const got = runner(loadOnnx(bytes), new Map([['input', x]])).get('output')!;
        expect(got.dtype).toBe(want.dtype);
        expect(got.shape).toEqual(want.shape);
        // float16: 2^-11 relative per rounding, a few roundings deep
        expect(excess(got, want, 1e-2, 1e-3)).toBeLessThanOrEqual(0);
      }, 120_000);
    }
  }
});

describe('float16 weights stay 16-bit in the artifact', () => {
  it('-O2 folds Cast(float16 weight) and stores the float32 result, exactly a float16, in 16 bits', () => {
    const f32 = compileC(optimizeFor(loadOnnx(onnxBytes)), { version: 'test', source: 'f32', sourceHash: '-' });
    const w16 = compileC(optimizeFor(loadOnnx(toHalfModel(onnxBytes, 'weights'))), { version: 'test', source: 'w16', sourceHash: '-' });
    const all = compileC(optimizeFor(loadOnnx(toHalfModel(onnxBytes, 'all'))), { version: 'test', source: 'all', sourceHash: '-' });
    expect(f32.art.weights!.length).toBeGreaterThan(4 * 20000);
    // BatchNormalization folded into a conv gives float32 weights that are no float16: those stay 32-bit
    expect(w16.art.weights!.length).toBeLessThan(f32.art.weights!.length * 0.6);
    expect(all.prog.weights.every((w) => w.dtype === 'f16')).toBe(true);
    expect(all.art.weights!.length).toBeLessThan(f32.art.weights!.length * 0.55);
  });
});
