/**
 * ConvTranspose as stride-phase convolution (passes/rules/fuse/conv-transpose.ts): at -O2 a
 * ConvTranspose with constant weights (1-D to 3-D; BatchNormalization, bias and an activation after
 * it folded in) becomes Conv -> interleave (DepthToSpace, or Reshape-Transpose-Reshape) -> Slice, and
 * on odd shapes (kernel smaller than, equal to, not a multiple of the stride; output_padding;
 * asymmetric pads; unequal strides; 1-D and 3-D; groups; depthwise; batch 2; channel counts not a
 * multiple of 4) the optimized graph on the interpreter, C and WebAssembly SIMD matches the reference
 * interpreter on the model as imported.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type Graph, type RValue } from '@aic/core';
import { loadOnnx } from '@aic/onnx';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { buildC, compileC, compileWasm, passTarget, runC, runWasm } from '@aic/codegen';
import { buildModel, type NodeSpec } from '../onnx-builder.ts';
import { checkClose, values } from './conv-case.ts';

const meta = { version: 'test', source: 'conv-transpose', sourceHash: '-' };

interface Case {
  /** I: the input's spatial sizes (1-3 axes); k, s (and outPad) per axis; pads begins then ends */
  name: string; N: number; C: number; I: number[]; M: number; k: number[]; s: number[];
  pads?: number[]; outPad?: number[]; group?: number; bias?: boolean; bn?: boolean; act?: 'Relu' | 'Sigmoid';
}

function model(c: Case): { raw: Graph; opt: () => Graph; feeds: Map<string, RValue> } {
  const n = c.I.length, g = c.group ?? 1, p = c.pads ?? new Array<number>(2 * n).fill(0), op = c.outPad ?? new Array<number>(n).fill(0);
  const O = c.I.map((d, a) => c.s[a] * (d - 1) + op[a] + c.k[a] - p[a] - p[a + n]);
  const kk = c.k.reduce((x, y) => x * y, 1), xs = [c.N, c.C, ...c.I], xn = xs.reduce((x, y) => x * y, 1);
  const inits = [{ name: 'w', dims: [c.C, c.M / g, ...c.k], floats: values(c.C * (c.M / g) * kk, 7) }];
  if (c.bias) inits.push({ name: 'b', dims: [c.M], floats: values(c.M, 11) });
  const attrs: Record<string, number | number[]> = { strides: c.s, kernel_shape: c.k };
  if (c.pads) attrs.pads = c.pads;
  if (c.outPad) attrs.output_padding = c.outPad;
  if (c.group) attrs.group = c.group;
  const nodes: NodeSpec[] = [{ op: 'ConvTranspose', inputs: ['x', 'w', ...(c.bias ? ['b'] : [])], outputs: ['t'], attrs }];
  let y = 't';
  if (c.bn) {
    for (const [n, seed, off] of [['gamma', 13, 1.5], ['beta', 17, 0], ['mean', 19, 0], ['var', 23, 1.5]] as const) {
      inits.push({ name: n, dims: [c.M], floats: values(c.M, seed).map((v) => v + off) });
    }
    nodes.push({ op: 'BatchNormalization', inputs: [y, 'gamma', 'beta', 'mean', 'var'], outputs: ['n'] });
    y = 'n';
  }
  if (c.act) { nodes.push({ op: c.act, inputs: [y], outputs: ['a'] }); y = 'a'; }
  nodes[nodes.length - 1].outputs = ['out'];
  const bytes = buildModel(nodes, [{ name: 'x', shape: xs }], [{ name: 'out', shape: [c.N, c.M, ...O] }], 13, inits);
  const feeds = new Map<string, RValue>([['x', new Tensor('float32', xs, Float32Array.from(values(xn, 3)))]]);
  return { raw: loadOnnx(bytes), opt: () => runPipeline(loadOnnx(bytes), pipelineFor(2), { target: passTarget('c'), out: () => {} }).graph, feeds };
}

const CASES: Case[] = [
  { name: 'k2 s2 (an upsampling head), batch 2, bias, BN, Relu', N: 2, C: 5, I: [4, 6], M: 3, k: [2, 2], s: [2, 2], bias: true, bn: true, act: 'Relu' },
  { name: 'k4 s2 p1, 2 groups, Sigmoid', N: 1, C: 6, I: [5, 3], M: 4, k: [4, 4], s: [2, 2], pads: [1, 1, 1, 1], group: 2, act: 'Sigmoid' },
  { name: 'k3 s2, asymmetric pads, output_padding 1, 7 outputs', N: 1, C: 3, I: [4, 5], M: 7, k: [3, 3], s: [2, 2], pads: [1, 0, 2, 1], outPad: [1, 1], bias: true },
  { name: 'k3 s1 p1 depthwise (a flipped Conv), BN', N: 1, C: 6, I: [7, 5], M: 6, k: [3, 3], s: [1, 1], pads: [1, 1, 1, 1], group: 6, bn: true },
  { name: 'k1 s3 (kernel smaller than stride), output_padding 2', N: 1, C: 2, I: [3, 4], M: 3, k: [1, 1], s: [3, 3], outPad: [2, 2], bias: true },
  { name: 'k5x3 s3 p2, batch 2, BN + Relu', N: 2, C: 4, I: [3, 4], M: 5, k: [5, 3], s: [3, 3], pads: [2, 1, 2, 0], bn: true, act: 'Relu' },
  { name: 'unequal strides 1x2 (Reshape-Transpose-Reshape interleave), k3x4 p1', N: 1, C: 3, I: [5, 4], M: 5, k: [3, 4], s: [1, 2], pads: [1, 1, 1, 1], bias: true },
  { name: '1-D k16 s8 p4 (a vocoder upsampler), bias', N: 1, C: 5, I: [7], M: 3, k: [16], s: [8], pads: [4, 4], bias: true },
  { name: '1-D k5 s2 p2 output_padding 1, 2 groups, batch 2, BN + Relu', N: 2, C: 4, I: [9], M: 6, k: [5], s: [2], pads: [2, 2], outPad: [1], group: 2, bn: true, act: 'Relu' },
  { name: '3-D k2 s2 (a volumetric UNet upsampler), bias', N: 1, C: 3, I: [3, 2, 4], M: 5, k: [2, 2, 2], s: [2, 2, 2], bias: true },
];

describe('ConvTranspose as stride-phase convolution', () => {
  for (const c of CASES) {
    it(`${c.name} (interp, c, wasm-simd)`, async () => {
      const { raw, opt, feeds } = model(c);
      const want = run(raw, feeds).get('out') as Tensor;
      const g = opt();
      expect(g.nodes.map((n) => n.op)).not.toContain('ConvTranspose');
      expect(g.nodes.map((n) => n.op)).not.toContain('BatchNormalization');
      expect(g.nodes.filter((n) => /Conv$/.test(n.op))).toHaveLength(1);
      if (c.act) expect(g.nodes.find((n) => /Conv$/.test(n.op))!.attrs.activation?.value).toBe(c.act);
      checkClose(run(g, feeds).get('out') as Tensor, want, 'interp -O2');
      const cc = compileC(opt(), meta);
      checkClose(runC(buildC(cc.art, cc.prog), cc.art, cc.prog, feeds).outputs.get('out') as Tensor, want, 'c');
      checkClose((await runWasm(compileWasm(opt(), { ...meta, simd: true }), feeds)).get('out') as Tensor, want, 'wasm-simd');
    }, 120_000);
  }

  it('leaves a ConvTranspose whose weights are an input alone (it is computed by its own kernel)', () => {
    const bytes = buildModel([{ op: 'ConvTranspose', inputs: ['x', 'w'], outputs: ['out'], attrs: { strides: [2, 2] } }],
      [{ name: 'x', shape: [1, 2, 3, 3] }, { name: 'w', shape: [2, 2, 2, 2] }], [{ name: 'out', shape: [1, 2, 6, 6] }], 13);
    const g = runPipeline(loadOnnx(bytes), pipelineFor(2), { target: passTarget('c'), out: () => {} }).graph;
    expect(g.nodes.map((n) => n.op)).toEqual(['ConvTranspose']);
  });
});
