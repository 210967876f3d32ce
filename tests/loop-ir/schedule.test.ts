/** Schedules never change results: every directive combination gives the unscheduled values. */
import { describe, expect, it } from 'vitest';
import {
  E, LoopInterpreter, applySchedule, parseKernel, parseScheduleFile, printKernel, printSchedule, realizeStage, tensorRef,
  type Buffer, type ComputeStage, type Directive,
} from '@aic/loop-ir';

const M = 5, N = 7, K = 3;
const A: Buffer = { name: 'A', dtype: 'f32', shape: [M, K], scope: 'global', role: 'input' };
const B: Buffer = { name: 'B', dtype: 'f32', shape: [K, N], scope: 'global', role: 'input' };
const C: Buffer = { name: 'C', dtype: 'f32', shape: [M, N], scope: 'global', role: 'output' };
const a = tensorRef(A), b = tensorRef(B);
// C[m, n] = 0.5 * sum_k A[m, k] * B[k, n] + 1
const gemm: ComputeStage = {
  kind: 'compute', out: C, axes: ['m', 'n'],
  body: E.add(E.mul(E.reduce('sum', [{ name: 'k', extent: K }], E.mul(a.at(E.v('m'), E.v('k')), b.at(E.v('k'), E.v('n')))), E.c(0.5)), E.c(1)),
};

function run(dirs: Directive[]): number[] {
  let n = 0;
  const body = realizeStage(gemm, applySchedule(gemm, dirs), (p) => `${p}${n++}`);
  const k = { name: 'gemm', params: [A, B, C], body };
  // the printed kernel parses back to the same text
  expect(printKernel(parseKernel(printKernel(k)))).toBe(printKernel(k));
  const mem = {
    A: Float32Array.from({ length: M * K }, (_, i) => (i % 7) - 3),
    B: Float32Array.from({ length: K * N }, (_, i) => ((i * 5) % 11) / 4),
    C: new Float32Array(M * N),
  };
  new LoopInterpreter(mem).runKernel(k);
  return Array.from(mem.C);
}

describe('schedules', () => {
  const ref = run([]);
  it('unscheduled GEMM computes the hand-checked value', () => {
    // C[0,0] = 0.5 * (A[0,0]B[0,0] + A[0,1]B[1,0] + A[0,2]B[2,0]) + 1 = 0.5 * (-3*0 + -2*0.5 + -1*1) + 1 = 0
    expect(ref[0]).toBeCloseTo(0.5 * (-3 * 0 + -2 * 0.5 + -1 * 1) + 1, 6);
  });
  const cases: [string, Directive[]][] = [
    ['split with remainder', [{ d: 'split', axis: 'n', factor: 4 }]],
    ['tile + reduction outside the register tile', [{ d: 'tile', axes: ['m', 'n'], factors: [2, 4] }, { d: 'reorder', order: ['m_o', 'n_o', 'k', 'm_i', 'n_i'] }, { d: 'vectorize', axis: 'n_i' }, { d: 'unroll', axis: 'm_i' }]],
    ['fuse + parallel', [{ d: 'fuse', axes: ['m', 'n'] }, { d: 'parallel', axis: 'm_n' }]],
    ['split the reduction', [{ d: 'split', axis: 'k', factor: 2 }, { d: 'reorder', order: ['k_o', 'm', 'n', 'k_i'] }]],
  ];
  for (const [name, dirs] of cases) {
    it(name, () => expect(run(dirs)).toEqual(ref));
  }
  it('vectorizing a reduction loop is refused', () => {
    expect(() => run([{ d: 'vectorize', axis: 'k' }])).toThrow(/reduction loop cannot be vectorized/);
  });
  it('schedule files print and parse back', () => {
    const dirs = cases[1][1];
    const text = printSchedule('k0_gemm', dirs);
    expect(parseScheduleFile(text).get('k0_gemm')).toEqual(dirs);
    // split tails print and parse back too (--emit schedule of a -O3 blocked kernel prints `pad`)
    const tails: Directive[] = [{ d: 'split', axis: 'i1', factor: 4, tail: 'pad' }, { d: 'split', axis: 'i3', factor: 7, tail: 'clamp' }, { d: 'split', axis: 'r4', factor: 4 }];
    expect(parseScheduleFile(printSchedule('k1_conv', tails)).get('k1_conv')).toEqual(tails);
  });
});
