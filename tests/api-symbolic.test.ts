/**
 * The library API keeps symbolic dims in artifacts (issue 13 item 6): `compile(model, { target,
 * symbolic })` does what `aic compile --input-shape/--max-shape` does (one function for both,
 * packages/api/src/symbolic.ts). A symbolic batch (small_cnn, 'Nx1x28x28') and a symbolic sequence
 * length (the self-attention encoder of tests/encoder-model.ts, S up to 16) are compiled once, written, and the written artifacts
 * (C built with a small driver, wasm-simd's model.mjs) run at two values and match the interpreter.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile, isAicDiagnostic, load, run, type Model } from '@aic/api';
import { encoderModel, rnd } from './encoder-model.ts';
import { excess } from './model-zoo.ts';

const FIX = path.join(import.meta.dirname, 'fixtures/models');
const D = 16;
let dir = '';
let encoder = '';

const DRIVER = `#include <stdio.h>
#include <stdlib.h>
#include "model.h"
/* driver VALUE WEIGHTS IN.bin IN_FLOATS OUT.bin OUT_FLOATS...: one float32 input, float32 outputs (one after the other in OUT.bin) */
int main(int argc, char **argv) {
  if (argc != 6 + AIC_MODEL_NUM_OUTPUTS) return 20;
  long long v = atoll(argv[1]); long n = atol(argv[4]);
  float *x = malloc(n * 4);
  void *out[AIC_MODEL_NUM_OUTPUTS];
  for (int i = 0; i < AIC_MODEL_NUM_OUTPUTS; i++) out[i] = calloc(atol(argv[6 + i]), 4);
  FILE *f = fopen(argv[3], "rb");
  if (!f || fread(x, 4, n, f) != (size_t)n) return 21;
  fclose(f);
  if (aic_model_init(argv[2]) != 0) return 22;
  const void *in[1] = { x };
#ifdef AIC_MODEL_BATCH_SYMBOL
  int rc = aic_model_run_batch(v, in, out);
#else
  int rc = aic_model_run_extent(v, in, out);
#endif
  if (rc != 0) return rc;
  f = fopen(argv[5], "wb");
  for (int i = 0; i < AIC_MODEL_NUM_OUTPUTS; i++) fwrite(out[i], 4, atol(argv[6 + i]), f);
  fclose(f);
  aic_model_free();
  return 0;
}
`;

/** A written artifact run at `value` (outputs by name, of these lengths): C built with DRIVER, wasm-simd through its model.mjs. */
async function runWritten(out: string, target: 'c' | 'wasm-simd', value: number, input: string, x: Float32Array, lengths: Record<string, number>): Promise<Record<string, Float32Array>> {
  if (target === 'wasm-simd') {
    const mod = await import(pathToFileURL(path.join(out, 'model.mjs')).href);
    const m = await mod.load();
    return await m.run({ [input]: x }) as Record<string, Float32Array>;
  }
  fs.writeFileSync(path.join(out, 'driver.c'), DRIVER);
  const exe = path.join(out, 'driver');
  if (!fs.existsSync(exe)) {
    const cc = spawnSync('cc', ['-O2', '-std=c99', '-o', exe, path.join(out, 'model.c'), path.join(out, 'driver.c'), '-lm'], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
  }
  fs.writeFileSync(path.join(out, 'in.bin'), x);
  const r = spawnSync(exe, [String(value), path.join(out, 'model.weights'), path.join(out, 'in.bin'), String(x.length), path.join(out, 'out.bin'), ...Object.values(lengths).map(String)], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const b = fs.readFileSync(path.join(out, 'out.bin'));
  const all = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  let at = 0;
  return Object.fromEntries(Object.entries(lengths).map(([k, n]) => [k, all.subarray(at, (at += n))]));
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-api-symbolic-'));
  encoder = path.join(dir, 'encoder.onnx');
  fs.writeFileSync(encoder, encoderModel(D, 64));
});

describe.each(['c', 'wasm-simd'] as const)('compile(model, { symbolic }) on %s', (target) => {
  it('a symbolic batch (small_cnn as Nx1x28x28, at most 4): written once, runs at N=1 and N=3 like the interpreter per sample', async () => {
    const m = await load(`${FIX}/small_cnn.onnx`);
    const notes: string[] = [];
    const c = compile(m, { target, symbolic: { shapes: { input: 'Nx1x28x28' }, max: { N: 4 }, onNote: (s) => notes.push(s) } });
    expect(c.symbolic).toEqual({ symbol: 'N', kind: 'batch', max: 4 });
    expect(notes).toContain("'N': the model fixes dim 0 of 'input' to 1; the artifact runs it once per sample");
    expect(m.inputs[0].shape).toEqual([1, 1, 28, 28]); // the model is left as it was
    const out = path.join(dir, `batch-${target}`);
    c.write(out);
    for (const n of [1, 3]) {
      const x = Float32Array.from(rnd(n * 784, 10 + n));
      const got = (await runWritten(out, target, n, 'input', x, { output: n * 10 })).output;
      expect(got.length).toBe(n * 10);
      for (let s = 0; s < n; s++) {
        const want = (await run(m, { input: { dtype: 'float32', shape: [1, 1, 28, 28], data: x.subarray(s * 784, (s + 1) * 784) } })).outputs.output;
        const e = excess(got.subarray(s * 10, s * 10 + 10), want.data as Float32Array, 1e-3, 1e-4);
        expect(e.worst, `N=${n} sample ${s} [${e.at}]`).toBeLessThanOrEqual(0);
      }
    }
  }, 120_000);

  it('a symbolic sequence length (S up to 16, a run-time extent): written once, runs at S=5 and S=12 like the interpreter', async () => {
    const m = await load(encoder);
    const c = compile(m, { target, symbolic: { max: { S: 16 } } });
    expect(c.symbolic).toEqual({ symbol: 'S', kind: 'extent', max: 16 });
    const out = path.join(dir, `extent-${target}`);
    c.write(out);
    for (const L of [5, 12]) {
      const x = Float32Array.from(rnd(L * D, 7 + L));
      const got = await runWritten(out, target, L, 'x', x, { y: L * D, pooled: D });
      const want = (await run(await load(encoder, { inputShapes: { x: [1, L, D] } }), { x: { dtype: 'float32', shape: [1, L, D], data: x } })).outputs;
      expect(want.y.shape).toEqual([1, L, D]);
      for (const k of ['y', 'pooled']) {
        expect(got[k].length, k).toBe(want[k].data.length);
        const e = excess(got[k], want[k].data as Float32Array, 1e-4, 1e-5);
        expect(e.worst, `${k} at S=${L} [${e.at}]`).toBeLessThanOrEqual(0);
      }
    }
  }, 120_000);
});

describe('compile(model, { symbolic }) keeps the diagnostics of aic compile', () => {
  const codeOf = (fn: () => unknown): { code: string; exitCode: number; message: string } => {
    try { fn(); } catch (e) { if (isAicDiagnostic(e)) return e; throw e; }
    throw new Error('expected an aic diagnostic');
  };
  let m: Model;
  beforeAll(async () => { m = await load(encoder); });

  it('a run-time extent without a maximum is AIC0453 (exit 2); wgsl takes one', () => {
    expect(codeOf(() => compile(m, { target: 'c', symbolic: {} }))).toMatchObject({ code: 'AIC0453', exitCode: 2, message: expect.stringContaining("'S' is a run-time extent") });
    expect(compile(m, { target: 'wgsl', symbolic: { max: { S: 16 } } }).symbolic).toEqual({ symbol: 'S', kind: 'extent', max: 16 });
  });

  it('a symbol for a dim the model fixes is AIC0451 (exit 3); bad shapes, maxima and levels are usage errors (exit 2)', async () => {
    const cnn = await load(`${FIX}/small_cnn.onnx`);
    expect(codeOf(() => compile(cnn, { target: 'c', symbolic: { shapes: { input: [1, 1, 'H', 28] }, max: { H: 28 } } }))).toMatchObject({ code: 'AIC0451', exitCode: 3 });
    expect(codeOf(() => compile(cnn, { target: 'c', symbolic: { shapes: { input: 'Nx1x28x-1' } } }))).toMatchObject({ exitCode: 2, message: expect.stringContaining("symbolic.shapes.input 'Nx1x28x-1'") });
    expect(codeOf(() => compile(cnn, { target: 'c', symbolic: { shapes: { input: 'Nx1x28x28' }, max: { N: 0 } } }))).toMatchObject({ exitCode: 2, message: expect.stringContaining('symbolic.max.N = 0') });
    expect(codeOf(() => compile(cnn, { target: 'c', symbolic: { shapes: { input: 'Nx1x28x28' }, max: { B: 4 } } }))).toMatchObject({ exitCode: 2, message: expect.stringContaining("the model's symbolic dim is 'N'") });
    expect(codeOf(() => compile(cnn, { target: 'c', symbolic: { shapes: { input: 4 as unknown as string } } }))).toMatchObject({ exitCode: 2, message: expect.stringContaining('expected dims as text') });
    expect(codeOf(() => compile(cnn, { target: 'c', symbolic: { level: 7 } }))).toMatchObject({ exitCode: 2, message: expect.stringContaining("-O '7'") });
  });
});
