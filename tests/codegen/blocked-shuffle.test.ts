/**
 * ShuffleNet's unit on channel-blocked buffers (-O3): two convs of 20 channels (a partial last block on
 * 4 and 16 lanes), Concat, channel shuffle (Reshape / Transpose / Reshape), Split into halves, a conv
 * on one half: at -O3 one aic.ChannelShuffle reads both convs' outputs and writes both halves (no
 * Concat or Split kernel). A second, one-input shuffle of a conv's output. The shuffles' lanes read
 * channels of other blocks: their kernels copy them lane by lane (unrolled). The channel blocks unroll
 * too where each lane selects its input (the two-input shuffle: the selects fold) and, on C, whose
 * compiler packs constant-offset lane copies into vector permutes (caps.packsLaneCopies), for the
 * one-input shuffle as well; on wasm-simd that one keeps its loop. Loop-IR interpreter, C and
 * WebAssembly SIMD against the reference; at -O2 the Concat and the Split stay.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { buildC, compileC, compileWasm, passTarget, prepareForRun, runC, runWasm } from '@aic/codegen';
import { printDirective } from '@aic/loop-ir';
import { check, checkCompiled, sineInput, values } from './dsl-values.ts';

const SRC = `graph g(x: f32[2, 8, 6, 6]) -> (y: f32[2, 20, 6, 6], z: f32[2, 20, 6, 6]) {
  wa: f32[20, 8, 1, 1] = ${values(160, 21)}
  wb: f32[20, 8, 3, 3] = ${values(1440, 22)}
  wc: f32[20, 20, 1, 1] = ${values(400, 23)}
  s5: i64[5] = [2, 2, 20, 6, 6]
  s4: i64[4] = [2, 40, 6, 6]
  s5b: i64[5] = [2, 2, 10, 6, 6]
  s4b: i64[4] = [2, 20, 6, 6]
  halves: i64[2] = [20, 20]
  a = Conv(x, wa)
  ra = Relu(a)
  b = Conv(x, wb, pads = [1, 1, 1, 1])
  rb = Relu(b)
  cat = Concat(ra, rb, axis = 1)
  r5 = Reshape(cat, s5)
  t5 = Transpose(r5, perm = [0, 2, 1, 3, 4])
  sh = Reshape(t5, s4)
  h1, h2 = Split(sh, halves, axis = 1)
  c = Conv(h2, wc)
  y = Add(c, h1)
  sb = Reshape(Transpose(Reshape(rb, s5b), perm = [0, 2, 1, 3, 4]), s4b)
  z = Conv(sb, wc)
}`;

const input = () => sineInput([2, 8, 6, 6], 0.41, 1.5);

const meta = { version: 'test', source: 'blocked-shuffle', sourceHash: '-' };

describe('channel shuffles on channel-blocked buffers (-O3)', () => {
  const want = run(parseGraph(SRC), input());
  for (const target of ['c', 'wasm-simd'] as const) {
    it(`${target}: one kernel for Concat, shuffle and Split; lane copies with the channel blocks unrolled where they fold or pack`, async () => {
      const g = runPipeline(parseGraph(SRC), pipelineFor(3), { target: passTarget(target), out: () => {} }).graph;
      const shuffles = g.nodes.filter((n) => n.op === 'ChannelShuffle');
      expect(shuffles.map((n) => `${n.inputs.length}->${n.outputs.length}`).sort()).toEqual(['1->1', '2->2']);
      expect(g.nodes.filter((n) => n.op === 'Concat' || n.op === 'Split')).toEqual([]);
      const feeds = input();
      prepareForRun(g, feeds);
      const compiled = target === 'c' ? compileC(g, meta) : compileWasm(g, { ...meta, simd: true });
      const ks = compiled.prog.kernels.filter((q) => q.name.endsWith('_channelshuffle'));
      expect(ks.length).toBe(2);
      for (const k of ks) {
        expect(k.params.filter((p) => p.role === 'output').every((p) => /^NC\d+HW\d+$/.test(p.layout?.name ?? ''))).toBe(true);
        const dirs = (compiled.prog.schedules.get(k.name) ?? []).map(printDirective);
        const outs = k.params.filter((p) => p.role === 'output').length;
        expect(dirs).toContain('unroll i1_i');
        expect(dirs.includes('unroll i1_o'), dirs.join('; ')).toBe(outs === 2 || target === 'c');
      }
      await checkCompiled(compiled, target, feeds, want.get('y') as Tensor);
      const outs = target === 'c'
        ? runC(buildC((compiled as ReturnType<typeof compileC>).art, compiled.prog), (compiled as ReturnType<typeof compileC>).art, compiled.prog, feeds).outputs
        : await runWasm(compiled as ReturnType<typeof compileWasm>, feeds);
      check(outs.get('z') as Tensor, want.get('z') as Tensor, `${target} z`);
    }, 120_000);
  }

  it('-O2 keeps the Concat (a view) and the Split', () => {
    const g = runPipeline(parseGraph(SRC), pipelineFor(2), { target: passTarget('c'), out: () => {} }).graph;
    expect(g.nodes.filter((n) => n.op === 'ChannelShuffle').every((n) => n.inputs.length === 1 && n.outputs.length === 1)).toBe(true);
    expect(g.nodes.filter((n) => n.op === 'Concat' || n.op === 'Split').length).toBe(2);
  });
});
