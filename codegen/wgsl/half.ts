/**
 * WGSL for 16-bit float buffers (loop-ir half.ts), with integer bit arithmetic only (exact on every
 * adapter, whatever it does with f32 subnormals; the same algorithms as c/half.ts):
 * - activations, inputs and outputs: one 16-bit pattern in the low half of a 32-bit word (a store
 *   writes a whole word, so invocations never race on a shared word); the host passes the bit
 *   patterns through (Uint16Array in and out, no conversion);
 * - weights: two 16-bit patterns per word (element i in word i >> 1, low half first), read only, so
 *   the download and the GPU copy of the weights are half the float32 size.
 */
import { Tensor, tensorToBytes, type DType } from '@aic/core';
import { halfBits, halfValue, type HalfType } from '@aic/loop-ir';
import type { WHelpers } from './expr.ts';

const DEFS: Record<string, string> = {
  aic_f16_to_f32: [
    'fn aic_f16_to_f32(h: u32) -> f32 {',
    '  let s = (h & 0x8000u) << 16u;',
    '  let e = (h >> 10u) & 0x1fu;',
    '  let m = h & 0x3ffu;',
    '  if (e == 0x1fu) { return bitcast<f32>(s | 0x7f800000u | (m << 13u)); }',
    '  if (e != 0u) { return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u)); }',
    '  if (m == 0u) { return bitcast<f32>(s); }',
    '  let k = countLeadingZeros(m) - 21u;',
    '  return bitcast<f32>(s | ((113u - k) << 23u) | (((m << k) & 0x3ffu) << 13u));',
    '}',
  ].join('\n'),
  aic_f32_to_f16: [
    'fn aic_f32_to_f16(f: f32) -> u32 {',
    '  let x = bitcast<u32>(f);',
    '  let s = (x >> 16u) & 0x8000u;',
    '  let a = x & 0x7fffffffu;',
    '  if (a > 0x7f800000u) { return s | 0x7e00u; }',
    '  if (a >= 0x47800000u) { return s | 0x7c00u; }',
    '  let e = a >> 23u;',
    '  var m = a & 0x7fffffu;',
    '  var h: u32;',
    '  var rem: u32;',
    '  var half: u32;',
    '  if (e < 113u) {',
    '    if (e < 102u) { return s; }',
    '    m = m | 0x800000u;',
    '    let sh = 126u - e;',
    '    h = m >> sh; rem = m & ((1u << sh) - 1u); half = 1u << (sh - 1u);',
    '  } else {',
    '    h = ((e - 112u) << 10u) | (m >> 13u); rem = m & 0x1fffu; half = 0x1000u;',
    '  }',
    '  if (rem > half || (rem == half && (h & 1u) == 1u)) { h = h + 1u; }',
    '  return s | h;',
    '}',
  ].join('\n'),
  aic_bf16_to_f32: 'fn aic_bf16_to_f32(h: u32) -> f32 { return bitcast<f32>(h << 16u); }',
  aic_f32_to_bf16: [
    'fn aic_f32_to_bf16(f: f32) -> u32 {',
    '  let x = bitcast<u32>(f);',
    '  if ((x & 0x7fffffffu) > 0x7f800000u) { return (x >> 16u) | 0x40u; }',
    '  return ((x + 0x7fffu + ((x >> 16u) & 1u)) >> 16u) & 0xffffu;',
    '}',
  ].join('\n'),
};
const need = (h: WHelpers, name: string) => h.need(name, () => DEFS[name]);

/**
 * The f32 value of element `idx` (an i32 expression) of a 16-bit buffer in storage array `arr` at
 * word offset `off`; `packed`: two elements per word (weights).
 */
export function wgslHalfLoad(h: WHelpers, t: HalfType, arr: string, off: number, idx: string, packed: boolean): string {
  const cvt = need(h, t === 'f16' ? 'aic_f16_to_f32' : 'aic_bf16_to_f32');
  const at = (i: string) => `${arr}[${off ? `${off} + ${i}` : i}]`;
  if (!packed) return `${cvt}(${at(idx)})`;
  return `${cvt}((${at(`((${idx}) >> 1u)`)} >> ((u32(${idx}) & 1u) << 4u)) & 0xffffu)`;
}

/** The word a store of f32 `val` into a (one element per word) 16-bit buffer writes. */
export function wgslHalfStore(h: WHelpers, t: HalfType, val: string): string {
  return `${need(h, t === 'f16' ? 'aic_f32_to_f16' : 'aic_f32_to_bf16')}(${val})`;
}

/** Weight values -> packed words (two 16-bit patterns per word, low half first). */
export function packHalfWords(data: ArrayLike<number>, t: HalfType, n: number): Uint32Array {
  const out = new Uint32Array(Math.max(1, Math.ceil(n / 2)));
  for (let k = 0; k < n; k++) out[k >> 1] |= halfBits(data[k], t) << ((k & 1) * 16);
  return out;
}

export const isHalfDtype = (d: string): d is 'float16' | 'bfloat16' => d === 'float16' || d === 'bfloat16';
const halfOf = (d: 'float16' | 'bfloat16'): HalfType => (d === 'float16' ? 'f16' : 'bf16');

/** A float16/bfloat16 tensor as the bit patterns the WebGPU host takes (Uint16Array). */
export function halfFeed(t: Tensor): Uint16Array {
  const b = tensorToBytes(t);
  return new Uint16Array(b.buffer, b.byteOffset, t.size);
}

/** Bit patterns from the WebGPU host -> a float16/bfloat16 tensor. */
export function halfTensor(dtype: DType, shape: number[], bits: ArrayLike<number>): Tensor {
  const t = halfOf(dtype as 'float16' | 'bfloat16');
  return Tensor.fromNumbers(dtype, shape, Array.from(bits, (b) => halfValue(Number(b) & 0xffff, t)));
}
