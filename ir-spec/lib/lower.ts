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

/**
 * Element idx of the concatenation of parts along axis a (each part starting at `off`): a select chain
 * over the parts' ranges, each load indexed relative to its part. Concat's compute definition, and
 * aic.ChannelShuffle's for several inputs.
 */
export function concatAt(parts: readonly { x: TensorRef; off: number }[], a: number, idx: readonly Expr[]): Expr {
  const load = (p: { x: TensorRef; off: number }) => p.x.at(...idx.map((v, k) => (k === a && p.off ? E.sub(v, E.i(p.off)) : v)));
  let e = load(parts[parts.length - 1]!);
  for (let p = parts.length - 2; p >= 0; p--) {
    const q = parts[p]!;
    e = E.select(E.lt(idx[a]!, E.i(q.off + q.x.shape[a]!)), load(q), e);
  }
  return e;
}
