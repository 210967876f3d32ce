/**
 * Padded convs copy their input per plane inside the conv's outer loop (codegen/schedule/pad-planes.ts)
 * instead of all at once: on odd shapes (channels not a multiple of 4 or 16, stride 1 and 2 (the
 * stride-phase copy of direct-phases), 3x3 and 5x5, asymmetric pads, batch 2) the rewrite applies to
 * depthwise convs (not to a dense one), and the loop IR, C and WebAssembly SIMD results equal, to the
 * last bit, those of the whole-input copy (`pad-copy whole`), which match the reference interpreter.
 * The schedule directive `pad-copy whole` (a --schedule override) turns the rewrite off for one kernel.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '@aic/core';
import { run } from '@aic/interp';
import { buildC, compileC, compileWasm, passTarget, runC, runProgram, runWasm } from '@aic/codegen';
import { pipelineFor, runPipeline } from '@aic/passes';
import { parseScheduleFile, printDirective, printKernel } from '@aic/loop-ir';
import { convKernel, convModel, type ConvCase } from './conv-case.ts';
import { excess } from '../model-zoo.ts';

const meta = { version: 'test', source: 'pad-planes', sourceHash: '-' };

/** dense: every output channel reads all of an image's planes, so no outer loop selects one (left as is) */
const CASES: (ConvCase & { dense?: boolean })[] = [
  { name: 'depthwise 3x3 s1, 5 channels, asymmetric pads, batch 2, bias', N: 2, C: 5, H: 9, W: 16, M: 5, k: [3, 3], pads: [0, 1, 2, 1], group: 5, bias: true },
  { name: 'depthwise 3x3 s2, 7 channels, pad 1, residual + relu', N: 1, C: 7, H: 13, W: 12, M: 7, k: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 7, bias: true, residual: true, relu: true },
  { name: 'depthwise 5x5 s1, 19 channels, pads 2/1, batch 2', N: 2, C: 19, H: 10, W: 17, M: 19, k: [5, 5], pads: [2, 1, 1, 2], group: 19 },
  { name: 'depthwise 5x5 s2, 18 channels, asymmetric pads', N: 1, C: 18, H: 15, W: 16, M: 18, k: [5, 5], strides: [2, 2], pads: [1, 2, 2, 1], group: 18, bias: true },
  { name: 'dense 3x3 s1, 3 -> 6 channels, pad 1, batch 2 (not rewritten)', N: 2, C: 3, H: 8, W: 9, M: 6, k: [3, 3], pads: [1, 1, 1, 1], bias: true, dense: true },
];

function check(got: Tensor, want: Tensor, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  const e = excess(got.num, want.num, 1e-4, 1e-4);
  expect(e.worst, `${what}[${e.at}] got ${got.num[e.at]} want ${want.num[e.at]}`).toBeLessThanOrEqual(0);
}

/** compile options with the rewrite on (default schedules) or off for kernel k (`pad-copy whole` merged into its default) */
const planes = (on: boolean, k: string) => (on ? meta : { ...meta, schedules: parseScheduleFile(`kernel ${k} { pad-copy whole }`) });

describe('padded convs copy their input per plane (pad-planes)', () => {
  for (const c of CASES) {
    it(`${c.name} (loops, c, wasm-simd)`, async () => {
      const { graph, feeds } = convModel(c);
      const want = run(graph(), feeds).get('out') as Tensor;
      const g = graph();
      const k = convKernel(g);
      const on = compileC(g, planes(true, k)), off = compileC(graph(), planes(false, k));
      const text = printKernel(on.prog.kernels.find((x) => x.name === k)!);
      if (c.dense) expect(text).not.toContain('_plane');
      else expect(text).toMatch(/_plane\d*: f32\[\d+\] local/);
      expect(printKernel(off.prog.kernels.find((x) => x.name === k)!)).not.toContain('_plane');
      // the directive alone merges with the default schedule (same loops), and prints back as written
      expect(off.prog.schedules.get(k)!.map(printDirective)).toEqual([...(on.prog.schedules.get(k) ?? []).map(printDirective), 'pad-copy whole']);
      const loops = runProgram(on.prog, feeds).get('out')!;
      check(loops, want, 'loops');
      expect(Array.from(loops.num)).toEqual(Array.from(runProgram(off.prog, feeds).get('out')!.num));
      const cOn = runC(buildC(on.art, on.prog), on.art, on.prog, feeds).outputs.get('out') as Tensor;
      check(cOn, want, 'c');
      expect(Array.from(cOn.num)).toEqual(Array.from((runC(buildC(off.art, off.prog), off.art, off.prog, feeds).outputs.get('out') as Tensor).num));
      const wOn = await runWasm(compileWasm(graph(), { ...planes(true, k), simd: true }), feeds);
      const wOff = await runWasm(compileWasm(graph(), { ...planes(false, k), simd: true }), feeds);
      check(wOn.get('out') as Tensor, want, 'wasm-simd');
      expect(Array.from((wOn.get('out') as Tensor).num)).toEqual(Array.from((wOff.get('out') as Tensor).num));
    }, 120_000);
  }

  // -O3: the copy is of whole channel blocks ([N, C/x, Hp, Wp, x]); each block's plane is one run too
  for (const [c, target, x] of [[CASES[2], 'c', 16], [CASES[3], 'wasm-simd', 4]] as const) {
    it(`-O3 ${c.name}: per block plane on ${x}-lane blocks (loops, ${target})`, async () => {
      const { graph, feeds } = convModel(c);
      const want = run(graph(), feeds).get('out') as Tensor;
      const o3 = () => runPipeline(graph(), pipelineFor(3), { target: passTarget(target), out: () => {} }).graph;
      const k = [...compileC(o3(), meta).prog.sources].find(([, s]) => s.params[0]?.layout && s.op.endsWith('Conv'))![0];
      const on = compileC(o3(), planes(true, k)), off = compileC(o3(), planes(false, k));
      expect(printKernel(on.prog.kernels.find((q) => q.name === k)!)).toMatch(/_plane\d*: f32\[\d+\] local/);
      expect(printKernel(off.prog.kernels.find((q) => q.name === k)!)).not.toContain('_plane');
      const loops = runProgram(on.prog, feeds).get('out')!;
      check(loops, want, 'loops');
      expect(Array.from(loops.num)).toEqual(Array.from(runProgram(off.prog, feeds).get('out')!.num));
      if (target === 'c') {
        const cOn = runC(buildC(on.art, on.prog), on.art, on.prog, feeds).outputs.get('out') as Tensor;
        check(cOn, want, 'c');
        expect(Array.from(cOn.num)).toEqual(Array.from((runC(buildC(off.art, off.prog), off.art, off.prog, feeds).outputs.get('out') as Tensor).num));
      } else {
        const wOn = await runWasm(compileWasm(o3(), { ...planes(true, k), simd: true }), feeds);
        const wOff = await runWasm(compileWasm(o3(), { ...planes(false, k), simd: true }), feeds);
        check(wOn.get('out') as Tensor, want, 'wasm-simd');
        expect(Array.from((wOn.get('out') as Tensor).num)).toEqual(Array.from((wOff.get('out') as Tensor).num));
      }
    }, 120_000);
  }
});
