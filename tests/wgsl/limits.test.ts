/**
 * `--wgsl-limit NAME=VALUE` (aic compile / aic run, API wgslLimits): a wgsl artifact compiled for other
 * device limits than WebGPU's guaranteed ones. The case it exists for: a weight over 128 MiB
 * (maxStorageBufferBindingSize), e.g. AlexNet's 144 MiB classifier or a large embedding table, refused
 * by default with a hint naming the option. Here the same path at a small scale: two 48 KiB weights.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor, parseNpy, serializeNpy } from '@aic/core';
import * as aic from '@aic/api';
import { buildModel } from '../onnx-builder.ts';
import { webgpuSkipReason } from '../webgpu.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const AIC = path.join(ROOT, 'bin/aic');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-wgsl-limits-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let skipWhy: string | undefined;
beforeAll(async () => { skipWhy = await webgpuSkipReason(); }, 400_000);

const sines = (n: number, s: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s) * 0.1);
/** x[4,128] @ w1[128,96] -> Relu -> @ w2[96,128]: two weights of 48 KiB each. */
function model(): string {
  const f = path.join(dir, 'mlp.onnx');
  fs.writeFileSync(f, buildModel([
    { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['h'] },
    { op: 'Relu', inputs: ['h'], outputs: ['r'] },
    { op: 'MatMul', inputs: ['r', 'w2'], outputs: ['y'] },
  ], [{ name: 'x', shape: [4, 128] }], [{ name: 'y', shape: [4, 128] }], 13, [
    { name: 'w1', dims: [128, 96], floats: sines(128 * 96, 1) },
    { name: 'w2', dims: [96, 128], floats: sines(96 * 128, 2) },
  ]));
  return f;
}
const MODEL = model();

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [AIC, ...args], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
/** The manifest a compiled model.mjs carries. */
function manifest(out: string): { weightChunks: unknown[]; needs: Record<string, number> } {
  const line = fs.readFileSync(path.join(out, 'model.mjs'), 'utf8').split('\n').find((l) => l.startsWith('const M = '))!;
  return JSON.parse(line.slice('const M = '.length, -1));
}

describe('--wgsl-limit', () => {
  it('a weight over the binding limit is refused with the option to raise it; raised, it compiles', () => {
    const small = cli('compile', MODEL, '--target', 'wgsl', '--wgsl-limit', 'maxStorageBufferBindingSize=32K', '-o', path.join(dir, 'small'));
    expect(small.code).toBe(3);
    expect(small.err).toContain("AIC0203: unsupported: weight 'w1' needs 49152 bytes, more than maxStorageBufferBindingSize (32768) on target wgsl");
    expect(small.err).toContain('compile with --wgsl-limit maxStorageBufferBindingSize=');
    expect(fs.existsSync(path.join(dir, 'small'))).toBe(false);

    const def = cli('compile', MODEL, '--target', 'wgsl', '-o', path.join(dir, 'def'));
    const fit = cli('compile', MODEL, '--target', 'wgsl', '--wgsl-limit', 'maxStorageBufferBindingSize=64K', '-o', path.join(dir, 'fit'));
    expect([def.code, fit.code]).toEqual([0, 0]);
    // the weights are packed into chunks no larger than the limit: one chunk by default, one per weight at 64 KiB
    expect(manifest(path.join(dir, 'def')).weightChunks).toHaveLength(1);
    expect(manifest(path.join(dir, 'fit')).weightChunks).toHaveLength(2);
    expect(manifest(path.join(dir, 'fit')).needs.maxStorageBufferBindingSize).toBeLessThanOrEqual(65536);
  });

  it('usage errors: an unknown limit (naming the known ones), no value, another target', () => {
    const unknown = cli('compile', MODEL, '--target', 'wgsl', '--wgsl-limit', 'maxFoo=1', '--emit', 'wgsl');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--wgsl-limit maxFoo: not a WebGPU limit aic compiles for; one of maxStorageBufferBindingSize, maxStorageBuffersPerShaderStage');
    const noValue = cli('compile', MODEL, '--target', 'wgsl', '--wgsl-limit', 'maxStorageBufferBindingSize', '--emit', 'wgsl');
    expect(noValue.code).toBe(2);
    expect(noValue.err).toContain("--wgsl-limit 'maxStorageBufferBindingSize': expected NAME=VALUE");
    const other = cli('compile', MODEL, '--target', 'c', '--wgsl-limit', 'maxStorageBufferBindingSize=1G', '--emit', 'c');
    expect(other.code).toBe(2);
    expect(other.err).toContain("device limits (--wgsl-limit) apply to target wgsl only, not 'c'");
  });

  it('the API takes the same limits (compile refuses, run checks them)', async () => {
    const m = await aic.load(MODEL);
    expect(() => aic.compile(m, { target: 'wgsl', wgslLimits: { maxStorageBufferBindingSize: 32768 } })).toThrow(/more than maxStorageBufferBindingSize \(32768\)/);
    expect(() => aic.compile(m, { target: 'c', wgslLimits: { maxStorageBufferBindingSize: 32768 } })).toThrow(/apply to target wgsl only/);
    await expect(aic.run(m, {}, { target: 'interp', wgslLimits: { maxStorageBufferBindingSize: 1 } })).rejects.toThrow(/apply to target wgsl only/);
  });

  it('aic run --target wgsl with the limit gives the interpreter\'s output', (ctx) => {
    if (skipWhy) return ctx.skip(skipWhy);
    const xf = path.join(dir, 'x.npy');
    fs.writeFileSync(xf, serializeNpy(Tensor.fromNumbers('float32', [4, 128], Array.from({ length: 512 }, (_, i) => Math.cos(i * 0.11)))));
    const outs: Float32Array[] = [];
    for (const [target, extra] of [['interp', []], ['wgsl', ['--wgsl-limit', 'maxStorageBufferBindingSize=64K']]] as const) {
      const od = path.join(dir, `out-${target}`);
      const r = cli('run', MODEL, '--target', target, ...extra, '--input', `x=${xf}`, '--output-dir', od);
      expect(r.code, r.err).toBe(0);
      outs.push(parseNpy(fs.readFileSync(path.join(od, 'y.npy'))).num as Float32Array);
    }
    const [want, got] = outs as [Float32Array, Float32Array];
    expect(want.length).toBe(512);
    let worst = 0;
    want.forEach((w, i) => { worst = Math.max(worst, Math.abs(got[i]! - w) / (1e-3 + Math.abs(w))); });
    expect(worst).toBeLessThan(1e-3);
  }, 300_000);
});
