/** The library API (packages/api, published as 'aic'): load, optimize, compile, run, inspect. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '@aic/core';
import { compile, inspect, isAicDiagnostic, load, optimize, run, targets, version, type Tensor } from '@aic/api';

const ROOT = path.resolve(import.meta.dirname, '..');
const FIX = path.join(ROOT, 'tests/fixtures/models');
const MODEL = `${FIX}/small_cnn.onnx`;
const input = parseNpy(new Uint8Array(fs.readFileSync(`${FIX}/small_cnn.input.npy`)));
const want = parseNpy(new Uint8Array(fs.readFileSync(`${FIX}/small_cnn.output.npy`)));

function expectClose(got: Tensor): void {
  expect(got.shape).toEqual(want.shape);
  const g = got.toNumbers();
  want.toNumbers().forEach((w, i) => expect(Math.abs(g[i] - w)).toBeLessThanOrEqual(1e-4 + 1e-3 * Math.abs(w)));
}

/** The diagnostic `fn` throws (failing the test when it throws anything else or nothing). */
async function diagnosticOf(fn: () => unknown): Promise<{ code: string; exitCode: number; message: string }> {
  try { await fn(); } catch (e) {
    if (isAicDiagnostic(e)) return e;
    throw e;
  }
  throw new Error('expected an aic diagnostic');
}

describe('library API', () => {
  it('load + inspect: the same figures as aic inspect --json', async () => {
    const m = await load(MODEL);
    const info = inspect(m);
    expect(info.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: [1, 1, 28, 28], kind: 'tensor' }]);
    expect(info.outputs.map((o) => o.name)).toEqual(['output']);
    expect(info.nodes).toBe(m.nodes.length);
    expect(info.ops.Conv).toBe(2);
    // small_cnn: conv 1->8 5x5 on 28x28 (24x24 out) and conv 8->16 5x5 on 12x12 (8x8 out), multiply-add = 2
    expect(info.flops).toBeGreaterThanOrEqual(2 * (8 * 24 * 24 * 25 + 16 * 8 * 8 * 8 * 25));
    expect(info.params).toBeGreaterThan(0);
  });

  it('load from bytes gives the same graph as from the file', async () => {
    const a = inspect(await load(MODEL));
    const b = inspect(await load(new Uint8Array(fs.readFileSync(MODEL))));
    expect(b).toEqual(a);
  });

  it('optimize returns a new model and leaves the input as it was', async () => {
    const m = await load(MODEL);
    const before = m.nodes.length;
    const r = optimize(m, { level: 2, target: 'wasm-simd' });
    expect(r.label).toBe('-O2');
    expect(r.model.nodes.length).toBeLessThan(before);
    expect(m.nodes.length).toBe(before);
    expect(r.passes.map((p) => p.pass)).toContain('fuse');
    expect(r.passes[0].nodesBefore).toBe(before);
    expect(r.passes[r.passes.length - 1].nodesAfter).toBe(r.model.nodes.length);
    const explained: string[] = [];
    optimize(m, { pipeline: 'fuse', explain: (e) => explained.push(`${e.rule}:${e.outcome}`) });
    expect(explained.some((e) => e.endsWith(':applied'))).toBe(true);
  });

  it('run on the interpreter and on wasm-simd matches PyTorch, from a Tensor or { dtype, shape, data }', async () => {
    const { model } = optimize(await load(MODEL));
    const a = await run(model, { input });
    expectClose(a.outputs.output);
    expect(a.values.output).toBe(a.outputs.output);
    const b = await run(model, { input: { dtype: 'float32', shape: [1, 1, 28, 28], data: Float32Array.from(input.toNumbers()) } }, { target: 'wasm-simd' });
    expectClose(b.outputs.output);
    expect(b.ms).toBeGreaterThan(0);
  });

  it('compile: forms, emit and write', async () => {
    const { model } = optimize(await load(MODEL), { target: 'c' });
    const c = compile(model, { target: 'c', source: 'small_cnn.onnx' });
    expect(c.forms).toEqual(['loops', 'schedule', 'c']);
    expect(c.kernels).toBe(model.nodes.length);
    expect(c.emit('c')).toMatch(/int\s+aic_model_run\(/);
    expect(c.memory.arenaBytes).toBeLessThanOrEqual(c.memory.naiveBytes);
    const w = compile(model, { target: 'wasm-simd' });
    expect(w.emit('wat').startsWith('(module')).toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-api-'));
    expect(w.write(dir).map((f) => path.basename(f)).sort()).toEqual(['README.md', 'model.d.ts', 'model.mjs', 'model.wasm', 'model.weights']);
    expect((await diagnosticOf(() => c.emit('wgsl'))).exitCode).toBe(2);
  });

  it('misuse is a diagnostic with the CLI exit code, never an internal error', async () => {
    const m = await load(MODEL);
    expect(await diagnosticOf(() => optimize({} as never))).toMatchObject({ code: 'AIC0360', exitCode: 2 });
    expect(await diagnosticOf(() => run(m, { input: { dtype: 'float32', shape: [2], data: [1] } }))).toMatchObject({ code: 'AIC0361', exitCode: 2 });
    expect(await diagnosticOf(() => run(m, { input: { dtype: 'float32', shape: [1, 1, 28, 27], data: new Float32Array(28 * 27) } }))).toMatchObject({ exitCode: 1 });
    expect(await diagnosticOf(() => run(m, {}))).toMatchObject({ code: 'AIC0032' });
    expect(await diagnosticOf(() => compile(m, { target: 'nope' }))).toMatchObject({ exitCode: 2 });
    expect(await diagnosticOf(() => compile(m, { target: 'interp' }))).toMatchObject({ exitCode: 3 });
    expect(await diagnosticOf(() => optimize(m, { level: 1, pipeline: 'fuse' }))).toMatchObject({ exitCode: 2 });
    expect(await diagnosticOf(() => load('/no/such/model.onnx'))).toMatchObject({ code: 'AIC0001', exitCode: 1 });
  });

  it('a DSL file: symbolic dims bound by inputShapes, a shape-deciding input bound by constInputs, then compiled', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-api-dsl-'));
    const file = path.join(dir, 'm.aic');
    fs.writeFileSync(file, 'graph g(x: f32[N, 3], s: i64[2]) -> (y) {\n  y = Relu(Reshape(x, s))\n}\n');
    const free = await load(file);
    expect(free.inputs.map((v) => [v.name, v.shape])).toEqual([['x', ['N', 3]], ['s', [2]]]);
    const m = await load(file, { inputShapes: { x: [2, 3] }, constInputs: { s: { dtype: 'int64', shape: [2], data: [3, 2] } } });
    expect(m.inputs.map((v) => [v.name, v.shape])).toEqual([['x', [2, 3]]]);
    expect(m.outputs[0].shape).toEqual([3, 2]);
    const r = await run(m, { x: { dtype: 'float32', shape: [2, 3], data: [1, -2, 3, -4, 5, -6] } }, { target: 'wasm-simd' });
    expect(r.outputs.y.shape).toEqual([3, 2]);
    expect(r.outputs.y.toNumbers()).toEqual([1, 0, 3, 0, 5, 0]);
    expect(compile(m, { target: 'c' }).emit('c')).toContain('aic_model_run');
    expect(await diagnosticOf(() => load(file, { constInputs: { t: { dtype: 'int64', shape: [2], data: [3, 2] } } }))).toMatchObject({ exitCode: 2 });
  });

  it('version and targets', () => {
    expect(version).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    const t = targets();
    expect(t.find((x) => x.name === 'wasm-simd')).toMatchObject({ compile: true, run: true });
    expect(t.find((x) => x.name === 'interp')).toMatchObject({ compile: false, run: true });
  });
});
