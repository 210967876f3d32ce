import { describe, expect, it } from 'vitest';
import { A, evalOp, f32, t, vals } from '../helpers.ts';

describe('MatMul', () => {
  it('2-D @ 2-D', () => {
    const [y] = evalOp('MatMul', [f32([2, 2], [1, 2, 3, 4]), f32([2, 2], [5, 6, 7, 8])]);
    expect(y.shape).toEqual([2, 2]);
    expect(vals(y)).toEqual([19, 22, 43, 50]);
  });
  it('more than four rows (blocked kernel + remainder rows)', () => {
    // row i of A is [i, 1]; B = [[1, 2, 3], [10, 20, 30]] -> row i = [i + 10, 2i + 20, 3i + 30]
    const [y] = evalOp('MatMul', [f32([5, 2], [0, 1, 1, 1, 2, 1, 3, 1, 4, 1]), f32([2, 3], [1, 2, 3, 10, 20, 30])]);
    expect(vals(y)).toEqual([10, 20, 30, 11, 22, 33, 12, 24, 36, 13, 26, 39, 14, 28, 42]);
  });
  it('1-D operands are promoted and squeezed', () => {
    const [v] = evalOp('MatMul', [f32([2], [1, 2]), f32([2, 3], [1, 2, 3, 4, 5, 6])]);
    expect(v.shape).toEqual([3]);
    expect(vals(v)).toEqual([9, 12, 15]);
    const [w] = evalOp('MatMul', [f32([2, 3], [1, 2, 3, 4, 5, 6]), f32([3], [1, 0, -1])]);
    expect(w.shape).toEqual([2]);
    expect(vals(w)).toEqual([-2, -2]);
    const [s] = evalOp('MatMul', [f32([3], [1, 2, 3]), f32([3], [4, 5, 6])]);
    expect(s.shape).toEqual([]);
    expect(vals(s)).toEqual([32]);
  });
  it('broadcasts batch dims', () => {
    // A [2,1,2] @ B [2,1]: [1,2]@[5,6]^T = 17, [3,4]@[5,6]^T = 39
    const [y] = evalOp('MatMul', [f32([2, 1, 2], [1, 2, 3, 4]), f32([2, 1], [5, 6])]);
    expect(y.shape).toEqual([2, 1, 1]);
    expect(vals(y)).toEqual([17, 39]);
    // A [1,2,2] (identity) @ B [3,2,2] -> B
    const b = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const [z] = evalOp('MatMul', [f32([1, 2, 2], [1, 0, 0, 1]), f32([3, 2, 2], b)]);
    expect(z.shape).toEqual([3, 2, 2]);
    expect(vals(z)).toEqual(b);
  });
  it('int32 wraps like C', () => {
    // 65537^2 = 2^32 + 131073 -> 131073 mod 2^32
    const [y] = evalOp('MatMul', [t('int32', [1, 1], [65537]), t('int32', [1, 1], [65537])]);
    expect(vals(y)).toEqual([131073]);
  });
  it('rejects mismatched inner dims', () => {
    expect(() => evalOp('MatMul', [f32([2, 3], [1, 2, 3, 4, 5, 6]), f32([2, 2], [1, 2, 3, 4])])).toThrow(/inner dimensions/);
  });
});

describe('Gemm', () => {
  const a = f32([2, 2], [1, 2, 3, 4]);
  const b = f32([2, 2], [5, 6, 7, 8]);
  it('defaults with vector bias', () => {
    const [y] = evalOp('Gemm', [a, b, f32([2], [1, 2])]);
    expect(vals(y)).toEqual([20, 24, 44, 52]);
  });
  it('transA, transB, alpha, beta, scalar C', () => {
    // A^T = [[1,3],[2,4]], B^T = [[5,7],[6,8]]; A^T B^T = [[23,31],[34,46]]; 0.5 * that + 2 * 10
    const [y] = evalOp('Gemm', [a, b, f32([], [10])],
      { transA: A.int(1), transB: A.int(1), alpha: A.float(0.5), beta: A.float(2) });
    expect(vals(y)).toEqual([31.5, 35.5, 37, 43]);
  });
  it('transB with many rows, column bias [M,1], no C', () => {
    const x = f32([4, 2], [1, 0, 0, 1, 1, 1, 2, 3]);
    const w = f32([3, 2], [1, 2, 3, 4, 5, 6]); // [N=3, K=2]
    const [y] = evalOp('Gemm', [x, w, f32([4, 1], [0, 100, 0, 0])], { transB: A.int(1) });
    expect(vals(y)).toEqual([1, 3, 5, 102, 104, 106, 3, 7, 11, 8, 18, 28]);
    const [z] = evalOp('Gemm', [x, w], { transB: A.int(1) });
    expect(vals(z)).toEqual([1, 3, 5, 2, 4, 6, 3, 7, 11, 8, 18, 28]);
  });
  it('rejects a C that does not broadcast', () => {
    expect(() => evalOp('Gemm', [a, b, f32([3], [1, 2, 3])])).toThrow(/broadcast/);
  });
});

describe('Einsum', () => {
  const m = f32([2, 3], [1, 2, 3, 4, 5, 6]);
  const sq = f32([2, 2], [1, 2, 3, 4]);
  const eq = (s: string) => ({ equation: A.str(s) });
  it('matrix product, explicit and implicit', () => {
    const n = f32([3, 2], [1, 0, 0, 1, 1, 1]);
    expect(vals(evalOp('Einsum', [m, n], eq('ij,jk->ik'))[0])).toEqual([4, 5, 10, 11]);
    expect(vals(evalOp('Einsum', [m, n], eq('ij,jk'))[0])).toEqual([4, 5, 10, 11]);
  });
  it('transpose, sums, outer product', () => {
    const [tr] = evalOp('Einsum', [m], eq('ij->ji'));
    expect(tr.shape).toEqual([3, 2]);
    expect(vals(tr)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(vals(evalOp('Einsum', [m], eq('ij->j'))[0])).toEqual([5, 7, 9]);
    expect(vals(evalOp('Einsum', [m], eq('ij->'))[0])).toEqual([21]);
    const [o] = evalOp('Einsum', [f32([2], [1, 2]), f32([3], [1, 10, 100])], eq('i,j->ij'));
    expect(vals(o)).toEqual([1, 10, 100, 2, 20, 200]);
  });
  it('implicit output sorts labels: ba -> ab is a transpose', () => {
    expect(vals(evalOp('Einsum', [m], eq('ba'))[0])).toEqual([1, 4, 2, 5, 3, 6]);
  });
  it('repeated labels: trace and diagonal', () => {
    const [tr] = evalOp('Einsum', [sq], eq('ii'));
    expect(tr.shape).toEqual([]);
    expect(vals(tr)).toEqual([5]);
    expect(vals(evalOp('Einsum', [sq], eq('ii->i'))[0])).toEqual([1, 4]);
  });
  it('ellipsis: batch diagonal and broadcast batch matmul', () => {
    const x = f32([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const [d] = evalOp('Einsum', [x], eq('...ii ->...i'));
    expect(d.shape).toEqual([2, 2]);
    expect(vals(d)).toEqual([1, 4, 5, 8]);
    // [2,2,2] @ [1,2,1] with batch broadcasting; y = [1, 1]^T
    const [y] = evalOp('Einsum', [x, f32([1, 2, 1], [1, 1])], eq('...ij,...jk->...ik'));
    expect(y.shape).toEqual([2, 2, 1]);
    expect(vals(y)).toEqual([3, 7, 11, 15]);
  });
  it('int32 inputs', () => {
    expect(vals(evalOp('Einsum', [t('int32', [3], [1, 2, 3]), t('int32', [3], [4, 5, 6])], eq('i,i'))[0])).toEqual([32]);
  });
  it('errors', () => {
    expect(() => evalOp('Einsum', [m], eq('ijk->i'))).toThrow(/rank/);
    expect(() => evalOp('Einsum', [m, m], eq('ij,jk->ik'))).toThrow(/mismatch/);
    expect(() => evalOp('Einsum', [m], eq('ij->q'))).toThrow(/does not appear/);
    expect(() => evalOp('Einsum', [m], eq('iJ'))).toThrow(/unsupported/);
    expect(() => evalOp('Einsum', [f32([1, 3], [1, 2, 3]), m], eq('ij,ij->ij'))).toThrow(/unsupported/);
  });
});

describe('integer and quantized matmul', () => {
  it('MatMulInteger with zero points', () => {
    // (A - 1) = [[1,2],[3,4]]; (B - [0,1]) per column = [[1,1],[1,2]]
    const [y] = evalOp('MatMulInteger', [t('uint8', [2, 2], [2, 3, 4, 5]), t('uint8', [2, 2], [1, 2, 1, 3]),
      t('uint8', [], [1]), t('uint8', [2], [0, 1])]);
    expect(y.dtype).toBe('int32');
    expect(vals(y)).toEqual([3, 5, 7, 11]);
  });
  it('MatMulInteger int8 without zero points', () => {
    const [y] = evalOp('MatMulInteger', [t('int8', [1, 2], [-128, 127]), t('int8', [2, 1], [-128, 127])]);
    expect(vals(y)).toEqual([16384 + 16129]);
  });
  it('QLinearMatMul', () => {
    // a - 10 = [[1, 2]], b - 0 = [[3], [4]] -> 11; * (0.5 * 0.25 / 0.25) = 5.5 -> rint 6 (half to even) + 100
    const [y] = evalOp('QLinearMatMul', [
      t('uint8', [1, 2], [11, 12]), f32([], [0.5]), t('uint8', [], [10]),
      t('uint8', [2, 1], [3, 4]), f32([], [0.25]), t('uint8', [], [0]),
      f32([], [0.25]), t('uint8', [], [100])]);
    expect(y.dtype).toBe('uint8');
    expect(vals(y)).toEqual([106]);
    // saturation
    const [z] = evalOp('QLinearMatMul', [
      t('uint8', [1, 1], [255]), f32([], [1]), t('uint8', [], [0]),
      t('uint8', [1, 1], [255]), f32([], [1]), t('uint8', [], [0]),
      f32([], [1]), t('uint8', [], [0])]);
    expect(vals(z)).toEqual([255]);
  });
});

describe('Det', () => {
  it('2x2, 3x3 and batched', () => {
    expect(vals(evalOp('Det', [f32([2, 2], [1, 2, 3, 4])])[0], 4)).toEqual([-2]);
    expect(vals(evalOp('Det', [f32([3, 3], [6, 1, 1, 4, -2, 5, 2, 8, 7])])[0], 3)).toEqual([-306]);
    const [y] = evalOp('Det', [f32([2, 2, 2], [1, 0, 0, 1, 1, 2, 2, 4])]);
    expect(y.shape).toEqual([2]);
    expect(vals(y, 5)).toEqual([1, 0]);
  });
  it('rejects non-square input', () => {
    expect(() => evalOp('Det', [f32([2, 3], [1, 2, 3, 4, 5, 6])])).toThrow(/square/);
  });
});
