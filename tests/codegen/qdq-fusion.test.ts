/**
 * fuse-qdq numerics: small QDQ models (Conv + Relu, MaxPool, Conv + residual Add + Relu, Flatten,
 * Gemm, QLinearConv / QLinearMatMul, a 1x1 conv on a 7x7 map) give the same integers unfused (-O0, the reference interpreter)
 * and fused (-O2: aic.QConv / aic.QMatMul) on interp, C, wasm-simd and WGSL. Scales are powers of two,
 * so the unfused float graph computes the exact real values and the fused integer kernels must match
 * it bit for bit (with arbitrary scales, both round the same real number differently only at ties).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { Tensor, type Graph, type RValue } from '@aic/core';
import { decodeValueFile, loadOnnxFile } from '@aic/onnx';
import { parseGraph } from '@aic/dsl';
import { walkExpr } from '@aic/loop-ir';
import { run } from '@aic/interp';
import { parsePipeline, pipelineFor, runPipeline } from '@aic/passes';
import { algorithmStats, closeWgsl, compileFor, getTarget, passTargetOf, runOn, wgslAdapter } from '@aic/codegen';

let seed = 12345;
const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 2 ** 32; };
const ints = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + Math.floor(rnd() * (hi - lo + 1)));
const lit = (a: number[]) => `[${a.join(', ')}]`;

/** DQ x -> Conv 3x3 pad 1 (per-channel w, int32 bias) -> Relu -> Q -> MaxPool -> Conv 1x1 + residual -> Relu -> Q -> Flatten -> Gemm -> Q */
function cnn(): string {
  return `graph g(x: u8[1, 3, 6, 6]) -> (y: i8[1, 5], c2: u8[1, 4, 3, 3]) {
  sx: f32[] = 0.0625
  zx: u8[] = 7
  w1q: i8[4, 3, 3, 3] = ${lit(ints(108, -100, 100))}
  w1s: f32[4] = [0.0078125, 0.015625, 0.00390625, 0.03125]
  b1q: i32[4] = ${lit(ints(4, -3000, 3000))}
  b1s: f32[4] = [0.00048828125, 0.0009765625, 0.000244140625, 0.001953125]
  s1: f32[] = 0.125
  z1: u8[] = 9
  w2q: i8[4, 4, 1, 1] = ${lit(ints(16, -128, 127))}
  w2s: f32[] = 0.015625
  s2: f32[] = 0.25
  z2: u8[] = 4
  w3q: i8[5, 36] = ${lit(ints(180, -127, 127))}
  w3s: f32[5] = [0.0078125, 0.0078125, 0.015625, 0.00390625, 0.0078125]
  b3: f32[5] = [0.5, -0.25, 1.0, 0.0, -2.0]
  s3: f32[] = 0.5
  z3: i8[] = -3
  x1 = DequantizeLinear(x, sx, zx)
  c1 = QuantizeLinear(Relu(Conv(x1, DequantizeLinear(w1q, w1s, axis = 0), DequantizeLinear(b1q, b1s, axis = 0), pads = [1, 1, 1, 1])), s1, z1)
  p = QuantizeLinear(MaxPool(DequantizeLinear(c1, s1, z1), kernel_shape = [2, 2], strides = [2, 2]), s1, z1)
  pd = DequantizeLinear(p, s1, z1)
  c2 = QuantizeLinear(Relu(Add(Conv(pd, DequantizeLinear(w2q, w2s)), pd)), s2, z2)
  f = QuantizeLinear(Flatten(DequantizeLinear(c2, s2, z2)), s2, z2)
  y = QuantizeLinear(Gemm(DequantizeLinear(f, s2, z2), DequantizeLinear(w3q, w3s, axis = 0), b3, transB = 1), s3, z3)
}`;
}

/** imported quantized ops: QLinearConv (uint8 weights with a zero point) -> QLinearMatMul */
function qlinear(): string {
  return `graph g(x: u8[1, 2, 5, 5]) -> (y: u8[1, 3, 2, 4]) {
  xs: f32[] = 0.05
  xz: u8[] = 128
  wq: u8[3, 2, 3, 3] = ${lit(ints(54, 60, 200))}
  ws: f32[3] = [0.01, 0.02, 0.015]
  wz: u8[3] = [128, 130, 127]
  ys: f32[] = 0.3
  yz: u8[] = 17
  b: i32[3] = [100, -50, 7]
  m: u8[5, 4] = ${lit(ints(20, 0, 255))}
  ms: f32[] = 0.02
  mz: u8[] = 120
  y2s: f32[] = 0.07
  y2z: u8[] = 99
  c = QLinearConv(x, xs, xz, wq, ws, wz, ys, yz, b, pads = [0, 1, 0, 1], strides = [2, 1])
  y = QLinearMatMul(c, ys, yz, m, ms, mz, y2s, y2z)
}`;
}

/** a 1x1 conv (13 -> 22 channels, batch 2) on a 7x7 map with Relu: aic.QConv computed over the flattened map (gemm1x1.ts) */
function conv1x1(): string {
  return `graph g(x: u8[2, 13, 7, 7]) -> (y: u8[2, 22, 7, 7]) {
  sx: f32[] = 0.0625
  zx: u8[] = 11
  wq: i8[22, 13, 1, 1] = ${lit(ints(286, -127, 127))}
  ws: f32[22] = ${lit(Array.from({ length: 22 }, (_, i) => 2 ** -(6 + (i % 3))))}
  b: f32[22] = ${lit(ints(22, -8, 8).map((v) => v / 4))}
  sy: f32[] = 0.25
  zy: u8[] = 3
  y = QuantizeLinear(Relu(Conv(DequantizeLinear(x, sx, zx), DequantizeLinear(wq, ws, axis = 0), b)), sy, zy)
}`;
}

const TARGETS = ['interp', 'c', 'wasm-simd', 'wgsl'] as const;
let wgslSkip: string | undefined;
beforeAll(async () => {
  try { await wgslAdapter(); } catch (e) { wgslSkip = `SKIPPED wgsl: no WebGPU adapter: ${(e as Error).message}`; console.warn(wgslSkip); }
}, 120_000);
afterAll(() => closeWgsl());

function feed(shape: number[]): Map<string, RValue> {
  return new Map([['x', Tensor.fromNumbers('uint8', shape, ints(shape.reduce((a, b) => a * b, 1), 0, 255))]]);
}

describe('fuse-qdq numerics', () => {
  for (const [name, src, fused] of [['qdq cnn', cnn(), ['QConv', 'QConv', 'QMatMul']], ['qlinear', qlinear(), ['QConv', 'QMatMul']], ['qdq 1x1 on 7x7', conv1x1(), ['QConv']]] as const) {
    const g0 = parseGraph(src);
    const feeds = feed(g0.inputs[0]!.shape as number[]);
    const want = run(g0, feeds);
    it(`${name}: -O2 fuses to ${fused.join(', ')} with no Q/DQ left`, () => {
      const { graph } = runPipeline(g0, pipelineFor(2), { out: () => {} });
      expect(graph.nodes.filter((x) => x.domain === 'aic').map((x) => x.op)).toEqual(fused);
      expect(graph.nodes.map((x) => x.op)).not.toContain('DequantizeLinear');
    });
    it(`${name}: the fused -O2 graph (fuse-qdq alone too) gives the unfused integers on the interpreter`, () => {
      const alone = runPipeline(g0, parsePipeline('fuse-qdq,eliminate-dead-nodes'), { out: () => {} }).graph;
      const got = run(alone, feeds);
      for (const [k, v] of want) expect(Array.from((got.get(k) as Tensor).num), k).toEqual(Array.from((v as Tensor).num));
    });
    for (const t of TARGETS) {
      it(`${name}: ${t} -O2 equals the unfused reference`, async (tc) => {
        if (t === 'wgsl' && wgslSkip) { tc.skip(wgslSkip); return; }
        const target = getTarget(t)!;
        const on = async (level: number) => {
          const g = runPipeline(g0, pipelineFor(level), { target: passTargetOf(target), out: () => {} }).graph;
          return (await runOn(target, g, feeds, { version: 'test', source: 'qdq-fusion' })).outputs;
        };
        const outputs = await on(2);
        // WGSL computes the f64 requantization in f32 (codegen/wgsl/types.ts): with scales that are
        // not powers of two it matches its own unfused QLinear kernels, not the f64 reference
        const ref = t === 'wgsl' && name === 'qlinear' ? await on(0) : want;
        for (const [k, v] of ref) {
          const got = outputs.get(k) as Tensor;
          expect(got.dtype, k).toBe((v as Tensor).dtype);
          expect(Array.from(got.num), `${t} ${k}`).toEqual(Array.from((v as Tensor).num));
        }
      }, 120_000);
    }
  }
});

describe('int8 1x1 convs over the flattened map', () => {
  it('aic.QConv 1x1 on 7x7 is computed as one GEMM over OH*OW (--stats), in u8 x s8 quads on C', () => {
    const g0 = parseGraph(conv1x1());
    for (const t of ['c', 'wasm-simd'] as const) {
      const target = getTarget(t)!;
      const g = runPipeline(g0, pipelineFor(2), { target: passTargetOf(target), out: () => {} }).graph;
      const { prog } = compileFor(target, g, { version: 'test', source: 'qdq-fusion', sourceHash: '-' });
      expect(algorithmStats(prog), t).toMatch(/qconv 2x13x7x7 -> 22x7x7 k1x1 +gemm/);
      const dirs = [...prog.schedules.values()][0];
      expect(dirs[0], t).toEqual({ d: 'algorithm', name: 'gemm' });
      // the sum vectorizes over the flattened positions, not 4 of 7 columns
      expect(dirs.some((d) => d.d === 'vectorize' && /^p\d+/.test(d.axis)), t).toBe(true);
      if (t === 'c') {
        let dot4 = false;
        for (const st of [...prog.sources.values()][0].stages) if (st.kind === 'compute') walkExpr(st.body, (x) => { if (x.k === 'call' && x.fn === 'dot4') dot4 = true; });
        expect(dot4).toBe(true);
      }
    }
  });
});

/**
 * The ONNX node tests for QLinearConv / QLinearMatMul with every input but the first made a
 * constant (as in an exported model): -O2 rewrites them to aic.QConv / aic.QMatMul, whose results
 * must be the expected outputs on every target. A batched (3-D) b stays QLinearMatMul (aic.QMatMul
 * takes 2-D weights).
 */
const NODE = '/usr/share/libonnx-testdata/data/node';
describe.skipIf(!fs.existsSync(NODE))('fuse-qdq on the QLinear node tests (constant weights)', () => {
  for (const [test, op] of [['test_qlinearconv', 'QConv'], ['test_qlinearmatmul_2D', 'QMatMul'], ['test_qlinearmatmul_3D', 'QLinearMatMul']] as const) {
    const dir = `${NODE}/${test}`;
    const pb = (f: string) => decodeValueFile(new Uint8Array(fs.readFileSync(`${dir}/test_data_set_0/${f}`))) as Tensor;
    const load = (): { g: Graph; feeds: Map<string, RValue> } => {
      const g = loadOnnxFile(`${dir}/model.onnx`);
      const feeds = new Map<string, RValue>();
      g.inputs.forEach((v, i) => { if (i === 0) feeds.set(v.name, pb(`input_${i}.pb`)); else { v.const = pb(`input_${i}.pb`); g.constants.push(v); } });
      g.inputs = g.inputs.slice(0, 1);
      return { g, feeds };
    };
    for (const t of TARGETS) {
      it(`${test}: ${t} -O2 runs ${op} and gives the expected output`, async (tc) => {
        if (t === 'wgsl' && wgslSkip) { tc.skip(wgslSkip); return; }
        const { g, feeds } = load();
        const target = getTarget(t)!;
        const opt = runPipeline(g, pipelineFor(2), { target: passTargetOf(target), out: () => {} }).graph;
        expect(opt.nodes.map((n) => n.op)).toEqual([op]);
        const { outputs } = await runOn(target, opt, feeds, { version: 'test', source: 'qdq-fusion' });
        expect(Array.from((outputs.get(opt.outputs[0]!.name) as Tensor).num)).toEqual(Array.from(pb('output_0.pb').num));
      }, 120_000);
    }
  }
});
