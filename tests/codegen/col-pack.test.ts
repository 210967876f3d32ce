/**
 * Column-packed MatMul weights on a narrow-vector target (codegen/schedule/col-pack.ts): B[k, n] of a
 * MatMul scheduled for wasm-simd is packed [N/P, K, P] (P = 8 by default, 16 for one row, or what a
 * `panel P` directive asks) and the tile reads it as one contiguous panel; the scheduled kernel gives
 * exactly the unscheduled result (loop interpreter).
 */
import { describe, expect, it } from 'vitest';
import { constMatmul } from '../helpers.ts';
import { printKernel, type Directive } from '@aic/loop-ir';
import { chooseSchedules, lowerGraph, rescheduleProgram, runProgram } from '@aic/codegen';
import { C_CAPS, WASM_SIMD_CAPS } from '../../codegen/caps.ts';
import { simplifyDivMod } from '../../codegen/schedule/pack.ts';

/** the MatMul's output y, run by the loop interpreter */
const yOf = (p: ReturnType<typeof lowerGraph>, feeds: Parameters<typeof runProgram>[1]): number[] => Array.from(runProgram(p, feeds).get('y')!.num as ArrayLike<number>);

/** y of the MatMul scheduled for wasm-simd with `overrides` (a `panel` among them), its kernel text and weights */
function scheduled(M: number | number[], K: number, N: number, overrides?: Map<string, Directive[]>, caps = WASM_SIMD_CAPS) {
  const p = lowerGraph(constMatmul(M, K, N).g, caps);
  const sched = chooseSchedules(p, caps, overrides);
  rescheduleProgram(p, sched);
  p.kernels = p.kernels.map((k) => ({ ...k, body: simplifyDivMod(k.body) }));
  return { p, sched: [...sched.values()][0], text: p.kernels.map(printKernel).join('\n') };
}

describe('column-packed MatMul weights (wasm-simd)', () => {
  it('packs B [K, N] as [N/8, K, 8] (two vectors per row), reads it contiguously, and keeps results', () => {
    const { g, feeds } = constMatmul(6, 12, 32);
    const plain = yOf(lowerGraph(g, WASM_SIMD_CAPS), feeds);
    const { p, sched, text } = scheduled(6, 12, 32);
    expect(sched).toContainEqual({ d: 'panel', lanes: 8 });
    expect(sched).toContainEqual({ d: 'split', axis: 'i1_o', factor: 2 });
    expect(text).toContain('weight in1: f32[4, 12, 8]');
    // the packed load is a unit-stride ramp: no division or modulo left in the kernel
    expect(text).not.toMatch(/ [/%] [48]\)/);
    expect(yOf(p, feeds)).toEqual(plain);
    const w = p.weights.find((x) => x.shape.join() === '4,12,8')!;
    // Bp[n / 8, k, n % 8] = B[k, n]
    expect(w.data!.num[(2 * 12 + 7) * 8 + 6]).toBe(Math.fround(Math.sin((7 * 32 + 22) * 0.37 + 1)));
  });

  it('a `panel` directive picks the width (1, 2 or 4 vectors per row), with the same bits', () => {
    const { g, feeds } = constMatmul(6, 12, 32);
    const plain = yOf(lowerGraph(g, WASM_SIMD_CAPS), feeds);
    const kernel = [...lowerGraph(g, WASM_SIMD_CAPS).sources.keys()][0];
    for (const [lanes, shape, V] of [[4, '8,12,4', 1], [16, '2,12,16', 4]] as const) {
      const { p, sched, text } = scheduled(6, 12, 32, new Map([[kernel, [{ d: 'panel', lanes }]]]));
      expect(sched).toContainEqual({ d: 'panel', lanes });
      expect(sched.some((d) => d.d === 'split' && d.axis === 'i1_o')).toBe(V > 1);
      expect(p.weights.some((x) => x.shape.join() === shape)).toBe(true);
      expect(text).not.toMatch(/ [/%] (4|16)\)/);
      expect(yOf(p, feeds)).toEqual(plain);
    }
    // a width the kernel cannot pack: a schedule error naming the widths it can
    expect(() => scheduled(6, 12, 32, new Map([[kernel, [{ d: 'panel', lanes: 12 }]]]))).toThrow(/panel 12: kernel \w+ packs its weight in panels of 4, 8, 16 lanes/);
  });

  it('a vector-matrix product (one row) takes four vectors per row', () => {
    const { sched } = scheduled(1, 12, 32);
    expect(sched).toContainEqual({ d: 'panel', lanes: 16 });
    expect(sched).toContainEqual({ d: 'split', axis: 'i1_o', factor: 4 });
  });
});

describe('column-packed MatMul weights (C)', () => {
  it('a product of many rows with B over 32 KiB packs B in 32-lane panels under the wide tile (10 rows x 2 vectors here), rows outermost; the same bits', () => {
    // torchvision vit_b_16's [197, 768] @ [768, 3072]: B read 12 KiB apart each reduction step lost the
    // prefetcher and the TLB (65-79% of FMA peak in the model; whole model 1.31 -> 0.98 of ONNX Runtime)
    const { g, feeds } = constMatmul(40, 96, 128);
    const plain = yOf(lowerGraph(g, C_CAPS), feeds);
    const { p, sched } = scheduled(40, 96, 128, undefined, C_CAPS);
    expect(sched.find((d) => d.d === 'panel')).toEqual({ d: 'panel', lanes: 32 });
    expect(sched).toContainEqual({ d: 'split', axis: 'i0', factor: 10 });
    const order = sched.find((d) => d.d === 'reorder');
    expect(order && order.d === 'reorder' && order.order[0]).toBe('i0_o');
    expect(p.weights.some((x) => x.shape.join() === '4,96,32')).toBe(true);
    expect(yOf(p, feeds)).toEqual(plain);
    // a 64-lane panel: four vectors per row over 6 rows (24 accumulators)
    const kernel = [...lowerGraph(g, C_CAPS).sources.keys()][0];
    const wide4 = scheduled(40, 96, 128, new Map([[kernel, [{ d: 'panel', lanes: 64 }]]]), C_CAPS);
    expect(wide4.sched.find((d) => d.d === 'split' && d.axis === 'i0')).toMatchObject({ factor: 5 });
    expect(yOf(wide4.p, feeds)).toEqual(plain);
  });

  it('a K x 32 panel over 256 KiB (K = 2304) is cut into K blocks of 256, the panel loop outside them and the row tiles inside; the same bits', () => {
    // torchvision vit_b_16's [197, 3072] @ [3072, 768]: 77 -> 85% of FMA peak
    const { g, feeds } = constMatmul(24, 2304, 64);
    const plain = yOf(lowerGraph(g, C_CAPS), feeds);
    const { p, sched } = scheduled(24, 2304, 64, undefined, C_CAPS);
    expect(sched.find((d) => d.d === 'panel')).toEqual({ d: 'panel', lanes: 32 });
    expect(sched).toContainEqual({ d: 'split', axis: 'r2', factor: 256 });
    expect(sched.find((d) => d.d === 'reorder')).toEqual({ d: 'reorder', order: ['i1_o_o', 'r2_o', 'i0_o', 'r2_i', 'i0_i', 'i1_o_i', 'i1_i'] });
    expect(yOf(p, feeds)).toEqual(plain);
    // K = 768 (a 96 KiB panel): one K loop
    expect(scheduled(24, 768, 64, undefined, C_CAPS).sched.some((d) => d.d === 'split' && d.axis.startsWith('r'))).toBe(false);
  });

  it('a product of at most 16 rows with B over 32 KiB has B packed in 16-lane vectors (streamed, not re-read N floats apart); a smaller B keeps it as it is, at any row count', () => {
    const { g, feeds } = constMatmul(4, 96, 128);
    const plain = yOf(lowerGraph(g, C_CAPS), feeds);
    const { p, sched } = scheduled(4, 96, 128, undefined, C_CAPS);
    const panel = sched.find((d) => d.d === 'panel');
    expect(panel && panel.d === 'panel' && panel.lanes % 16).toBe(0);
    const lanes = panel!.d === 'panel' ? panel!.lanes : 0;
    expect(p.weights.some((x) => x.shape.join() === `${128 / lanes},96,${lanes}`)).toBe(true);
    expect(yOf(p, feeds)).toEqual(plain);
    expect(scheduled(16, 96, 128, undefined, C_CAPS).sched.some((d) => d.d === 'panel')).toBe(true);
    expect(scheduled(4, 48, 128, undefined, C_CAPS).sched.some((d) => d.d === 'panel')).toBe(false); // 24 KiB
    expect(scheduled(40, 48, 128, undefined, C_CAPS).sched.some((d) => d.d === 'panel')).toBe(false);
  });

  it('rows over two axes ([1, 4, 4, K] @ B): one vector per row and the panel loop outermost, the weight streamed once; the same bits', () => {
    // torchvision convnext_tiny's stage-3 MLPs: 4 x 2 tiles over W with H outside re-streamed B (13.87 -> 11.82 ms)
    const { g, feeds } = constMatmul([1, 4, 4], 64, 1024);
    const plain = yOf(lowerGraph(g, C_CAPS), feeds);
    const { p, sched } = scheduled([1, 4, 4], 64, 1024, undefined, C_CAPS);
    expect(sched.find((d) => d.d === 'panel')).toEqual({ d: 'panel', lanes: 16 });
    const order = sched.find((d) => d.d === 'reorder');
    expect(order && order.d === 'reorder' && order.order[0]).toMatch(/_o$/);
    expect(p.weights.some((x) => x.shape.join() === '64,64,16')).toBe(true);
    expect(yOf(p, feeds)).toEqual(plain);
    // one row axis of 4: two vectors per row, rows outermost as before
    expect(scheduled(4, 64, 1024, undefined, C_CAPS).sched.find((d) => d.d === 'panel')).toEqual({ d: 'panel', lanes: 32 });
  });
});
