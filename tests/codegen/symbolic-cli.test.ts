/**
 * `aic compile --input-shape input=Nx... [--max-shape N=K]` (issue 13 item 6): the artifact takes any
 * batch and says so (model.h, model.d.ts, and the generated model.mjs run at batch 3 in Node); a
 * symbolic dim that cannot stay symbolic is exit 3 (AIC0451), a bad --max-shape exit 2.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, excess, zooModel } from '../model-zoo.ts';
import { batchOf, reference } from '../symbolic-harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const AIC = path.join(ROOT, 'bin/aic');
const model = path.join(FIXTURES, 'small_cnn.onnx');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-symcli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function aic(args: string[]) {
  const r = spawnSync(process.execPath, [AIC, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('aic compile with a symbolic batch', () => {
  it('c: model.h names N, its maximum and aic_model_run_batch', () => {
    const r = aic(['compile', model, '--target', 'c', '--input-shape', 'input=Nx1x28x28', '--max-shape', 'N=4', '-o', path.join(dir, 'c')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const h = fs.readFileSync(path.join(dir, 'c/model.h'), 'utf8');
    expect(h).toContain('#define AIC_MODEL_BATCH_SYMBOL "N"');
    expect(h).toContain('#define AIC_MODEL_MAX_BATCH 4');
    expect(h).toContain("'input' float32 [N, 1, 28, 28]");
  }, 120_000);

  it('wasm-simd: the generated model.mjs runs batch 3 and matches the interpreter; batch 5 is refused', async () => {
    const out = path.join(dir, 'w');
    const r = aic(['compile', model, '--target', 'wasm-simd', '--input-shape', 'input=Nx1x28x28', '--max-shape', 'N=4', '-o', out]);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'model.d.ts'), 'utf8')).toContain('N is the batch, any value from 1 to 4');
    const mod = await import(pathToFileURL(path.join(out, 'model.mjs')).href);
    const m = await mod.load();
    const x3 = batchOf(zooModel('small_cnn').inputs.get('input')!, 3);
    const got = (await m.run({ input: Float32Array.from(x3.num as Float32Array) })).output as Float32Array;
    expect(got.length).toBe(30);
    const want = (await reference(model, new Map([['input', x3]]), ['input'])).outputs.get('output')!;
    expect(excess(got, want.num, 1e-3, 1e-5).worst).toBeLessThanOrEqual(0);
    await expect(m.run({ input: new Float32Array(5 * 784) })).rejects.toThrow("'N' is 5, beyond its maximum 4 (compiled with --max-shape N=4)");
  }, 120_000);

  it('a symbol for a dim the model fixes (not the leading 1) is exit 3, AIC0451', () => {
    const r = aic(['compile', model, '--target', 'c', '--input-shape', 'input=1x1xHx28', '-o', path.join(dir, 'x')]);
    expect(r.code).toBe(3);
    expect(r.err).toContain("AIC0451: unsupported: symbolic dim 'H' is given for dim 2 of input 'input', which the model fixes to 28");
  }, 60_000);

  it('--max-shape for another name, or not a positive integer, is exit 2', () => {
    const a = aic(['compile', model, '--target', 'c', '--input-shape', 'input=Nx1x28x28', '--max-shape', 'B=4', '-o', path.join(dir, 'x')]);
    expect(a.code).toBe(2);
    expect(a.err).toContain("--max-shape B: the model's symbolic dim is 'N'");
    const b = aic(['compile', model, '--target', 'c', '--input-shape', 'input=Nx1x28x28', '--max-shape', 'N=0', '-o', path.join(dir, 'x')]);
    expect(b.code).toBe(2);
    expect(b.err).toContain("--max-shape 'N=0': expected NAME=N with N >= 1");
  }, 60_000);
});
