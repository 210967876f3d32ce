/**
 * int8 kernels (codegen/schedule/int-dot.ts): int32 reductions of int8 / uint8 products summed in
 * int16 pairs (dot2; on C unsigned x signed byte quads, dot4, where the weights allow) match the reference interpreter exactly on odd shapes (channels and K not
 * multiples of 2 / 4 / 8 / 16, padding, strides, dilations, groups, batch > 1, nonzero and per-channel
 * zero points, uint8 and int8 on both sides, extreme values) on the scheduled loop IR, C, WebAssembly
 * SIMD (scalar and SIMD) and WGSL; the pair form is used where it applies and not for grouped or depthwise convs
 * (pairing a depthwise conv's kernel rows through a packed copy of its input measured slower on mobilenet_v2).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value, type Attr, type DType, type RValue } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { walkExpr } from '@aic/loop-ir';
import { buildC, closeWgsl, compileC, compileWasm, compileWgsl, prepareForRun, runC, runProgram, runWasm, runWgsl, type Program } from '@aic/codegen';

function values(n: number, seed: number, lo: number, hi: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return Math.floor(lo + (s / 2 ** 32) * (hi - lo)); });
}
const range = (d: DType): [number, number] => (d === 'uint8' ? [0, 256] : [-128, 128]);
function tensor(d: DType, shape: number[], v: number[]): Tensor { const t = new Tensor(d, shape); t.num.set(v); return t; }
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

interface In { dtype: DType; shape: number[]; values?: number[]; constant?: boolean; seed?: number }
/** paired: the reduction is rewritten (dot2 on wasm-simd); quad: on C in u8 x s8 quads (dot4: int8 weights, zero point 0) */
interface Case { name: string; op: string; inputs: (In | null)[]; attrs?: Record<string, Attr>; paired: boolean; quad?: boolean }

const q = (dtype: DType, shape: number[], seed: number, constant = true, v?: number[]): In => ({ dtype, shape, seed, constant, values: v });
const f = (v: number[]): In => ({ dtype: 'float32', shape: v.length === 1 ? [] : [v.length], values: v, constant: true });
const ints = (v: number[]): Attr => ({ type: 'ints', value: v }) as Attr;
const int = (v: number): Attr => ({ type: 'int', value: v }) as Attr;

const CASES: Case[] = [
  { name: 'ConvInteger u8 x i8, odd channels, asymmetric pads, stride, batch 2', op: 'ConvInteger', paired: true,
    inputs: [q('uint8', [2, 5, 7, 9], 1, false), q('int8', [6, 5, 3, 3], 2), q('uint8', [], 3, true, [131]), q('int8', [], 4, true, [-3])],
    attrs: { pads: ints([1, 0, 2, 1]), strides: ints([2, 1]) } },
  { name: 'ConvInteger i8 x i8, per-channel w zero points, dilation 2, 3 channels', op: 'ConvInteger', paired: true,
    inputs: [q('int8', [1, 3, 8, 6], 5, false), q('int8', [8, 3, 3, 3], 6), q('int8', [], 7, true, [-5]), q('int8', [8], 8, true, [0, 1, -2, 3, 0, -1, 127, -128])],
    attrs: { pads: ints([1, 1, 1, 1]), dilations: ints([2, 2]) } },
  { name: 'ConvInteger u8 x u8 extremes (255 * 255 in every product), 1x1, 17 channels', op: 'ConvInteger', paired: true,
    inputs: [q('uint8', [1, 17, 3, 5], 9, false, new Array(255).fill(255)), q('uint8', [9, 17, 1, 1], 10, true, new Array(153).fill(255))] },
  { name: 'ConvInteger group 2 (the i32 form)', op: 'ConvInteger', paired: false,
    inputs: [q('uint8', [1, 4, 5, 5], 11, false), q('int8', [6, 2, 3, 3], 12), q('uint8', [], 13, true, [7])], attrs: { group: int(2) } },
  { name: 'ConvInteger depthwise 3x3 (the i32 form), 7 channels, pads 1, batch 2', op: 'ConvInteger', paired: false,
    inputs: [q('uint8', [2, 7, 6, 9], 26, false), q('int8', [7, 1, 3, 3], 27), q('uint8', [], 0, true, [140])], attrs: { group: int(7), pads: ints([1, 1, 1, 1]) } },
  { name: 'ConvInteger depthwise 3x3 stride 2, i8 x i8, asymmetric pads, 5 channels', op: 'ConvInteger', paired: false,
    inputs: [q('int8', [1, 5, 9, 8], 28, false), q('int8', [5, 1, 3, 3], 29), q('int8', [], 0, true, [-9])], attrs: { group: int(5), pads: ints([1, 0, 1, 1]), strides: ints([2, 2]) } },
  { name: 'ConvInteger depthwise 5x5 stride 2, extremes (255 x 127), 3 channels', op: 'ConvInteger', paired: false,
    inputs: [q('uint8', [1, 3, 11, 11], 30, false, new Array(363).fill(255)), q('int8', [3, 1, 5, 5], 31, true, new Array(75).fill(127))], attrs: { group: int(3), pads: ints([2, 2, 2, 2]), strides: ints([2, 2]) } },
  { name: 'QLinearConv u8 x i8, bias, per-channel w scale and zero point, 1x1 stride 2, 7 channels', op: 'QLinearConv', paired: true,
    inputs: [q('uint8', [1, 7, 9, 6], 14, false), f([0.02]), q('uint8', [], 0, true, [130]), q('int8', [5, 7, 1, 1], 15),
      f([0.01, 0.02, 0.005, 0.03, 0.011]), q('int8', [5], 0, true, [0, 1, -2, 3, 0]), f([0.05]), q('uint8', [], 0, true, [128]),
      q('int32', [5], 0, true, [100, -200, 0, 5000, -7])],
    attrs: { strides: ints([2, 2]) } },
  { name: 'QLinearConv i8 x i8 to int8, 3x3 pads 1, batch 2, 6 channels', op: 'QLinearConv', paired: true, quad: true,
    inputs: [q('int8', [2, 6, 5, 7], 22, false), f([0.05]), q('int8', [], 0, true, [-7]), q('int8', [4, 6, 3, 3], 23),
      f([0.01]), q('int8', [], 0, true, [0]), f([0.3]), q('int8', [], 0, true, [5])],
    attrs: { pads: ints([1, 1, 1, 1]) } },
  { name: 'MatMulInteger u8 x i8, batch 2, K 13, per-column b zero points', op: 'MatMulInteger', paired: true,
    inputs: [q('uint8', [2, 5, 13], 16, false), q('int8', [13, 7], 17), q('uint8', [], 0, true, [200]), q('int8', [7], 0, true, [1, -1, 2, -2, 0, 127, -128])] },
  { name: 'MatMulInteger u8 x symmetric i8 weights, K 70 (quads with a tail)', op: 'MatMulInteger', paired: true, quad: true,
    inputs: [q('uint8', [9, 70], 24, false), q('int8', [70, 33], 25), q('uint8', [], 0, true, [77])] },
  { name: 'MatMulInteger i8 x u8, both operands inputs, K 10', op: 'MatMulInteger', paired: true,
    inputs: [q('int8', [3, 10], 18, false), q('uint8', [10, 20], 19, false), q('int8', [], 0, true, [-128]), q('uint8', [], 0, true, [255])] },
  { name: 'QLinearMatMul u8 x i8, K 33', op: 'QLinearMatMul', paired: true,
    inputs: [q('uint8', [6, 33], 20, false), f([0.03]), q('uint8', [], 0, true, [120]), q('int8', [33, 12], 21), f([0.02]), q('int8', [], 0, true, [2]), f([0.4]), q('uint8', [], 0, true, [100])] },
];

const byName = (prefix: string): Case => CASES.find((c) => c.name.startsWith(prefix))!;

function build(c: Case): { g: Graph; feeds: Map<string, RValue> } {
  const g = new Graph(c.name);
  const feeds = new Map<string, RValue>();
  const ins = c.inputs.map((x, i) => {
    if (!x) return null;
    const [lo, hi] = range(x.dtype);
    const t = tensor(x.dtype, x.shape, x.values && x.values.length === numel(x.shape) ? x.values : values(numel(x.shape), x.seed ?? i, lo, hi).map((v, j) => x.values?.[j] ?? v));
    const v = new Value(`in${i}`, { dtype: x.dtype, shape: x.shape.slice() });
    if (x.constant) { v.const = t; g.constants.push(v); } else { g.inputs.push(v); feeds.set(v.name, t); }
    return v;
  });
  const y = new Value('y', { dtype: 'float32', shape: undefined });
  g.nodes.push(new Node({ op: c.op, inputs: ins, outputs: [y], attrs: c.attrs ?? {} }));
  g.outputs = [y];
  inferGraph(g, { strict: true });
  prepareForRun(g, feeds);
  return { g, feeds };
}

/** The dot intrinsics the program's kernels sum (dot2, dot4), sorted. */
function dots(prog: Program): string[] {
  const found = new Set<string>();
  for (const src of prog.sources.values()) for (const st of src.stages) {
    if (st.kind === 'compute') walkExpr(st.body, (x) => { if (x.k === 'call' && (x.fn === 'dot2' || x.fn === 'dot4')) found.add(x.fn); });
  }
  return [...found].sort();
}

const opts = { version: 'test', source: 'int-dot', sourceHash: '-' };
const same = (got: Tensor | RValue | undefined, want: Tensor) => {
  expect((got as Tensor).dtype).toBe(want.dtype);
  expect(Array.from((got as Tensor).num)).toEqual(Array.from(want.num));
};

describe('int8 reductions in int16 pairs match the interpreter exactly', () => {
  afterAll(() => closeWgsl());
  for (const c of CASES) {
    it(c.name, async () => {
      const { g, feeds } = build(c);
      const want = run(g, feeds).get('y') as Tensor;
      // the values are not trivial
      expect(Array.from(want.num).some((v) => v !== 0)).toBe(true);
      const cc = compileC(build(c).g, opts);
      expect(dots(cc.prog)).toEqual(!c.paired ? [] : c.quad ? ['dot4'] : expect.arrayContaining([expect.stringMatching(/^dot[24]$/)]));
      same(runProgram(cc.prog, feeds).get('y'), want);
      same(runC(buildC(cc.art, cc.prog), cc.art, cc.prog, feeds).outputs.get('y'), want);
      const wa = compileWasm(build(c).g, { ...opts, simd: true });
      expect(dots(wa.prog)).toEqual(c.paired ? ['dot2'] : []);
      same((await runWasm(wa, feeds)).get('y'), want);
      // the scalar wasm target keeps the i32 form (no vectors to gain from)
      same((await runWasm(compileWasm(build(c).g, { ...opts, simd: false }), feeds)).get('y'), want);
    }, 60_000);
  }
  it('the C fallbacks (no AVX-512: lane loops; no vector extensions: scalar dot2 / dot4) are exact', () => {
    for (const c of [CASES[0], byName('QLinearConv i8 x i8'), byName('MatMulInteger u8 x symmetric'), byName('ConvInteger depthwise 3x3 stride 2')]) {
      const { g, feeds } = build(c);
      const want = run(g, feeds).get('y') as Tensor;
      const cc = compileC(build(c).g, opts);
      for (const cflags of [['-O2'], ['-O2', '-DAIC_NO_VECTOR_EXT'], ['-O2', '-march=native', '-DAIC_NO_INTRINSICS']]) {
        same(runC(buildC(cc.art, cc.prog, { cflags }), cc.art, cc.prog, feeds).outputs.get('y'), want);
      }
    }
  }, 120_000);
  // WGSL schedules its own kernels (wgsl/schedule.ts), dot4 where the quad form applies (wgsl/int-dot.ts): checked for exactness
  it('on WGSL (SwiftShader) the same kernels are exact', async () => {
    for (const c of [CASES[0], byName('QLinearConv i8 x i8'), byName('ConvInteger depthwise 3x3 (the')]) {
      const { g, feeds } = build(c);
      const want = run(g, feeds).get('y') as Tensor;
      const w = compileWgsl(build(c).g, opts);
      same((await runWgsl(w, feeds)).outputs.get('y'), want);
    }
  }, 120_000);
});
