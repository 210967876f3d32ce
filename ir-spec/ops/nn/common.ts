/**
 * Helpers shared by the nn ops: attribute shapes, N/C/spatial checks, and the lowering helpers (required
 * inputs, flat offsets, a padded input copy).
 */
import { Tensor, diag, nodeLocation, type DType, type Dim, type Location } from '@aic/core';
import type { EvalCtx, InferCtx, LowerCtx } from '../../types.ts';
import { E, S, flatIndex, type Expr, type ScalarType, type TensorRef } from '@aic/loop-ir';
import { padCopyBlocked } from '../../lib/layout.ts';
import { product } from '../../lib/util.ts';
import { f64, type WinAxis } from '../../lib/nn.ts';

export const CAT = 'nn';
export const INTS_OPT = { type: 'ints' as const };
export const AUTO_PAD = { type: 'string' as const, default: 'NOTSET', doc: 'NOTSET | SAME_UPPER | SAME_LOWER | VALID' };
export const Q8: readonly DType[] = ['int8', 'uint8'];

export const loc = (ctx: InferCtx | EvalCtx) => nodeLocation(ctx.node);
export const numel = (shape: readonly Dim[] | undefined): number =>
  shape ? shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1) : 0;
export const staticNumel = (shape: readonly Dim[] | undefined): number | undefined =>
  shape && shape.every((d) => typeof d === 'number') ? product(shape as number[]) : undefined;

/** Write float64 results into a tensor of `dtype` (typed-array assignment rounds / wraps like C). */
export function fromF64(dtype: DType, shape: readonly number[], acc: Float64Array): Tensor {
  const t = new Tensor(dtype, shape);
  (t.num as Float64Array).set(acc);
  return t;
}

/** X must be [N, C, spatial...] with at least one spatial axis; returns its rank or undefined. */
export function requireNC(ctx: InferCtx, i: number, minSpatial = 1): number | undefined {
  const t = ctx.type(i);
  if (t.shape && t.shape.length < 2 + minSpatial) {
    throw diag.verify(ctx.node.op, `input ${i} must have rank >= ${2 + minSpatial} ([N, C, spatial...]), got [${t.shape.join(', ')}]`, loc(ctx));
  }
  return t.shape?.length;
}

export function checkSpatialSupported(op: string, rank: number, l: Location): void {
  if (rank - 2 > 3) throw diag.unsupportedFeature(`${op} with ${rank - 2} spatial dimensions (at most 3)`, l);
}


// ================================================================================================
// Compute definitions (lowering to loop IR). Each mirrors its op's eval above: the reference kernels
// accumulate in float64, so do these (cast to f64 inside the reductions, round once at the end).
// ================================================================================================

export function need(ctx: LowerCtx, i: number): TensorRef {
  const t = ctx.inputs[i];
  if (!t) ctx.unsupported(`input ${i} is missing`);
  return t;
}

/** flat offset of idx (row-major) */
export const flatE = (idx: readonly Expr[], shape: readonly number[]): Expr => flatIndex(idx.slice(), shape);

/**
 * A padded copy of a 2-d input [N, C, I0, I1] as [N, C, P0, P1] (begin pads ax[a].pb, `fill` around):
 * per padded row, the pads are filled and the interior row copied contiguously (loops the C compiler
 * vectorizes; no per-element bounds test).
 */
export function padCopy2d(ctx: LowerCtx, X: TensorRef, ax: WinAxis[], P: number[], prepX: (x: Expr) => Expr, xT: ScalarType, fill: number): TensorRef {
  if (X.buf.layout) return padCopyBlocked(ctx, X, ax, P, prepX, xT, fill);
  const [N, C] = X.shape;
  const xp = ctx.temp('xpad', xT, [N, C, ...P]);
  const [I0, I1] = [ax[0].I, ax[1].I], [P0, P1] = P, pb0 = ax[0].pb, pb1 = ax[1].pb, tail = P1 - pb1 - I1;
  const nc = ctx.fresh('nc'), ph = ctx.fresh('ph'), pw = ctx.fresh('pw');
  const ncv = E.v(nc), phv = E.v(ph), pwv = E.v(pw);
  const ih = E.sub(phv, E.i(pb0));
  const row = E.mul(E.add(E.mul(ncv, E.i(P0)), phv), E.i(P1));
  const pad = (from: number, n: number) => (n > 0 ? [S.for(pw, n, S.store(xp.buf.name, E.add(row, E.add(pwv, E.i(from))), E.c(fill, xT)))] : []);
  const copy = S.for(pw, I1, S.store(xp.buf.name, E.add(row, E.add(pwv, E.i(pb1))),
    prepX(X.flat(E.add(E.mul(E.add(E.mul(ncv, E.i(I0)), ih), E.i(I1)), pwv)))));
  ctx.extern([], S.for(nc, N * C, S.for(ph, P0, S.if(E.and(E.ge(ih, E.i(0)), E.lt(ih, E.i(I0))),
    S.seq(...pad(0, pb1), copy, ...pad(pb1 + I1, tail)),
    S.seq(...pad(0, P1))))));
  return xp;
}
