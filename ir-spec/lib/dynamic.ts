/**
 * Compute definitions of ops whose output size the data decides (NonZero, Compress with a run-time
 * condition, Unique): each kernel counts first, stores the count as the run-time extent
 * (LowerCtx.extent, when the output's shape is a bound) and then fills the outputs compactly,
 * row-major in the run-time shape. With a constant input the same kernels give the static result.
 */
import { nodeLocation } from '@aic/core';
import { E, S, type Expr, type ScalarType, type Stmt, type TensorRef } from '@aic/loop-ir';
import type { LowerCtx, OutType } from '../types.ts';
import { axisSplit, normAxes } from './reduce.ts';

const iv = (v: number): Expr => E.i(v);
const store = (t: TensorRef, idx: Expr, v: Expr): Stmt => S.store(t.buf.name, idx, v);
const numelOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
function loop(ctx: LowerCtx, n: number | Expr, body: (i: Expr) => Stmt, p = 'i'): Stmt {
  const v = ctx.fresh(p);
  return S.for(v, n, body(E.v(v)));
}
function letE(ctx: LowerCtx, p: string, t: ScalarType, val: Expr, body: (v: Expr) => Stmt): Stmt {
  const n = ctx.fresh(p);
  return S.let(n, t, val, body(E.v(n, t)));
}
const nonZero = (x: TensorRef, i: Expr): Expr => E.bin('ne', x.flat(i), E.c(0, x.dtype));

/** The outputs' shapes with every symbolic dim replaced by `bound` (for OpDef.maxShape). */
export function boundedBy(outs: OutType[], bound: number): (number[] | undefined)[] {
  return outs.map((o) => o.shape?.map((d) => (typeof d === 'number' ? d : bound)));
}

/** Store the run-time extent when the outputs' shapes are bounds. */
function extent(ctx: LowerCtx, n: Expr): Stmt[] {
  return ctx.extent ? [store(ctx.extent, iv(0), n)] : [];
}

/** Whether output o is a real buffer (an omitted optional output gets a placeholder). */
function isBound(ctx: LowerCtx, o: number): boolean {
  return o < ctx.outputs.length && ctx.outputs[o]!.buf.role === 'output';
}

/** NonZero: count the non-zero elements, then write each one's coordinates (Y[k, j] at k * count + j). */
export function lowerNonZeroRuntime(ctx: LowerCtx): void {
  const x = ctx.inputs[0]!, y = ctx.outputs[0]!;
  const shape = x.shape, n = numelOf(shape);
  const cnt = ctx.temp('nnz', 'i32', [2]); // [0] count, [1] next column
  const count = cnt.flat(iv(0)), col = cnt.flat(iv(1));
  const strides = shape.map((_, k) => numelOf(shape.slice(k + 1)));
  ctx.extern([0], S.seq(
    store(cnt, iv(0), iv(0)), store(cnt, iv(1), iv(0)),
    loop(ctx, n, (f) => S.if(nonZero(x, f), store(cnt, iv(0), E.add(count, iv(1)))), 'f'),
    ...extent(ctx, count),
    loop(ctx, n, (f) => S.if(nonZero(x, f), S.seq(
      ...shape.map((d, k) => store(y, E.add(E.mul(iv(k), count), col), E.cast(E.mod(E.div(f, iv(strides[k]!)), iv(d)), 'i64'))),
      store(cnt, iv(1), E.add(col, iv(1))),
    )), 'f'),
  ));
}

/** Compress with a run-time condition: count the kept slices, then copy them (Y[p, r, i] at (p * count + r) * inner + i). */
export function lowerCompressRuntime(ctx: LowerCtx, axis: number | undefined): void {
  const x = ctx.inputs[0]!, cond = ctx.inputs[1]!, y = ctx.outputs[0]!;
  const { outer, n, inner } = axis === undefined ? { outer: 1, n: numelOf(x.shape), inner: 1 } : axisSplit(x.shape, axis);
  const L = numelOf(cond.shape);
  if (L > n) ctx.unsupported(`condition has ${L} entries for an axis of length ${n}`);
  const cnt = ctx.temp('kept', 'i32', [2]); // [0] count, [1] next slice
  const count = cnt.flat(iv(0)), at = cnt.flat(iv(1));
  ctx.extern([0], S.seq(
    store(cnt, iv(0), iv(0)),
    loop(ctx, L, (j) => S.if(nonZero(cond, j), store(cnt, iv(0), E.add(count, iv(1)))), 'j'),
    ...extent(ctx, count),
    loop(ctx, outer, (p) => S.seq(
      store(cnt, iv(1), iv(0)),
      loop(ctx, L, (j) => S.if(nonZero(cond, j), S.seq(
        loop(ctx, inner, (i) => store(y, E.add(E.mul(E.add(E.mul(p, count), at), iv(inner)), i),
          x.flat(E.add(E.mul(E.add(E.mul(p, iv(n)), j), iv(inner)), i)))),
        store(cnt, iv(1), E.add(at, iv(1))),
      )), 'j'),
    ), 'p'),
  ));
}

/**
 * Unique as loop IR, O(n^2) slice comparisons: first[j] = the first slice equal to slice j; the
 * unique slices are those with first[j] = j, ranked by first occurrence (sorted=0) or by how many
 * unique slices are lexicographically smaller (sorted=1, the reference's order); then Y, indices,
 * inverse_indices and counts from the ranks.
 */
export function lowerUniqueRuntime(ctx: LowerCtx): void {
  const x = ctx.inputs[0]!;
  const hasAxis = ctx.attrs.has('axis');
  const ax = hasAxis ? normAxes([ctx.attrs.int('axis')], x.shape.length, 'Unique', nodeLocation(ctx.node))[0]! : 0;
  const { outer, n, inner } = hasAxis ? axisSplit(x.shape, ax) : { outer: 1, n: numelOf(x.shape), inner: 1 };
  const sorted = ctx.attrs.int('sorted') !== 0;
  const first = ctx.temp('first', 'i32', [Math.max(1, n)]), rank = ctx.temp('rank', 'i32', [Math.max(1, n)]);
  const st = ctx.temp('uq', 'i32', [4]); // [0] unique count, [1] equal flag, [2] decided, [3] less
  const get = (k: number) => st.flat(iv(k));
  const set = (k: number, v: Expr) => store(st, iv(k), v);
  const at = (j: Expr, p: Expr, i: Expr) => E.add(E.mul(E.add(E.mul(p, iv(n)), j), iv(inner)), i);
  const el = (j: Expr, p: Expr, i: Expr) => x.flat(at(j, p, i));
  const each = (f: (p: Expr, i: Expr) => Stmt) => loop(ctx, outer, (p) => loop(ctx, inner, (i) => f(p, i), 'i'), 'p');
  const isRep = (j: Expr) => E.eq(first.flat(j), j);
  // phase 1: first occurrences
  const findFirst = loop(ctx, n, (j) => S.seq(
    store(first, j, j),
    loop(ctx, j, (q) => S.if(E.and(isRep(q), isRep(j)), S.seq(
      set(1, iv(1)),
      each((p, i) => S.if(E.bin('ne', el(j, p, i), el(q, p, i)), set(1, iv(0)))),
      S.if(E.eq(get(1), iv(1)), store(first, j, q)),
    )), 'q'),
  ), 'j');
  // phase 2: ranks of the unique slices, and their count
  const less = (q: Expr, j: Expr): Stmt => S.seq(set(2, iv(0)), set(3, iv(0)), each((p, i) => S.if(E.eq(get(2), iv(0)),
    S.if(E.lt(el(q, p, i), el(j, p, i)), S.seq(set(2, iv(1)), set(3, iv(1))),
      S.if(E.gt(el(q, p, i), el(j, p, i)), set(2, iv(1)))))));
  const ranks = loop(ctx, n, (j) => S.if(isRep(j), S.seq(
    sorted
      ? S.seq(store(rank, j, iv(0)), loop(ctx, n, (q) => S.if(isRep(q), S.seq(less(q, j),
        S.if(E.eq(get(3), iv(1)), store(rank, j, E.add(rank.flat(j), iv(1)))))), 'q'))
      : store(rank, j, get(0)),
    set(0, E.add(get(0), iv(1))),
  )), 'j');
  const U = get(0);
  const outs = [0, 1, 2, 3].filter((o) => isBound(ctx, o));
  const has = (o: number) => outs.includes(o);
  const Y = ctx.outputs[0]!, I = ctx.outputs[1], V = ctx.outputs[2], C = ctx.outputs[3];
  const fill = loop(ctx, n, (j) => letE(ctx, 'r', 'i32', rank.flat(first.flat(j)), (r) => S.seq(
    S.if(isRep(j), S.seq(
      ...(has(0) ? [each((p, i) => store(Y, E.add(E.mul(E.add(E.mul(p, U), r), iv(inner)), i), el(j, p, i)))] : []),
      ...(has(1) ? [store(I!, r, E.cast(j, 'i64'))] : []),
    )),
    ...(has(2) ? [store(V!, j, E.cast(r, 'i64'))] : []),
    ...(has(3) ? [store(C!, r, E.add(C!.flat(r), E.c(1, 'i64')))] : []),
  )), 'j');
  ctx.extern(outs, S.seq(
    set(0, iv(0)), findFirst, ranks, ...extent(ctx, U),
    ...(has(3) ? [loop(ctx, U, (r) => store(C!, r, E.c(0, 'i64')), 'r')] : []),
    fill,
  ));
}
