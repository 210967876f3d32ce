/**
 * wasm-simd vector casts from f32 to integers (f32x4 clamp + i32x4.trunc_sat_f32x4) give the loop-IR
 * saturating cast's values, lane for lane: truncation toward zero, out-of-range values saturate,
 * NaN becomes 0 (the interpreter's cast is the reference). Cast to i32/u32 runs 4-lane vectors
 * (i32x4.trunc_sat_f32x4_s/u); the narrow types (8/16-bit outputs of a plain Cast run 16 lanes, not
 * through this path) are here for the values, their 4-lane clamp path is checked by the aic.QConv
 * epilogues of qdq-fusion.test.ts on wasm-simd.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { getTarget, runOn } from '@aic/codegen';

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 0.5, -0.5, 1.5, -1.5, 127.9, 128, -128.9, -129, 255.5, 256, -1,
  32767.5, 32768, -32769, 65535.9, 65536, 2147483520, -2147483904, 3e9, 4.5e9, -3e9, 1e-30, 12.25];

/** graph `src` (input x: f32[64], output y) on SPECIAL and its negations: the interpreter's y and wasm-simd's */
async function both(src: string): Promise<{ x: Tensor; want: Tensor; got: Tensor }> {
  const g = parseGraph(src);
  const x = Tensor.fromNumbers('float32', [64], Array.from({ length: 64 }, (_, i) => SPECIAL[i % SPECIAL.length]! * (i < SPECIAL.length ? 1 : -1)));
  const feeds = new Map<string, RValue>([['x', x]]);
  const want = run(g, feeds).get('y') as Tensor;
  const got = (await runOn(getTarget('wasm-simd')!, g, feeds, { version: 'test', source: 'wasm-vcast' })).outputs.get('y') as Tensor;
  return { x, want, got };
}

describe('wasm-simd f32 -> integer vector casts', () => {
  for (const to of ['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32']) {
    it(`f32 -> ${to} equals the interpreter`, async () => {
      const { want, got } = await both(`graph g(x: f32[64]) -> (y: ${{ int8: 'i8', uint8: 'u8', int16: 'i16', uint16: 'u16', int32: 'i32', uint32: 'u32' }[to]}[64]) {
  y = Cast(x, to = ${({ int8: 3, uint8: 2, int16: 5, uint16: 4, int32: 6, uint32: 12 } as Record<string, number>)[to]})
}`);
      expect(Array.from(got.num)).toEqual(Array.from(want.num));
      expect(new Set(Array.from(want.num)).size).toBeGreaterThan(5);
    });
  }
  // f32 -> narrow -> i32: an i32 output runs 4-lane vectors, so the narrow cast takes the clamp path
  // (f32x4.pmax / pmin with the bound second, which keeps a NaN lane NaN for trunc_sat to make 0)
  // (Round(x) first: its own kernel here, so the values only; the magic-number conversion of a fused
  // narrow(round_even(x)) is checked on the kernel in tests/wasm/wasm.test.ts)
  for (const [to, code, round] of [['i16', 5, false], ['u8', 2, false], ['i8', 3, false], ['i16', 5, true], ['u8', 2, true]] as const) {
    it(`f32 -> ${round ? 'Round -> ' : ''}${to} -> i32 (4 lanes, the clamp path) equals the interpreter, NaN and infinities included`, async () => {
      const { x, want, got } = await both(`graph g(x: f32[64]) -> (y: i32[64]) {
  y = Cast(Cast(${round ? 'Round(x)' : 'x'}, to = ${code}), to = 6)
}`);
      expect(Array.from(got.num)).toEqual(Array.from(want.num));
      expect(Array.from(want.num).filter((v, i) => Number.isNaN(x.num[i]!) && v === 0).length).toBeGreaterThan(0);
    });
  }
});
