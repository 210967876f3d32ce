/** Derivative rules of MatMul and Gemm, as MatMul/Gemm/Transpose graph IR. */
import type { Value } from '@aic/core';
import type { VjpCtx, VjpDef } from '../types.ts';
import { dimsOf, reshape, sumTo } from './util.ts';

/** swap the last two dims */
const swapLast = (c: VjpCtx, v: Value): Value => {
  const r = dimsOf(c, v).length;
  return c.b.op1('Transpose', [v], { perm: [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2] });
};

/** numpy matmul: 1-D operands are promoted to matrices and the cotangents reduced back over broadcast batch dims */
export const matmul: VjpDef = {
  wrt: [0, 1],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const [a, b] = [c.x[0]!, c.x[1]!];
    const as = dimsOf(c, a), bs = dimsOf(c, b);
    const a2s = as.length === 1 ? [1, as[0]!] : as, b2s = bs.length === 1 ? [bs[0]!, 1] : bs;
    const a2 = as.length === 1 ? reshape(c.b, a, a2s) : a, b2 = bs.length === 1 ? reshape(c.b, b, b2s) : b;
    const batch = broadcastBatch(a2s.slice(0, -2), b2s.slice(0, -2));
    const dy2 = reshape(c.b, dy, [...batch, a2s[a2s.length - 2]!, b2s[b2s.length - 1]!]);
    return [
      c.need[0] ? reshape(c.b, sumTo(c, c.b.op1('MatMul', [dy2, swapLast(c, b2)]), a2s), as) : undefined,
      c.need[1] ? reshape(c.b, sumTo(c, c.b.op1('MatMul', [swapLast(c, a2), dy2]), b2s), bs) : undefined,
    ];
  },
};

function broadcastBatch(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length), out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Y = alpha op(A) op(B) + beta C */
export const gemm: VjpDef = {
  wrt: [0, 1, 2],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const [a, b, cc] = [c.x[0]!, c.x[1]!, c.x[2]];
    const alpha = c.attrs.float('alpha'), beta = c.attrs.float('beta');
    const tA = c.attrs.int('transA') !== 0, tB = c.attrs.int('transB') !== 0;
    const al = { type: 'float' as const, value: alpha };
    const gemm = (p: Value, q: Value, ta: boolean, tb: boolean) =>
      c.b.op1('Gemm', [p, q], { alpha: al, transA: ta ? 1 : 0, transB: tb ? 1 : 0 });
    const da = c.need[0] ? (tA ? gemm(b, dy, tB, true) : gemm(dy, b, false, !tB)) : undefined;
    const db = c.need[1] ? (tB ? gemm(dy, a, true, tA) : gemm(a, dy, !tA, false)) : undefined;
    let dc: Value | undefined;
    if (cc && c.need[2]) {
      const scaled = beta === 1 ? dy : c.b.op1('Mul', [dy, c.b.scalar(beta, dy.dtype)]);
      dc = sumTo(c, scaled, dimsOf(c, cc));
    }
    return [da, db, dc];
  },
};
