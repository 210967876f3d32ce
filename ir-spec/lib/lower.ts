/** Helpers for compute definitions (OpDef.lower): broadcasting loads, constants, dtype mapping. */
import { diag, type DType } from '@aic/core';
import { E, type Expr, type ScalarType, type TensorRef } from '@aic/loop-ir';

const SCALAR: Partial<Record<DType, ScalarType>> = {
  float32: 'f32', float64: 'f64', int8: 'i8', int16: 'i16', int32: 'i32', int64: 'i64',
  uint8: 'u8', uint16: 'u16', uint32: 'u32', uint64: 'u64', bool: 'bool',
  // stored as 16 bits, computed in f32 (loop-ir half.ts)
  float16: 'f32', bfloat16: 'f32',
};
export function scalarOf(d: DType): ScalarType {
  const s = SCALAR[d];
  if (!s) throw diag.unsupportedDtype('compiled code', d);
  return s;
}

/** Load `t` at output index `idx` under numpy broadcasting (t's dims right-aligned to idx). */
export function bcastAt(t: TensorRef, idx: readonly Expr[]): Expr {
  const r = t.shape.length, k = idx.length;
  const sub = t.shape.map((d, i) => (d === 1 ? E.i(0) : idx[k - r + i]));
  return t.at(...sub);
}

/** A typed constant. */
export const lit = (v: number, t: ScalarType): Expr => E.c(v, t);
