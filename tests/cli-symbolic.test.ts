/**
 * `aic run` takes symbolic input dims from the arrays it is given (issue 13): small_cnn with its
 * batch re-declared as 'N' runs at batch 1 and 3 on interp, c and wasm-simd; inconsistent shapes
 * are exit 1 naming the input, the dim and both values.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tensor, parseNpy, serializeNpy } from '@aic/core';
import { onnx } from '@aic/onnx';
import { bisect } from '../packages/cli/src/commands/bisect.ts';
import { buildModel } from './onnx-builder.ts';
import { excess } from './model-zoo.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const AIC = path.join(ROOT, 'bin/aic');
const FIX = path.join(ROOT, 'tests/fixtures/models');

function aic(args: string[]) {
  const r = spawnSync(process.execPath, [AIC, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const readNpy = (f: string) => parseNpy(new Uint8Array(fs.readFileSync(f)));
const writeNpy = (f: string, t: Tensor) => { fs.writeFileSync(f, serializeNpy(t)); return f; };
const f32 = (shape: number[], fill: (i: number) => number) => new Tensor('float32', shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => fill(i)));

let dir = '';
let model = '';
let x1 = '', x3 = '';
const input = readNpy(`${FIX}/small_cnn.input.npy`);
const want = readNpy(`${FIX}/small_cnn.output.npy`);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-symbolic-'));
  // small_cnn with input and output dim 0 declared as 'N' (and no value_info pinning batch 1)
  const m = onnx.ModelProto.decode(new Uint8Array(fs.readFileSync(`${FIX}/small_cnn.onnx`)));
  for (const v of [...m.graph!.input!, ...m.graph!.output!]) v.type!.tensorType!.shape!.dim![0] = { dimParam: 'N' };
  m.graph!.valueInfo = [];
  model = path.join(dir, 'small_cnn_N.onnx');
  fs.writeFileSync(model, onnx.ModelProto.encode(m).finish());
  x1 = `${FIX}/small_cnn.input.npy`;
  const n = input.size;
  x3 = writeNpy(path.join(dir, 'x3.npy'), new Tensor('float32', [3, ...input.shape.slice(1)], Float32Array.from({ length: 3 * n }, (_, i) => input.num[i % n])));
});

/** y = a + b with a, b: f32[N, 2]; a holds 2 rows, b 3 rows, b2 2 rows */
function addModel() {
  const m = path.join(dir, 'add.onnx');
  fs.writeFileSync(m, buildModel([{ op: 'Add', inputs: ['a', 'b'], outputs: ['y'] }],
    [{ name: 'a', shape: ['N', 2] }, { name: 'b', shape: ['N', 2] }], [{ name: 'y', shape: ['N', 2] }]));
  const a = writeNpy(path.join(dir, 'a.npy'), f32([2, 2], (i) => i));
  const b = writeNpy(path.join(dir, 'b.npy'), f32([3, 2], (i) => 10 * i));
  const b2 = writeNpy(path.join(dir, 'b2.npy'), f32([2, 2], (i) => 10 * i));
  return { m, a, b, b2 };
}

describe('aic run binds symbolic dims from the input arrays', () => {
  for (const target of ['interp', 'c', 'wasm-simd']) {
    it(`small_cnn with batch 'N' at batch 1 and 3 on ${target}`, () => {
      for (const [batch, file] of [[1, x1], [3, x3]] as const) {
        const out = path.join(dir, `${target}-${batch}`);
        fs.mkdirSync(out);
        const r = aic(['run', model, '--target', target, '--input', `input=${file}`, '--output-dir', out, '--verbose']);
        expect(r.code, r.err).toBe(0);
        expect(r.err).toContain(`input 'input': bound N=${batch} from ${file}`);
        const got = readNpy(path.join(out, 'output.npy'));
        expect(got.shape).toEqual([batch, 10]);
        for (let b = 0; b < batch; b++) {
          const row = Array.from(got.num).slice(b * 10, b * 10 + 10);
          const e = excess(row, want.num, 1e-3, 1e-4);
          expect(e.worst, `${target} batch ${batch} row ${b} [${e.at}]: ${row[e.at]} vs ${want.num[e.at]}`).toBeLessThanOrEqual(0);
        }
      }
    }, 120_000);
  }

  it('an explicit --input-shape that agrees with the array runs; one that does not is exit 1 (AIC0080)', () => {
    const ok = aic(['run', model, '--input', `input=${x3}`, '--input-shape', 'input=3x1x28x28', '--output-dir', dir]);
    expect(ok.code, ok.err).toBe(0);
    expect(readNpy(path.join(dir, 'output.npy')).shape).toEqual([3, 10]);
    const bad = aic(['run', model, '--input', `input=${x3}`, '--input-shape', 'input=2x1x28x28', '--output-dir', dir]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('AIC0080');
    expect(bad.err).toContain(`input 'input': --input-shape gives [2, 1, 28, 28] but ${x3} holds [3, 1, 28, 28]`);
  });

  it('a static dim or a rank that disagrees with the array is exit 1 naming the input, the dim and both values', () => {
    const wrongDim = writeNpy(path.join(dir, 'w.npy'), f32([2, 1, 28, 27], () => 0));
    const r = aic(['run', model, '--input', `input=${wrongDim}`, '--output-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`AIC0082: input 'input': expected shape [N, 1, 28, 28], got [2, 1, 28, 27] in ${wrongDim}: dim 3 is 28 in the model but 27 in the file`);
    const wrongRank = writeNpy(path.join(dir, 'r.npy'), f32([1, 28, 28], () => 0));
    const r2 = aic(['run', model, '--target', 'wasm-simd', '--input', `input=${wrongRank}`, '--output-dir', dir]);
    expect(r2.code).toBe(1);
    expect(r2.err).toContain(`AIC0081: input 'input': expected shape [N, 1, 28, 28] (rank 4), got [1, 28, 28] (rank 3) in ${wrongRank}`);
  });

  it("a dim name shared by two inputs must get one value: exit 1 naming the dim, both inputs and values", () => {
    const { m, a, b, b2 } = addModel();
    for (const target of ['interp', 'c']) {
      const r = aic(['run', m, '--target', target, '--input', `a=${a}`, '--input', `b=${b}`, '--output-dir', dir]);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`AIC0083: dim 'N' is 2 for input 'a' (${a}) but 3 for input 'b' (${b})`);
    }
    const ok = aic(['run', m, '--target', 'c', '--input', `a=${a}`, '--input', `b=${b2}`, '--output-dir', dir]);
    expect(ok.code, ok.err).toBe(0);
    expect(Array.from(readNpy(path.join(dir, 'y.npy')).num)).toEqual([0, 11, 22, 33]);
  }, 60_000);

  it('aic bisect binds the batch from its --input too, with the same consistency rules', async () => {
    const lines: string[] = [];
    const r = await bisect(model, { input: [`input=${x3}`], out: (s) => { lines.push(s); } });
    expect(r.failing, lines.join('')).toBeUndefined();
    expect(r.passes.length).toBeGreaterThan(0);
    const { m, a, b } = addModel();
    await expect(bisect(m, { input: [`a=${a}`, `b=${b}`], out: () => {} })).rejects.toThrow(`dim 'N' is 2 for input 'a' (${a}) but 3 for input 'b' (${b})`);
  });
});
