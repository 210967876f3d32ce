/**
 * Winograd F(2,3) / F(4,3) on channel-blocked (NC4HW4, -O3 wasm-simd layout) convs: the padded input
 * copy reads the blocked input through its index map, the output transform writes a blocked Z the
 * epilogue reads as channel vectors (its padding lanes zeroed when M is not whole blocks), and the
 * packed OIHW4i4o weight is unpacked before G g G^T. Odd channel counts (5 in, 10 and 9 out), padding,
 * batch 2, bias + Relu epilogue: forced through --schedule, the -O3 graph matches the reference
 * interpreter on the loop-IR interpreter, C and WebAssembly SIMD; whole blocks (16 -> 32 channels, 4- and
 * 16-lane blocks) take the stages that run over a block's lanes. The cost model offers Winograd for
 * blocked convs on 4 lanes (wasm-simd) and 16 (C).
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { algorithmStats, buildC, compileC, compileWasm, passTarget, prepareForRun, runC, runProgram, runWasm } from '@aic/codegen';
import { parseScheduleFile, printDirective } from '@aic/loop-ir';
import { algorithmCosts, algorithmName } from '../../codegen/schedule/algorithms/choose.ts';
import type { ConvInfo } from '../../codegen/schedule/algorithms/conv-info.ts';
import { values, check } from './dsl-values.ts';


/** c1: 5 -> a (input converted to NC4HW4), c2: a -> b on blocked input and output, asymmetric pads, c3: 1x1 b -> 6 */
const convs = (a: number, b: number, seed: number) => `graph g(x: f32[2, 5, 9, 11]) -> (y: f32[2, 6, 8, 11]) {
  w1: f32[${a}, 5, 3, 3] = ${values(a * 45, seed)}
  b1: f32[${a}] = ${values(a, seed + 1)}
  w2: f32[${b}, ${a}, 3, 3] = ${values(b * a * 9, seed + 2)}
  b2: f32[${b}] = ${values(b, seed + 3)}
  w3: f32[6, ${b}, 1, 1] = ${values(6 * b, seed + 4)}
  c1 = Conv(x, w1, b1, pads = [1, 1, 1, 1])
  r1 = Relu(c1)
  c2 = Conv(r1, w2, b2, pads = [0, 1, 1, 1])
  r2 = Relu(c2)
  y = Conv(r2, w3)
}`;
const SRC = convs(10, 9, 1);

const input = (): Map<string, RValue> => {
  const t = new Tensor('float32', [2, 5, 9, 11]);
  for (let i = 0; i < t.size; i++) t.num[i] = Math.sin(i * 0.37) * 2;
  return new Map([['x', t]]);
};


const meta = { version: 'test', source: 'winograd-blocked', sourceHash: '-' };
const o3 = () => runPipeline(parseGraph(SRC), pipelineFor(3), { target: passTarget('wasm-simd'), out: () => {} }).graph;

describe('Winograd on NC4HW4 buffers (-O3)', () => {
  const want = run(parseGraph(SRC), input()).get('y') as Tensor;
  for (const m of [2, 4]) {
    it(`F(${m},3): odd channels, padding, batch 2, bias + relu (loops, c, wasm-simd)`, async () => {
      const feeds = input();
      const probe = compileC(o3(), meta);
      const k3 = [...probe.prog.sources].filter(([, s]) => s.params[1]?.shape.length === 6 && s.params[1].layout?.logical[2] === 3).map(([k]) => k);
      expect(k3.length).toBe(2);
      const schedules = parseScheduleFile(k3.map((k) => `kernel ${k} { algorithm winograd(${m},3) }`).join('\n'));
      const g = o3();
      prepareForRun(g, feeds);
      const cc = compileC(g, { ...meta, schedules });
      const stats = algorithmStats(cc.prog);
      expect(stats.split('\n').filter((l) => l.includes(`winograd F(${m},3)`)).length).toBe(2);
      // the second conv reads and writes blocked buffers; Z carries the output's layout
      const k2 = cc.prog.sources.get(k3[1])!;
      expect(k2.params[0].layout?.name).toBe('NC4HW4');
      expect(k2.temps.some((t) => t.layout?.name === 'NC4HW4')).toBe(true);
      check(runProgram(cc.prog, feeds).get('y') as Tensor, want, 'loops');
      check(runC(buildC(cc.art, cc.prog), cc.art, cc.prog, feeds).outputs.get('y') as Tensor, want, 'c');
      const g2 = o3();
      prepareForRun(g2, feeds);
      check((await runWasm(compileWasm(g2, { ...meta, simd: true, schedules }), feeds)).get('y') as Tensor, want, 'wasm-simd');
    }, 120_000);
  }

  // whole channel blocks in and out (16 -> 32, on 4-lane and 16-lane blocks): the stages run over a
  // block's lanes (blocked padded copy [N, C/x, Hp, Wp, x], V [a2, T, C], Mo [a2, T, M])
  const WHOLE = convs(16, 32, 6);
  const wantWhole = run(parseGraph(WHOLE), input()).get('y') as Tensor;
  for (const [target, x] of [['wasm-simd', 4], ['c', 16]] as const) {
    it(`F(4,3) on whole ${x}-channel blocks: every stage over a block's lanes (${target})`, async () => {
      const feeds = input();
      const g = runPipeline(parseGraph(WHOLE), pipelineFor(3), { target: passTarget(target), out: () => {} }).graph;
      prepareForRun(g, feeds);
      const probe = compileC(g, meta);
      const k2 = [...probe.prog.sources].find(([, s]) => s.params[0]?.layout && s.params[1]?.shape.length === 6 && s.params[1].layout?.logical[1] === 16)![0];
      const schedules = parseScheduleFile(`kernel ${k2} { algorithm winograd(4,3) }`);
      const out = (prog: ReturnType<typeof compileC>['prog']) => {
        const src = prog.sources.get(k2)!;
        expect(src.params[0].layout?.name).toBe(`NC${x}HW${x}`);
        // the blocked padded copy, channels-innermost V and Mo
        expect(src.temps.map((t) => t.shape.join('x'))).toEqual([`2x${16 / x}x10x14x${x}`, `36x12x16`, `36x12x32`, `2x${32 / x}x8x12x${x}`]);
      };
      const cc = compileC(g, { ...meta, schedules });
      out(cc.prog);
      // the batched GEMM runs its output-channel blocks outermost, the Winograd batch (a2) inside: each
      // block's transformed weights U[o, a2, c] stream in memory order once
      const reorders = (cc.prog.schedules.get(k2) ?? []).map(printDirective).filter((d) => /^reorder .*\bge\d+/.test(d));
      expect(reorders.length).toBe(1);
      expect(reorders[0]).toMatch(/^reorder go\d+_o(_o)?, ge\d+,/);
      check(runProgram(cc.prog, feeds).get('y') as Tensor, wantWhole, 'loops');
      check(runC(buildC(cc.art, cc.prog), cc.art, cc.prog, feeds).outputs.get('y') as Tensor, wantWhole, 'c');
      if (target === 'wasm-simd') check((await runWasm(compileWasm(g, { ...meta, simd: true, schedules }), feeds)).get('y') as Tensor, wantWhole, 'wasm-simd');
    }, 120_000);
  }

  it('the cost model offers Winograd for blocked convs on 4 and 16 lanes', () => {
    const c: ConvInfo = {
      N: 1, C: 64, H: 56, W: 56, M: 64, KH: 3, KW: 3, OH: 56, OW: 56, strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], group: 1, blocked: true,
      weight: undefined as unknown as ConvInfo['weight'], stage: 0, reduce: undefined as unknown as ConvInfo['reduce'],
    };
    const best = (lanes: number) => algorithmName(algorithmCosts(c, lanes).reduce((x, y) => (y.cost < x.cost ? y : x)).alg);
    expect(best(4)).toMatch(/^winograd/);
    // 16-lane blocks: resnet18's 512-channel 7x7 layers on F(2,3), its 256-channel 14x14 ones on F(4,3)
    // (both measured faster than direct / F(2,3) at -O3 on C since the weights stream in order)
    const on16 = (cc: ConvInfo) => algorithmName(algorithmCosts(cc, 16).reduce((x, y) => (y.cost < x.cost ? y : x)).alg);
    expect(best(16)).toMatch(/^winograd/);
    expect(on16({ ...c, C: 512, M: 512, H: 7, W: 7, OH: 7, OW: 7 })).toBe('winograd F(2,3)');
    expect(on16({ ...c, C: 256, M: 256, H: 14, W: 14, OH: 14, OW: 14 })).toBe('winograd F(4,3)');
    // row-major 16 lanes keep direct on 7x7 (not blocked)
    expect(on16({ ...c, C: 512, M: 512, H: 7, W: 7, OH: 7, OW: 7, blocked: false })).toBe('direct');
  });
});
