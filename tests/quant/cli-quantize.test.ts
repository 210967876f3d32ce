/** aic quantize end to end: ONNX Runtime runs the QDQ model, .aic output, the report, diagnostics. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Tensor, parseNpy, serializeNpy } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { buildModel } from '../onnx-builder.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const AIC = path.join(ROOT, 'bin/aic');
const SMALL = path.join(ROOT, 'tests/fixtures/models/small_cnn.onnx');

function aic(args: string[]) {
  const r = spawnSync(process.execPath, [AIC, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aic-quant-'));

/** Seeded standard normal values (xorshift32 + Box-Muller), as the fixtures' torch.randn inputs. */
function normals(seed: number, n: number): Float32Array {
  let s = seed >>> 0 || 1;
  const u = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return (s + 0.5) / 2 ** 32; };
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}
const writeNpy = (file: string, shape: number[], data: ArrayLike<number>, dtype: 'float32' | 'float64' = 'float32') =>
  fs.writeFileSync(file, serializeNpy(Tensor.fromNumbers(dtype, shape, data)));

function calibDir(n: number, shape = [1, 1, 28, 28]): string {
  const dir = tmp();
  const size = shape.reduce((a, b) => a * b, 1);
  for (let k = 0; k < n; k++) writeNpy(path.join(dir, `s${k}.npy`), shape, normals(100 + k, size));
  return dir;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i]! * b[i]!; na += a[i]! * a[i]!; nb += b[i]! * b[i]!; }
  return d / Math.sqrt(na * nb);
}

describe('aic quantize small_cnn', () => {
  const calib = calibDir(8);
  const dir = tmp();
  const out = path.join(dir, 'small.int8.onnx');
  const r = aic(['quantize', SMALL, '--calibrate', calib, '-o', out, '--report', '--report-json', path.join(dir, 'report.json')]);

  it('writes a QDQ model with int8 weights', () => {
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/quantized 4 layers \(minmax, per-channel int8 weights, uint8 activations\) on 8 samples/);
    const g = loadOnnxFile(out);
    expect(g.nodes.filter((n) => n.op === 'QuantizeLinear').length).toBeGreaterThanOrEqual(4);
    expect(g.constants.filter((c) => c.dtype === 'int8' && c.const!.rank >= 2).length).toBe(4);
    expect(g.nodes.some((n) => n.op === 'BatchNormalization')).toBe(false);
    const ratio = Number(/weights \d+ -> \d+ bytes \(([\d.]+)x smaller\)/.exec(r.out)![1]);
    expect(ratio).toBeGreaterThan(3.5);
  });

  it('ONNX Runtime runs it, with cosine similarity >= 0.99 to the float model', async () => {
    const opts = { intraOpNumThreads: 1, interOpNumThreads: 1 };
    const fp = await ort.InferenceSession.create(SMALL, opts), q = await ort.InferenceSession.create(out, opts);
    const inputs = [parseNpy(new Uint8Array(fs.readFileSync(SMALL.replace('.onnx', '.input.npy')))).num as Float32Array,
      ...[0, 1, 2, 3].map((k) => normals(500 + k, 784))];
    for (const x of inputs) {
      const feed = (s: ort.InferenceSession) => ({ [s.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(x), [1, 1, 28, 28]) });
      const a = (await fp.run(feed(fp)))[fp.outputNames[0]!]!.data as Float32Array;
      const b = (await q.run(feed(q)))[q.outputNames[0]!]!.data as Float32Array;
      expect(cosine(a, b)).toBeGreaterThanOrEqual(0.99);
    }
  });

  it('--report prints per-layer SQNR worst first (and --report-json the same rows)', () => {
    const rows = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as { name: string; op: string; sqnrDb: number; weightSqnrDb: number }[];
    expect(rows.length).toBe(4);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.sqnrDb).toBeGreaterThanOrEqual(rows[i - 1]!.sqnrDb);
    for (const row of rows) {
      expect(row.sqnrDb).toBeGreaterThan(20); // int8 gives ~6 dB per bit; a 4-layer net stays well above 20 dB
      expect(row.weightSqnrDb).toBeGreaterThan(35);
    }
    const table = r.out.split('\n').filter((l) => /^\/\S+\s+(Conv|Gemm)\s/.test(l));
    expect(table.map((l) => l.split(/\s+/)[0])).toEqual(rows.map((x) => x.name));
  });

  it('--exclude keeps the layer float', () => {
    const worst = (JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as { name: string }[])[0]!.name;
    const o2 = path.join(dir, 'ex.onnx');
    const r2 = aic(['quantize', SMALL, '--calibrate', calib, '-o', o2, '--exclude', worst, '--method', 'percentile']);
    expect(r2.code).toBe(0);
    expect(r2.out).toMatch(/quantized 3 layers \(percentile/);
    expect(loadOnnxFile(o2).constants.filter((c) => c.dtype === 'int8' && c.const!.rank >= 2).length).toBe(3);
  });

  it('writes the DSL (.aic + .bin) that aic runs', () => {
    const o3 = path.join(dir, 'q.aic');
    const r3 = aic(['quantize', SMALL, '--calibrate', calib, '-o', o3, '--method', 'entropy', '--per-tensor']);
    expect(r3.code).toBe(0);
    expect(fs.readFileSync(o3, 'utf8')).toMatch(/QuantizeLinear/);
    expect(fs.existsSync(path.join(dir, 'q.bin'))).toBe(true);
    const r4 = aic(['run', o3, '--input', `${calib}/s0.npy`, '--output-dir', dir]);
    expect(r4.code).toBe(0);
    expect(parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'output.npy')))).shape).toEqual([1, 10]);
  });
});

describe('aic quantize diagnostics', () => {
  const dir = tmp();
  /** a two-input model: y = MatMul(a, b) */
  const two = path.join(dir, 'two.onnx');
  fs.writeFileSync(two, buildModel([{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'], name: 'mm' }],
    [{ name: 'a', shape: [1, 4] }, { name: 'b', shape: [4, 3] }], [{ name: 'y', shape: [1, 3] }]));
  const fail = (args: string[], code: number, re: RegExp) => {
    const o = path.join(tmp(), 'out.onnx');
    const r = aic(['quantize', ...args, '-o', o]);
    expect(r.err).toMatch(re);
    expect(r.code).toBe(code);
    expect(fs.existsSync(o)).toBe(false);
  };

  it('an empty folder, a missing folder', () => {
    fail([SMALL, '--calibrate', tmp()], 1, /AIC0410.*holds no \.npy sample/);
    fail([SMALL, '--calibrate', path.join(dir, 'nope')], 1, /AIC0001/);
  });

  it('a sample of the wrong shape or dtype', () => {
    const c = calibDir(2);
    writeNpy(path.join(c, 's9.npy'), [1, 1, 28, 27], new Float32Array(28 * 27));
    fail([SMALL, '--calibrate', c], 1, /AIC0411.*s9\.npy.*expected float32 \[1, 1, 28, 28\], got float32 \[1, 1, 28, 27\]/);
    const d = calibDir(1);
    writeNpy(path.join(d, 's1.npy'), [1, 1, 28, 28], new Float64Array(784), 'float64');
    fail([SMALL, '--calibrate', d], 1, /AIC0411.*got float64/);
  });

  it('several inputs: one sub-folder per input, samples matched by file name', () => {
    const c = tmp();
    fs.mkdirSync(path.join(c, 'a'));
    writeNpy(path.join(c, 'a', '0.npy'), [1, 4], [1, 2, 3, 4]);
    fail([two, '--calibrate', c], 1, /AIC0412.*no sub-folder 'b'/);
    fs.mkdirSync(path.join(c, 'b'));
    writeNpy(path.join(c, 'b', '1.npy'), [4, 3], normals(1, 12));
    fail([two, '--calibrate', c], 1, /AIC0413.*'0\.npy' of input 'a' has no file of the same name for input 'b'/);
    fs.renameSync(path.join(c, 'b', '1.npy'), path.join(c, 'b', '0.npy'));
    const o = path.join(dir, 'two.int8.onnx');
    const r = aic(['quantize', two, '--calibrate', c, '-o', o]);
    expect(r.code).toBe(0);
    expect(loadOnnxFile(o).nodes.filter((n) => n.op === 'QuantizeLinear').length).toBe(2); // both MatMul operands
  });

  it('usage: unknown --exclude node, method, percentile; a model with nothing to quantize', () => {
    const c = calibDir(1);
    fail([SMALL, '--calibrate', c, '--exclude', '/nope/Conv'], 2, /AIC0414.*'\/nope\/Conv'.*quantizable nodes: \/f\/f\.0\/Conv/);
    fail([SMALL, '--calibrate', c, '--method', 'kl'], 2, /--method 'kl': expected minmax, percentile, entropy/);
    fail([SMALL, '--calibrate', c, '--method', 'percentile', '--percentile', '120'], 2, /--percentile '120'/);
    const relu = path.join(dir, 'relu.onnx');
    fs.writeFileSync(relu, buildModel([{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], [{ name: 'x', shape: [1, 1, 28, 28] }], [{ name: 'y', shape: [1, 1, 28, 28] }]));
    fail([relu, '--calibrate', c], 3, /AIC0415/);
  });
});
