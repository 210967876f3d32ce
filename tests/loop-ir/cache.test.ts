/**
 * The cache directive never changes results: tiles staged in shared (workgroup) or local memory,
 * box and gather layouts, non-dividing sizes, GPU-bound loops run in lockstep by the interpreter.
 */
import { describe, expect, it } from 'vitest';
import {
  E, LoopInterpreter, applySchedule, parseDirective, parseKernel, printDirective, printKernel, realizeStage, tensorRef, verifyKernel, walkStmt,
  type Buffer, type ComputeStage, type Directive, type Stmt,
} from '@aic/loop-ir';

const buf = (name: string, shape: number[], role: Buffer['role'] = 'input'): Buffer => ({ name, dtype: 'f32', shape, scope: 'global', role });

function gemmStage(M: number, N: number, K: number) {
  const A = buf('A', [M, K]), B = buf('B', [K, N]), C = buf('C', [M, N], 'output');
  const a = tensorRef(A), b = tensorRef(B);
  const st: ComputeStage = {
    kind: 'compute', out: C, axes: ['m', 'n'],
    body: E.add(E.reduce('sum', [{ name: 'k', extent: K }], E.mul(a.at(E.v('m'), E.v('k')), b.at(E.v('k'), E.v('n')))), E.c(1)),
  };
  return { st, bufs: [A, B, C] };
}

/** out[n, o0, o1] = sum_{c, k0, k1} x[n, c, o0*s + k0*d, o1*s + k1*d] * w[c, k0, k1] */
function convStage(N: number, C: number, H: number, W: number, KH: number, s: number, d: number) {
  const OH = Math.floor((H - (KH - 1) * d - 1) / s) + 1, OW = Math.floor((W - (KH - 1) * d - 1) / s) + 1;
  const X = buf('X', [N, C, H, W]), Wt = buf('W', [C, KH, KH]), Y = buf('Y', [N, OH, OW], 'output');
  const x = tensorRef(X), w = tensorRef(Wt);
  const [n, o0, o1, c, k0, k1] = ['n', 'o0', 'o1', 'c', 'k0', 'k1'].map((v) => E.v(v));
  const st: ComputeStage = {
    kind: 'compute', out: Y, axes: ['n', 'o0', 'o1'],
    body: E.reduce('sum', [{ name: 'c', extent: C }, { name: 'k0', extent: KH }, { name: 'k1', extent: KH }],
      E.mul(x.at(n, c, E.add(E.mul(o0, E.i(s)), E.mul(k0, E.i(d))), E.add(E.mul(o1, E.i(s)), E.mul(k1, E.i(d)))), w.at(c, k0, k1))),
  };
  return { st, bufs: [X, Wt, Y] };
}

function run(st: ComputeStage, bufs: Buffer[], dirs: Directive[]): { out: number[]; body: Stmt } {
  let n = 0;
  const body = realizeStage(st, applySchedule(st, dirs), (p) => `${p}${n++}`, bufs);
  const k = { name: 'k', params: bufs, body };
  verifyKernel(k);
  expect(printKernel(parseKernel(printKernel(k)))).toBe(printKernel(k));
  const mem: Record<string, Float32Array> = {};
  bufs.forEach((b, bi) => {
    const len = b.shape.reduce((x, y) => x * y, 1);
    mem[b.name] = b.role === 'output' ? new Float32Array(len) : Float32Array.from({ length: len }, (_, i) => ((i * (7 + bi * 4)) % 13) / 4 - 1);
  });
  new LoopInterpreter(mem).runKernel(k);
  return { out: Array.from(mem[st.out.name]), body };
}

const count = (s: Stmt, f: (x: Stmt) => boolean) => { let c = 0; walkStmt(s, (x) => { if (f(x)) c++; }); return c; };
const gpu2d = (a: string, b: string, fa: number, fb: number): Directive[] => [
  { d: 'tile', axes: [a, b], factors: [fa, fb] },
  { d: 'bind', axis: `${a}_o`, to: { axis: 'workgroup', dim: 'y' } }, { d: 'bind', axis: `${b}_o`, to: { axis: 'workgroup', dim: 'x' } },
  { d: 'bind', axis: `${a}_i`, to: { axis: 'local', dim: 'y' } }, { d: 'bind', axis: `${b}_i`, to: { axis: 'local', dim: 'x' } },
];

describe('cache directive', () => {
  it('prints and parses', () => {
    const d: Directive = { d: 'cache', buf: 'in1', at: 'k_o', scope: 'shared' };
    expect(printDirective(d)).toBe('cache in1 at k_o in shared');
    expect(parseDirective('cache in1 at k_o in shared')).toEqual(d);
    expect(parseDirective('cache B at k in local')).toEqual({ d: 'cache', buf: 'B', at: 'k', scope: 'local' });
  });

  for (const [M, N, K, t, kc] of [[5, 7, 3, 4, 2], [13, 9, 10, 4, 4], [16, 16, 8, 8, 8], [3, 2, 5, 4, 16]] as const) {
    it(`GEMM ${M}x${N}x${K}: both operands in shared memory, ${t}x${t} invocations, k chunks of ${kc}`, () => {
      const { st, bufs } = gemmStage(M, N, K);
      const ref = run(st, bufs, []).out;
      const dirs: Directive[] = [...gpu2d('m', 'n', t, t), { d: 'split', axis: 'k', factor: kc },
        { d: 'cache', buf: 'A', at: 'k_o', scope: 'shared' }, { d: 'cache', buf: 'B', at: 'k_o', scope: 'shared' }];
      const { out, body } = run(st, bufs, dirs);
      expect(out).toEqual(ref);
      expect(count(body, (x) => x.k === 'alloc' && x.buf.scope === 'shared')).toBe(2);
      expect(count(body, (x) => x.k === 'barrier')).toBe(2);
      // barriers are never under a condition
      const underIf = (s: Stmt, inIf: boolean): boolean => {
        if (s.k === 'barrier') return inIf;
        if (s.k === 'if') return underIf(s.then, true) || (s.else ? underIf(s.else, true) : false);
        if (s.k === 'seq') return s.body.some((b) => underIf(b, inIf));
        if (s.k === 'for' || s.k === 'alloc' || s.k === 'let') return underIf(s.body, inIf);
        return false;
      };
      expect(underIf(body, false)).toBe(false);
    });
  }

  it('GEMM: local scope (CPU) and a register tile inside the cached loop', () => {
    const { st, bufs } = gemmStage(9, 11, 7);
    const ref = run(st, bufs, []).out;
    const dirs: Directive[] = [{ d: 'tile', axes: ['m', 'n'], factors: [2, 4] }, { d: 'split', axis: 'k', factor: 3 },
      { d: 'reorder', order: ['m_o', 'n_o', 'k_o', 'k_i', 'm_i', 'n_i'] }, { d: 'cache', buf: 'B', at: 'k_o', scope: 'local' }];
    const { out, body } = run(st, bufs, dirs);
    expect(out).toEqual(ref);
    expect(count(body, (x) => x.k === 'alloc' && x.buf.scope === 'local')).toBe(1);
    expect(count(body, (x) => x.k === 'barrier')).toBe(0);
  });

  it('gather layout when the index is not affine in the tiled loops (fused axes)', () => {
    const { st, bufs } = gemmStage(6, 5, 4);
    const ref = run(st, bufs, []).out;
    const dirs: Directive[] = [{ d: 'fuse', axes: ['m', 'n'] }, { d: 'split', axis: 'm_n', factor: 8 },
      { d: 'bind', axis: 'm_n_o', to: { axis: 'workgroup', dim: 'x' } }, { d: 'bind', axis: 'm_n_i', to: { axis: 'local', dim: 'x' } },
      { d: 'cache', buf: 'A', at: 'k', scope: 'shared' }, { d: 'cache', buf: 'B', at: 'k', scope: 'shared' }];
    expect(run(st, bufs, dirs).out).toEqual(ref);
  });

  for (const [s, d] of [[1, 1], [2, 1], [1, 2]] as const) {
    it(`convolution stride ${s} dilation ${d}: overlapping windows staged once (box layout)`, () => {
      const { st, bufs } = convStage(2, 5, 11, 10, 3, s, d);
      const ref = run(st, bufs, []).out;
      const dirs: Directive[] = [...gpu2d('o0', 'o1', 4, 4), { d: 'split', axis: 'c', factor: 2 },
        { d: 'cache', buf: 'X', at: 'c_o', scope: 'shared' }, { d: 'cache', buf: 'W', at: 'c_o', scope: 'shared' }];
      const { out, body } = run(st, bufs, dirs);
      expect(out).toEqual(ref);
      const tiles: number[] = [];
      walkStmt(body, (x) => { if (x.k === 'alloc' && x.buf.scope === 'shared') tiles.push(x.buf.shape[0]); });
      // X tile: 2 channels x (3s + 2d + 1)^2 positions, W tile: 2 x 3 x 3
      expect(tiles.sort((a, b) => a - b)).toEqual([18, 2 * (3 * s + 2 * d + 1) ** 2].sort((a, b) => a - b));
    });
  }

  it('refuses a buffer the loop does not read, and an unknown loop', () => {
    const { st, bufs } = gemmStage(4, 4, 4);
    expect(() => run(st, bufs, [{ d: 'cache', buf: 'C', at: 'k', scope: 'local' }])).toThrow(/does not read C/);
    expect(() => run(st, bufs, [{ d: 'cache', buf: 'A', at: 'q', scope: 'local' }])).toThrow(/no loop 'q'/);
  });

  it('a missing barrier is caught by the lockstep interpreter (results would differ)', () => {
    const { st, bufs } = gemmStage(8, 8, 8);
    const ref = run(st, bufs, []).out;
    let n = 0;
    const dirs: Directive[] = [...gpu2d('m', 'n', 4, 4), { d: 'split', axis: 'k', factor: 4 }, { d: 'cache', buf: 'A', at: 'k_o', scope: 'shared' }];
    const body = realizeStage(st, applySchedule(st, dirs), (p) => `${p}${n++}`, bufs);
    const strip = (s: Stmt): Stmt => (s.k === 'seq' ? { k: 'seq', body: s.body.filter((b) => b.k !== 'barrier').map(strip) }
      : s.k === 'for' || s.k === 'alloc' || s.k === 'let' ? { ...s, body: strip(s.body) } : s);
    const mem: Record<string, Float32Array> = {};
    bufs.forEach((b, bi) => {
      const len = b.shape.reduce((x, y) => x * y, 1);
      mem[b.name] = b.role === 'output' ? new Float32Array(len) : Float32Array.from({ length: len }, (_, i) => ((i * (7 + bi * 4)) % 13) / 4 - 1);
    });
    new LoopInterpreter(mem).runKernel({ name: 'k', params: bufs, body: strip(body) });
    expect(Array.from(mem.C)).not.toEqual(ref);
  });
});
