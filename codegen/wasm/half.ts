/**
 * WebAssembly for 16-bit float buffers (loop-ir half.ts): elements are 16-bit patterns
 * (i32.load16_u / i32.store16) converted by these module functions on every load (exact) and store
 * (round to nearest even, once; an f64 value goes through a round-to-odd f32). The same integer
 * algorithms as the C target (c/half.ts).
 */
import type { HalfType } from '@aic/loop-ir';
import { Func, v128Of, type Instr, type ModuleBuilder } from './module.ts';

type Code = Instr[];
const I = (v: number): Instr => ['i32.const', v | 0];

function f16ToF32(f: Func): Code {
  const h = 0, s = f.local('i32'), e = f.local('i32'), m = f.local('i32');
  return [
    ['local.get', h], I(0x8000), ['i32.and'], I(16), ['i32.shl'], ['local.set', s],
    ['local.get', h], I(10), ['i32.shr_u'], I(0x1f), ['i32.and'], ['local.set', e],
    ['local.get', h], I(0x3ff), ['i32.and'], ['local.set', m],
    ['local.get', e], I(0x1f), ['i32.eq'], ['if', 'f32'],
    ['local.get', s], I(0x7f800000), ['i32.or'], ['local.get', m], I(13), ['i32.shl'], ['i32.or'], ['f32.reinterpret_i32'],
    ['else'],
    ['local.get', e], ['if', 'f32'],
    ['local.get', s], ['local.get', e], I(112), ['i32.add'], I(23), ['i32.shl'], ['i32.or'], ['local.get', m], I(13), ['i32.shl'], ['i32.or'], ['f32.reinterpret_i32'],
    ['else'],
    // zero or subnormal: m * 2^-24 is exact in f32
    ['local.get', m], ['f32.convert_i32_u'], ['f32.const', 2 ** -24], ['f32.mul'], ['local.get', s], ['f32.reinterpret_i32'], ['f32.copysign'],
    ['end'], ['end'],
  ];
}

function f32ToF16(f: Func): Code {
  const x = f.local('i32'), s = f.local('i32'), a = f.local('i32'), e = f.local('i32'), m = f.local('i32');
  const h = f.local('i32'), rem = f.local('i32'), half = f.local('i32'), sh = f.local('i32');
  return [
    ['local.get', 0], ['i32.reinterpret_f32'], ['local.set', x],
    ['local.get', x], I(16), ['i32.shr_u'], I(0x8000), ['i32.and'], ['local.set', s],
    ['local.get', x], I(0x7fffffff), ['i32.and'], ['local.set', a],
    ['local.get', a], I(0x7f800000), ['i32.gt_u'], ['if'], ['local.get', s], I(0x7e00), ['i32.or'], ['return'], ['end'],
    ['local.get', a], I(0x47800000), ['i32.ge_u'], ['if'], ['local.get', s], I(0x7c00), ['i32.or'], ['return'], ['end'],
    ['local.get', a], I(23), ['i32.shr_u'], ['local.set', e],
    ['local.get', a], I(0x7fffff), ['i32.and'], ['local.set', m],
    ['local.get', e], I(113), ['i32.lt_u'], ['if'],
    ['local.get', e], I(102), ['i32.lt_u'], ['if'], ['local.get', s], ['return'], ['end'],
    ['local.get', m], I(0x800000), ['i32.or'], ['local.set', m],
    I(126), ['local.get', e], ['i32.sub'], ['local.set', sh],
    ['local.get', m], ['local.get', sh], ['i32.shr_u'], ['local.set', h],
    ['local.get', m], I(1), ['local.get', sh], ['i32.shl'], I(1), ['i32.sub'], ['i32.and'], ['local.set', rem],
    I(1), ['local.get', sh], I(1), ['i32.sub'], ['i32.shl'], ['local.set', half],
    ['else'],
    ['local.get', e], I(112), ['i32.sub'], I(10), ['i32.shl'], ['local.get', m], I(13), ['i32.shr_u'], ['i32.or'], ['local.set', h],
    ['local.get', m], I(0x1fff), ['i32.and'], ['local.set', rem],
    I(0x1000), ['local.set', half],
    ['end'],
    // h += rem > half || (rem == half && (h & 1))
    ['local.get', h],
    ['local.get', rem], ['local.get', half], ['i32.gt_u'],
    ['local.get', rem], ['local.get', half], ['i32.eq'], ['local.get', h], I(1), ['i32.and'], ['i32.and'],
    ['i32.or'], ['i32.add'], ['local.get', s], ['i32.or'],
  ];
}

const bf16ToF32 = (): Code => [['local.get', 0], I(16), ['i32.shl'], ['f32.reinterpret_i32']];

function f32ToBf16(f: Func): Code {
  const x = f.local('i32');
  return [
    ['local.get', 0], ['i32.reinterpret_f32'], ['local.set', x],
    ['local.get', x], I(0x7fffffff), ['i32.and'], I(0x7f800000), ['i32.gt_u'], ['if'],
    ['local.get', x], I(16), ['i32.shr_u'], I(0x40), ['i32.or'], ['return'], ['end'],
    ['local.get', x], I(0x7fff), ['i32.add'], ['local.get', x], I(16), ['i32.shr_u'], I(1), ['i32.and'], ['i32.add'], I(16), ['i32.shr_u'],
  ];
}

/** f64 -> f32 rounding to odd: an inexact result keeps an odd last bit (exact for a second, narrower rounding) */
function f64ToF32Odd(f: Func): Code {
  const r = f.local('f32'), b = f.local('i32');
  return [
    ['local.get', 0], ['f32.demote_f64'], ['local.set', r],
    ['local.get', r], ['f64.promote_f32'], ['local.get', 0], ['f64.ne'], ['local.get', 0], ['local.get', 0], ['f64.eq'], ['i32.and'],
    ['if'],
    ['local.get', r], ['i32.reinterpret_f32'], ['local.tee', b], I(1), ['i32.and'], ['i32.eqz'], ['if'],
    ['local.get', b], I(-1), I(1),
    ['local.get', r], ['f64.promote_f32'], ['f64.abs'], ['local.get', 0], ['f64.abs'], ['f64.gt'], ['select'], ['i32.add'],
    ['f32.reinterpret_i32'], ['local.set', r],
    ['end'], ['end'],
    ['local.get', r],
  ];
}

type Conv = 'aic_f16_to_f32' | 'aic_f32_to_f16' | 'aic_bf16_to_f32' | 'aic_f32_to_bf16' | 'aic_f64_to_f32_odd';
const SIG: Record<Conv, [string, string, (f: Func) => Code]> = {
  aic_f16_to_f32: ['i32', 'f32', f16ToF32], aic_f32_to_f16: ['f32', 'i32', f32ToF16],
  aic_bf16_to_f32: ['i32', 'f32', bf16ToF32], aic_f32_to_bf16: ['f32', 'i32', f32ToBf16],
  aic_f64_to_f32_odd: ['f64', 'f32', f64ToF32Odd],
};

function need(mb: ModuleBuilder, name: Conv): string {
  if (mb.hasFunc(name)) return name;
  const [p, r, body] = SIG[name];
  const f = mb.addFunc(new Func(name, [p as 'i32'], [r as 'i32']));
  f.emit(...body(f));
  return name;
}

/** instructions after an i32.load16_u of a 16-bit buffer element: its f32 value */
export function halfLoad(mb: ModuleBuilder, t: HalfType): Code {
  return [['call', need(mb, t === 'f16' ? 'aic_f16_to_f32' : 'aic_bf16_to_f32')]];
}

/** instructions turning a stored value (f32 or f64 on the stack) into the bits for i32.store16 */
export function halfStore(mb: ModuleBuilder, t: HalfType, valT: string): Code {
  const odd: Code = valT === 'f64' ? [['call', need(mb, 'aic_f64_to_f32_odd')]] : [];
  return [...odd, ['call', need(mb, t === 'f16' ? 'aic_f32_to_f16' : 'aic_f32_to_bf16')]];
}

// ---- four lanes at once (SIMD128): the same selects as c/half.ts, so vector and scalar code agree ----

const V = (v: number): Instr => ['v128.const', v128Of('i32', [v, v, v, v])];
const VF = (v: number): Instr => ['v128.const', v128Of('f32', [v, v, v, v])];

/** i32x4 of 16-bit patterns on the stack -> f32x4 values */
export function halfToF32x4(f: Func, t: HalfType): Code {
  if (t === 'bf16') return [['i32.const', 16], ['i32x4.shl']];
  const h = f.local('v128'), o = f.local('v128'), e = f.local('v128');
  return [
    ['local.set', h],
    ['local.get', h], V(0x7fff), ['v128.and'], ['i32.const', 13], ['i32x4.shl'], ['local.set', o],
    ['local.get', o], V(0x0f800000), ['v128.and'], ['local.set', e],
    ['local.get', o], V(112 << 23), ['i32x4.add'], ['local.set', o],
    ['local.get', o], ['local.get', e], V(0x0f800000), ['i32x4.eq'], V(112 << 23), ['v128.and'], ['i32x4.add'], ['local.set', o],
    // zero / subnormal: (o + 2^23) as a float minus 2^-14, exact
    ['local.get', o], V(1 << 23), ['i32x4.add'], VF(2 ** -14), ['f32x4.sub'],
    ['local.get', o],
    ['local.get', e], V(0), ['i32x4.eq'],
    ['v128.bitselect'],
    ['local.get', h], V(0x8000), ['v128.and'], ['i32.const', 16], ['i32x4.shl'], ['v128.or'],
  ];
}

/** f32x4 values on the stack -> i32x4 of 16-bit patterns (round to nearest even) */
export function f32x4ToHalf(f: Func, t: HalfType): Code {
  const x = f.local('v128'), a = f.local('v128'), r = f.local('v128');
  if (t === 'bf16') {
    return [
      ['local.set', x],
      ['local.get', x], ['i32.const', 16], ['i32x4.shr_u'], V(0x40), ['v128.or'],
      ['local.get', x], V(0x7fff), ['i32x4.add'], ['local.get', x], ['i32.const', 16], ['i32x4.shr_u'], V(1), ['v128.and'], ['i32x4.add'], ['i32.const', 16], ['i32x4.shr_u'],
      ['local.get', x], V(0x7fffffff), ['v128.and'], V(0x7f800000), ['i32x4.gt_s'],
      ['v128.bitselect'],
    ];
  }
  return [
    ['local.set', x],
    ['local.get', x], V(0x7fffffff), ['v128.and'], ['local.set', a],
    // subnormal results: a + 0.5 rounds at 2^-24; normal: integer rounding to nearest even
    ['local.get', a], VF(0.5), ['f32x4.add'], V(0x3f000000), ['i32x4.sub'],
    ['local.get', a], V(0xc8000fff), ['i32x4.add'], ['local.get', a], ['i32.const', 13], ['i32x4.shr_u'], V(1), ['v128.and'], ['i32x4.add'], ['i32.const', 13], ['i32x4.shr_u'],
    ['local.get', a], V(0x38800000), ['i32x4.lt_s'],
    ['v128.bitselect'], ['local.set', r],
    V(0x7e00), V(0x7c00), ['local.get', a], V(0x7f800000), ['i32x4.gt_s'], ['v128.bitselect'],
    ['local.get', r],
    ['local.get', a], V(0x47800000), ['i32x4.ge_s'],
    ['v128.bitselect'],
    ['local.get', x], ['i32.const', 16], ['i32x4.shr_u'], V(0x8000), ['v128.and'], ['v128.or'],
  ];
}
