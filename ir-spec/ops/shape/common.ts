/**
 * Helpers shared by the shape ops: axis and attribute checks for inference and evaluation, and the
 * lowering helpers (input refs, constant inputs, small expression builders).
 */
import { Tensor, diag, nodeLocation, type Attr, type DType, type Shape } from '@aic/core';
import type { EvalCtx, InferCtx, LowerCtx, OnnxImportView } from '../../types.ts';
import { E, numel, type Expr, type TensorRef } from '@aic/loop-ir';
import { intList } from '../../lib/util.ts';
import { affineOf, constStores } from '../../lib/shape.ts';

export const CAT = 'shape';
export const INDEX: readonly DType[] = ['int32', 'int64'];
export const loc = (ctx: InferCtx | EvalCtx) => nodeLocation(ctx.node);
export const verr = (ctx: InferCtx | EvalCtx, msg: string) => diag.verify(ctx.node.op, msg, loc(ctx));

/** Normalize an axis in [-r, r) (or [-r-1, r] with `extra`) or throw a verify error. */
export function axisOf(ctx: InferCtx | EvalCtx, axis: number, rank: number, extra = 0): number {
  const a = axis < 0 ? axis + rank + extra : axis;
  if (a < 0 || a >= rank + extra) throw verr(ctx, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}
export function constInts(ctx: InferCtx, i: number): number[] | undefined {
  const t = ctx.constValue(i);
  return t ? intList(t) : undefined;
}
export function optInts(ctx: EvalCtx, i: number): number[] | undefined {
  const t = ctx.optInput(i);
  return t ? intList(t) : undefined;
}
export const rankOf = (s: Shape) => s?.length;
export const i64 = (values: number[]) => Tensor.fromNumbers('int64', [values.length], values);
/** Move attribute `name` (ints) to input position k as an int64 constant. */
export function attrToInput(v: OnnxImportView, name: string, k: number, make: (a: Attr) => Tensor = (a) => i64(a.value as number[])): void {
  const a = v.attrs[name];
  if (a === undefined) return;
  while (v.inputs.length < k) v.inputs.push(null);
  v.inputs[k] = v.constInput(make(a));
  delete v.attrs[name];
}
export function checkRank(ctx: InferCtx | EvalCtx, shape: readonly unknown[] | undefined, want: number, what: string): void {
  if (shape && shape.length !== want) throw verr(ctx, `${what} must have rank ${want}, got ${shape.length}`);
}


// ---- Compute definitions (lowering to loop IR) -------------------------------------------------------------
// Each mirrors the op's eval above; shape-deciding inputs must be constants (ctx.constValue).

/** The validation helpers above take an InferCtx/EvalCtx but read only attrs, node and outputCount. */
export function vctx(ctx: LowerCtx): InferCtx {
  return { node: ctx.node, attrs: ctx.attrs, outputCount: ctx.node.outputs.length, constValue: (i: number) => ctx.constValue(i) } as unknown as InferCtx;
}
export function inRef(ctx: LowerCtx, i: number): TensorRef {
  const t = ctx.inputs[i];
  if (!t) return ctx.unsupported(`input ${i} is missing`);
  return t;
}
/** Input i present with at least one element (the reference's nonEmpty / optInput). */
export const present = (ctx: LowerCtx, i: number): TensorRef | undefined => {
  const t = ctx.inputs[i];
  return t && numel(t.shape) > 0 ? t : undefined;
};
export function constOf(ctx: LowerCtx, i: number, what: string): Tensor {
  const t = ctx.constValue(i);
  if (!t) return ctx.unsupported(`${what} (input ${i}) must be a constant`);
  return t;
}
export const constIntsOf = (ctx: LowerCtx, i: number, what: string): number[] => intList(constOf(ctx, i, what));
export const F64 = (v: number): Expr => E.c(v, 'f64');
export const ne = (a: Expr, b: Expr): Expr => E.bin('ne', a, b);
export const clampI = (e: Expr, lo: number, hi: number): Expr => E.min(E.max(e, E.i(lo)), E.i(hi));
export const anyOf = (cs: Expr[]): Expr => cs.reduce((a, b) => E.or(a, b));
export const allOf = (cs: Expr[]): Expr => cs.reduce((a, b) => E.and(a, b));

/** Store constant values into output o. */
export function emitConstOut(ctx: LowerCtx, o: number, values: ArrayLike<number>): void {
  const out = ctx.outputs[o]!;
  if (values.length !== numel(out.shape)) ctx.unsupported(`constant of ${values.length} elements for an output of shape [${out.shape.join(', ')}]`);
  const st = constStores(out.buf.name, out.dtype, values, (p) => ctx.fresh(p));
  if (!st) ctx.unsupported(`a constant of ${values.length} elements is too large to embed as code`);
  ctx.extern([o], st);
}
/** values[i] as an expression of i (affine, or a table in a kernel-private buffer). */
export function lookup(ctx: LowerCtx, values: number[]): (i: Expr) => Expr {
  const aff = affineOf(values);
  if (aff) return (i) => E.add(E.mul(i, E.i(aff.step)), E.i(aff.base));
  const t = ctx.temp('tbl', 'i32', [values.length]);
  const st = constStores(t.buf.name, 'i32', values, (p) => ctx.fresh(p));
  if (!st) ctx.unsupported(`an index table of ${values.length} entries is too large to embed as code`);
  ctx.extern([], st);
  return (i) => t.flat(i);
}
