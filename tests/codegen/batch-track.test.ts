/**
 * A symbolic batch that ops move and merge (codegen/lower/batch-track.ts): x [B, S, D] transposed to
 * [S, B, D] and reshaped to [S, B*2, D/2] (as a transformer's attention splits heads) is still run per
 * sample, on c and wasm-simd, matching the interpreter on the whole batch; a reshape that reorders
 * samples and a matmul that contracts along the batch stay AIC0451, saying why. A batch that an op mixes
 * along (a mean over the batch) becomes a run-time extent when --max-shape gives its maximum (compiled
 * once, matching the interpreter at two batches); beside a sequence length that is AIC0476.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tensor } from '@aic/core';
import { buildModel, type NodeSpec } from '../onnx-builder.ts';
import { compileSymbolic, reference } from '../symbolic-harness.ts';
import { compileWithSymbols } from '../extent-harness.ts';
import { loadGraph } from '@aic/api/internal';
import { run } from '@aic/interp';
import { rnd } from '../encoder-model.ts';
import { excess } from '../model-zoo.ts';

const S = 3, D = 8;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-batch-track-'));

/** x [B, S, D] through `nodes` to y; Constant shapes as value_ints */
function model(name: string, nodes: NodeSpec[], y: (number | string)[]): string {
  const f = path.join(dir, `${name}.onnx`);
  fs.writeFileSync(f, buildModel(nodes, [{ name: 'x', shape: ['B', S, D] }], [{ name: 'y', shape: y }], 13, [{ name: 'w', dims: [D / 2, D / 2], floats: rnd(D * D / 4, 3) }]));
  return f;
}
const shape = (out: string, ints: number[]): NodeSpec => ({ op: 'Constant', inputs: [], outputs: [out], attrs: { value_ints: ints } });

let heads = '';
beforeAll(() => {
  heads = model('heads', [
    { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [1, 0, 2] } }, // [S, B, D]
    shape('s1', [0, -1, D / 2]),
    { op: 'Reshape', inputs: ['t', 's1'], outputs: ['h'] }, // [S, B*2, D/2]
    { op: 'MatMul', inputs: ['h', 'w'], outputs: ['hw'] },
    { op: 'Softmax', inputs: ['hw'], outputs: ['p'], attrs: { axis: -1 } },
    shape('s2', [S, -1]),
    { op: 'Reshape', inputs: ['p', 's2'], outputs: ['flat'] }, // [S, B*D]
    shape('s3', [S, -1, D]),
    { op: 'Reshape', inputs: ['flat', 's3'], outputs: ['back'] }, // [S, B, D]
    { op: 'Transpose', inputs: ['back'], outputs: ['y'], attrs: { perm: [1, 0, 2] } },
  ], ['B', S, D]);
});

describe.each(['c', 'wasm-simd'] as const)('a batch moved to dim 1 and split with heads on %s', (target) => {
  it.each([1, 3])('is run per sample and matches the whole batch at B=%i', async (n) => {
    const a = await compileSymbolic(heads, target, {}, { B: 4 });
    expect(a.batch).toMatchObject({ symbol: 'B', inputs: ['x'], outputs: ['y'] });
    const x = new Tensor('float32', [n, S, D], Float32Array.from(rnd(n * S * D, 9)));
    const got = a.run(new Map([['x', x]])).get('y')!;
    const want = (await reference(heads, new Map([['x', x]]), ['x'])).outputs.get('y')!;
    expect(got.shape).toEqual([n, S, D]);
    expect(excess(got.num, want.num, 1e-5, 1e-6).worst).toBeLessThanOrEqual(0);
  }, 120_000);
});

describe('what still mixes samples is AIC0451, with the reason', () => {
  it('a reshape that reorders samples ([S, B, D] -> [S*B, D] -> [B, S, D])', async () => {
    const f = model('reorder', [
      { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [1, 0, 2] } },
      shape('s1', [-1, D]),
      { op: 'Reshape', inputs: ['t', 's1'], outputs: ['flat'] },
      shape('s2', [-1, S, D]),
      { op: 'Reshape', inputs: ['flat', 's2'], outputs: ['y'] },
    ], ['B', S, D]);
    await expect(compileSymbolic(f, 'c', {}, { B: 4 })).rejects.toMatchObject({
      code: 'AIC0451', message: expect.stringContaining("followed through the ops that move it, Reshape 'Reshape' splits a sample across the batch"),
    });
  });

  it('a matmul contracting along the batch (x^T x)', async () => {
    const f = model('gram', [
      shape('s1', [-1, S * D]),
      { op: 'Reshape', inputs: ['x', 's1'], outputs: ['r'] }, // [B, S*D]
      { op: 'Transpose', inputs: ['r'], outputs: ['t'], attrs: { perm: [1, 0] } },
      { op: 'MatMul', inputs: ['t', 'r'], outputs: ['y'] },
    ], [S * D, S * D]);
    await expect(compileSymbolic(f, 'c', {}, { B: 4 })).rejects.toMatchObject({
      code: 'AIC0451', message: expect.stringContaining("followed through the ops that move it, MatMul 'MatMul' loses the batch (works across samples)"),
    });
  });
});

describe('a batch that an op mixes along', () => {
  const center = (): string => model('center', [
    { op: 'ReduceMean', inputs: ['x'], outputs: ['m'], attrs: { axes: [0], keepdims: 1 } },
    { op: 'Sub', inputs: ['x', 'm'], outputs: ['y'] },
  ], ['B', S, D]);

  it.each(['c', 'wasm-simd'] as const)('with --max-shape B=16 is a run-time extent on %s: compiled once, matches the interpreter at B=3 and 11', async (target) => {
    const f = center();
    const a = await compileWithSymbols(f, target, { B: 16 });
    expect(a.compiled.prog.batch).toBeUndefined();
    expect(a.compiled.prog.extents).toMatchObject({ symbol: 'B', max: 16 });
    for (const n of [3, 11]) {
      const x = new Tensor('float32', [n, S, D], Float32Array.from(rnd(n * S * D, n)));
      const want = (run(await loadGraph(f, { inputShapes: { x: [n, S, D] } }), new Map([['x', x]])) as Map<string, Tensor>).get('y')!;
      const got = a.run(new Map([['x', x]])).get('y')!;
      expect(got.shape).toEqual([n, S, D]);
      expect(excess(got.num, want.num, 1e-5, 1e-6).worst).toBeLessThanOrEqual(0);
    }
  }, 180_000);

  it('without a maximum is AIC0451, saying --max-shape makes it an extent', async () => {
    await expect(compileWithSymbols(center(), 'c', {})).rejects.toMatchObject({
      code: 'AIC0451', message: expect.stringContaining("ReduceMean 'ReduceMean' loses the batch (works across samples); or --max-shape B=N (N >= 8) makes it a run-time extent instead"),
    });
  });

  it('beside a sequence length is AIC0476 (one run-time extent per artifact)', async () => {
    const f = path.join(dir, 'center-seq.onnx');
    fs.writeFileSync(f, buildModel([
      { op: 'ReduceMean', inputs: ['x'], outputs: ['m'], attrs: { axes: [0], keepdims: 1 } },
      { op: 'Sub', inputs: ['x', 'm'], outputs: ['y'] },
    ], [{ name: 'x', shape: ['B', 'L', D] }], [{ name: 'y', shape: ['B', 'L', D] }], 13));
    await expect(compileWithSymbols(f, 'c', { B: 4, L: 16 })).rejects.toMatchObject({
      code: 'AIC0476', exitCode: 3, message: expect.stringContaining("'B' is not a batch that runs per sample (followed through the ops that move it, ReduceMean 'ReduceMean' loses the batch (works across samples)), and 'L' is already the run-time extent"),
    });
  });
});
