/**
 * int8 regions channel-blocked (layout-nc4hw4{int8=on}): aic.QConv, pooling, per-tensor
 * Quantize/DequantizeLinear and elementwise kernels on NCxHWx uint8 / int8 buffers, the integer dot
 * products over the blocks' lanes (int-dot.ts splitBlockedReduce: channel r read at (r / x, r % x)
 * becomes r_o and the lane r_i, which the pair / quad forms pack). Channels that are not whole blocks
 * (20 and 24 on 16 lanes) sum the zero-padded weight lanes; a 3-channel image read row-major meets
 * a weight packed to 16 lanes. Exact: every target's output equals the reference interpreter's, bit for
 * bit, and every QConv kernel sums in dot4 (c, wgsl) / dot2 (wasm-simd) on blocked buffers; wasm-simd's
 * 3x3 stride-1 convs take the int8 Winograd (qwinograd.ts through the index maps). By default (int8=auto)
 * on c only, where it measured faster than row-major int8.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor, type Graph, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { walkExpr } from '@aic/loop-ir';
import { parsePipeline, pipelineFor, runPipeline } from '@aic/passes';
import { algorithmStats, buildC, closeWgsl, compileC, compileWasm, compileWgsl, passTarget, prepareForRun, runC, runProgram, runWasm, runWgsl, type Program } from '@aic/codegen';
import { PIPELINES } from '../../passes/pipelines.ts';

function ints(n: number, seed: number, lo: number, hi: number): string {
  const out: number[] = [];
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out.push(Math.floor(lo + (s / 2 ** 32) * (hi - lo))); }
  return `[${out.join(', ')}]`;
}
const mults = (n: number, base: number) => `[${Array.from({ length: n }, (_, i) => (base * (1 + (i % 5) / 4)).toExponential(3)).join(', ')}]`;

/**
 * q1: 20 -> 24 3x3 pads 1 (Relu clamp); MaxPool; q2: 24 -> 32 3x3 stride 2, asymmetric pads; DQ ->
 * Relu -> Q in float; d2: depthwise 3x3 (C: summed in f32 lanes); y: 1x1 32 -> 6; batch 2.
 */
const SRC = `graph g(x: u8[2, 20, 9, 11]) -> (y: u8[2, 6, 5, 5]) {
  w1: i8[24, 20, 3, 3] = ${ints(24 * 20 * 9, 1, -128, 128)}
  b1: i32[24] = ${ints(24, 2, -3000, 3000)}
  m1: f32[24] = ${mults(24, 4e-4)}
  z1: u8[] = 3
  xz: u8[] = 121
  w2: i8[32, 24, 3, 3] = ${ints(32 * 24 * 9, 3, -128, 128)}
  b2: i32[32] = ${ints(32, 4, -3000, 3000)}
  m2: f32[32] = ${mults(32, 1e-3)}
  z2: u8[] = 130
  s2: f32[] = 0.05
  s3: f32[] = 0.05
  z3: u8[] = 7
  wd: i8[32, 1, 3, 3] = ${ints(32 * 9, 11, -128, 128)}
  bd: i32[32] = ${ints(32, 12, -500, 500)}
  md: f32[] = 5e-3
  z5: u8[] = 60
  w3: i8[6, 32, 1, 1] = ${ints(6 * 32, 5, -128, 128)}
  b3: i32[6] = ${ints(6, 6, -500, 500)}
  m3: f32[] = 0.005
  z4: u8[] = 128
  q1 = aic.QConv(x, w1, b1, m1, z1, xz, pads = [1, 1, 1, 1], clip_lo = 3)
  p1 = MaxPool(q1, kernel_shape = [3, 3], pads = [1, 1, 1, 1])
  q2 = aic.QConv(p1, w2, b2, m2, z2, z1, pads = [1, 0, 1, 1], strides = [2, 2])
  f2 = DequantizeLinear(q2, s2, z2)
  r2 = Relu(f2)
  u2 = QuantizeLinear(r2, s3, z3)
  d2 = aic.QConv(u2, wd, bd, md, z5, z3, group = 32, pads = [1, 1, 1, 1])
  y = aic.QConv(d2, w3, b3, m3, z4, z5)
}`;

/** a 3-channel image (read row-major by the first conv) into 16 channels, then 16 -> 16 */
const IMAGE = `graph g(x: u8[1, 3, 10, 10]) -> (y: u8[1, 16, 5, 5]) {
  w1: i8[16, 3, 3, 3] = ${ints(16 * 27, 7, -128, 128)}
  b1: i32[16] = ${ints(16, 8, -2000, 2000)}
  m1: f32[16] = ${mults(16, 2e-3)}
  z1: u8[] = 0
  xz: u8[] = 100
  w2: i8[16, 16, 3, 3] = ${ints(16 * 16 * 9, 9, -128, 128)}
  b2: i32[16] = ${ints(16, 10, -2000, 2000)}
  m2: f32[] = 2e-3
  z2: u8[] = 90
  q1 = aic.QConv(x, w1, b1, m1, z1, xz, pads = [1, 1, 1, 1], strides = [2, 2], clip_lo = 0)
  y = aic.QConv(q1, w2, b2, m2, z2, z1, pads = [1, 1, 1, 1])
}`;

const feedsFor = (g: Graph): Map<string, RValue> => {
  const x = g.inputs[0];
  const t = new Tensor('uint8', x.type.shape as number[]);
  let s = 12345;
  for (let i = 0; i < t.size; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; t.num[i] = s >>> 24; }
  return new Map([['x', t]]);
};

const INT8_O3 = parsePipeline(PIPELINES[3].map((p) => (p === 'layout-nc4hw4' ? 'layout-nc4hw4{int8=on}' : p)).join(','));
const opt = (src: string, target: string, pipeline = INT8_O3) => runPipeline(parseGraph(src), pipeline, { target: passTarget(target), out: () => {} }).graph;

/** the QConv kernels: their input / output layouts and the dot intrinsics they sum with */
function qconvs(prog: Program): { layouts: (string | undefined)[]; dots: string[] }[] {
  return [...prog.sources.values()].filter((s) => s.graphNode?.op === 'QConv').map((src) => {
    const dots = new Set<string>();
    for (const st of src.stages) if (st.kind === 'compute') walkExpr(st.body, (x) => { if (x.k === 'call' && (x.fn === 'dot2' || x.fn === 'dot4')) dots.add(x.fn); });
    const out = src.params.find((p) => p.role === 'output');
    return { layouts: [src.params[0].layout?.name, out?.layout?.name], dots: [...dots] };
  });
}

const same = (got: RValue | undefined, want: Tensor, what: string) => {
  expect((got as Tensor).dtype, what).toBe(want.dtype);
  expect(Array.from((got as Tensor).num), what).toEqual(Array.from(want.num));
};
const meta = { version: 'test', source: 'int8-blocked', sourceHash: '-' };

describe('int8 regions on channel-blocked buffers (layout-nc4hw4{int8=on})', () => {
  afterAll(() => closeWgsl());
  for (const [name, src] of [['odd channel counts, pooling, float Relu between, batch 2', SRC], ['3-channel image', IMAGE]] as const) {
    const want = run(parseGraph(src), feedsFor(parseGraph(src))).get('y') as Tensor;
    it(`${name}: c (16 lanes, dot4), loops and compiled, equal the interpreter`, () => {
      expect(new Set(want.num).size).toBeGreaterThan(8);
      const g = opt(src, 'c');
      const feeds = feedsFor(g);
      prepareForRun(g, feeds);
      const cc = compileC(g, meta);
      const ks = qconvs(cc.prog);
      expect(ks.length).toBe(src === SRC ? 4 : 2);
      // every QConv writes NC16HW16 and sums u8 x s8 quads (the depthwise one exactly in f32 lanes); the
      // image is read row-major (the 20-channel x is converted)
      for (const k of ks) expect(k.layouts[1]).toBe('NC16HW16');
      expect(ks.filter((k) => k.dots.join() === 'dot4').length).toBe(src === SRC ? 3 : 2);
      expect(ks.filter((k) => k.layouts[0] === 'NC16HW16').length).toBe(src === SRC ? 4 : 1);
      if (src === SRC) expect(algorithmStats(cc.prog)).toMatch(/g32 +direct, sum in f32 lanes/);
      same(runProgram(cc.prog, feeds).get('y'), want, 'loops');
      same(runC(buildC(cc.art, cc.prog), cc.art, cc.prog, feeds).outputs.get('y'), want, 'c');
    }, 120_000);
    it(`${name}: wasm-simd (4 lanes, dot2) equals the interpreter`, async () => {
      const g = opt(src, 'wasm-simd');
      const feeds = feedsFor(g);
      prepareForRun(g, feeds);
      const wa = compileWasm(g, { ...meta, simd: true });
      const ks = qconvs(wa.prog);
      for (const k of ks) expect(k.layouts[1]).toBe('NC4HW4');
      expect(ks.filter((k) => k.dots.join() === 'dot2').length).toBe(src === SRC ? 3 : 2);
      // the 3x3 stride-1 conv (20 -> 24, 16 -> 16) in int8 Winograd F(2,3) on the blocked buffers
      expect(algorithmStats(wa.prog).split('\n').filter((l) => l.includes('winograd F(2,3)')).length).toBe(1);
      same((await runWasm(wa, feeds)).get('y'), want, 'wasm-simd');
    }, 120_000);
  }
  it.each([['odd channel counts', SRC], ['3-channel image', IMAGE]])('%s: wgsl (vec4 lanes) equals the interpreter', async (_n, src) => {
    const want = run(parseGraph(src), feedsFor(parseGraph(src))).get('y') as Tensor;
    const g = opt(src, 'wgsl');
    const feeds = feedsFor(g);
    prepareForRun(g, feeds);
    const w = compileWgsl(g, meta);
    // vec4 lanes of blocked outputs; the quad form (dot4I8Packed where the adapter has it) over the lanes
    const ks = qconvs(w.prog);
    for (const k of ks) expect(k.layouts[1]).toBe('NC4HW4');
    expect(ks.filter((k) => k.dots.join() === 'dot4').length).toBe(src === SRC ? 3 : 2);
    same((await runWgsl(w, feeds)).outputs.get('y'), want, 'wgsl');
  }, 120_000);
  it('int8=auto (the -O3 default): blocked on c (TargetCaps.blockedInt8), row-major on wasm-simd and wgsl', () => {
    const blockedU8 = (g: Graph) => g.nodes.filter((n) => n.outputs.some((v) => v.type.dtype === 'uint8' && v.type.layout)).length;
    // x's conversion, q1, p1, q2, u2, d2, y
    expect(blockedU8(opt(SRC, 'c', pipelineFor(3)))).toBe(7);
    for (const t of ['wasm-simd', 'wgsl']) {
      const g = opt(SRC, t, pipelineFor(3));
      expect(blockedU8(g), t).toBe(0);
      expect(g.nodes.filter((n) => n.op === 'LayoutConvert').length, t).toBe(0);
    }
    expect(() => opt(SRC, 'c', parsePipeline('layout-nc4hw4{int8=yes}'))).toThrow(/int8='yes': expected auto, on or off/);
  });
});
