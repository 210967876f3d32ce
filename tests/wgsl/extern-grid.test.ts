/**
 * Extern stages on the GPU grid (codegen/wgsl/extern-grid.ts): a padded input copy (disjoint rows per
 * iteration) runs one row per invocation; a loop that reads what it writes (a running sum), whose
 * stores overlap across iterations, or that indexes through a load stays one invocation; a padded
 * Conv compiled for WGSL gets its pad stage on the grid.
 */
import { describe, expect, it } from 'vitest';
import { parseGraph } from '@aic/dsl';
import { E, S, type Stmt } from '@aic/loop-ir';
import { compileWgsl } from '@aic/codegen';
import { externOnGrid } from '../../codegen/wgsl/extern-grid.ts';

const lim = { workgroupSize: 64, maxWorkgroupsPerDimension: 65535 };
const onGrid = (s: Stmt) => externOnGrid(s, lim).k === 'for' && (externOnGrid(s, lim) as { kind: { k: string } }).kind.k === 'gpu';
const v = E.v;

describe('extern stages on the grid', () => {
  // xp[nc, ph, pw] (8 x 6 x 7) from x[nc, ph - 1, pw - 1] (8 x 4 x 5), zeros around
  const inRow = E.and(E.ge(E.sub(v('ph'), E.i(1)), E.i(0)), E.lt(E.sub(v('ph'), E.i(1)), E.i(4)));
  const row = E.mul(E.add(E.mul(v('nc'), E.i(6)), v('ph')), E.i(7));
  const pad = S.for('nc', 8, S.for('ph', 6, S.if(inRow,
    S.seq(S.store('xp', row, E.c(0, 'f32')),
      S.for('pw', 5, S.store('xp', E.add(row, E.add(v('pw'), E.i(1))), E.load('x', E.add(E.mul(E.add(E.mul(v('nc'), E.i(4)), E.sub(v('ph'), E.i(1))), E.i(5)), v('pw')), 'f32'))),
      S.store('xp', E.add(row, E.i(6)), E.c(0, 'f32'))),
    S.for('pw', 7, S.store('xp', E.add(row, v('pw')), E.c(0, 'f32'))))));

  it('a padded copy: one row per invocation over both outer loops', () => {
    const g = externOnGrid(pad, lim);
    expect(g.k === 'for' && g.kind.k === 'gpu' && g.ext.k === 'const' && g.ext.v).toBe(1);
    const inner = g.k === 'for' && g.body.k === 'for' ? g.body : undefined;
    expect(inner?.ext).toEqual(E.i(48)); // 8 x 6 rows, one workgroup of 48
  });

  it('dependent or overlapping loops stay serial', () => {
    // running sum: reads the buffer it writes
    expect(onGrid(S.for('i', 16, S.store('y', E.add(v('i'), E.i(1)), E.add(E.load('y', v('i'), 'f32'), E.load('x', v('i'), 'f32')))))).toBe(false);
    // rows of 8 written with a stride of 4: iterations overlap
    expect(onGrid(S.for('i', 16, S.for('j', 8, S.store('y', E.add(E.mul(v('i'), E.i(4)), v('j')), E.c(1, 'f32')))))).toBe(false);
    // a scatter through an index buffer
    expect(onGrid(S.for('i', 16, S.store('y', E.load('idx', v('i'), 'i32'), E.c(1, 'f32'))))).toBe(false);
    // a disjoint one for contrast
    expect(onGrid(S.for('i', 16, S.for('j', 4, S.store('y', E.add(E.mul(v('i'), E.i(4)), v('j')), E.c(1, 'f32')))))).toBe(true);
  });

  it('a padded Conv on WGSL dispatches its pad stage over the grid', () => {
    const w = Array.from({ length: 2 * 3 * 9 }, (_, i) => ((i % 7) - 3) / 8);
    const g = parseGraph(`graph g(x: f32[1, 3, 10, 10]) -> (y: f32[1, 2, 10, 10]) {
  w: f32[2, 3, 3, 3] = [${w.join(', ')}]
  y = Conv(x, w, pads = [1, 1, 1, 1])
}`);
    const c = compileWgsl(g, { version: 'test', source: 'pad', sourceHash: '-' });
    const stages = c.manifest.dispatches.filter((d) => d.kernel.endsWith('conv'));
    expect(stages.length).toBe(2);
    // 3 channels x 12 padded rows, one invocation each
    expect(stages[0].workgroups[0] * stages[0].workgroupSize[0]).toBeGreaterThanOrEqual(36);
  });
});
