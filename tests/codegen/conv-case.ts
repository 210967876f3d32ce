/**
 * One Conv (+ optional residual Add and Relu) as an ONNX model with deterministic weights and input,
 * optimized at -O2: the shapes the conv algorithm tests (conv-algorithms, conv-phases) run on every target.
 */
import { expect } from 'vitest';
import { Tensor, type Graph, type RValue } from '@aic/core';
import { run } from '@aic/interp';
import { algorithmStats, buildC, compileC, compileWasm, runC, runProgram, runWasm } from '@aic/codegen';
import { parseScheduleFile } from '@aic/loop-ir';
import { loadOnnx } from '@aic/onnx';
import { pipelineFor, runPipeline } from '@aic/passes';
import { passTarget } from '@aic/codegen';
import { buildModel, type NodeSpec } from '../onnx-builder.ts';
import { excess } from '../model-zoo.ts';

/** deterministic values in [-1, 1) */
export function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 31 - 1; });
}

export interface ConvCase {
  name: string; N: number; C: number; H: number; W: number; M: number;
  pads?: number[]; strides?: number[]; dilations?: number[]; group?: number; bias?: boolean; residual?: boolean; relu?: boolean;
  /** kernel size (default 3; [KH, KW] for a non-square one) */
  k?: number | [number, number];
}

export function convModel(c: ConvCase): { graph: () => Graph; feeds: Map<string, RValue> } {
  const [KH, KW] = typeof c.k === 'object' ? c.k : [c.k ?? 3, c.k ?? 3];
  const p = c.pads ?? [0, 0, 0, 0], [sh, sw] = c.strides ?? [1, 1], [dh, dw] = c.dilations ?? [1, 1];
  const OH = Math.floor((c.H + p[0] + p[2] - dh * (KH - 1) - 1) / sh) + 1, OW = Math.floor((c.W + p[1] + p[3] - dw * (KW - 1) - 1) / sw) + 1;
  const Cg = c.C / (c.group ?? 1);
  const inits = [{ name: 'w', dims: [c.M, Cg, KH, KW], floats: values(c.M * Cg * KH * KW, 7) }];
  if (c.bias) inits.push({ name: 'b', dims: [c.M], floats: values(c.M, 11) });
  const attrs: Record<string, number[] | number> = { kernel_shape: [KH, KW] };
  if (c.pads) attrs.pads = c.pads;
  if (c.strides) attrs.strides = c.strides;
  if (c.dilations) attrs.dilations = c.dilations;
  if (c.group) attrs.group = c.group;
  const nodes: NodeSpec[] = [{ op: 'Conv', inputs: ['x', 'w', ...(c.bias ? ['b'] : [])], outputs: ['c'], attrs }];
  let y = 'c';
  const inputs = [{ name: 'x', shape: [c.N, c.C, c.H, c.W] }];
  const feeds = new Map<string, RValue>([['x', new Tensor('float32', [c.N, c.C, c.H, c.W], Float32Array.from(values(c.N * c.C * c.H * c.W, 3)))]]);
  if (c.residual) {
    inputs.push({ name: 'r', shape: [c.N, c.M, OH, OW] });
    feeds.set('r', new Tensor('float32', [c.N, c.M, OH, OW], Float32Array.from(values(c.N * c.M * OH * OW, 5))));
    nodes.push({ op: 'Add', inputs: [y, 'r'], outputs: ['s'] });
    y = 's';
  }
  if (c.relu) { nodes.push({ op: 'Relu', inputs: [y], outputs: ['y'] }); y = 'y'; }
  nodes[nodes.length - 1].outputs = ['out'];
  const bytes = buildModel(nodes, inputs, [{ name: 'out', shape: [c.N, c.M, OH, OW] }], 13, inits);
  return { graph: () => runPipeline(loadOnnx(bytes), pipelineFor(2), { target: passTarget('c'), out: () => {} }).graph, feeds };
}

/** the conv kernel's name in a compiled program */
export const convKernel = (g: Graph) => `k${g.nodes.findIndex((n) => /Conv$/.test(n.op))}_${g.nodes.find((n) => /Conv$/.test(n.op))!.op.toLowerCase()}`;

/** `got` has `want`'s shape and values within rtol = atol = 1e-4 (the worst element named). */
export function checkClose(got: Tensor, want: Tensor, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  const e = excess(got.num, want.num, 1e-4, 1e-4);
  expect(e.worst, `${what}[${e.at}] got ${got.num[e.at]} want ${want.num[e.at]}`).toBeLessThanOrEqual(0);
}

/**
 * A conv case computed with `algorithm NAME` forced by the --schedule file: --stats names it, the
 * scheduled loop IR matches the reference interpreter and equals the all-direct loop IR to the last
 * bit (same terms, same order), and C and wasm-simd match the reference.
 */
export async function checkForcedAlgorithm(c: ConvCase, algorithm: string): Promise<void> {
  const meta = { version: 'test', source: algorithm, sourceHash: '-' };
  const { graph, feeds } = convModel(c);
  const want = run(graph(), feeds).get('out') as Tensor;
  const k = convKernel(graph());
  const schedules = parseScheduleFile(`kernel ${k} { algorithm ${algorithm} }`);
  const cc = compileC(graph(), { ...meta, schedules });
  expect(algorithmStats(cc.prog)).toContain(algorithm);
  const loops = runProgram(cc.prog, feeds).get('out')!;
  checkClose(loops, want, 'loops');
  const direct = compileC(graph(), { ...meta, schedules: parseScheduleFile(`kernel ${k} { algorithm direct }`) });
  expect(Array.from(loops.num)).toEqual(Array.from(runProgram(direct.prog, feeds).get('out')!.num));
  checkClose(runC(buildC(cc.art, cc.prog), cc.art, cc.prog, feeds).outputs.get('out') as Tensor, want, 'c');
  checkClose((await runWasm(compileWasm(graph(), { ...meta, simd: true, schedules }), feeds)).get('out') as Tensor, want, 'wasm-simd');
}
