/**
 * ONNX external data stays in the model's folder: absolute paths, `..` escapes and symbolic links
 * leading outside are refused (exit 1, one line naming the initializer and the path), byte ranges
 * are checked; legal layouts (onnx's save_as_external_data) load with the right values.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AicError, Tensor, parseNpy, serializeNpy } from '@aic/core';
import { loadOnnxFile, onnx } from '@aic/onnx';
import { run } from '@aic/interp';

const ROOT = path.resolve(import.meta.dirname, '..');
const FIX = path.join(ROOT, 'tests/fixtures/models');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aic-ext-'));
function aic(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const f32vi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
const ext = (location: string, offset?: string, length?: string) => [
  { key: 'location', value: location },
  ...(offset !== undefined ? [{ key: 'offset', value: offset }] : []),
  ...(length !== undefined ? [{ key: 'length', value: length }] : []),
];
const f32bytes = (xs: number[]) => Buffer.from(new Float32Array(xs).buffer);

/** y = x + c, with c: f32[2] read from external data. */
function addModel(externalData: { key: string; value: string }[]): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g', node: [{ opType: 'Add', input: ['x', 'c'], output: ['y'] }],
      initializer: [{ name: 'c', dims: [2], dataType: 1, dataLocation: 1, externalData }],
      input: [f32vi('x', [2])], output: [f32vi('y', [2])],
    },
  })).finish();
}

/** root/secret.bin (outside) and root/model/ (the model's folder, holding data/w.bin). */
function layout() {
  const root = tmp();
  const dir = path.join(root, 'model');
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(root, 'secret.bin'), f32bytes([100, 200]));
  fs.writeFileSync(path.join(dir, 'data', 'w.bin'), f32bytes([5, 6]));
  return { root, dir };
}
function save(dir: string, bytes: Uint8Array, name = 'm.onnx'): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, bytes);
  return f;
}
function loadError(file: string): AicError {
  try {
    loadOnnxFile(file);
  } catch (e) {
    expect(e).toBeInstanceOf(AicError);
    return e as AicError;
  }
  throw new Error('expected the model to be refused');
}
const addOne = (file: string) =>
  Array.from((run(loadOnnxFile(file), { x: Tensor.fromNumbers('float32', [2], [1, 1]) }).get('y') as Tensor).num);

describe('external data is confined to the model folder', () => {
  it('a `..` escape is refused naming the initializer and the path', () => {
    const { dir } = layout();
    for (const p of ['../secret.bin', '../../../../../../../../etc/passwd', 'data/../../secret.bin']) {
      const e = loadError(save(dir, addModel(ext(p))));
      expect(e.code).toBe('AIC0040');
      expect(e.exitCode).toBe(1);
      expect(e.format()).toBe(`${path.join(dir, 'm.onnx')}: error AIC0040: initializer 'c': data path '${p}' leads outside the model's folder '${dir}'`);
    }
  });

  it('an absolute path is refused, even one inside the folder', () => {
    const { root, dir } = layout();
    for (const p of [path.join(root, 'secret.bin'), path.join(dir, 'data', 'w.bin'), '/etc/passwd']) {
      const e = loadError(save(dir, addModel(ext(p))));
      expect(e.code).toBe('AIC0040');
      expect(e.message).toBe(`initializer 'c': data path '${p}' is absolute; it must be relative to the model's folder`);
    }
  });

  it('a symbolic link leading outside is refused: the file, or a folder on the way', () => {
    const { root, dir } = layout();
    fs.symlinkSync(path.join(root, 'secret.bin'), path.join(dir, 'link.bin'));
    fs.mkdirSync(path.join(root, 'elsewhere'));
    fs.writeFileSync(path.join(root, 'elsewhere', 'w.bin'), f32bytes([7, 8]));
    fs.symlinkSync(path.join(root, 'elsewhere'), path.join(dir, 'sub'));
    for (const p of ['link.bin', 'sub/w.bin']) {
      const e = loadError(save(dir, addModel(ext(p))));
      expect(e.code).toBe('AIC0040');
      expect(e.message).toMatch(new RegExp(`^initializer 'c': data path '${p}' goes through a symbolic link leading outside the model's folder`));
    }
  });

  it('a symbolic link inside the folder is fine', () => {
    const { dir } = layout();
    fs.symlinkSync('data/w.bin', path.join(dir, 'link.bin'));
    fs.symlinkSync('data', path.join(dir, 'weights'));
    expect(addOne(save(dir, addModel(ext('link.bin'))))).toEqual([6, 7]);
    expect(addOne(save(dir, addModel(ext('weights/w.bin'))))).toEqual([6, 7]);
    expect(addOne(save(dir, addModel(ext('data/../data/w.bin', '0', '8'))))).toEqual([6, 7]);
  });

  it('offset and length must be non-negative integers within the file', () => {
    const { dir } = layout();
    const bad = (offset: string | undefined, length: string | undefined) => loadError(save(dir, addModel(ext('data/w.bin', offset, length))));
    for (const o of ['-4', 'abc', '1e3', '4.5', '99999999999999999999', '']) {
      const e = bad(o, undefined);
      expect(e.code).toBe('AIC0041');
      expect(e.message).toBe(`initializer 'c': data in 'data/w.bin': offset '${o}' is not a non-negative integer`);
    }
    expect(bad('0', '-8').message).toBe("initializer 'c': data in 'data/w.bin': length '-8' is not a non-negative integer");
    expect(bad('0', '4').message).toBe("initializer 'c': data in 'data/w.bin': length 4 but the tensor needs 8 bytes");
    const past = bad('4', undefined);
    expect(past.code).toBe('AIC0006');
    expect(past.message).toBe(`initializer 'c': weights '${path.join(dir, 'data/w.bin')}' at offset 4 needs 8 bytes but the file has 8`);
    expect(bad('9007199254740990', '8').code).toBe('AIC0006');
  });

  it('a missing file, a folder or an empty location is a load error naming the initializer', () => {
    const { dir } = layout();
    expect(loadError(save(dir, addModel(ext('nope.bin')))).message).toBe(`initializer 'c': weights file '${path.join(dir, 'nope.bin')}' not found`);
    expect(loadError(save(dir, addModel(ext('data')))).message).toBe("initializer 'c': data in 'data': not a regular file");
    expect(loadError(save(dir, addModel([]))).code).toBe('AIC0040');
  });

  it('subgraph initializers and attribute tensors follow the same rule', () => {
    const { dir } = layout();
    const escape = { dims: [2], dataType: 1, dataLocation: 1, externalData: ext('../secret.bin') };
    const branch = (name: string, init: boolean) => ({
      name, node: init ? [{ opType: 'Identity', input: ['k'], output: [`${name}_y`] }] : [{ opType: 'Identity', input: ['x'], output: [`${name}_y`] }],
      initializer: init ? [{ name: 'k', ...escape }] : [], output: [f32vi(`${name}_y`, [2])],
    });
    const G = onnx.AttributeProto.AttributeType.GRAPH;
    const ifModel = onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'g',
        node: [{ opType: 'If', input: ['b'], output: ['y'], attribute: [{ name: 'then_branch', type: G, g: branch('then', true) }, { name: 'else_branch', type: G, g: branch('else', false) }] }],
        input: [{ name: 'b', type: { tensorType: { elemType: 9, shape: { dim: [] } } } }, f32vi('x', [2])], output: [f32vi('y', [2])],
      },
    })).finish();
    expect(loadError(save(dir, ifModel)).message).toBe("initializer 'k': data path '../secret.bin' leads outside the model's folder '" + dir + "'");
    const constModel = onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'g', output: [f32vi('y', [2])],
        node: [{ opType: 'Constant', name: 'k', output: ['y'], attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: escape }] }],
      },
    })).finish();
    expect(loadError(save(dir, constModel)).message).toMatch(/^attribute 'value' of node 'k': data path '\.\.\/secret\.bin' leads outside/);
  });
});

/** small_cnn with every initializer moved to `small_cnn.onnx.data`, as onnx's save_as_external_data writes it. */
function externalize(src: string, dir: string): string {
  const m = onnx.ModelProto.decode(fs.readFileSync(src));
  const chunks: Buffer[] = [];
  let off = 0;
  for (const t of m.graph!.initializer!) {
    const raw = t.rawData?.length ? Buffer.from(t.rawData) : Buffer.from(new Float32Array(t.floatData!).buffer);
    const pad = (4096 - (off % 4096)) % 4096; // onnx aligns each tensor
    chunks.push(Buffer.alloc(pad), raw);
    off += pad;
    t.dataLocation = 1;
    t.externalData = [{ key: 'location', value: 'small_cnn.onnx.data' }, { key: 'offset', value: String(off) }, { key: 'length', value: String(raw.length) }] as typeof t.externalData;
    t.rawData = new Uint8Array();
    t.floatData = [];
    off += raw.length;
  }
  fs.writeFileSync(path.join(dir, 'small_cnn.onnx.data'), Buffer.concat(chunks));
  return save(dir, onnx.ModelProto.encode(m).finish(), 'small_cnn.onnx');
}

describe('external data through the CLI', () => {
  it('a legal external-data model runs with the right values', () => {
    const dir = tmp();
    const model = externalize(path.join(FIX, 'small_cnn.onnx'), dir);
    expect(fs.statSync(model).size).toBeLessThan(fs.statSync(path.join(FIX, 'small_cnn.onnx')).size / 4);
    const out = path.join(dir, 'out');
    const r = aic(['run', model, '--input', `input=${FIX}/small_cnn.input.npy`, '--output-dir', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const got = parseNpy(new Uint8Array(fs.readFileSync(path.join(out, 'output.npy'))));
    const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(FIX, 'small_cnn.output.npy'))));
    for (let i = 0; i < 10; i++) expect(Math.abs(got.num[i] - want.num[i])).toBeLessThan(1e-4 + 1e-3 * Math.abs(want.num[i]));
  });

  it('an escaping model: exit 1, one line naming the initializer and the path, nothing written', () => {
    const { dir } = layout();
    const model = save(dir, addModel(ext('../../../../../../../../etc/passwd')));
    fs.writeFileSync(path.join(dir, 'x.npy'), serializeNpy(Tensor.fromNumbers('float32', [2], [1, 2])));
    const out = path.join(dir, 'out');
    const r = aic(['run', model, '--input', `x=${dir}/x.npy`, '--output-dir', out]);
    expect(r.code).toBe(1);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/error AIC0040: initializer 'c': data path '\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd' leads outside/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a .pb input with external data is confined to its own folder', () => {
    const { dir } = layout();
    const model = save(dir, addModel(ext('data/w.bin')));
    const pb = onnx.TensorProto.encode({ name: 'x', dims: [2], dataType: 1, dataLocation: 1, externalData: ext('../secret.bin') }).finish();
    fs.writeFileSync(path.join(dir, 'x.pb'), pb);
    const r = aic(['run', model, '--input', `x=${dir}/x.pb`, '--output-dir', path.join(dir, 'out')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error AIC0040: tensor 'x': data path '\.\.\/secret\.bin' leads outside/);
    const ok = onnx.TensorProto.encode({ name: 'x', dims: [2], dataType: 1, dataLocation: 1, externalData: ext('data/w.bin') }).finish();
    fs.writeFileSync(path.join(dir, 'x.pb'), ok);
    const r2 = aic(['run', model, '--input', `x=${dir}/x.pb`, '--output-dir', path.join(dir, 'out')]);
    expect(r2.code, r2.err).toBe(0);
    expect(Array.from(parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'out', 'y.npy')))).num)).toEqual([10, 12]);
  });
});
