/** The library API's quantize(): samples as plain tensors, a QDQ model that run() runs, the report. */
import { describe, expect, it } from 'vitest';
import { isAicDiagnostic, load, quantize, run } from '@aic/api';
import { buildModel } from '../onnx-builder.ts';

const model = () => load(buildModel([
  { op: 'MatMul', inputs: ['x', 'W'], outputs: ['h'], name: 'mm' },
  { op: 'Relu', inputs: ['h'], outputs: ['r'], name: 'relu' },
  { op: 'Gemm', inputs: ['r', 'W2'], outputs: ['y'], name: 'fc' },
], [{ name: 'x', shape: [2, 3] }], [{ name: 'y', shape: [2, 2] }], 13, [
  { name: 'W', dims: [3, 4], floats: [0.5, -1, 0.25, 2, 1, 0.75, -0.5, 0.1, -0.3, 0.6, 1.2, -0.9] },
  { name: 'W2', dims: [4, 2], floats: [1, -1, 0.5, 0.5, -0.25, 2, 0.3, -0.7] },
]));
const sample = (k: number) => ({ x: { dtype: 'float32' as const, shape: [2, 3], data: [1, -2, 3, 0.5, k, -1] } });

describe('api quantize()', () => {
  it('quantizes, reports worst first, and the result runs close to the float model', async () => {
    const m = await model();
    const q = quantize(m, [sample(0), sample(1), sample(2)], { report: true, method: 'entropy' });
    expect(q.layers).toEqual(['mm', 'fc']);
    expect(q.report!.map((r) => r.name).sort()).toEqual(['fc', 'mm']);
    expect(q.report![0]!.sqnrDb).toBeLessThanOrEqual(q.report![1]!.sqnrDb);
    const want = (await run(m, sample(1))).outputs.y!.data as Float32Array;
    const got = (await run(q.model, sample(1))).outputs.y!.data as Float32Array;
    for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(0.05 * (1 + Math.abs(want[i]!)));
  });

  it('no samples is a usage error', async () => {
    const m = await model();
    let err: unknown;
    try { quantize(m, []); } catch (e) { err = e; }
    expect(isAicDiagnostic(err) && err.exitCode).toBe(2);
  });
});
