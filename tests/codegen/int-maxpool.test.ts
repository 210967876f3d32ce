/**
 * MaxPool on uint8 / int8 (a quantized model's pool between QDQ pairs) with padding: lowered over a
 * copy padded with the type's lowest value (ir-spec nn.ts), so the window loop vectorizes; equals the
 * interpreter on C and wasm-simd, including windows of negative int8 values at the borders. On
 * wasm-simd byte data vectorizes by the target's 4 lanes (caps.fixedLanes), not 16 byte lanes that
 * its emitter would run as scalar code.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { getTarget, runOn } from '@aic/codegen';
import { compileWasm } from '../../codegen/wasm/target.ts';
import { printKernel } from '@aic/loop-ir';

let seed = 99;
const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 2 ** 32; };
const ints = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + Math.floor(rnd() * (hi - lo + 1)));

const pool = (t: string, hw: number) => `graph g(x: ${t}[1, 3, ${hw}, ${hw}]) -> (y: ${t}[1, 3, ${Math.floor((hw - 1) / 2) + 1}, ${Math.floor((hw - 1) / 2) + 1}]) {
  y = MaxPool(x, kernel_shape = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2])
}`;

describe('integer MaxPool over a padded copy', () => {
  for (const [t, dt, lo, hi] of [['u8', 'uint8', 0, 255], ['i8', 'int8', -128, -1]] as const) {
    for (const hw of [16, 13]) {
      for (const target of ['c', 'wasm-simd']) {
        it(`${t} ${hw}x${hw} on ${target} equals the interpreter`, async () => {
          const g = parseGraph(pool(t, hw));
          const feeds = new Map<string, RValue>([['x', Tensor.fromNumbers(dt, [1, 3, hw, hw], ints(3 * hw * hw, lo, hi))]]);
          const want = run(g, feeds).get('y') as Tensor;
          const got = (await runOn(getTarget(target)!, g, feeds, { version: 'test', source: 'int-maxpool' })).outputs.get('y') as Tensor;
          expect(Array.from(got.num)).toEqual(Array.from(want.num));
        }, 60_000);
      }
    }
  }
  it('wasm-simd: the window loop is vectorized by 4 lanes over a padded copy', () => {
    const k = compileWasm(parseGraph(pool('u8', 16)), { simd: true, version: 'test', source: 'test', sourceHash: '-' }).prog.kernels.map(printKernel).join('\n');
    expect(k).toContain('xpad');
    expect(k).toContain('vectorized(4)');
    expect(k).not.toMatch(/vectorized\((8|16)\)/);
  });
});
