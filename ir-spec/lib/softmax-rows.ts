/**
 * Softmax over the last axis as compute stages of the kernel (for fused kernels whose ctx has
 * computeTemp, e.g. aic.Attention): the same arithmetic as Softmax's own definition (ops/reduce.ts:
 * max in T, exp(x - max) in the compute type (lib/reduce.ts expShifted) summed in f64 in index order,
 * out = T(exp / sum)), but every stage is a stage of its own that default schedules vectorize, and each
 * exp is computed once (kept in a scratch row of the compute type) instead of once for the sum and
 * again for the output. Results are identical.
 */
import { E, type Expr, type ScalarType, type TensorRef } from '@aic/loop-ir';
import type { LowerCtx } from '../types.ts';
import { divSum, expShifted, flatOf, reduceExpr, softmaxT, toF64 } from './reduce.ts';

/** p = Softmax(s, axis = -1); s and p have the same shape. False when ctx cannot stage it (caller falls back). */
export function softmaxLastAxisStaged(ctx: LowerCtx, s: TensorRef, p: TensorRef, t: ScalarType): boolean {
  const computeTemp = ctx.computeTemp;
  if (!computeTemp || s.shape.length < 1) return false;
  const n = s.shape[s.shape.length - 1]!;
  const rows = s.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (n === 0 || rows === 0) return false;
  const at = (r: Expr, k: Expr) => s.flat(E.add(E.mul(r, E.i(n)), k));
  const mx = ctx.temp('max', t, [rows]);
  computeTemp(mx, ([r]) => reduceExpr(ctx, 'max', [n], ([k]) => at(r!, k!)));
  const ex = ctx.temp('exp', softmaxT(t), [rows, n]);
  computeTemp(ex, ([r, k]) => expShifted(at(r!, k!), mx.at(r!), t));
  const sum = ctx.temp('sum', 'f64', [rows]);
  computeTemp(sum, ([r]) => reduceExpr(ctx, 'sum', [n], ([k]) => toF64(ex.at(r!, k!))));
  computeTemp(p, (idx) => {
    const r = flatOf(idx.slice(0, -1), s.shape.slice(0, -1));
    return E.cast(divSum(ex.at(r, idx[idx.length - 1]!), sum.at(r), t), t);
  });
  return true;
}
