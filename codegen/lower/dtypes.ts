/** Graph dtypes <-> loop-IR scalar types (float16/bfloat16: 16-bit storage types, loop-ir half.ts). string has no compiled form. */
import type { DType } from '@aic/core';
import type { ScalarType } from '@aic/loop-ir';

const MAP: Partial<Record<DType, ScalarType>> = {
  float32: 'f32', float64: 'f64', int8: 'i8', int16: 'i16', int32: 'i32', int64: 'i64',
  uint8: 'u8', uint16: 'u16', uint32: 'u32', uint64: 'u64', bool: 'bool',
  float16: 'f16', bfloat16: 'bf16',
};
export function scalarTypeOf(d: DType): ScalarType | undefined { return MAP[d]; }
export function dtypeOfScalar(t: ScalarType): DType {
  return (Object.entries(MAP).find(([, v]) => v === t)![0]) as DType;
}
