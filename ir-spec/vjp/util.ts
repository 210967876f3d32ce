/** Helpers for derivative rules (OpDef.vjp): static shapes, un-broadcasting, small graph idioms. */
import { isStatic, type Value } from '@aic/core';
import type { GraphBuilder, VjpCtx, VjpDef } from '../types.ts';

/** The static shape of `v` (derivative rules need them; the driver binds shapes first). */
export function dimsOf(c: VjpCtx, v: Value): number[] {
  if (!isStatic(v.shape)) c.unsupported(`value '${v.name}' has a symbolic shape [${(v.shape ?? []).join(', ')}]; bind it with --input-shape`);
  return v.shape as number[];
}

export const reshape = (b: GraphBuilder, v: Value, shape: readonly number[]): Value => b.op1('Reshape', [v, b.ints(shape)]);

/** A float constant of v's element type. */
export const cst = (b: GraphBuilder, v: Value, x: number): Value => b.scalar(x, v.dtype);

/** Sum a broadcast cotangent `g` back to `shape` (numpy broadcasting undone). */
export function sumTo(c: VjpCtx, g: Value, shape: readonly number[]): Value {
  const gs = dimsOf(c, g);
  if (gs.length === shape.length && gs.every((d, i) => d === shape[i])) return g;
  const lead = gs.length - shape.length;
  const axes: number[] = [];
  gs.forEach((d, i) => { if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i); });
  const s = axes.length ? c.b.op1('ReduceSum', [g, c.b.ints(axes)], { keepdims: 0 }) : g;
  return reshape(c.b, s, shape);
}

/** Broadcast `g` to `shape` (the cotangent of a reduction or an Expand's input). */
export const expandTo = (b: GraphBuilder, g: Value, shape: readonly number[]): Value => b.op1('Expand', [g, b.ints(shape)]);

/** A rule for a unary op: `f(c, x, y, dy)` gives dx. */
export function unaryVjp(f: (c: VjpCtx, x: Value, y: Value, dy: Value) => Value): VjpDef {
  return { wrt: [0], grad: (c) => [c.dy[0] ? f(c, c.x[0]!, c.y[0], c.dy[0]) : undefined] };
}

/** A rule for a broadcasting binary op: `da`/`db` give the un-reduced cotangents; sumTo reduces them. */
export function binaryVjp(da: ((c: VjpCtx, dy: Value) => Value) | undefined, db: ((c: VjpCtx, dy: Value) => Value) | undefined): VjpDef {
  return {
    wrt: [...(da ? [0] : []), ...(db ? [1] : [])],
    grad: (c) => {
      const dy = c.dy[0];
      if (!dy) return [];
      return [
        da && c.need[0] ? sumTo(c, da(c, dy), dimsOf(c, c.x[0]!)) : undefined,
        db && c.need[1] ? sumTo(c, db(c, dy), dimsOf(c, c.x[1]!)) : undefined,
      ];
    },
  };
}

/** Normalize a possibly negative axis. */
export const normAxis = (a: number, rank: number): number => (a < 0 ? a + rank : a);

/** The int64 values of a constant input (axes, shapes, starts), or undefined when it is not constant. */
export function constInts(v: Value | null | undefined): number[] | undefined {
  if (!v?.const) return undefined;
  return Array.from(v.const.num as ArrayLike<number | bigint>, Number);
}
