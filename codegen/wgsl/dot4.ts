/**
 * dot4 on WGSL (loop-ir intrinsics.ts: the four bytes of p unsigned times those of q signed, summed
 * in int32; int-dot4.ts builds int8 reductions on it). The module carries the unpacked form (byte
 * extracts and multiplies, valid everywhere); the host module swaps in the packed
 * form when the device's WGSL has the `packed_4x8_integer_dot_product` language feature
 * (navigator.gpu.wgslLanguageFeatures): dot4I8Packed multiplies signed bytes, so p's bytes u go in as
 * u - 128 (u ^ 0x80) and 128 * (sum of q's bytes), one more dot4I8Packed, is added back. Both forms
 * give the same int32 (wrapping) value.
 */
import type { WHelpers } from './expr.ts';

export const DOT4_FEATURE = 'packed_4x8_integer_dot_product';

const UNPACKED = [
  'fn aic_dot4(p: i32, q: i32) -> i32 {',
  '  let u = bitcast<u32>(p);',
  '  return i32(extractBits(u, 0u, 8u)) * extractBits(q, 0u, 8u) + i32(extractBits(u, 8u, 8u)) * extractBits(q, 8u, 8u)',
  '    + i32(extractBits(u, 16u, 8u)) * extractBits(q, 16u, 8u) + i32(extractBits(u, 24u, 8u)) * extractBits(q, 24u, 8u);',
  '}',
].join('\n');

/** The packed form the host module puts in place of the unpacked one. */
const DOT4_PACKED = [
  'fn aic_dot4(p: i32, q: i32) -> i32 {',
  '  let w = bitcast<u32>(q);',
  '  return dot4I8Packed(bitcast<u32>(p) ^ 0x80808080u, w) + 128i * dot4I8Packed(0x01010101u, w);',
  '}',
].join('\n');

/** The helper's name (declared once per module, in its unpacked form). */
export function wgslDot4(h: WHelpers): string {
  return h.need('aic_dot4', () => UNPACKED);
}

/**
 * Where the host splices the packed form in (manifest.dot4): the unpacked helper's character range
 * in the module, or undefined when no kernel uses dot4.
 */
export function dot4Splice(wgsl: string): { at: number; len: number; packed: string } | undefined {
  const at = wgsl.indexOf(UNPACKED);
  return at < 0 ? undefined : { at, len: UNPACKED.length, packed: DOT4_PACKED };
}
