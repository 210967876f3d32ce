/**
 * Strided convs over stride phases (`algorithm direct-phases`, codegen/schedule/algorithms/phases.ts)
 * and the wasm emitter's hoisted loop-invariant index terms (codegen/wasm/hoist-index.ts): forced
 * through the --schedule file and chosen by the cost model (grouped / depthwise strided convs), the
 * results match the reference interpreter on odd shapes (channels not a multiple of 4, asymmetric
 * padding, dilation, groups, stride 3, batch > 1, a fused bias + residual + relu epilogue) on the
 * scheduled loop IR, C and WebAssembly SIMD; the sum keeps its order, so loop IR and C agree with
 * direct to the last bit. A conv it cannot compute is refused with a usage error (exit 2).
 */
import { describe, expect, it } from 'vitest';
import { AicError, Tensor } from '@aic/core';
import { run } from '@aic/interp';
import { algorithmStats, buildC, compileC, compileWasm, runC, runProgram, runWasm } from '@aic/codegen';
import { parseScheduleFile } from '@aic/loop-ir';
import { convKernel, convModel, type ConvCase } from './conv-case.ts';
import { excess } from '../model-zoo.ts';

const meta = { version: 'test', source: 'conv-phases', sourceHash: '-' };
const model = convModel;
type Case = ConvCase & { k: [number, number]; strides: [number, number] };

function check(got: Tensor, want: Tensor, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  const e = excess(got.num, want.num, 1e-4, 1e-4);
  expect(e.worst, `${what}[${e.at}] got ${got.num[e.at]} want ${want.num[e.at]}`).toBeLessThanOrEqual(0);
}

const CASES: Case[] = [
  { name: 'dense 3x3 s2, odd channels, pad 1, batch 2, bias', N: 2, C: 5, H: 9, W: 11, M: 6, k: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], bias: true },
  { name: 'depthwise 3x3 s2, 6 channels, asymmetric pads, residual + relu', N: 1, C: 6, H: 10, W: 13, M: 6, k: [3, 3], strides: [2, 2], pads: [0, 2, 1, 0], group: 6, bias: true, residual: true, relu: true },
  { name: 'grouped (3 groups) 3x3 s2x2, dilation 2, pad 2', N: 2, C: 9, H: 12, W: 14, M: 6, k: [3, 3], strides: [2, 2], pads: [2, 2, 2, 2], dilations: [2, 2], group: 3, bias: true },
  { name: 'stride 3 along W only, 5x4 kernel, unpadded', N: 1, C: 3, H: 8, W: 20, M: 5, k: [5, 4], strides: [1, 3] },
  { name: '1x1 s2 (one phase read), 7 channels', N: 1, C: 7, H: 9, W: 12, M: 9, k: [1, 1], strides: [2, 2], bias: true },
  { name: 'depthwise 5x5 s2, pad 2, batch 3, 4 output columns', N: 3, C: 4, H: 7, W: 8, M: 4, k: [5, 5], strides: [2, 2], pads: [2, 2, 2, 2], group: 4 },
];

describe('strided convs over stride phases (direct-phases)', () => {
  for (const c of CASES) {
    it(`${c.name} (loops, c, wasm-simd)`, async () => {
      const { graph, feeds } = model(c);
      const want = run(graph(), feeds).get('out') as Tensor;
      const g = graph();
      const k = convKernel(g);
      const schedules = parseScheduleFile(`kernel ${k} { algorithm direct-phases }`);
      const cc = compileC(g, { ...meta, schedules });
      expect(algorithmStats(cc.prog)).toContain('direct-phases');
      expect(cc.prog.schedules.get(k)![0]).toEqual({ d: 'algorithm', name: 'direct-phases' });
      const loops = runProgram(cc.prog, feeds).get('out')!;
      check(loops, want, 'loops');
      // same terms, same order: the loop IR matches direct exactly
      const direct = compileC(graph(), { ...meta, schedules: parseScheduleFile(`kernel ${k} { algorithm direct }`) });
      expect(Array.from(loops.num)).toEqual(Array.from(runProgram(direct.prog, feeds).get('out')!.num));
      check(runC(buildC(cc.art, cc.prog), cc.art, cc.prog, feeds).outputs.get('out') as Tensor, want, 'c');
      const w = compileWasm(graph(), { ...meta, simd: true, schedules });
      check((await runWasm(w, feeds)).get('out') as Tensor, want, 'wasm-simd');
      // the default choice (direct, or direct-phases for grouped convs) on wasm-simd, hoisted indices included
      check((await runWasm(compileWasm(graph(), { ...meta, simd: true }), feeds)).get('out') as Tensor, want, 'wasm-simd default');
    }, 120_000);
  }

  it('the cost model picks direct-phases for a strided depthwise conv, direct for a dense strided or a stride-1 depthwise one', () => {
    const dw = model({ name: 'dw', N: 1, C: 16, H: 16, W: 16, M: 16, k: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 16 }).graph();
    expect(algorithmStats(compileWasm(dw, { ...meta, simd: true }).prog)).toMatch(/s2x2 g16 +direct-phases/);
    const dense = model({ name: 'dense', N: 1, C: 16, H: 16, W: 16, M: 16, k: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }).graph();
    expect(algorithmStats(compileWasm(dense, { ...meta, simd: true }).prog)).toMatch(/s2x2 +direct$/m);
    const dw1 = model({ name: 'dw1', N: 1, C: 16, H: 16, W: 16, M: 16, k: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], group: 16 }).graph();
    expect(algorithmStats(compileWasm(dw1, { ...meta, simd: true }).prog)).toMatch(/g16 +direct$/m);
  });

  it('refuses direct-phases for a conv with stride 1 along W (usage error naming the kernel)', () => {
    const g = model({ name: 's1', N: 1, C: 4, H: 9, W: 9, M: 4, k: [3, 3], strides: [2, 1], pads: [1, 1, 1, 1] }).graph();
    const k = convKernel(g);
    let err: unknown;
    try { compileC(g, { ...meta, schedules: parseScheduleFile(`kernel ${k} { algorithm direct-phases }`) }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(AicError);
    expect((err as AicError).exitCode).toBe(2);
    expect((err as AicError).message).toContain(k);
  });
});
