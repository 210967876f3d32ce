/**
 * ShuffleNet's unit on channel-blocked buffers (-O3): two convs of 20 channels (a partial last block on
 * 4 and 16 lanes), Concat, channel shuffle (Reshape / Transpose / Reshape, fused into
 * aic.ChannelShuffle), Split into halves, a conv on one half. The shuffle's lanes read channels of
 * other blocks: its kernel copies them lane by lane (unrolled); on C, whose compiler packs
 * constant-offset lane copies into vector permutes (caps.packsLaneCopies), the channel blocks unroll too,
 * on wasm-simd they stay a loop. Loop-IR interpreter, C and WebAssembly SIMD against the reference.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { compileC, compileWasm, passTarget, prepareForRun } from '@aic/codegen';
import { printDirective } from '@aic/loop-ir';
import { checkCompiled, values } from './dsl-values.ts';

const SRC = `graph g(x: f32[2, 8, 6, 6]) -> (y: f32[2, 20, 6, 6]) {
  wa: f32[20, 8, 1, 1] = ${values(160, 21)}
  wb: f32[20, 8, 3, 3] = ${values(1440, 22)}
  wc: f32[20, 20, 1, 1] = ${values(400, 23)}
  s5: i64[5] = [2, 2, 20, 6, 6]
  s4: i64[4] = [2, 40, 6, 6]
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
}`;

const input = (): Map<string, RValue> => {
  const t = new Tensor('float32', [2, 8, 6, 6]);
  for (let i = 0; i < t.size; i++) t.num[i] = Math.sin(i * 0.41) * 1.5;
  return new Map([['x', t]]);
};

const meta = { version: 'test', source: 'blocked-shuffle', sourceHash: '-' };

describe('channel shuffles on channel-blocked buffers (-O3)', () => {
  const want = run(parseGraph(SRC), input()).get('y') as Tensor;
  for (const target of ['c', 'wasm-simd'] as const) {
    it(`${target}: lane copies, channel blocks unrolled where the compiler packs them`, async () => {
      const g = runPipeline(parseGraph(SRC), pipelineFor(3), { target: passTarget(target), out: () => {} }).graph;
      expect(g.nodes.filter((n) => n.op === 'ChannelShuffle').length).toBe(1);
      const feeds = input();
      prepareForRun(g, feeds);
      const compiled = target === 'c' ? compileC(g, meta) : compileWasm(g, { ...meta, simd: true });
      const k = compiled.prog.kernels.find((q) => q.name.endsWith('_channelshuffle'))!;
      expect(k.params.some((p) => p.role === 'output' && /^NC\d+HW\d+$/.test(p.layout?.name ?? ''))).toBe(true);
      const dirs = (compiled.prog.schedules.get(k.name) ?? []).map(printDirective);
      expect(dirs).toContain('unroll i1_i');
      expect(dirs.includes('unroll i1_o')).toBe(target === 'c');
      await checkCompiled(compiled, target, feeds, want);
    }, 120_000);
  }
});
