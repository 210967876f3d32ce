/**
 * Conv kernel algorithms (codegen/schedule/algorithms): Winograd F(2,3) and F(4,3) and 1x1 convs as a
 * GEMM over the flattened spatial axis, forced through
 * the --schedule override and chosen by the cost model, match the reference interpreter on odd shapes
 * (channels not a multiple of 4, tiles that overhang the output, asymmetric padding, batch > 1, a fused
 * bias + residual + activation epilogue) on the loop-IR interpreter (the scheduled program itself), C
 * and WebAssembly SIMD; the choice shows in --stats and leads the schedule; a kernel Winograd cannot
 * compute is refused with a usage error.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AicError, Tensor } from '@aic/core';
import { run } from '@aic/interp';
import { algorithmStats, buildC, compileC, compileWasm, runC, runProgram, runWasm } from '@aic/codegen';
import { parseScheduleFile, type Directive } from '@aic/loop-ir';
import { buildModel } from '../onnx-builder.ts';
import { convKernel, convModel, values, type ConvCase } from './conv-case.ts';
import { excess } from '../model-zoo.ts';

const model = convModel;

const meta = { version: 'test', source: 'conv-algorithms', sourceHash: '-' };

function check(got: Tensor, want: Tensor, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  const e = excess(got.num, want.num, 1e-4, 1e-4);
  expect(e.worst, `${what}[${e.at}] got ${got.num[e.at]} want ${want.num[e.at]}`).toBeLessThanOrEqual(0);
}

const CASES: ConvCase[] = [
  { name: 'odd channels, pad 1, batch 2, bias', N: 2, C: 5, H: 7, W: 9, M: 6, pads: [1, 1, 1, 1], bias: true },
  { name: 'asymmetric pads, residual + relu', N: 1, C: 9, H: 10, W: 6, M: 11, pads: [0, 2, 1, 0], bias: true, residual: true, relu: true },
  { name: 'no padding, tiles overhang both axes', N: 3, C: 3, H: 9, W: 11, M: 7 },
  { name: '1x1 output', N: 1, C: 4, H: 3, W: 3, M: 5 },
  { name: 'GEMM over packed output channels (M = 32), batch 2', N: 2, C: 12, H: 8, W: 10, M: 32, pads: [1, 1, 1, 1], bias: true, relu: true },
];

describe('Winograd conv kernels', () => {
  for (const c of CASES) {
    for (const m of [2, 4]) {
      it(`F(${m},3): ${c.name} (loops, c, wasm-simd)`, async () => {
        const { graph, feeds } = model(c);
        const want = run(graph(), feeds).get('out') as Tensor;
        const g = graph();
        const schedules = parseScheduleFile(`kernel ${convKernel(g)} { algorithm winograd(${m},3) }`);
        const cc = compileC(g, { ...meta, schedules });
        expect(algorithmStats(cc.prog)).toContain(`winograd F(${m},3)`);
        expect(cc.prog.schedules.get(convKernel(g))![0]).toEqual({ d: 'algorithm', name: 'winograd', params: [m, 3] });
        check(runProgram(cc.prog, feeds).get('out')!, want, 'loops');
        check(runC(buildC(cc.art, cc.prog), cc.art, cc.prog, feeds).outputs.get('out') as Tensor, want, 'c');
        const w = compileWasm(graph(), { ...meta, simd: true, schedules });
        check((await runWasm(w, feeds)).get('out') as Tensor, want, 'wasm-simd');
      }, 120_000);
    }
  }

  const GEMM_CASES: ConvCase[] = [
    { name: 'odd channels, batch 2, bias', N: 2, C: 5, H: 7, W: 9, M: 6, k: 1, bias: true },
    { name: 'residual + relu, packed output channels (M = 32) on 13x13', N: 1, C: 24, H: 13, W: 13, M: 32, k: 1, bias: true, residual: true, relu: true },
  ];
  for (const c of GEMM_CASES) {
    it(`1x1 conv as GEMM over HxW: ${c.name} (loops, c, wasm-simd)`, async () => {
      const { graph, feeds } = model(c);
      const want = run(graph(), feeds).get('out') as Tensor;
      const g = graph();
      const schedules = parseScheduleFile(`kernel ${convKernel(g)} { algorithm gemm }`);
      const cc = compileC(g, { ...meta, schedules });
      expect(algorithmStats(cc.prog)).toContain('gemm (1x1 conv over flattened HxW)');
      check(runProgram(cc.prog, feeds).get('out')!, want, 'loops');
      check(runC(buildC(cc.art, cc.prog), cc.art, cc.prog, feeds).outputs.get('out') as Tensor, want, 'c');
      const w = compileWasm(graph(), { ...meta, simd: true, schedules });
      check((await runWasm(w, feeds)).get('out') as Tensor, want, 'wasm-simd');
    }, 120_000);
  }

  it('a user schedule can name the Winograd stages\' loops after the algorithm', () => {
    const c = CASES[0];
    const { graph, feeds } = model(c);
    const want = run(graph(), feeds).get('out') as Tensor;
    const g = graph();
    const k = convKernel(g);
    // the GEMM stage's loops are ge/go/gt + the reduction gc (fresh names get a counter suffix)
    const probe = compileC(graph(), { ...meta, schedules: parseScheduleFile(`kernel ${k} { algorithm winograd(2,3) }`) });
    const gt = probe.prog.kernels.find((x) => x.name === k) && [...JSON.stringify(probe.prog.sources.get(k)!.stages[2]).matchAll(/"(gt\d+)"/g)][0][1];
    const cc = compileC(g, { ...meta, schedules: new Map<string, Directive[]>([[k, [{ d: 'algorithm', name: 'winograd', params: [2, 3] }, { d: 'split', axis: gt!, factor: 4, tail: 'guard' }]]]) });
    check(runProgram(cc.prog, feeds).get('out')!, want, 'loops');
  });

  it('the cost model picks Winograd for a wide 3x3 conv, gemm for a 1x1 conv on 13x13, direct for a narrow or strided one', () => {
    // on C's 16 lanes Winograd's transforms weigh 16x their additions: 64 channels on 32x32 still pay, 16 -> 64 on 55x55 does not
    const wide = model({ name: 'wide', N: 1, C: 64, H: 32, W: 32, M: 64, pads: [1, 1, 1, 1] }).graph();
    expect(algorithmStats(compileC(wide, meta).prog)).toMatch(/conv 1x64x32x32 -> 64x32x32 k3x3 +winograd F\([24],3\)/);
    const thin = model({ name: 'thin', N: 1, C: 16, H: 55, W: 55, M: 64, pads: [1, 1, 1, 1] }).graph();
    expect(algorithmStats(compileC(thin, meta).prog)).toMatch(/conv 1x16x55x55 -> 64x55x55 k3x3 +direct/);
    const narrow = model({ name: 'narrow', N: 1, C: 3, H: 16, W: 16, M: 8, pads: [1, 1, 1, 1] }).graph();
    expect(algorithmStats(compileC(narrow, meta).prog)).toMatch(/k3x3 +direct/);
    const pointwise = model({ name: 'pointwise', N: 1, C: 32, H: 13, W: 13, M: 40, k: 1 }).graph();
    expect(algorithmStats(compileC(pointwise, meta).prog)).toMatch(/k1x1 +gemm/);
    const strided = model({ name: 'strided', N: 1, C: 32, H: 16, W: 16, M: 32, pads: [1, 1, 1, 1], strides: [2, 2] }).graph();
    expect(algorithmStats(compileC(strided, meta).prog)).toMatch(/s2x2 +direct/);
  });

  const refused: [string, Partial<ConvCase>][] = [['a strided', { strides: [2, 2] }], ['a dilated', { dilations: [2, 2] }], ['a grouped', { group: 2 }]];
  for (const [what, c] of refused) {
    it(`refuses winograd for ${what} conv (usage error naming the kernel)`, () => {
      const g = model({ name: what, N: 1, C: 4, H: 9, W: 9, M: 4, pads: [2, 2, 2, 2], ...c }).graph();
      const k = convKernel(g);
      let err: unknown;
      try { compileC(g, { ...meta, schedules: parseScheduleFile(`kernel ${k} { algorithm winograd(4,3) }`) }); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(AicError);
      expect((err as AicError).exitCode).toBe(2);
      expect((err as AicError).message).toContain(k);
    });
  }

  it('direct forced by the schedule file stays direct', () => {
    const g = model({ name: 'wide', N: 1, C: 32, H: 16, W: 16, M: 32, pads: [1, 1, 1, 1] }).graph();
    const cc = compileC(g, { ...meta, schedules: parseScheduleFile(`kernel ${convKernel(g)} { algorithm direct }`) });
    expect(algorithmStats(cc.prog)).toMatch(/k3x3 +direct/);
  });

  it('aic compile: --schedule `algorithm winograd(2,3)` shows in --stats, --emit schedule and --emit loops (the stages)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-alg-'));
    try {
      const c: ConvCase = { name: 'cli', N: 1, C: 8, H: 9, W: 9, M: 8, pads: [1, 1, 1, 1], bias: true };
      const m = path.join(dir, 'm.onnx'), sched = path.join(dir, 's.txt');
      const g = model(c).graph();
      // the model as the CLI sees it: rebuilt from the same spec
      const OH = 9, W = values(8 * 8 * 9, 7), B = values(8, 11);
      fs.writeFileSync(m, buildModel([{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['out'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } }],
        [{ name: 'x', shape: [1, 8, 9, 9] }], [{ name: 'out', shape: [1, 8, OH, OH] }], 13,
        [{ name: 'w', dims: [8, 8, 3, 3], floats: W }, { name: 'b', dims: [8], floats: B }]));
      fs.writeFileSync(sched, `kernel ${convKernel(g)} { algorithm winograd(2,3) }\n`);
      const aic = (...a: string[]) => spawnSync(path.resolve(import.meta.dirname, '../../bin/aic'), ['compile', m, '--target', 'c', '--schedule', sched, ...a], { encoding: 'utf8' });
      const st = aic('--stats', '-o', path.join(dir, 'out'));
      expect(st.status, st.stderr).toBe(0);
      expect(st.stderr).toMatch(new RegExp(`kernel ${convKernel(g)} +conv 1x8x9x9 -> 8x9x9 k3x3 +winograd F\\(2,3\\)`));
      const sc = aic('--emit', 'schedule');
      expect(sc.stdout).toContain('algorithm winograd(2,3)');
      const lp = aic('--emit', 'loops');
      // the stages' buffers: padded input, transformed input, GEMM result, transformed output (wz copied per plane: schedule/pad-planes.ts)
      for (const b of ['wxp', 'wv', 'wm', 'wz']) expect(lp.stdout).toMatch(new RegExp(`\\b${b}\\d+(_plane\\d+)?\\b`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('wide register tiles (C, 16 lanes): row-packed weights and two vectors per row', () => {
  const WIDE: ConvCase[] = [
    { name: '3x3 direct, M = 24 (rows packed by 12), odd C, pad 1, batch 2, bias + relu', N: 2, C: 5, H: 9, W: 64, M: 24, pads: [1, 1, 1, 1], bias: true, relu: true },
    { name: '3x3 direct, M = 20 (rows packed by 10), dilation 2, asymmetric pads, relu', N: 1, C: 7, H: 11, W: 40, M: 20, pads: [2, 0, 1, 3], dilations: [2, 2], bias: true, relu: true },
    { name: '3x3 direct, M = 20, odd width 45, asymmetric pads, residual', N: 1, C: 7, H: 11, W: 45, M: 20, pads: [2, 0, 0, 2], bias: true, residual: true },
    { name: '3x3 direct, M = 16, groups 2, stride 2', N: 2, C: 6, H: 15, W: 70, M: 16, pads: [1, 1, 1, 1], strides: [2, 2], group: 2, bias: true },
    { name: '1x1 on 13x13 (169 = clamped 2x16 blocks), M = 40, residual + relu', N: 1, C: 9, H: 13, W: 13, M: 40, k: 1, bias: true, residual: true, relu: true },
    { name: '1x1 on 7x7, M = 13 (no packed rows: 13 has no divisor in [6, 12]), batch 3', N: 3, C: 5, H: 7, W: 7, M: 13, k: 1 },
  ];
  for (const c of WIDE) {
    it(`${c.name} (loops, c, wasm-simd)`, async () => {
      const { graph, feeds } = model(c);
      const want = run(graph(), feeds).get('out') as Tensor;
      const cc = compileC(graph(), meta);
      check(runProgram(cc.prog, feeds).get('out')!, want, 'loops');
      check(runC(buildC(cc.art, cc.prog), cc.art, cc.prog, feeds).outputs.get('out') as Tensor, want, 'c');
      const w = compileWasm(graph(), { ...meta, simd: true });
      check((await runWasm(w, feeds)).get('out') as Tensor, want, 'wasm-simd');
    }, 120_000);
  }
  it('a 3x3 conv with 24 output channels gets its weight packed 12 rows per block and a 12 x 2-vector tile', () => {
    const cc = compileC(model(WIDE[0]).graph(), meta);
    const w = cc.prog.weights.find((x) => /_pk12$/.test(x.name));
    expect(w?.shape).toEqual([2, 5, 3, 3, 12]);
    const text = cc.art.c;
    // 24 accumulators (12 rows x 2 vectors of 16 lanes) in registers
    expect(text).toMatch(/aic_f32x16 acc\d+_23 = \{0\};/);
  });
});
