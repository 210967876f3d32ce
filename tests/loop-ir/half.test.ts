/**
 * loop-ir half.ts: the 16-bit storage types. Bit patterns and values round-trip for every pattern,
 * roundHalf is the interpreter's float16/bfloat16 rounding (ties to even, overflow to Inf), and the
 * loop-IR interpreter rounds a store into a 16-bit buffer once, from the double.
 */
import { describe, expect, it } from 'vitest';
import { E, LoopInterpreter, S, computeT, halfBits, halfValue, roundHalf, verifyKernel, type Kernel } from '@aic/loop-ir';

describe('loop-ir 16-bit float storage', () => {
  for (const t of ['f16', 'bf16'] as const) {
    it(`${t}: every bit pattern round-trips (NaN to the canonical NaN)`, () => {
      for (let b = 0; b < 65536; b++) {
        const v = halfValue(b, t);
        if (Number.isNaN(v)) expect(Number.isNaN(halfValue(halfBits(v, t), t))).toBe(true);
        else expect(halfBits(v, t)).toBe(b);
      }
    });
  }
  it('rounds to nearest even once, overflows to Inf, keeps subnormals', () => {
    expect(roundHalf(1 + 2 ** -11, 'f16')).toBe(1); // tie -> even
    expect(roundHalf(1 + 3 * 2 ** -11, 'f16')).toBe(1 + 2 ** -9); // tie -> even (up)
    expect(roundHalf(1 + 2 ** -11 + 2 ** -40, 'f16')).toBe(1 + 2 ** -10); // just above a tie: up (no double rounding)
    expect(roundHalf(65519.99, 'f16')).toBe(65504);
    expect(roundHalf(65520, 'f16')).toBe(Infinity);
    expect(roundHalf(-(2 ** -25), 'f16')).toBe(-0);
    expect(roundHalf(3 * 2 ** -26, 'f16')).toBe(2 ** -24);
    expect(roundHalf(1 + 2 ** -8, 'bf16')).toBe(1);
    expect(roundHalf(3.4e38, 'bf16')).toBe(Infinity);
    expect(Number.isNaN(roundHalf(NaN, 'bf16'))).toBe(true);
  });
  it('loads yield f32, the interpreter rounds stores into a 16-bit buffer', () => {
    expect(computeT('f16')).toBe('f32');
    const k: Kernel = {
      name: 'k',
      params: [{ name: 'x', dtype: 'f64', shape: [2], scope: 'global', role: 'input' }, { name: 'y', dtype: 'f16', shape: [2], scope: 'global', role: 'output' }],
      body: S.for('i', 2, S.store('y', E.v('i'), E.load('x', E.v('i'), 'f64'))),
    };
    verifyKernel(k);
    const y = new Float32Array(2);
    new LoopInterpreter({ x: new Float64Array([1 + 2 ** -11 + 2 ** -40, 70000]), y }).runKernel(k);
    expect(Array.from(y)).toEqual([1 + 2 ** -10, Infinity]);
  });
});
