/**
 * No data work at compile time, and outputs whose size the data decides in generated code (issue 13):
 * `aic run` binds only inputs that feed shape slots (through shape arithmetic on the input itself);
 * NonZero, Unique, NonMaxSuppression and Compress with run-time inputs get a bounded buffer and a
 * run-time extent, on the loop-IR interpreter, C, WebAssembly SIMD and WGSL (skipped, with the reason,
 * when no WebGPU adapter can be created), matching the reference
 * interpreter; a consumer of such a value is refused with AIC0340 (exit 3).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AicError, Graph, Node, Tensor, Value, parseNpy, serializeNpy, type Attr, type RValue } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { loadOnnx } from '@aic/onnx';
import { LOOPS_CAPS, buildC, closeWgsl, compileC, compileWasm, compileWgsl, computeKernels, lowerGraph, onLowered, prepareForRun, runC, runProgram, runWasm, runWgsl, shapeInputs, wgslAdapter } from '@aic/codegen';
import { RUNNERS } from '../../scripts/conformance.ts';
import { buildModel } from '../onnx-builder.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const t = (dtype: Tensor['dtype'], shape: number[], v: number[]) => Tensor.fromNumbers(dtype, shape, v);
const A = { int: (value: number): Attr => ({ type: 'int', value }) };

/** A graph of one node whose inputs are all graph inputs (`consts`: those that are constants instead). */
function oneNode(op: string, inputs: Tensor[], attrs: Record<string, Attr> = {}, outputs = 1, consts: number[] = []) {
  const g = new Graph('dyn');
  const feeds = new Map<string, RValue>();
  const ins = inputs.map((x, i) => {
    const v = new Value(`in${i}`, { dtype: x.dtype, shape: x.shape.slice() });
    if (consts.includes(i)) { v.const = x; g.constants.push(v); } else { g.inputs.push(v); feeds.set(v.name, x); }
    return v;
  });
  const outs = Array.from({ length: outputs }, (_, i) => new Value(`out${i}`, { dtype: 'float32', shape: undefined }));
  g.nodes.push(new Node({ op, inputs: ins, outputs: outs, attrs }));
  g.outputs = outs;
  inferGraph(g, { strict: true });
  return { g, feeds };
}

/** Run on a compiled runner and the reference; same dtypes, shapes and values; returns the compute kernels run. */
function expectSame(target: string, op: string, inputs: Tensor[], attrs: Record<string, Attr> = {}, outputs = 1): number {
  const ref = run(oneNode(op, inputs, attrs, outputs).g, oneNode(op, inputs, attrs, outputs).feeds);
  const { g, feeds } = oneNode(op, inputs, attrs, outputs);
  let kernels = -1;
  const stop = onLowered((p) => { kernels = computeKernels(p); });
  let got: Map<string, RValue>;
  try { got = RUNNERS[target]!(g, feeds); } finally { stop(); }
  for (const v of g.outputs) {
    const a = got.get(v.name) as Tensor, b = ref.get(v.name) as Tensor;
    expect(a.dtype, `${op} ${v.name}`).toBe(b.dtype);
    expect(a.shape, `${op} ${v.name}`).toEqual(b.shape);
    expect(Array.from(a.num), `${op} ${v.name}`).toEqual(Array.from(b.num));
  }
  return kernels;
}

const X = t('float32', [3, 4], [0, 1.5, 0, -2, 3, 0, 0, 0, 1, 1, 0, 7]);
const boxes = t('float32', [1, 6, 4], [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, -0.1, 1, 0.9, 0, 10, 1, 11, 0, 10.1, 1, 11.1, 0, 100, 1, 101]);
const scores = t('float32', [1, 2, 6], [0.9, 0.75, 0.6, 0.95, 0.5, 0.3, 0.1, 0.2, 0.8, 0.9, 0.3, 0.4]);

let wgslSkip: string | undefined;
beforeAll(async () => {
  try { await wgslAdapter(); } catch (e) { wgslSkip = `SKIPPED wgsl: no WebGPU adapter: ${(e as Error).message}`; console.warn(wgslSkip); }
}, 120_000);
afterAll(() => closeWgsl());

for (const target of ['loops', 'c', 'wasm-simd', 'wgsl']) {
  describe(`data-dependent output sizes via ${target}`, () => {
    beforeEach((ctx) => { if (target === 'wgsl' && wgslSkip) ctx.skip(); });
    it('NonZero, all zero, one-dimensional and 3-D', () => {
      expect(expectSame(target, 'NonZero', [X])).toBe(1);
      expectSame(target, 'NonZero', [t('float32', [5], [0, 0, 0, 0, 0])]);
      expectSame(target, 'NonZero', [t('int32', [2, 2, 3], [1, 0, 2, 0, 0, 3, 4, 0, 0, 0, 5, 6])]);
      expectSame(target, 'NonZero', [t('bool', [4], [1, 0, 1, 1])]);
    });
    it('Unique, sorted and in first-occurrence order, flattened and along an axis, every output', () => {
      const u = t('float32', [8], [2, 1, 1, 3, 4, 3, -1, 2]);
      const m = t('int64', [3, 4], [1, 0, 1, 0, 2, 5, 2, 5, 1, 0, 1, 0]);
      for (const sorted of [0, 1]) {
        expect(expectSame(target, 'Unique', [u], { sorted: A.int(sorted) }, 4)).toBe(1);
        expectSame(target, 'Unique', [m], { sorted: A.int(sorted) }, 4);
        expectSame(target, 'Unique', [m], { sorted: A.int(sorted), axis: A.int(0) }, 4);
        expectSame(target, 'Unique', [m], { sorted: A.int(sorted), axis: A.int(-1) }, 4);
      }
    });
    it('NonMaxSuppression with run-time boxes, scores and thresholds', () => {
      for (const max of [0, 1, 3]) {
        expect(expectSame(target, 'NonMaxSuppression', [boxes, scores, t('int64', [1], [max]), t('float32', [1], [0.5]), t('float32', [1], [0.35])])).toBe(1);
      }
      expectSame(target, 'NonMaxSuppression', [boxes, scores, t('int64', [1], [2]), t('float32', [1], [0.5])]);
    });
    it('Compress with a run-time condition, with and without an axis', () => {
      const c = t('bool', [3], [1, 0, 1]);
      expect(expectSame(target, 'Compress', [X, c], { axis: A.int(0) })).toBe(1);
      expectSame(target, 'Compress', [X, t('bool', [4], [0, 1, 1, 0])], { axis: A.int(1) });
      expectSame(target, 'Compress', [X, t('bool', [5], [0, 1, 1, 0, 1])]);
      expectSame(target, 'Compress', [X, t('bool', [2], [0, 0])], { axis: A.int(0) });
    });
  });
}

/** Compile with no input bound (as `aic compile` does) and run. */
async function runUnbound(target: string, g: Graph, feeds: Map<string, RValue>): Promise<Map<string, Tensor>> {
  const meta = { version: 'test', source: 'dyn', sourceHash: '-' };
  if (target === 'loops') return runProgram(lowerGraph(g, LOOPS_CAPS), feeds);
  if (target === 'c') { const c = compileC(g, meta); return runC(buildC(c.art, c.prog), c.art, c.prog, feeds).outputs; }
  if (target === 'wgsl') return (await runWgsl(compileWgsl(g, meta), feeds)).outputs;
  return runWasm(compileWasm(g, { ...meta, simd: true }), feeds);
}

describe('TopK with K given at run time (compiled with no input bound)', () => {
  const x = t('float32', [2, 5], [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]);
  for (const target of ['loops', 'c', 'wasm-simd', 'wgsl']) {
    it(`${target}: every K in [0, 5], largest and smallest, along both axes; K = 6 fails as the interpreter does`, async (ctx) => {
      if (target === 'wgsl' && wgslSkip) return ctx.skip();
      for (const [axis, largest, k] of [[1, 1, 3], [1, 0, 5], [1, 1, 0], [0, 1, 1], [0, 0, 2]] as const) {
        const attrs = { axis: A.int(axis), largest: A.int(largest) };
        const ins = [x, t('int64', [1], [k])];
        const ref = run(oneNode('TopK', ins, attrs, 2).g, oneNode('TopK', ins, attrs, 2).feeds);
        const { g, feeds } = oneNode('TopK', ins, attrs, 2);
        const got = await runUnbound(target, g, feeds);
        for (const o of ['out0', 'out1']) {
          expect((got.get(o) as Tensor).shape, `${o} K=${k}`).toEqual((ref.get(o) as Tensor).shape);
          expect(Array.from((got.get(o) as Tensor).num), `${o} K=${k}`).toEqual(Array.from((ref.get(o) as Tensor).num));
        }
      }
      const { g, feeds } = oneNode('TopK', [x, t('int64', [1], [6])], {}, 2);
      const err = await runUnbound(target, g, feeds).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(AicError);
      expect((err as AicError).exitCode).toBe(1);
      expect((err as AicError).message).toMatch(/K 6 is out of range \[0, 5\]/);
    }, 60_000);
  }
});

describe('row-wise consumers of a bounded value share its extent', () => {
  /** NonMaxSuppression -> Gather(column 2) -> Gather(boxes by index) -> Mul; x[x > 0.5]; Unique -> Cast -> Add */
  const models = {
    nms: buildModel([
      { op: 'NonMaxSuppression', inputs: ['boxes', 'scores', 'max', 'iou'], outputs: ['sel'] },
      { op: 'Gather', inputs: ['sel', 'col'], outputs: ['idx'], attrs: { axis: 1 } },
      { op: 'Gather', inputs: ['table', 'idx'], outputs: ['picked'], attrs: { axis: 0 } },
      { op: 'Mul', inputs: ['picked', 'two'], outputs: ['y'] },
    ], [{ name: 'boxes', shape: [1, 6, 4] }, { name: 'scores', shape: [1, 2, 6] }, { name: 'max', dtype: 7, shape: [1] }, { name: 'iou', shape: [1] },
      { name: 'col', dtype: 7, shape: [] }, { name: 'table', shape: [6, 4] }, { name: 'two', shape: [1] }], [{ name: 'y', shape: ['n', 4] }]),
    // the boolean-mask pattern: NonZero -> Transpose -> GatherND (a consumer reading by the run-time extent)
    mask: buildModel([
      { op: 'Greater', inputs: ['x', 'zero'], outputs: ['m'] },
      { op: 'NonZero', inputs: ['m'], outputs: ['nz'] },
      { op: 'Transpose', inputs: ['nz'], outputs: ['ix'], attrs: { perm: [1, 0] } },
      { op: 'GatherND', inputs: ['x', 'ix'], outputs: ['g'] },
      { op: 'Neg', inputs: ['g'], outputs: ['y'] },
    ], [{ name: 'x', shape: [3, 4] }, { name: 'zero', shape: [1] }], [{ name: 'y', shape: ['n'] }]),
    unique: buildModel([
      { op: 'Unique', inputs: ['x'], outputs: ['u'] },
      { op: 'Cast', inputs: ['u'], outputs: ['c'], attrs: { to: 6 } },
      { op: 'Add', inputs: ['c', 'c'], outputs: ['y'] },
    ], [{ name: 'x', shape: [8] }], [{ name: 'y', dtype: 6, shape: ['n'] }]),
  };
  const feeds = {
    nms: new Map<string, RValue>([['boxes', boxes], ['scores', scores], ['max', t('int64', [1], [3])], ['iou', t('float32', [1], [0.5])],
      ['col', t('int64', [], [2])], ['table', t('float32', [6, 4], Array.from({ length: 24 }, (_, i) => i - 5))], ['two', t('float32', [1], [2])]]),
    mask: new Map<string, RValue>([['x', X], ['zero', t('float32', [1], [0.5])]]),
    unique: new Map<string, RValue>([['x', t('float32', [8], [2.5, 1, 1, 3.7, -4.2, 3.7, -1, 2.5])]]),
  };
  for (const target of ['loops', 'c', 'wasm-simd', 'wgsl']) {
    it(`${target}: NonMaxSuppression -> Gather -> Gather -> Mul, NonZero -> Transpose -> GatherND and Unique -> Cast -> Add match the interpreter`, (ctx) => {
      if (target === 'wgsl' && wgslSkip) return ctx.skip();
      for (const k of ['nms', 'mask', 'unique'] as const) {
        const want = run(loadOnnx(models[k]), feeds[k]).get('y') as Tensor;
        let kernels = -1;
        const stop = onLowered((p) => { kernels = computeKernels(p); });
        let got: Tensor;
        try { got = RUNNERS[target]!(loadOnnx(models[k]), feeds[k]).get('y') as Tensor; } finally { stop(); }
        expect(kernels, k).toBeGreaterThanOrEqual(3);
        expect(got.shape, k).toEqual(want.shape);
        expect(Array.from(got.num), k).toEqual(Array.from(want.num));
      }
    }, 60_000);
  }
});

describe('a Transpose moves the run-time dim (compacted in place)', () => {
  // NonZero's [rank, N] -> [N, rank] -> Neg (row-wise on the moved dim) -> [rank, N] again
  function chain(x: Tensor) {
    const { g, feeds } = oneNode('NonZero', [x]);
    const mid = new Value('tr', { dtype: 'int64', shape: undefined }), neg = new Value('ng', { dtype: 'int64', shape: undefined }), back = new Value('bk', { dtype: 'int64', shape: undefined });
    g.nodes.push(new Node({ op: 'Transpose', name: 't1', inputs: [g.outputs[0]!], outputs: [mid], attrs: {} }));
    g.nodes.push(new Node({ op: 'Neg', name: 'n1', inputs: [mid], outputs: [neg], attrs: {} }));
    g.nodes.push(new Node({ op: 'Transpose', name: 't2', inputs: [neg], outputs: [back], attrs: { perm: { type: 'ints', value: [1, 0] } } }));
    g.outputs = [mid, back];
    inferGraph(g);
    return { g, feeds };
  }
  for (const target of ['loops', 'c', 'wasm-simd']) {
    it(`${target}: NonZero -> Transpose -> Neg -> Transpose matches the interpreter`, () => {
      for (const x of [X, t('float32', [3, 4], new Array(12).fill(0)), t('float32', [3, 4], new Array(12).fill(1))]) {
        const ref = run(chain(x).g, chain(x).feeds);
        const { g, feeds } = chain(x);
        const got = RUNNERS[target]!(g, feeds);
        for (const name of ['tr', 'bk']) {
          const a = got.get(name) as Tensor, b = ref.get(name) as Tensor;
          expect(a.shape, name).toEqual(b.shape);
          expect(Array.from(a.num, (v) => v + 0), name).toEqual(Array.from(b.num)); // the loop-IR interpreter's integer Neg gives -0
        }
      }
    });
  }
});

describe('what a compiled target refuses', () => {
  it('a value whose size the data decides feeding a node that does not work row by row: AIC0340, exit 3, naming both', () => {
    const { g } = oneNode('NonZero', [X]);
    const y = new Value('yt', { dtype: 'int64', shape: undefined });
    g.nodes.push(new Node({ op: 'Neg', name: 'tr', inputs: [g.outputs[0]!], outputs: [y], attrs: {} }));
    g.outputs = [y];
    inferGraph(g);
    let err: unknown;
    try { lowerGraph(g, LOOPS_CAPS); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(AicError);
    expect((err as AicError).code).toBe('AIC0340');
    expect((err as AicError).exitCode).toBe(3);
    expect((err as AicError).format()).toMatch(/value 'out0' \(from NonZero\).*feeds Neg 'tr'/);
  });
});

describe('which inputs a run binds', () => {
  /** Reshape(data, shape) where shape = f(s) for a chain of ops */
  function reshapeVia(chain: string[]) {
    const g = new Graph('bind');
    const data = new Value('data', { dtype: 'float32', shape: [2, 6] });
    const s = new Value('s', { dtype: chain.includes('Relu') ? 'float32' : 'int64', shape: [2] });
    g.inputs.push(data, s);
    let cur = s;
    chain.forEach((op, i) => {
      const o = new Value(`c${i}`, { dtype: 'float32', shape: undefined });
      g.nodes.push(new Node({ op, inputs: [cur], outputs: [o], attrs: op === 'Cast' ? { to: { type: 'int', value: 7 } } : {} }));
      cur = o;
    });
    const y = new Value('y', { dtype: 'float32', shape: undefined });
    g.nodes.push(new Node({ op: 'Reshape', inputs: [data, cur], outputs: [y], attrs: {} }));
    g.outputs = [y];
    inferGraph(g);
    return g;
  }
  it('directly, and through shape arithmetic on the input itself', () => {
    expect(shapeInputs(reshapeVia([])).inputs.map((b) => [b.input.name, b.node.op, b.slot, b.via])).toEqual([['s', 'Reshape', 'shape', []]]);
    expect(shapeInputs(reshapeVia(['Abs', 'Cast'])).inputs.map((b) => [b.input.name, b.via])).toEqual([['s', ['Abs', 'Cast']]]);
  });
  it('never through a data op, nor NonZero / Unique / NonMaxSuppression / Compress data', () => {
    expect(shapeInputs(reshapeVia(['Relu', 'Cast'])).inputs).toEqual([]);
    expect(shapeInputs(oneNode('NonZero', [X]).g).inputs).toEqual([]);
    expect(shapeInputs(oneNode('Unique', [X], {}, 4).g).inputs).toEqual([]);
    expect(shapeInputs(oneNode('Compress', [X, t('bool', [3], [1, 0, 1])], { axis: A.int(0) }).g).inputs).toEqual([]);
    expect(shapeInputs(oneNode('NonMaxSuppression', [boxes, scores, t('int64', [1], [2])]).g).inputs).toEqual([]);
    // TopK's K is a shape slot
    expect(shapeInputs(oneNode('TopK', [X, t('int64', [1], [2])], {}, 2).g).inputs.map((b) => b.input.name)).toEqual(['in1']);
  });
  it('binding folds only the shape arithmetic: the op it feeds stays a kernel', () => {
    const { g, feeds } = oneNode('Range', [t('int64', [], [1]), t('int64', [], [9]), t('int64', [], [2])]);
    prepareForRun(g, feeds);
    const p = lowerGraph(g, LOOPS_CAPS);
    expect(computeKernels(p)).toBe(1);
  });
});

describe('aic run MatMul -> Relu -> NonZero (the whole model in generated code)', () => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-dynsize-'));
    fs.writeFileSync(path.join(dir, 'm.onnx'), buildModel([
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['m'] },
      { op: 'Relu', inputs: ['m'], outputs: ['r'] },
      { op: 'NonZero', inputs: ['r'], outputs: ['y'] },
    ], [{ name: 'x', shape: [3, 4] }, { name: 'w', shape: [4, 5] }], [{ name: 'y', dtype: 7, shape: [2, 'n'] }]));
    const sin = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + 0.3) * k);
    fs.writeFileSync(path.join(dir, 'x.npy'), serializeNpy(new Tensor('float32', [3, 4], sin(12, 1))));
    fs.writeFileSync(path.join(dir, 'w.npy'), serializeNpy(new Tensor('float32', [4, 5], sin(20, 0.7))));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const aic = (target: string) => spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), 'run', path.join(dir, 'm.onnx'), '--target', target,
    '--input', `x=${dir}/x.npy`, '--input', `w=${dir}/w.npy`, '--output-dir', path.join(dir, target), '--verbose'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  it('matches the interpreter on c and wasm-simd, runs its nodes there and binds nothing', () => {
    expect(aic('interp').status).toBe(0);
    const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'interp', 'y.npy'))));
    expect(want.shape[1]).toBeGreaterThan(0);
    for (const target of ['c', 'wasm-simd']) {
      const r = aic(target);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`ran [1-9]\\d* nodes on '${target}'`));
      expect(r.stderr).not.toMatch(/decides a shape/);
      const got = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, target, 'y.npy'))));
      expect(got.shape).toEqual(want.shape);
      expect(Array.from(got.num)).toEqual(Array.from(want.num));
    }
  }, 120_000);
  it('--verbose names the inputs a run binds: a Reshape shape through Cast, not the data', () => {
    fs.writeFileSync(path.join(dir, 'r.onnx'), buildModel([
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Cast', inputs: ['s'], outputs: ['s64'], attrs: { to: 7 } },
      { op: 'Reshape', inputs: ['r', 's64'], outputs: ['y'] },
    ], [{ name: 'x', shape: [3, 4] }, { name: 's', dtype: 6, shape: [2] }], [{ name: 'y', shape: ['a', 'b'] }]));
    fs.writeFileSync(path.join(dir, 's.npy'), serializeNpy(new Tensor('int32', [2], Int32Array.from([4, 3]))));
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), 'run', path.join(dir, 'r.onnx'), '--target', 'c', '--input', `x=${dir}/x.npy`,
      '--input', `s=${dir}/s.npy`, '--output-dir', path.join(dir, 'r'), '--verbose'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/input 's' decides a shape \(Reshape 'shape' through Cast\)/);
    expect(r.stderr).not.toMatch(/input 'x'/);
    expect(r.stdout).toMatch(/ran 2 nodes on 'c'/);
  }, 120_000);
  it('aic compile: model.h and model.d.ts say the bound and where the extent is; model.mjs returns just the elements', async () => {
    const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'interp', 'y.npy'))));
    const compile = (target: string) => spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), 'compile', path.join(dir, 'm.onnx'), '--target', target,
      '-o', path.join(dir, `art-${target}`)], { encoding: 'utf8' });
    expect(compile('c').status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'art-c', 'model.h'), 'utf8')).toMatch(/output 0: 'y' int64 \[2, <=15\], dim 1 known when the model runs \(output 'y:extent'/);
    expect(compile('wasm-simd').status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'art-wasm-simd', 'model.d.ts'), 'utf8')).toMatch(/int64 \[2, <=15\]: dim 1 is known when the model runs/);
    const { load } = await import(path.join(dir, 'art-wasm-simd', 'model.mjs')) as { load: () => Promise<{ run: (f: object) => Promise<Record<string, ArrayLike<bigint | number>>> }> };
    const npy = (f: string) => parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, f)))).num as Float32Array;
    const out = await (await load()).run({ x: npy('x.npy'), w: npy('w.npy') });
    expect(Number(out['y:extent']![0])).toBe(want.shape[1]);
    expect(Array.from(out.y!, Number)).toEqual(Array.from(want.num));
  }, 120_000);
});
