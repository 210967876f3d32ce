/**
 * wasm-simd: a max pool's running maximum select(x > acc, x, acc) is one f32x4.pmax(acc, x) (pmax is
 * defined as that select, NaN and zeros included), where the select took four instructions. Inputs
 * with NaN, ±0 and ±inf: the -O2 and -O3 (blocked) kernels give the reference interpreter's values.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { emitWat, runWasmSync, type compileWasm } from '../../codegen/wasm/target.ts';
import { compileAt } from '../codegen/dsl-values.ts';

// a 1x1 identity conv in front, so -O3 blocks the region (NaN and infinities spread to the pixel's channels)
const EYE = Array.from({ length: 64 }, (_, i) => (i % 9 === 0 ? '1.0' : '0.0')).join(', ');
const SRC = `graph g(x: f32[1, 8, 9, 9]) -> (y: f32[1, 8, 5, 5]) {
  w: f32[8, 8, 1, 1] = [${EYE}]
  c = Conv(x, w)
  y = MaxPool(c, kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1])
}`;
const SPECIAL = [NaN, -0, 0, Infinity, -Infinity, -1.5, 2.25];

function input(): Map<string, RValue> {
  const t = new Tensor('float32', [1, 8, 9, 9]);
  for (let i = 0; i < t.size; i++) t.num[i] = i % 17 === 5 ? SPECIAL[(i / 17) % SPECIAL.length | 0] : Math.sin(i * 0.7) * 3;
  return new Map([['x', t]]);
}

/** values with NaN as a string, zeros without sign */
const norm = (t: Tensor) => Array.from(t.num as ArrayLike<number>, (v) => (Number.isNaN(v) ? 'nan' : v === 0 ? 0 : v));

describe('wasm-simd max pool: pmax for the running maximum', () => {
  for (const level of [2, 3]) {
    it(`-O${level}: values (NaN, ±0, ±inf) equal the interpreter's`, () => {
      const r = compileAt(SRC, 'wasm-simd', input, { version: 'test', source: 'maxpool-pmax', sourceHash: '-' }, level);
      const compiled = r.compiled as ReturnType<typeof compileWasm>, feeds = r.feeds, want = r.want.get('y') as Tensor;
      if (level === 3) expect(emitWat(compiled)).toMatch(/f32x4\.pmax/);
      const got = runWasmSync(compiled, feeds).get('y') as Tensor;
      expect(norm(got)).toEqual(norm(want));
      expect(norm(want)).toContain('nan');
    });
  }
});
