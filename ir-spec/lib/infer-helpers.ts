/** Reusable inference rules: same-as-input, broadcasting, fixed dtype. */
import { broadcastShapes, BroadcastError, diag, nodeLocation, type DType, type TensorType } from '@aic/core';
import type { InferCtx, OutType } from '../types.ts';

export const FLOATS: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16'];
export const INTS: readonly DType[] = ['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64'];
export const SIGNED_INTS: readonly DType[] = ['int8', 'int16', 'int32', 'int64'];
export const NUMERIC: readonly DType[] = [...FLOATS, ...INTS];
export const ALL: readonly DType[] = [...NUMERIC, 'bool', 'string'];

/** Output 0 has input 0's type. */
export function sameAsInput(ctx: InferCtx): OutType[] {
  const t = ctx.type(0);
  return [{ dtype: t.dtype, shape: t.shape?.slice() }];
}

/** numpy broadcasting of all present inputs; dtype of input 0 unless given. */
export function broadcastInfer(ctx: InferCtx, dtype?: DType): OutType[] {
  const ts = ctx.inputTypes.filter((t): t is TensorType => t !== undefined);
  try {
    return [{ dtype: dtype ?? ts[0].dtype, shape: broadcastShapes(ts.map((t) => t.shape)) }];
  } catch (e) {
    if (e instanceof BroadcastError) throw diag.shapeMismatch(ctx.node.op, e.message, nodeLocation(ctx.node));
    throw e;
  }
}

/** Check that every present input (or those listed) share input 0's dtype. */
export function sameDtypes(ctx: InferCtx, indices?: number[]): void {
  const idx = indices ?? ctx.inputTypes.map((_, i) => i);
  const first = ctx.inputTypes[idx[0]];
  for (const i of idx) {
    const t = ctx.inputTypes[i];
    if (t && first && t.dtype !== first.dtype) {
      throw diag.typeMismatch(`${ctx.node.op} input ${i}`, first.dtype, t.dtype, nodeLocation(ctx.node));
    }
  }
}

/** Check a dtype against an allowed list (exit 3 when the op simply does not support it). */
export function requireDtype(ctx: InferCtx, i: number, allowed: readonly DType[]): void {
  const t = ctx.inputTypes[i];
  if (t && !allowed.includes(t.dtype)) {
    throw diag.unsupportedDtype(`${ctx.node.op} input ${i}`, t.dtype, nodeLocation(ctx.node));
  }
}
