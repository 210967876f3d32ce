/** aic compile / run for the compiled targets, end to end through the CLI. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '@aic/core';
import { parseKernels, printKernel } from '@aic/loop-ir';
import { wasmValidate } from '@aic/codegen';

const ROOT = path.resolve(import.meta.dirname, '..');
const AIC = path.join(ROOT, 'bin/aic');
const FIX = path.join(ROOT, 'tests/fixtures/models');
const MODEL = `${FIX}/small_cnn.onnx`;

function aic(args: string[]) {
  const r = spawnSync(process.execPath, [AIC, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aic-compile-'));
const want = parseNpy(new Uint8Array(fs.readFileSync(`${FIX}/small_cnn.output.npy`)));

function expectMatches(file: string): void {
  const got = parseNpy(new Uint8Array(fs.readFileSync(file)));
  expect(got.shape).toEqual(want.shape);
  for (let i = 0; i < want.size; i++) expect(Math.abs(got.num[i] - want.num[i])).toBeLessThanOrEqual(1e-4 + 1e-3 * Math.abs(want.num[i]));
}

describe('aic compile --target c', () => {
  it('writes model.c, model.h, model.weights and README.md; --stats reports the memory plan', () => {
    const dir = tmp();
    const r = aic(['compile', MODEL, '--target', 'c', '-o', dir, '--stats']);
    expect(r.code, r.err).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['README.md', 'model.c', 'model.h', 'model.weights']);
    expect(r.err).toMatch(/peak activation bytes \d+ .*naive sum \d+/);
    const h = fs.readFileSync(path.join(dir, 'model.h'), 'utf8');
    expect(h).toMatch(/int\s+aic_model_init\(const char \*weights_path\);/);
    expect(h).toMatch(/int\s+aic_model_run\(const void \*const \*inputs, void \*const \*outputs\);/);
  });

  it('--emit loops prints loop nests that parse back', () => {
    const r = aic(['compile', MODEL, '--target', 'c', '--emit', 'loops']);
    expect(r.code, r.err).toBe(0);
    const ks = parseKernels(r.out);
    expect(ks.length).toBe(7); // Conv+BN+Relu x2, MaxPool x2, Gemm+Relu (Flatten read in place), Gemm, Softmax
    expect(ks.map(printKernel).join('\n')).toBe(r.out);
  });

  it('--schedule overrides a kernel; unknown kernels and bad directives are usage errors', () => {
    const dir = tmp();
    const sched = path.join(dir, 's.txt');
    fs.writeFileSync(sched, 'kernel k99_nothing {\n}\n');
    const bad = aic(['compile', MODEL, '--target', 'c', '--schedule', sched, '--emit', 'schedule']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/no kernel 'k99_nothing'/);
    const list = aic(['compile', MODEL, '--target', 'c', '--emit', 'schedule']);
    const first = /kernel (\w+) \{\n  \w/.exec(list.out)![1];
    fs.writeFileSync(sched, `kernel ${first} {\n}\n`);
    const plain = aic(['compile', MODEL, '--target', 'c', '--schedule', sched, '--emit', 'schedule']);
    expect(plain.code, plain.err).toBe(0);
    expect(plain.out).toContain(`kernel ${first} {\n}`);
    fs.writeFileSync(sched, `kernel ${first} {\n  frobnicate i0\n}\n`);
    const nonsense = aic(['compile', MODEL, '--target', 'c', '--schedule', sched, '--emit', 'schedule']);
    expect(nonsense.code).toBe(2);
    expect(nonsense.err).toMatch(/cannot parse schedule directive 'frobnicate i0'/);
  });
});

describe('aic run on compiled targets', () => {
  for (const target of ['c', 'wasm-simd']) {
    it(`-O3 (NC4HW4 layout pass) on --target ${target} matches PyTorch`, () => {
      const dir = tmp();
      const r = aic(['run', MODEL, '-O', '3', '--target', target, '--input', `input=${FIX}/small_cnn.input.npy`, '--output-dir', dir]);
      expect(r.code, r.err).toBe(0);
      expectMatches(path.join(dir, 'output.npy'));
    });
  }
  for (const target of ['c', 'wasm-simd', 'wasm']) {
    it(`--target ${target} matches PyTorch`, () => {
      const dir = tmp();
      const r = aic(['run', MODEL, '--target', target, '--input', `input=${FIX}/small_cnn.input.npy`, '--output-dir', dir]);
      expect(r.code, r.err).toBe(0);
      expectMatches(path.join(dir, 'output.npy'));
    });
  }
});

describe('aic compile --target wasm-simd', () => {
  it('is deterministic: the same model and flags give byte-identical files', () => {
    const a = tmp(), b = tmp();
    expect(aic(['compile', MODEL, '--target', 'wasm-simd', '-o', a]).code).toBe(0);
    expect(aic(['compile', MODEL, '--target', 'wasm-simd', '-o', b]).code).toBe(0);
    for (const f of fs.readdirSync(a)) expect(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), f).toBe(true);
    expect(wasmValidate(new Uint8Array(fs.readFileSync(path.join(a, 'model.wasm'))))).toBe(true);
  });
  it('an unsupported target feature exits 3 and writes nothing', () => {
    const dir = path.join(tmp(), 'out');
    const r = aic(['compile', '/usr/share/libonnx-testdata/data/node/test_if_seq/model.onnx', '--target', 'wasm-simd', '-o', dir]);
    expect(r.code).toBe(3);
    expect(fs.existsSync(dir)).toBe(false);
  });
});
