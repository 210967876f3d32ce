/**
 * Interleaved rows (codegen/schedule/row-interleave.ts): on the WebAssembly targets a reduction stage
 * no vector tile fits (rows read at a stride) computes 4 rows together, the reduction outside them;
 * C does so with 8 rows for reductions of >= 32 elements per row (shorter ones keep C's own
 * schedules), LayerNorm's statistics and Softmax's max and sum among them (compute stages of their
 * kernels). Results match the reference interpreter exactly (each row
 * reduces in its own order) on odd row counts (clamped tail), fewer rows than the interleave, and
 * NaN inputs to a max.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type Graph, type RValue } from '@aic/core';
import { loadOnnx } from '@aic/onnx';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { buildC, compileC, compileWasm, passTarget, runC, runWasm } from '@aic/codegen';
import { buildModel } from '../onnx-builder.ts';

function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 31 - 1; });
}

function reduceModel(op: string, shape: number[], nan = false): { graph: () => Graph; feeds: Map<string, RValue> } {
  const out = [...shape.slice(0, -1), 1];
  const bytes = buildModel([{ op, inputs: ['x'], outputs: ['y'], attrs: { axes: [-1], keepdims: 1 } }],
    [{ name: 'x', shape }], [{ name: 'y', shape: out }], 11);
  const n = shape.reduce((a, b) => a * b, 1);
  const x = values(n, 5);
  if (nan) x[3] = NaN;
  return {
    graph: () => runPipeline(loadOnnx(bytes), pipelineFor(2), { target: passTarget('c'), out: () => {} }).graph,
    feeds: new Map([['x', new Tensor('float32', shape, Float32Array.from(x))]]),
  };
}

const meta = { version: 'test', source: 'row-interleave', sourceHash: '-' };
const reduceKernel = (s: Map<string, unknown>) => [...s.keys()].find((k) => k.includes('reduce'))!;

describe('interleaved rows for reductions without a vector tile', () => {
  const cases: [string, number[], boolean][] = [
    ['ReduceMax', [3, 5, 7], true], ['ReduceSum', [2, 9, 13], false], ['ReduceMean', [1, 3, 6], false], ['ReduceMax', [4, 16, 33], false],
  ];
  for (const [op, shape, nan] of cases) {
    it(`${op} over the last axis of [${shape.join(', ')}]${nan ? ' with a NaN' : ''}: wasm-simd and wasm match the reference bit for bit`, async () => {
      const { graph, feeds } = reduceModel(op, shape, nan);
      const want = run(graph(), feeds).get('y') as Tensor;
      for (const simd of [true, false]) {
        const w = compileWasm(graph(), { ...meta, simd });
        const k = reduceKernel(w.prog.schedules);
        const dirs = w.prog.schedules.get(k)!;
        const rows = shape[shape.length - 2];
        expect(dirs).toContainEqual({ d: 'unroll', axis: expect.stringMatching(/_i$/) });
        expect(dirs.find((d) => d.d === 'split')).toMatchObject({ factor: Math.min(4, rows), ...(rows % 4 && rows > 4 ? { tail: 'clamp' } : {}) });
        const got = (await runWasm(w, feeds)).get('y') as Tensor;
        expect(got.shape).toEqual(want.shape);
        expect(Array.from(got.num, (v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(Array.from(want.num, (v) => (Number.isNaN(v) ? 'NaN' : v)));
      }
      // C keeps its own schedules for rows under 32 elements; 8 rows at a time from 32
      const c = compileC(graph(), meta);
      const cDirs = c.prog.schedules.get(reduceKernel(c.prog.schedules)) ?? [];
      if (shape[shape.length - 1]! < 32) expect(cDirs).not.toContainEqual(expect.objectContaining({ d: 'unroll' }));
      else expect(cDirs.find((d) => d.d === 'split')).toMatchObject({ factor: 8 });
      const gotC = runC(buildC(c.art, c.prog), c.art, c.prog, feeds).outputs.get('y') as Tensor;
      expect(Array.from(gotC.num, (v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(Array.from(want.num, (v) => (Number.isNaN(v) ? 'NaN' : v)));
    }, 60_000);
  }

  for (const [op, shape, attrs, inputs] of [
    ['LayerNormalization', [2, 37, 96], { axis: -1, epsilon: 1e-5 }, ['x', 'g', 'b']],
    ['Softmax', [3, 50, 49], { axis: -1 }, ['x']],
  ] as const) {
    it(`C: ${op} over [${shape.join(', ')}] has its row statistics as stages interleaved 8 rows at a time, bit for bit`, () => {
      const C = shape[shape.length - 1]!;
      const inits = inputs.length > 1 ? [
        { name: 'g', dims: [C], floats: values(C, 7).map((v) => 1 + v / 4) },
        { name: 'b', dims: [C], floats: values(C, 9) },
      ] : [];
      const bytes = buildModel([{ op, inputs: [...inputs], outputs: ['y'], attrs }], [{ name: 'x', shape: [...shape] }], [{ name: 'y', shape: [...shape] }], 17, inits);
      const graph = () => runPipeline(loadOnnx(bytes), pipelineFor(2), { target: passTarget('c'), out: () => {} }).graph;
      const n = shape.reduce((a, b) => a * b, 1);
      const feeds = new Map<string, RValue>([['x', new Tensor('float32', [...shape], Float32Array.from(values(n, 3), (v) => 4 * v))]]);
      const want = run(graph(), feeds).get('y') as Tensor;
      const c = compileC(graph(), meta);
      const dirs = [...c.prog.schedules.values()].flat();
      // two interleaved reductions: the mean and variance / the max and sum
      expect(dirs.filter((d) => d.d === 'unroll' && d.axis.endsWith('_i')).length).toBeGreaterThanOrEqual(2);
      const got = runC(buildC(c.art, c.prog), c.art, c.prog, feeds).outputs.get('y') as Tensor;
      // the same bits as the kernel left unscheduled; within float rounding of the reference (C's exp
      // is not JavaScript's)
      const k = [...c.prog.schedules.keys()][0]!;
      const bare = compileC(graph(), { ...meta, schedules: new Map([[k, []]]) });
      expect(bare.prog.schedules.get(k) ?? []).toEqual([]);
      const plain = runC(buildC(bare.art, bare.prog), bare.art, bare.prog, feeds).outputs.get('y') as Tensor;
      expect(Array.from(got.num)).toEqual(Array.from(plain.num));
      got.num.forEach((v, i) => expect(Math.abs(v - want.num[i]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want.num[i]!))));
    }, 60_000);
  }

  it('C: rows of >= 512 elements (a global mean over a 28x28 plane) are interleaved 8 at a time, bit for bit', () => {
    const { graph, feeds } = reduceModel('ReduceSum', [2, 11, 784], false);
    const want = run(graph(), feeds).get('y') as Tensor;
    const c = compileC(graph(), meta);
    const dirs = c.prog.schedules.get(reduceKernel(c.prog.schedules))!;
    expect(dirs.find((d) => d.d === 'split')).toMatchObject({ factor: 8, tail: 'clamp' });
    expect(dirs).toContainEqual({ d: 'unroll', axis: expect.stringMatching(/_i$/) });
    const got = runC(buildC(c.art, c.prog), c.art, c.prog, feeds).outputs.get('y') as Tensor;
    expect(Array.from(got.num)).toEqual(Array.from(want.num));
  }, 60_000);
});
