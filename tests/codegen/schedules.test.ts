/**
 * Default schedules never change results: representative kernels (GEMM, MatMul, Conv 3x3 / strided /
 * 1x1 / depthwise, fused Conv epilogues, pooling, elementwise) run scheduled (with packed weights) and
 * unscheduled through the loop-IR interpreter on small shapes and must agree exactly. The scheduled
 * loop IR of each is also compared with a golden dump (tests/codegen/golden/NAME.loops;
 * UPDATE_GOLDEN=1 rewrites them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value, type Attr, type DType } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { printKernel } from '@aic/loop-ir';
import { C_CAPS, chooseSchedules, lowerGraph, rescheduleProgram, runProgram } from '@aic/codegen';
import { run } from '@aic/interp';
import { simplifyDivMod } from '../../codegen/schedule/pack.ts';

const GOLDEN = path.join(import.meta.dirname, 'golden');

function rand(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return ((s >>> 8) / (1 << 24)) * 2 - 1; });
}

interface Spec {
  op: string; domain?: string; attrs?: Record<string, Attr>;
  /** inputs: [shape, constant?] */
  inputs: [number[], boolean][];
}

function graphOf(s: Spec, dtype: DType = 'float32'): { g: Graph; feeds: Map<string, Tensor> } {
  const g = new Graph(s.op);
  const feeds = new Map<string, Tensor>();
  const ins = s.inputs.map(([shape, isConst], i) => {
    const v = new Value(`x${i}`, { dtype, shape });
    const t = Tensor.fromNumbers(dtype, shape, rand(shape.reduce((a, b) => a * b, 1), 7 + i));
    if (isConst) { v.const = t; g.constants.push(v); } else { g.inputs.push(v); feeds.set(v.name, t); }
    return v;
  });
  const y = new Value('y', { dtype, shape: undefined });
  g.nodes.push(new Node({ op: s.op, domain: s.domain ?? '', inputs: ins, outputs: [y], attrs: s.attrs ?? {} }));
  g.outputs.push(y);
  inferGraph(g);
  return { g, feeds };
}

const ints = (value: number[]): Attr => ({ type: 'ints', value });
const str = (value: string): Attr => ({ type: 'string', value });

const CASES: Record<string, Spec> = {
  gemm_transb: { op: 'Gemm', attrs: { transB: { type: 'int', value: 1 } }, inputs: [[[3, 20], false], [[16, 20], true], [[16], true]] },
  matmul: { op: 'MatMul', inputs: [[[6, 12], false], [[12, 32], true]] },
  conv3x3_pad: { op: 'Conv', attrs: { pads: ints([1, 1, 1, 1]), kernel_shape: ints([3, 3]) }, inputs: [[[1, 3, 8, 8], false], [[8, 3, 3, 3], true], [[8], true]] },
  conv_stride2: { op: 'Conv', attrs: { pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) }, inputs: [[[1, 4, 9, 9], false], [[16, 4, 3, 3], true]] },
  conv1x1: { op: 'Conv', inputs: [[[1, 8, 4, 4], false], [[16, 8, 1, 1], true], [[16], true]] },
  // 196 pixels (4 x 49): 16-lane vectors with a clamped last block, not 4-lane ones that divide it
  conv1x1_14x14: { op: 'Conv', inputs: [[[1, 24, 14, 14], false], [[12, 24, 1, 1], true]] },
  // a first conv: 3 x 3 x 3 reductions, stride 2: output columns vectorized over the input split by stride phase
  conv_first_stride2: { op: 'Conv', attrs: { strides: ints([2, 2]) }, inputs: [[[1, 3, 9, 65], false], [[16, 3, 3, 3], true], [[16], true]] },
  conv_depthwise: { op: 'Conv', attrs: { group: { type: 'int', value: 8 }, pads: ints([1, 1, 1, 1]) }, inputs: [[[1, 8, 8, 8], false], [[8, 1, 3, 3], true]] },
  fusedconv_residual_relu: {
    op: 'FusedConv', domain: 'aic', attrs: { pads: ints([1, 1, 1, 1]), activation: str('Relu') },
    inputs: [[[1, 4, 6, 6], false], [[8, 4, 3, 3], true], [[8], true], [[1, 8, 6, 6], false]],
  },
  fusedconv_silu: { op: 'FusedConv', domain: 'aic', attrs: { activation: str('Silu') }, inputs: [[[1, 4, 4, 4], false], [[8, 4, 1, 1], true]] },
  fusedconv_clip: {
    op: 'FusedConv', domain: 'aic', attrs: { activation: str('Clip'), activation_params: { type: 'floats', value: [0, 6] } },
    inputs: [[[1, 4, 8, 8], false], [[8, 4, 1, 1], true]],
  },
  fusedgemm_relu: { op: 'FusedGemm', domain: 'aic', attrs: { transB: { type: 'int', value: 1 }, activation: str('Relu') }, inputs: [[[2, 8], false], [[16, 8], true], [[16], true]] },
  maxpool: { op: 'MaxPool', attrs: { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }, inputs: [[[1, 4, 9, 9], false]] },
  global_avgpool: { op: 'GlobalAveragePool', inputs: [[[1, 8, 5, 5], false]] },
  relu: { op: 'Relu', inputs: [[[2, 4, 16], false]] },
};

function runBoth(s: Spec): { plain: number[]; sched: number[]; text: string; ref: number[] } {
  const { g, feeds } = graphOf(s);
  const ref = Array.from((run(g, feeds).get('y') as Tensor).num as ArrayLike<number>);
  const p0 = lowerGraph(g, C_CAPS);
  const plain = Array.from(runProgram(p0, feeds).get('y')!.num as ArrayLike<number>);
  const { g: g1 } = graphOf(s);
  const p1 = lowerGraph(g1, C_CAPS);
  rescheduleProgram(p1, chooseSchedules(p1, C_CAPS));
  p1.kernels = p1.kernels.map((k) => ({ ...k, body: simplifyDivMod(k.body) }));
  const sched = Array.from(runProgram(p1, feeds).get('y')!.num as ArrayLike<number>);
  return { plain, sched, ref, text: p1.kernels.map(printKernel).join('\n') };
}

describe('default schedules keep results (loop interpreter)', () => {
  for (const [name, spec] of Object.entries(CASES)) {
    it(name, () => {
      const { plain, sched, text, ref } = runBoth(spec);
      expect(sched).toEqual(plain);
      // the compute definitions (fused ones through their base ops) agree with the reference
      ref.forEach((r, i) => expect(Math.abs(plain[i] - r), `${name}[${i}]`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(r))));
      const file = path.join(GOLDEN, `${name}.loops`);
      if (process.env.UPDATE_GOLDEN || !fs.existsSync(file)) { fs.mkdirSync(GOLDEN, { recursive: true }); fs.writeFileSync(file, text); }
      expect(text).toBe(fs.readFileSync(file, 'utf8'));
    });
  }
  it('GEMM and Conv get register-tiled, vectorized schedules', () => {
    for (const name of ['gemm_transb', 'matmul', 'conv3x3_pad', 'conv_stride2', 'conv1x1']) {
      const { text } = runBoth(CASES[name]);
      expect(text, name).toMatch(/vectorized\(\d+\)/);
    }
    // stride 2: output channels vectorized over weights packed [M/16, C, kh, kw, 16] (f32 accumulators: 16 lanes)
    expect(runBoth(CASES.conv_stride2).text).toContain('weight in1: f32[1, 4, 3, 3, 16]');
    // a reduction of 27: stores along output channels would scatter (NCHW), so the 32 output columns are the
    // vector, read from the input split by stride phase; the weights packed 8 output-channel rows per block
    expect(runBoth(CASES.conv1x1_14x14).text).toMatch(/vectorized\(16\)/);
    const first = runBoth(CASES.conv_first_stride2).text;
    expect(first).toContain('weight in1: f32[2, 3, 3, 3, 8]');
    expect(first).toMatch(/alloc xph\d+: f32\[1, 3, 9, 2, 33\]/);
    expect(first).toMatch(/for i3_i\w* in 0\.\.16 vectorized\(16\)/);
  });
});
