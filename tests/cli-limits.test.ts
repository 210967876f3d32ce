/**
 * Absurd sizes through the CLI: exit 1 with a named error (value, node, size, limit) before any work,
 * and nothing written; wasm targets refuse memories past 4 GiB; --max-tensor-bytes; normal models
 * unaffected.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, parseNpy, serializeNpy } from '@aic/core';

const ROOT = path.resolve(import.meta.dirname, '..');
const FIX = path.join(ROOT, 'tests/fixtures/models');
const aic = (args: string[]) => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-limits-'));
const file = (name: string, data: string | Uint8Array) => { const f = path.join(dir, name); fs.writeFileSync(f, data); return f; };
const empty = (d: string) => !fs.existsSync(d) || fs.readdirSync(d).length === 0;

const bigInput = file('big_input.aic', 'graph big(x: f32[1000000, 1000000000]) -> (y) {\n  y = Relu(x)\n}\n');
const constShape = file('const_shape.aic', 'opset ai.onnx 17\ngraph big(x: f32[2]) -> (y, z) {\n  s: i64[2] = [1000000, 1000000]\n  y = ConstantOfShape(s)\n  z = Relu(x)\n}\n');
const dataShape = file('data_shape.aic', 'opset ai.onnx 17\ngraph big(x: f32[1], s: i64[2]) -> (y) {\n  y = Expand(x, s)\n}\n');
const x1 = file('x1.npy', serializeNpy(Tensor.fromNumbers('float32', [1], [2.5])));
const sHuge = file('s_huge.npy', serializeNpy(Tensor.fromNumbers('int64', [2], [1e6, 1e6])));
const sSmall = file('s_small.npy', serializeNpy(Tensor.fromNumbers('int64', [2], [2, 3])));

describe('values past --max-tensor-bytes', () => {
  it('a declared 10^15-element input: check, compile and run exit 1 naming it', () => {
    for (const args of [['check', bigInput], ['compile', bigInput, '--target', 'c', '-o', `${dir}/o1`], ['run', bigInput, '--input', `x=${x1}`, '--output-dir', `${dir}/o2`]]) {
      const r = aic(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err).toMatch(/error AIC0045: graph input 'x' \(f32\[1000000, 1000000000\]\) needs 3637\.98 TiB, more than the limit of 4 GiB per tensor \(--max-tensor-bytes\)/);
    }
    expect(empty(`${dir}/o1`) && empty(`${dir}/o2`)).toBe(true);
  });

  it('ConstantOfShape to 10^12 elements: every target refuses at compile time, naming value and node', () => {
    for (const t of ['c', 'wasm-simd', 'wasm']) {
      const out = `${dir}/cos_${t}`;
      const r = aic(['compile', constShape, '--target', t, '-o', out]);
      expect(r.code, t).toBe(1);
      expect(r.err).toMatch(/const_shape\.aic:4:\d+: error AIC0045: value 'y' of ConstantOfShape \(f32\[1000000, 1000000\]\) needs 3\.64 TiB/);
      expect(empty(out)).toBe(true);
    }
  });

  it('Expand to a size from input data: refused on each target before running, nothing written', () => {
    for (const t of ['interp', 'c', 'wasm-simd']) {
      const out = `${dir}/exp_${t}`;
      const r = aic(['run', dataShape, '--target', t, '--input', `x=${x1}`, '--input', `s=${sHuge}`, '--output-dir', out]);
      expect(r.code, `${t}: ${r.err}`).toBe(1);
      expect(r.err).toMatch(/data_shape\.aic:3:\d+: error AIC0045: value 'y' of Expand \(f32\[1000000, 1000000\]\) needs 3\.64 TiB/);
      expect(r.err).not.toMatch(/internal error/);
      expect(empty(out)).toBe(true);
    }
  });

  it('the same model with a sane shape runs', () => {
    const out = `${dir}/exp_ok`;
    const r = aic(['run', dataShape, '--input', `x=${x1}`, '--input', `s=${sSmall}`, '--output-dir', out]);
    expect(r.code, r.err).toBe(0);
    const y = parseNpy(new Uint8Array(fs.readFileSync(`${out}/y.npy`)));
    expect(y.shape).toEqual([2, 3]);
    expect(Array.from(y.num)).toEqual([2.5, 2.5, 2.5, 2.5, 2.5, 2.5]);
  });

  it('--max-tensor-bytes takes sizes with suffixes; a bad one is usage (2)', () => {
    const run = (limit: string, out: string) => aic(['run', `${FIX}/small_cnn.onnx`, '--input', `input=${FIX}/small_cnn.input.npy`, '--output-dir', out, '--max-tensor-bytes', limit]);
    const small = run('4K', `${dir}/cnn_small`);
    expect(small.code).toBe(1);
    expect(small.err).toMatch(/error AIC0045: initializer 'f\.4\.weight' \(f32\[16, 8, 5, 5\]\) needs 12\.5 KiB, more than the limit of 4 KiB/);
    expect(empty(`${dir}/cnn_small`)).toBe(true);
    const ok = run('512M', `${dir}/cnn_ok`);
    expect(ok.code, ok.err).toBe(0);
    const got = parseNpy(new Uint8Array(fs.readFileSync(`${dir}/cnn_ok/output.npy`)));
    const want = parseNpy(new Uint8Array(fs.readFileSync(`${FIX}/small_cnn.output.npy`)));
    for (let i = 0; i < 10; i++) expect(Math.abs(got.num[i]! - want.num[i]!)).toBeLessThan(1e-4 + 1e-3 * Math.abs(want.num[i]!));
    const bad = run('lots', `${dir}/cnn_bad`);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--max-tensor-bytes 'lots': expected a size such as 4294967296, 512M or 8G/);
  });
});

describe('wasm targets and 32-bit memory', () => {
  // 2 x 2.2 GiB: each value is under the per-tensor limit, together they pass 4 GiB
  const twoBig = file('two_big.aic', 'graph big(x: f32[600000000]) -> (y) {\n  y = Relu(x)\n}\n');

  it('wasm-simd and wasm refuse a model whose memory passes 4 GiB, at compile time', () => {
    for (const t of ['wasm-simd', 'wasm']) {
      const out = `${dir}/wasm_${t}`;
      const r = aic(['compile', twoBig, '--target', t, '-o', out]);
      expect(r.code, t).toBe(1);
      expect(r.err).toMatch(new RegExp(`error AIC0046: target '${t}': the model needs 4\\.47 GiB of linear memory \\(weights 0 bytes, intermediates 0 bytes, inputs and outputs 4\\.47 GiB\\), more than the 4 GiB a 32-bit WebAssembly memory holds`));
      expect(empty(out)).toBe(true);
    }
  });

  it('the C target compiles it', () => {
    const r = aic(['compile', twoBig, '--target', 'c', '-o', `${dir}/c_big`]);
    expect(r.code, r.err).toBe(0);
    expect(fs.readFileSync(`${dir}/c_big/model.c`, 'utf8')).toContain('600000000');
  });
});
