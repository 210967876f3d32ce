/**
 * Interleaved rows (codegen/schedule/row-interleave.ts): on the WebAssembly targets a reduction stage
 * no vector tile fits (rows read at a stride) computes 4 rows together, the reduction outside them;
 * C does so with 8 rows only for reductions of >= 512 elements per row (shorter ones keep C's own
 * schedules). Results match the reference interpreter exactly (each row
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
      // C keeps its own schedules for short rows (no interleaved rows)
      const c = compileC(graph(), meta);
      expect(c.prog.schedules.get(reduceKernel(c.prog.schedules)) ?? []).not.toContainEqual(expect.objectContaining({ d: 'unroll' }));
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
