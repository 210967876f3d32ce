/**
 * `aic run` reads inputs and writes outputs of every element type: ONNX node tests with string and
 * bfloat16 tensors through the CLI (--input NAME=.pb), .npy and .pb inputs of each dtype, round
 * trips of written outputs, and damaged or unsupported files as catalog errors with nothing written.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_DTYPES, ONNX_DTYPE_CODE, Tensor, bf16ToFloat, parseNpy, serializeNpy, type DType } from '@aic/core';
import { decodeValueFile, encodeTensor, loadOnnxFile, onnx } from '@aic/onnx';
import { buildModel } from './onnx-builder.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const NODE = '/usr/share/libonnx-testdata/data/node';
const aic = (args: string[]) => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aic-tf-'));
const npyAt = (f: string) => parseNpy(new Uint8Array(fs.readFileSync(f)), f);
const pbAt = (f: string) => decodeValueFile(new Uint8Array(fs.readFileSync(f))) as Tensor;
const values = (t: Tensor) => (t.dtype === 'string' ? (t.data as string[]).slice() : Array.from(t.num));

/** Run a node test through the CLI; returns the written outputs and the expected ones. */
function runNodeTest(name: string) {
  const dir = path.join(NODE, name);
  const g = loadOnnxFile(path.join(dir, 'model.onnx'));
  const out = tmp();
  const args = g.inputs.flatMap((v, i) => ['--input', `${v.name}=${dir}/test_data_set_0/input_${i}.pb`]);
  const r = aic(['run', `${dir}/model.onnx`, ...args, '--output-dir', out]);
  return { r, out, outputs: g.outputs.map((v, i) => ({ v, got: path.join(out, `${v.name}.npy`), want: pbAt(`${dir}/test_data_set_0/output_${i}.pb`) })) };
}

describe('node tests with string and bfloat16 tensors through aic run', () => {
  const strings = [
    'test_strnormalizer_export_monday_casesensintive_lower', 'test_strnormalizer_export_monday_casesensintive_nochangecase',
    'test_strnormalizer_export_monday_casesensintive_upper', 'test_strnormalizer_export_monday_empty_output',
    'test_strnormalizer_export_monday_insensintive_upper_twodim', 'test_strnormalizer_nostopwords_nochangecase',
    'test_cast_FLOAT_to_STRING',
  ];
  for (const name of strings) {
    it(name, () => {
      const { r, outputs } = runNodeTest(name);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      for (const o of outputs) {
        const got = npyAt(o.got);
        expect(got.dtype).toBe('string');
        expect(got.shape).toEqual(o.want.shape);
        expect(values(got)).toEqual(values(o.want));
      }
    });
  }

  it('test_cast_STRING_to_FLOAT', () => {
    const { r, outputs } = runNodeTest('test_cast_STRING_to_FLOAT');
    expect(r.code).toBe(0);
    const got = npyAt(outputs[0].got);
    expect(got.dtype).toBe('float32');
    expect(values(got)).toEqual(values(outputs[0].want));
  });

  it('test_cast_BFLOAT16_to_FLOAT reads its uint16 .pb input as bfloat16 bit patterns', () => {
    const { r, outputs } = runNodeTest('test_cast_BFLOAT16_to_FLOAT');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const got = npyAt(outputs[0].got);
    expect(got.dtype).toBe('float32');
    expect(got.shape).toEqual([3, 4]);
    expect(values(got)).toEqual(values(outputs[0].want));
  });

  it('test_cast_FLOAT_to_BFLOAT16 writes the bfloat16 output as float32 with a note', () => {
    const { r, outputs } = runNodeTest('test_cast_FLOAT_to_BFLOAT16');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/note: output 'output' is bfloat16, written as float32/);
    const got = npyAt(outputs[0].got);
    expect(got.dtype).toBe('float32');
    // the expected file holds bfloat16 bit patterns as uint16, made by truncation where aic (and ONNX
    // since opset 13) rounds to nearest even: equal within one bfloat16 step
    expect(outputs[0].want.dtype).toBe('uint16');
    const want = Array.from(outputs[0].want.num, (b) => bf16ToFloat(b));
    values(got).forEach((g, i) => {
      const w = want[i]!;
      if (Number.isNaN(w) || !Number.isFinite(w)) expect(g).toBe(w);
      else expect(Math.abs((g as number) - w)).toBeLessThanOrEqual(Math.abs(w) * 2 ** -7);
      expect(Tensor.fromNumbers('bfloat16', [1], [g as number]).num[0]).toBe(g); // a bfloat16 value
    });
  });

  it('written outputs read back as inputs: strings and bfloat16', () => {
    const s = runNodeTest('test_cast_FLOAT_to_STRING');
    const back = tmp();
    const r1 = aic(['run', `${NODE}/test_cast_STRING_to_FLOAT/model.onnx`, '--input', `input=${s.outputs[0].got}`, '--output-dir', back]);
    expect(r1.code).toBe(0);
    const original = pbAt(`${NODE}/test_cast_FLOAT_to_STRING/test_data_set_0/input_0.pb`);
    expect(values(npyAt(path.join(back, 'output.npy')))).toEqual(values(original));

    const b = runNodeTest('test_cast_FLOAT_to_BFLOAT16');
    const r2 = aic(['run', `${NODE}/test_cast_BFLOAT16_to_FLOAT/model.onnx`, '--input', `input=${b.outputs[0].got}`, '--output-dir', back]);
    expect(r2.code).toBe(0);
    expect(values(npyAt(path.join(back, 'output.npy')))).toEqual(values(npyAt(b.outputs[0].got)));
  });
});

describe('.npy and .pb inputs of every element type', () => {
  const sample: Record<DType, number[] | string[]> = {
    float32: [1.5, -2, 3.25, 0], float64: [1e300, -2, 0.1, 4], float16: [0.5, -1, 65504, 2],
    bfloat16: [1.5, -2, 256, 0.0078125], int8: [-128, 127, 0, 5], int16: [-32768, 32767, 1, 2],
    int32: [-(2 ** 31), 2 ** 31 - 1, 1, 2], int64: [-(2 ** 53), 2 ** 53, 1, 2], uint8: [0, 255, 1, 2],
    uint16: [0, 65535, 1, 2], uint32: [0, 2 ** 32 - 1, 1, 2], uint64: [0, 2 ** 53, 1, 2], bool: [1, 0, 0, 1],
    string: ['a', 'Grüße', '', '😀'],
  };
  const identity = (dir: string, dtypes: readonly DType[]) => {
    const m = path.join(dir, `id_${dtypes.length}.onnx`);
    const io = (p: string) => dtypes.map((d) => ({ name: `${p}_${d}`, shape: [2, 2], dtype: ONNX_DTYPE_CODE[d] }));
    fs.writeFileSync(m, buildModel(dtypes.map((d) => ({ op: 'Identity', inputs: [`x_${d}`], outputs: [`y_${d}`] })), io('x'), io('y')));
    return m;
  };
  const tensorOf = (dtype: DType) => (dtype === 'string'
    ? new Tensor('string', [2, 2], (sample.string as string[]).slice())
    : Tensor.fromNumbers(dtype, [2, 2], sample[dtype] as number[]));

  it('Identity returns each dtype unchanged from .pb and from .npy inputs', () => {
    const dir = tmp();
    const m = identity(dir, ALL_DTYPES);
    for (const ext of ['pb', 'npy']) {
      const args = ALL_DTYPES.flatMap((dtype) => {
        const t = tensorOf(dtype);
        const f = path.join(dir, `x_${dtype}.${ext}`);
        // numpy has no bfloat16: a .npy for a bfloat16 input holds float32
        fs.writeFileSync(f, ext === 'pb' ? onnx.TensorProto.encode(encodeTensor(t, 'x')).finish()
          : serializeNpy(dtype === 'bfloat16' ? Tensor.fromNumbers('float32', t.shape, t.num) : t));
        return ['--input', `x_${dtype}=${f}`];
      });
      const out = path.join(dir, `out_${ext}`);
      const r = aic(['run', m, ...args, '--output-dir', out, '-O0']);
      expect(r.code, r.err).toBe(0);
      for (const dtype of ALL_DTYPES) {
        const y = npyAt(path.join(out, `y_${dtype}.npy`));
        expect(y.dtype, dtype).toBe(dtype === 'bfloat16' ? 'float32' : dtype);
        expect(values(y), `${dtype} from .${ext}`).toEqual(values(tensorOf(dtype)));
      }
    }
  });

  it('a bfloat16 input also takes a float32 .npy (rounded to bfloat16) and uint16 bit patterns', () => {
    const dir = tmp();
    const m = identity(dir, ['bfloat16']);
    fs.writeFileSync(path.join(dir, 'f.npy'), serializeNpy(Tensor.fromNumbers('float32', [2, 2], [1.5, 1.00390625, -3, 0.1])));
    fs.writeFileSync(path.join(dir, 'u.npy'), serializeNpy(Tensor.fromNumbers('uint16', [2, 2], [0x3fc0, 0x3f80, 0xc040, 0x3dcd])));
    for (const f of ['f.npy', 'u.npy']) {
      const out = path.join(dir, `o_${f}`);
      const r = aic(['run', m, '--input', `x_bfloat16=${dir}/${f}`, '--output-dir', out]);
      expect(r.code, r.err).toBe(0);
      expect(values(npyAt(path.join(out, 'y_bfloat16.npy')))).toEqual([1.5, 1, -3, 0.10009765625]);
    }
  });
});

describe('unusable input files are catalog errors, and nothing is written', () => {
  const dir = tmp();
  const m = path.join(dir, 'relu.onnx');
  fs.writeFileSync(m, buildModel([{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], [{ name: 'x', shape: [2] }], [{ name: 'y', shape: [2] }]));
  const good = serializeNpy(Tensor.fromNumbers('float32', [2], [1, -1]));
  const cases: [string, Uint8Array, number, RegExp][] = [
    ['truncated.npy', good.subarray(0, good.length - 3), 1, /data truncated/],
    ['garbage.npy', Buffer.from('\x93NUMPY\x01\x00\x0f\x00{nonsense here}', 'latin1'), 1, /malformed header/],
    ['complex.npy', fs.readFileSync(path.join(ROOT, 'tests/fixtures/npy/complex64.npy')), 3, /unsupported element type '<c8' \(complex\)/],
    ['object.npy', fs.readFileSync(path.join(ROOT, 'tests/fixtures/npy/object.npy')), 3, /object/],
    ['garbage.pb', Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1]), 1, /not a valid tensor file/],
    ['complex.pb', onnx.TensorProto.encode({ name: 'x', dataType: 14, dims: [2] }).finish(), 3, /complex64/],
    ['int64-for-float.npy', serializeNpy(Tensor.fromNumbers('int64', [2], [1, 2])), 1, /holds int64 but the model expects float32/],
  ];
  for (const [file, bytes, code, re] of cases) {
    it(file, () => {
      const f = path.join(dir, file);
      fs.writeFileSync(f, bytes);
      const out = path.join(dir, `out_${file}`);
      const r = aic(['run', m, '--input', `x=${f}`, '--output-dir', out]);
      expect(r.code).toBe(code);
      expect(r.err).toMatch(re);
      expect(r.err).toContain(file);
      expect(r.err).not.toMatch(/internal error/);
      expect(fs.existsSync(out) ? fs.readdirSync(out) : []).toEqual([]);
    });
  }
});

describe('mutated tensor files never end in an internal error', () => {
  it('byte changes and truncations of .pb and .npy files read as a tensor or a catalog error', async () => {
    const { readTensorFile } = await import('../packages/cli/src/model-io.ts');
    const { AicError } = await import('@aic/core');
    const dir = tmp();
    const seeds: [string, Uint8Array][] = [
      ['s.pb', onnx.TensorProto.encode(encodeTensor(new Tensor('string', [2], ['ab', 'ü']), 'x')).finish()],
      ['f.pb', onnx.TensorProto.encode(encodeTensor(Tensor.fromNumbers('float32', [2, 2], [1, 2, 3, 4]), 'x')).finish()],
      ['h.pb', onnx.TensorProto.encode({ name: 'x', dataType: 10, dims: [3], int32Data: [1, 2, 3] }).finish()],
      ['u.npy', serializeNpy(new Tensor('string', [2], ['ab', 'ü']))],
    ];
    let rng = 12345;
    const rand = (n: number) => { rng = (rng * 1103515245 + 12345) & 0x7fffffff; return rng % n; };
    let cases = 0;
    for (const [name, src] of seeds) {
      for (let k = 0; k < 300; k++) {
        const m = src.slice(0, k % 3 === 0 ? rand(src.length + 1) : src.length);
        for (let j = 0; j < 1 + rand(3); j++) if (m.length) m[rand(m.length)] = rand(256);
        const f = path.join(dir, name);
        fs.writeFileSync(f, m);
        try {
          const x = readTensorFile(f);
          expect(x === null || x instanceof Tensor || Array.isArray(x)).toBe(true);
        } catch (e) {
          expect(e, `${name} case ${k}: ${String(e)}`).toBeInstanceOf(AicError);
        }
        cases++;
      }
    }
    expect(cases).toBe(1200);
  });
});

describe('output folders that cannot be written', () => {
  it('a folder under a file, or under /proc, is a catalog error (exit 1), not an internal error or a hang', () => {
    const dir = tmp();
    const m = path.join(dir, 'relu.onnx');
    fs.writeFileSync(m, buildModel([{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], [{ name: 'x', shape: [2] }], [{ name: 'y', shape: [2] }]));
    const x = path.join(dir, 'x.npy');
    fs.writeFileSync(x, serializeNpy(Tensor.fromNumbers('float32', [2], [1, -1])));
    fs.writeFileSync(path.join(dir, 'afile'), 'not a folder');
    for (const out of [path.join(dir, 'afile', 'sub'), '/proc/aic-no-such-folder/out']) {
      const r = aic(['run', m, '--input', `x=${x}`, '--output-dir', out]);
      expect(r.code, r.err).toBe(1);
      expect(r.err).toMatch(/error AIC0049: cannot write '.*y\.npy': /);
      expect(r.err).not.toMatch(/internal error/);
    }
    const ok = aic(['run', m, '--input', `x=${x}`, '--output-dir', path.join(dir, 'new', 'deep')]);
    expect(ok.code, ok.err).toBe(0);
    expect(values(npyAt(path.join(dir, 'new', 'deep', 'y.npy')))).toEqual([1, 0]);
  });
});
