/**
 * wasm-simd strength-reduces addresses (emit.ts pointer): in a serial loop, an address linear in its
 * variable with the rest invariant is a local set before the loop and stepped by a constant at its
 * end, and an inner loop's start value is its enclosing loop's pointer. The hot loops then compute no
 * address (no shift or multiply of the loop variable, one add per pointer), and the -O2 and -O3
 * convs (blocked nested reductions, a strided 3x3 whose last tap and lanes are one loop at -O3, a 1x1)
 * still match the reference interpreter. The
 * scalar `wasm` target does the same (squeezenet1_1 -O2 135.4 -> 130.2 ms). A one-loop reduction
 * over blocked input channels (a 1x1 conv with a SiLU epilogue, index `(r / 4) * HW * 4 + r % 4`)
 * steps its pointer by one amount, or another after r % 4 = 3 (a select): no division, remainder or
 * shift of r in the loop; 18 input channels (not whole blocks) still match.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@aic/core';
import { emitWat, runWasmSync, type compileWasm } from '../../codegen/wasm/target.ts';
import { check, compileAt, sineInput, values } from '../codegen/dsl-values.ts';

const SRC = `graph g(x: f32[1, 8, 10, 10]) -> (y: f32[1, 24, 5, 5]) {
  w1: f32[16, 8, 3, 3] = ${values(16 * 72, 1)}
  b1: f32[16] = ${values(16, 2)}
  w2: f32[24, 16, 1, 1] = ${values(24 * 16, 3)}
  c1 = Conv(x, w1, b1, pads = [1, 1, 1, 1], strides = [2, 2])
  r1 = Relu(c1)
  y = Conv(r1, w2)
}`;

/** the bodies of the innermost loops (no loop inside) of the module's kernel functions */
function innermostLoops(wat: string): string[][] {
  const lines = wat.split('\n').map((l) => l.trim());
  const out: string[][] = [];
  const stack: { start: number; leaf: boolean }[] = [];
  lines.forEach((l, i) => {
    if (/^(loop|block|if)\b/.test(l)) {
      if (l.startsWith('loop')) stack.filter((f) => f.start >= 0).forEach((f) => { f.leaf = false; });
      stack.push({ start: l.startsWith('loop') ? i : -1, leaf: true });
    } else if (l === 'end' && stack.length) {
      const f = stack.pop()!;
      if (f.start >= 0 && f.leaf) out.push(lines.slice(f.start + 1, i));
    }
  });
  return out;
}

describe('wasm-simd: strength-reduced addresses', () => {
  for (const level of [2, 3]) {
    it(`-O${level}: the multiply-add loops step pointers, outputs match`, () => {
      const r = compileAt(SRC, 'wasm-simd', () => sineInput([1, 8, 10, 10], 0.23, 1.5), { version: 'test', source: 'strength-reduce', sourceHash: '-' }, level);
      const compiled = r.compiled as ReturnType<typeof compileWasm>, feeds = r.feeds, want = r.want.get('y') as Tensor;
      const hot = innermostLoops(emitWat(compiled)).filter((b) => b.some((l) => l.startsWith('f32x4.mul')));
      expect(hot.length).toBeGreaterThan(0);
      for (const b of hot) {
        expect(b.filter((l) => /^i32\.(shl|mul|div|rem|shr)/.test(l)), b.join(' ')).toEqual([]);
        // the loop's own counter and the pointers: adds of constants only
        expect(b.filter((l) => l === 'i32.add').length).toBeLessThanOrEqual(b.filter((l) => l.startsWith('i32.const')).length);
      }
      // -O3's stride-2 3x3 conv runs its last tap and its input lanes as one loop of 3 x 4 steps (TargetCaps.loopEntryCost)
      if (level === 3) expect(hot.some((b) => b.slice(-4).includes('i32.const 12')), 'a 12-step tap-lane loop').toBe(true);
      check(runWasmSync(compiled, feeds).get('y') as Tensor, want, `-O${level}`);
    });
  }
});

const SILU = `graph g(x: f32[1, 18, 6, 6]) -> (y: f32[1, 20, 6, 6]) {
  w: f32[20, 18, 1, 1] = ${values(20 * 18, 4)}
  b: f32[20] = ${values(20, 5)}
  c = Conv(x, w, b)
  s = Sigmoid(c)
  y = Mul(c, s)
}`;

describe('wasm-simd: a one-loop blocked reduction steps its pointers across blocks', () => {
  it('-O3 1x1 conv + SiLU: no div / rem / shift of the reduction variable, outputs match', () => {
    const r = compileAt(SILU, 'wasm-simd', () => sineInput([1, 18, 6, 6], 0.31, 1.2), { version: 'test', source: 'strength-reduce-carry', sourceHash: '-' }, 3);
    const compiled = r.compiled as ReturnType<typeof compileWasm>;
    const hot = innermostLoops(emitWat(compiled)).filter((b) => b.some((l) => l.startsWith('f32x4.mul')));
    expect(hot.length).toBeGreaterThan(0);
    for (const b of hot) {
      expect(b.filter((l) => /^i32\.(div|rem|shr|shl|mul)/.test(l)), b.join(' ')).toEqual([]);
      expect(b).toContain('select');
    }
    check(runWasmSync(compiled, r.feeds).get('y') as Tensor, r.want.get('y') as Tensor, '-O3 carry');
  });
});
