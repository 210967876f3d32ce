/**
 * Compile-time helpers rewritten for speed (they ran over every weight element, or re-simplified every
 * subtree): the same values as their straightforward definitions.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '@aic/core';
import { E, S, blockedChannels, physicalShapeOf, printExpr, simplifyExpr, simplifyStmt, type BufferLayout, type Expr } from '@aic/loop-ir';
import { WINOGRAD, logicalData, winogradWeights } from '../../codegen/schedule/algorithms/winograd.ts';

const rand = (n: number, seed: number) => { let s = seed; return Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1); };

describe('logicalData', () => {
  it('unpacks a blocked layout (NC4HW4 with a channel tail; an OIHW4i4o-like weight) element by element', () => {
    const cases: BufferLayout[] = [
      blockedChannels([2, 6, 3, 5], 4),
      { name: 'OIHW4i4o', logical: [6, 5, 3, 3], dims: [{ dim: 0, part: 'outer', block: 4 }, { dim: 1, part: 'outer', block: 4 }, { dim: 2, part: 'whole' }, { dim: 3, part: 'whole' }, { dim: 1, part: 'inner', block: 4 }, { dim: 0, part: 'inner', block: 4 }] },
    ];
    for (const layout of cases) {
      const ext = physicalShapeOf(layout), shape = layout.logical;
      const phys = new Tensor('float32', ext);
      rand(phys.size, 7).forEach((v, i) => { phys.num[i] = v; });
      const got = logicalData(phys, layout);
      expect(got.shape).toEqual(shape);
      // reference: each logical index's physical offset, the layout dims in order
      for (let i = 0; i < got.size; i++) {
        const idx: number[] = []; let r = i;
        for (let d = shape.length - 1; d >= 0; d--) { idx[d] = r % shape[d]!; r = Math.floor(r / shape[d]!); }
        let off = 0;
        layout.dims.forEach((d, k) => { const x = idx[d.dim]!; off = off * ext[k]! + (d.part === 'whole' ? x : d.part === 'outer' ? Math.floor(x / d.block!) : x % d.block!); });
        expect(got.num[i], `${layout.name} ${idx}`).toBe(phys.num[off]);
      }
    }
  });
});

describe('winogradWeights', () => {
  it('is G g G^T per (output, input) channel, in float64 and stored f32, for F(2,3) and F(4,3)', () => {
    const M = 3, C = 5;
    const g = new Tensor('float32', [M, C, 3, 3]);
    rand(g.size, 3).forEach((v, i) => { g.num[i] = v; });
    for (const m of [2, 4] as const) {
      const mats = WINOGRAD[m], a = m + 2, G = mats.G;
      const U = winogradWeights(g, mats);
      expect(U.shape).toEqual([M, a * a, C]);
      for (let o = 0; o < M; o++) for (let c = 0; c < C; c++) for (let i = 0; i < a; i++) for (let j = 0; j < a; j++) {
        let v = 0;
        for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) v += G[i]![r]! * g.num[((o * C + c) * 3 + r) * 3 + s]! * G[j]![s]!;
        expect(U.num[(o * a * a + i * a + j) * C + c]).toBe(Math.fround(v));
      }
    }
  });
});

describe('simplify', () => {
  it('looks at a rewritten node again: (y + 3) + -3 is y; a commuted constant that then folds', () => {
    const y = E.v('y');
    expect(printExpr(simplifyExpr(E.add(E.add(y, E.i(3)), E.i(-3))))).toBe('y');
    expect(printExpr(simplifyExpr(E.add(E.i(2), E.add(y, E.i(-2)))))).toBe('y');
    // in a statement: the same rules, once per node
    const st = simplifyStmt(S.store('o', E.add(E.add(y, E.i(3)), E.i(-3)), E.c(1, 'f32')));
    expect(st.k === 'store' && printExpr(st.idx)).toBe('y');
  });

  it('folds a 3000-deep index chain in a statement ((y * 1 + 1) * 1 + 1 ...) to y + 3000', () => {
    let e: Expr = E.v('y');
    for (let i = 0; i < 3000; i++) e = E.add(E.mul(e, E.i(1)), E.i(1));
    const out = simplifyStmt(S.store('o', e, E.c(1, 'f32')));
    expect(out.k === 'store' && printExpr(out.idx)).toBe(printExpr(E.add(E.v('y'), E.i(3000))));
  });
});
