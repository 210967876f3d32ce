/**
 * 1x1 convs on channel-blocked buffers (-O3) over the flattened map (gemm1x1.ts): the stage is
 * re-indexed over [n, o, p] with the input read as [N, C/x, H*W, x] and the output stored through a
 * blocked [N, M, P] layout, so the register tile runs over all OH*OW pixels. Chosen where the tiles
 * along each row would compute more pixels than the tiles over the flattened map (14 columns in
 * clamped tiles of 4 on wasm-simd, 13 in tiles of 7 on C). Batch 2, a bias + residual + Relu
 * epilogue and a last conv whose 6 channels are not whole blocks: the -O3 graph matches the reference
 * interpreter on the loop-IR interpreter, C and WebAssembly SIMD.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { algorithmStats, compileC, compileWasm, passTarget, prepareForRun } from '@aic/codegen';
import { algorithmCosts, algorithmName } from '../../codegen/schedule/algorithms/choose.ts';
import type { ConvInfo } from '../../codegen/schedule/algorithms/conv-info.ts';
import { checkCompiled, values } from './dsl-values.ts';


/** a 3x3 conv into C channels (blocked), a 1x1 C -> C with bias + residual + Relu, a 1x1 C -> 6 */
const graph = (C: number, H: number) => `graph g(x: f32[2, 4, ${H}, ${H}]) -> (y: f32[2, 6, ${H}, ${H}]) {
  w1: f32[${C}, 4, 3, 3] = ${values(C * 36, 1)}
  w2: f32[${C}, ${C}, 1, 1] = ${values(C * C, 2)}
  b2: f32[${C}] = ${values(C, 3)}
  w3: f32[6, ${C}, 1, 1] = ${values(6 * C, 4)}
  c1 = Conv(x, w1, pads = [1, 1, 1, 1])
  r1 = Relu(c1)
  c2 = Conv(r1, w2, b2)
  s2 = Add(c2, r1)
  r2 = Relu(s2)
  y = Conv(r2, w3)
}`;

const input = (H: number): Map<string, RValue> => {
  const t = new Tensor('float32', [2, 4, H, H]);
  for (let i = 0; i < t.size; i++) t.num[i] = Math.sin(i * 0.37) * 2;
  return new Map([['x', t]]);
};


const meta = { version: 'test', source: 'gemm1x1-blocked', sourceHash: '-' };

describe('blocked 1x1 convs over the flattened map (-O3)', () => {
  for (const [target, C, H, x] of [['wasm-simd', 8, 14, 4], ['c', 32, 13, 16]] as const) {
    it(`${target}: ${C} channels on ${H}x${H} (${x}-lane blocks), batch 2, residual epilogue, partial blocks`, async () => {
      const src = graph(C, H);
      const want = run(parseGraph(src), input(H)).get('y') as Tensor;
      const g = runPipeline(parseGraph(src), pipelineFor(3), { target: passTarget(target), out: () => {} }).graph;
      const feeds = input(H);
      prepareForRun(g, feeds);
      const compiled = target === 'c' ? compileC(g, meta) : compileWasm(g, { ...meta, simd: true });
      const prog = compiled.prog;
      const flat = algorithmStats(prog).split('\n').filter((l) => l.includes('k1x1') && l.includes('gemm (1x1'));
      expect(flat.length, algorithmStats(prog)).toBe(2);
      // the flattened stages store NCxHWx data through a blocked [N, M, P] layout
      const laid = [...prog.sources.values()].flatMap((s) => s.stages).filter((st) => st.kind === 'compute' && st.out.layout?.logical.length === 3);
      expect(laid.map((st) => st.kind === 'compute' && st.out.layout!.logical.join('x')).sort()).toEqual([`2x${C}x${H * H}`, `2x6x${H * H}`].sort());
      expect(laid.every((st) => st.kind === 'compute' && st.out.layout!.name === `NC${x}HW${x}`)).toBe(true);
      await checkCompiled(compiled, target, feeds, want);
    }, 120_000);
  }

  it('the cost model flattens only where row tiles would compute more pixels', () => {
    const c: ConvInfo = {
      N: 1, C: 64, H: 14, W: 14, M: 384, KH: 1, KW: 1, OH: 14, OW: 14, strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], group: 1, blocked: true,
      weight: undefined as unknown as ConvInfo['weight'], stage: 0, reduce: undefined as unknown as ConvInfo['reduce'],
    };
    const best = (ci: ConvInfo, lanes: number) => algorithmName(algorithmCosts(ci, lanes).reduce((a, b) => (b.cost < a.cost ? b : a)).alg);
    expect(best(c, 4)).toMatch(/^gemm/); // 2 blocks x 4 rows: 16 computed per 14-column row
    expect(best(c, 16)).toBe('direct'); // 7 rows divide 14
    expect(best({ ...c, C: 116, M: 116, H: 28, W: 28, OH: 28, OW: 28 }, 4)).toBe('direct'); // 29 blocks: 7 rows divide 28
    expect(best({ ...c, H: 13, W: 13, OH: 13, OW: 13 }, 16)).toMatch(/^gemm/);
    // row-major (-O2) is unchanged: its own flattening rule
    expect(best({ ...c, blocked: undefined }, 4)).toMatch(/^gemm/);
  });
});
