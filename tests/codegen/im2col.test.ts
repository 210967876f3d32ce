/**
 * Im2Col + GEMM (`algorithm im2col`, codegen/schedule/algorithms/im2col.ts): the column copy tiled at
 * the GEMM's blocks of output positions (compute-at), forced through the --schedule file on odd shapes
 * (channels not a multiple of 4, padding, asymmetric pads, dilation, stride 2 and 3, a 7x7 stem, a
 * strided 1x1, batch > 1, a fused bias + residual + relu epilogue): the results match the reference
 * interpreter on the scheduled loop IR, C and WebAssembly SIMD, and the loop IR equals direct to the
 * last bit (same terms, same order). A conv it cannot compute is refused with a usage error (exit 2).
 */
import { describe, expect, it } from 'vitest';
import { AicError } from '@aic/core';
import { compileC } from '@aic/codegen';
import { parseScheduleFile } from '@aic/loop-ir';
import { checkForcedAlgorithm, convKernel, convModel, type ConvCase } from './conv-case.ts';

const meta = { version: 'test', source: 'im2col', sourceHash: '-' };

const CASES: ConvCase[] = [
  { name: 'dense 3x3 pad 1, odd channels, batch 2, bias', N: 2, C: 5, H: 9, W: 11, M: 6, k: [3, 3], pads: [1, 1, 1, 1], bias: true },
  { name: '7x7 s2 stem, 3 input channels, pad 3', N: 1, C: 3, H: 20, W: 22, M: 8, k: [7, 7], strides: [2, 2], pads: [3, 3, 3, 3], bias: true },
  { name: '3x3 dilation 2, asymmetric pads, residual + relu', N: 1, C: 6, H: 10, W: 13, M: 7, k: [3, 3], pads: [0, 2, 1, 0], dilations: [2, 2], bias: true, residual: true, relu: true },
  { name: '1x1 s2 (a strided projection), 7 channels', N: 1, C: 7, H: 9, W: 12, M: 9, k: [1, 1], strides: [2, 2], bias: true },
  { name: '5x4 stride 1x3, unpadded, batch 3', N: 3, C: 3, H: 8, W: 20, M: 5, k: [5, 4], strides: [1, 3] },
];

describe('Im2Col + GEMM (im2col)', () => {
  for (const c of CASES) {
    it(`${c.name} (loops, c, wasm-simd)`, () => checkForcedAlgorithm(c, 'im2col'), 120_000);
  }

  it('tiles the column buffer: the copy is computed at the GEMM\'s blocks of output positions', () => {
    const g = convModel({ name: 'tile', N: 1, C: 4, H: 30, W: 30, M: 8, k: [3, 3], pads: [1, 1, 1, 1] }).graph();
    const k = convKernel(g);
    const cc = compileC(g, { ...meta, schedules: parseScheduleFile(`kernel ${k} { algorithm im2col }`) });
    const dirs = cc.prog.schedules.get(k)!;
    const at = dirs.find((d) => d.d === 'compute-at') as { buf: string; at: string } | undefined;
    expect(at?.buf).toMatch(/^col\d+$/);
    const order = (dirs.find((d) => d.d === 'reorder') as { order: string[] }).order;
    expect(order[1]).toBe(at!.at);
  });

  it('refuses im2col for a grouped conv (usage error naming the kernel)', () => {
    const g = convModel({ name: 'g', N: 1, C: 4, H: 9, W: 9, M: 4, k: [3, 3], pads: [1, 1, 1, 1], group: 2 }).graph();
    const k = convKernel(g);
    let err: unknown;
    try { compileC(g, { ...meta, schedules: parseScheduleFile(`kernel ${k} { algorithm im2col }`) }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(AicError);
    expect((err as AicError).exitCode).toBe(2);
    expect((err as AicError).message).toContain(k);
  });
});
