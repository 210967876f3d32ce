/**
 * Grouped convs with a few output channels per group (RegNet: 8; ResNeXt-like: 4; odd: 3) are
 * scheduled as the grouped micro-kernel (codegen/schedule/grouped.ts): a vector along the output
 * width, rows over output channels in blocks that never straddle a group, the weight a scalar per row;
 * not a vector over output channels spanning two groups (a gather per lane). Results match the
 * reference interpreter on C and WebAssembly SIMD, at -O2 (row-major) shapes with padding, stride 2,
 * bias, residual and batch 2.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '@aic/core';
import { run } from '@aic/interp';
import { buildC, compileC, compileWasm, runC, runWasm } from '@aic/codegen';
import { printDirective } from '@aic/loop-ir';
import { convKernel, convModel, type ConvCase } from './conv-case.ts';
import { excess } from '../model-zoo.ts';

const meta = { version: 'test', source: 'grouped-conv', sourceHash: '-' };

const CASES: (ConvCase & { rows: number })[] = [
  { name: '48 channels, 8 per group, 3x3 s2 pad 1, bias (RegNet)', N: 1, C: 48, H: 30, W: 30, M: 48, pads: [1, 1, 1, 1], strides: [2, 2], group: 6, bias: true, rows: 8 },
  { name: '32 -> 32, 4 per group, 3x3 s1 pad 1, residual + relu, batch 2', N: 2, C: 32, H: 12, W: 20, M: 32, pads: [1, 1, 1, 1], group: 8, bias: true, residual: true, relu: true, rows: 4 },
  { name: '24 -> 24, 8 per group, 3x3 s1, no pad, odd width', N: 1, C: 24, H: 11, W: 19, M: 24, group: 3, rows: 8 },
  { name: '18 -> 27, 3 groups of 6 -> 9 channels', N: 1, C: 18, H: 10, W: 16, M: 27, pads: [1, 1, 1, 1], group: 3, bias: true, rows: 3 },
];

function check(got: Tensor, want: Tensor, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  const e = excess(got.num, want.num, 1e-4, 1e-4);
  expect(e.worst, `${what}[${e.at}] got ${got.num[e.at]} want ${want.num[e.at]}`).toBeLessThanOrEqual(0);
}

describe('grouped convs: rows over the channels of a group, a vector along the width', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const { graph, feeds } = convModel(c);
      const want = run(graph(), feeds).get('out') as Tensor;
      const g = graph();
      const k = convKernel(g);
      const cc = compileC(g, meta);
      const dirs = cc.prog.schedules.get(k)!.map(printDirective);
      // the output channel axis (the reorder's second loop, after the batch's) is split into rows that divide a group
      const ch = dirs.find((d) => d.startsWith('reorder '))!.slice(8).split(', ')[1].replace(/_o$/, '');
      const rowSplit = dirs.find((d) => d.startsWith(`split ${ch} by `));
      expect(rowSplit, dirs.join('; ')).toBeDefined();
      const R = Number(rowSplit!.split(' ').at(-1));
      expect(c.M / c.group! % R, `rows ${R} straddle a group of ${c.M / c.group!}`).toBe(0);
      expect(R).toBe(c.rows);
      expect(dirs).toContain(`unroll ${ch}_i`);
      expect(dirs).not.toContain(`vectorize ${ch}_i`);
      check(runC(buildC(cc.art, cc.prog), cc.art, cc.prog, feeds).outputs.get('out') as Tensor, want, 'c');
      check((await runWasm(compileWasm(graph(), { ...meta, simd: true }), feeds)).get('out') as Tensor, want, 'wasm-simd');
    }, 120_000);
  }
});
