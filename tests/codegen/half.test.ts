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
import type { Graph } from '@aic/core';
import { buildModel } from '../onnx-builder.ts';
import { toHalfModel } from '../fp16-models.ts';

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

/** f32 values around every float16 rounding boundary: midpoints between neighbours, and one f32 ulp either side */
function f16Boundaries(): number[] {
  const out: number[] = [0, -0, Infinity, -Infinity, NaN, 65504, 65519, 65520, 65536, 1e30, -1e-30, 2 ** -25, 2 ** -24, 3 * 2 ** -26, 2 ** -149];
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let b = 0; b < 0x7c00; b += 7) {
    const mid = (halfValue(b, 'f16') + halfValue(b + 1, 'f16')) / 2;
    f[0] = mid; const m = u[0];
    for (const d of [-1, 0, 1]) { u[0] = m + d; out.push(f[0], -f[0]); }
  }
  return out;
}
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

function castModel(from: number, to: number, n: number): Graph {
  return loadOnnx(buildModel([{ op: 'Cast', inputs: ['x'], outputs: ['y'], attrs: { to } }], [{ name: 'x', dtype: from, shape: [n] }], [{ name: 'y', dtype: to, shape: [n] }]));
}

function sameBits(got: Tensor, want: Tensor): string | undefined {
  for (let i = 0; i < want.size; i++) {
    const a = got.num[i], b = want.num[i];
    if (!(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)))) return `[${i}] got ${a} want ${b}`;
  }
  return undefined;
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

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/models');
const onnxBytes = new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'small_cnn.onnx')));
const input = parseNpy(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'small_cnn.input.npy'))));

/** worst |got - want| beyond atol + rtol |want| (<= 0 within tolerance) */
function excess(got: Tensor, want: Tensor, rtol: number, atol: number): number {
  let worst = -Infinity;
  for (let i = 0; i < want.size; i++) worst = Math.max(worst, Math.abs(got.num[i] - want.num[i]) - (atol + rtol * Math.abs(want.num[i])));
  return Number.isNaN(worst) ? Infinity : worst;
}

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
