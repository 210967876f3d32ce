/**
 * Copy loops in vectors (codegen/schedule/copy-vectors.ts): a contiguous copy into a kernel-local
 * buffer becomes blocks of `lanes` with the last one clamped (the padded input copy of an int8
 * depthwise conv converts u8 -> i32, which the C compiler left scalar); copies that read what they
 * write, strided copies and short ones stay as they were. The loop-IR interpreter runs both forms.
 */
import { describe, expect, it } from 'vitest';
import { E, LoopInterpreter, S, printKernel, type Buffer, type Kernel } from '@aic/loop-ir';
import { vectorizeCopies } from '../../codegen/schedule/copy-vectors.ts';

const X: Buffer = { name: 'x', dtype: 'u8', shape: [23], scope: 'global', role: 'input' };
const Y: Buffer = { name: 'y', dtype: 'i32', shape: [23], scope: 'global', role: 'output' };
const T = (n: number): Buffer => ({ name: 't', dtype: 'i32', shape: [n], scope: 'local', role: 'scratch' });

/** t[v + 1] = x[v] - 3 for v < n (a padded row), then y[i] = t[i] */
function kernel(n: number, srcStride = 1, selfRead = false): Kernel {
  const val = selfRead ? E.add(E.load('t', E.v('v'), 'i32'), E.i(1)) : E.sub(E.cast(E.load('x', E.mul(E.v('v'), E.i(srcStride)), 'u8'), 'i32'), E.i(3));
  const body = S.alloc(T(n + 2), S.seq(
    S.for('z', n + 2, S.store('t', E.v('z'), E.i(0))),
    S.for('v', n, S.store('t', E.add(E.v('v'), E.i(1)), val)),
    S.for('i', n + 2, S.store('y', E.v('i'), E.load('t', E.v('i'), 'i32')))));
  return { name: 'k', params: [X, { ...Y, shape: [n + 2] }], body };
}

function run(k: Kernel, n: number): number[] {
  const x = Uint8Array.from({ length: 23 }, (_, i) => (i * 37) % 256);
  const y = new Int32Array(n + 2);
  new LoopInterpreter({ x, y }).runKernel(k);
  return Array.from(y);
}

describe('vectorizeCopies', () => {
  it('splits a contiguous converting copy into clamped vector blocks, same values', () => {
    for (const n of [8, 11, 16]) {
      const k = kernel(n), v = vectorizeCopies(k, 4);
      const text = printKernel(v);
      expect(text).toContain('vectorized(4)');
      expect(text).toMatch(n % 4 ? /min\(\(v[bl]?\w* \* 4\), \d+\)/ : /\(vb\d \* 4\)/);
      expect(run(v, n)).toEqual(run(k, n));
    }
  });
  it('leaves short, strided, self-reading and global-buffer loops alone', () => {
    expect(printKernel(vectorizeCopies(kernel(3), 4))).toContain('for v in 0..3 {');
    expect(printKernel(vectorizeCopies(kernel(14), 16))).toContain('vectorized(8)'); // a 14-wide row: two blocks of 8
    const strided = printKernel(vectorizeCopies(kernel(11, 2), 4));
    expect(strided.match(/vectorized/g)?.length ?? 0).toBe(1); // only the zero fill of t
    const self = printKernel(vectorizeCopies(kernel(11, 1, true), 4));
    expect(self.match(/vectorized/g)?.length ?? 0).toBe(1);
    expect(printKernel(vectorizeCopies(kernel(11), 4))).not.toMatch(/for i\w* in [^\n]*\n\s*for [^\n]*vectorized/); // y is a global
    expect(vectorizeCopies(kernel(11), 1)).toEqual(kernel(11));
  });

  it('a copy whose guarded load may leave its buffer (a 3-D conv\'s padding planes) stays scalar', () => {
    // t[p, v] = p >= 1 ? x[(p - 1) * 8 + v] : 0 for p < 3, v < 8: the vector load of plane p = 0 would
    // read x[-8..-1] (r3d_18 on C: SIGSEGV); with the plane index clamped into x the load is safe
    const padded = (safe: boolean): Kernel => {
      const idx = E.add(E.mul(safe ? E.max(E.sub(E.v('p'), E.i(1)), E.i(0)) : E.sub(E.v('p'), E.i(1)), E.i(8)), E.v('v'));
      const val = E.select(E.ge(E.v('p'), E.i(1)), E.cast(E.load('x', idx, 'u8'), 'i32'), E.i(0));
      const body = S.alloc(T(24), S.seq(
        S.for('p', 3, S.for('v', 8, S.store('t', E.add(E.mul(E.v('p'), E.i(8)), E.v('v')), val))),
        S.for('i', 24, S.store('y', E.v('i'), E.load('t', E.v('i'), 'i32')))));
      return { name: 'k', params: [X, { ...Y, shape: [24] }], body };
    };
    const unsafe = vectorizeCopies(padded(false), 4);
    expect(printKernel(unsafe)).not.toContain('vectorized');
    const safe = vectorizeCopies(padded(true), 4);
    expect(printKernel(safe)).toContain('vectorized(4)');
    const out = (k: Kernel) => { const y = new Int32Array(24); new LoopInterpreter({ x: Uint8Array.from({ length: 23 }, (_, i) => i + 1), y }).runKernel(k); return Array.from(y); };
    expect(out(safe)).toEqual(out(padded(false)));
    expect(out(unsafe)).toEqual([...Array(8).fill(0), ...Array.from({ length: 16 }, (_, i) => i + 1)]);
  });
});
