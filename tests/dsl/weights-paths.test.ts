/**
 * DSL `weights("...")` paths stay in the model's folder (the same rule, and the same helper, as
 * ONNX external data): absolute paths, `..` escapes and symbolic links leading outside are refused.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AicError, Tensor } from '@aic/core';
import { loadDslFile } from '@aic/dsl';
import { run } from '@aic/interp';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aic-dslw-'));
const f32bytes = (xs: number[]) => Buffer.from(new Float32Array(xs).buffer);

/** root/secret.bin outside; root/model/ holds data/w.bin = [5, 6]. Writes model/g.aic reading `file`. */
function setup(file: string, offset = 0) {
  const root = tmp();
  const dir = path.join(root, 'model');
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(root, 'secret.bin'), f32bytes([100, 200]));
  fs.writeFileSync(path.join(dir, 'data', 'w.bin'), f32bytes([5, 6]));
  const src = `graph g(x: f32[2]) -> (y) {\n  w: f32[2] = weights(${JSON.stringify(file)}, offset = ${offset})\n  y = Add(x, w)\n}\n`;
  fs.writeFileSync(path.join(dir, 'g.aic'), src);
  return { root, dir, model: path.join(dir, 'g.aic') };
}
function err(f: () => unknown): AicError {
  try { f(); } catch (e) { if (e instanceof AicError) return e; throw e; }
  throw new Error('expected an error');
}
const y = (model: string) => Array.from((run(loadDslFile(model), { x: Tensor.fromNumbers('float32', [2], [1, 1]) }).get('y') as Tensor).num);

describe('DSL weights paths', () => {
  it('`..` escapes and absolute paths are refused, naming the constant and the path', () => {
    for (const p of ['../secret.bin', 'data/../../secret.bin', '../../../../../../../../etc/passwd']) {
      const { dir, model } = setup(p);
      const e = err(() => loadDslFile(model));
      expect(e.exitCode).toBe(1);
      expect(e.format()).toBe(`${model}:2:15: error AIC0040: constant 'w': data path '${p}' leads outside the model's folder '${dir}'`);
    }
    const { root, model } = setup('');
    for (const p of [path.join(root, 'secret.bin'), path.join(root, 'model', 'data', 'w.bin')]) {
      fs.writeFileSync(model, `graph g(x: f32[2]) -> (y) {\n  w: f32[2] = weights(${JSON.stringify(p)}, offset = 0)\n  y = Add(x, w)\n}\n`);
      expect(err(() => loadDslFile(model)).message).toBe(`constant 'w': data path '${p}' is absolute; it must be relative to the model's folder`);
    }
  });

  it('a symbolic link leading outside is refused; one inside is fine', () => {
    const { root, dir, model } = setup('link.bin');
    fs.symlinkSync(path.join(root, 'secret.bin'), path.join(dir, 'link.bin'));
    expect(err(() => loadDslFile(model)).message).toMatch(/^constant 'w': data path 'link\.bin' goes through a symbolic link leading outside the model's folder/);
    fs.rmSync(path.join(dir, 'link.bin'));
    fs.symlinkSync('data/w.bin', path.join(dir, 'link.bin'));
    expect(y(model)).toEqual([6, 7]);
  });

  it('the offset must be a non-negative integer within the file', () => {
    expect(err(() => loadDslFile(setup('data/w.bin', -4).model)).message).toBe("constant 'w': data in 'data/w.bin': offset '-4' is not a non-negative integer");
    expect(err(() => loadDslFile(setup('data/w.bin', 4).model)).code).toBe('AIC0006');
    expect(y(setup('data/w.bin', 0).model)).toEqual([6, 7]);
  });

  it('through the CLI: exit 1, one line, nothing written', () => {
    const { dir, model } = setup('../secret.bin');
    const out = path.join(dir, 'out.onnx');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), 'convert', model, '-o', out], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`aic: ${model}:2:15: error AIC0040: constant 'w': data path '../secret.bin' leads outside the model's folder '${dir}'`]);
    expect(fs.existsSync(out)).toBe(false);
  });
});
