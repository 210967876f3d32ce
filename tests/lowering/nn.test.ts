/**
 * nn compute definitions (Conv, pooling, normalizations...): lowered programs give the interpreter's
 * results through the loop-IR interpreter and through generated C, on small graphs that exercise
 * the attribute combinations the ONNX node tests miss, and on the bundled CNN models.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, parseNpy, type RValue } from '@aic/core';
import { loadOnnx, loadOnnxFile } from '@aic/onnx';
import { run } from '@aic/interp';
import { C_CAPS, LOOPS_CAPS, buildC, lowerGraph, renderC, runC, runProgram } from '@aic/codegen';
import { buildModel, type IoSpec, type NodeSpec } from '../onnx-builder.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/models');
const haveCC = spawnSync(process.env.CC ?? 'cc', ['--version']).status === 0;

function maxError(got: Tensor, want: Tensor, rtol: number, atol: number): { ok: boolean; worst: string } {
  let ok = true, worst = 0, at = -1;
  const a = got.num, b = want.num;
  for (let i = 0; i < b.length; i++) {
    if (Number.isNaN(b[i]) && Number.isNaN(a[i])) continue;
    const err = Math.abs(a[i] - b[i]) - (atol + rtol * Math.abs(b[i]));
    if (!(err <= 0)) ok = false;
    if (err > worst || Number.isNaN(err)) { worst = err; at = i; }
  }
  return { ok, worst: at < 0 ? 'within tolerance' : `[${at}] got ${a[at]} want ${b[at]}` };
}

/** deterministic values in [-2, 2) with a few repeats (ties for the max pools) */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.round(((s >>> 8) / (1 << 24)) * 64 - 32) / 16;
  });
}

interface Case { name: string; nodes: NodeSpec[]; inputs: IoSpec[]; outputs: IoSpec[]; opset?: number; feeds?: Record<string, number[]> }

function compare(outs: Map<string, RValue>, want: Map<string, RValue>, names: string[], what: string): void {
  for (const o of names) {
    const w = want.get(o) as Tensor, g = outs.get(o) as Tensor;
    expect(g.dtype, `${what} ${o} dtype`).toBe(w.dtype);
    expect(g.shape, `${what} ${o} shape`).toEqual(w.shape);
    const r = maxError(g, w, 1e-5, 1e-6);
    expect(r.ok, `${what} ${o}: ${r.worst}`).toBe(true);
  }
}

function checkCase(c: Case, target: 'loops' | 'c'): void {
  const bytes = buildModel(c.nodes, c.inputs, c.outputs, c.opset ?? 13);
  const feeds = new Map<string, RValue>();
  c.inputs.forEach((io, i) => {
    const shape = io.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const v = c.feeds?.[io.name] ?? values(n, 17 + i * 101);
    feeds.set(io.name, Tensor.fromNumbers(io.dtype === 7 ? 'int64' : 'float32', shape, v));
  });
  const want = run(loadOnnx(bytes), feeds);
  const names = c.outputs.map((o) => o.name);
  if (target === 'loops') {
    compare(runProgram(lowerGraph(loadOnnx(bytes), LOOPS_CAPS), feeds) as Map<string, RValue>, want, names, 'loops');
  } else {
    const prog = lowerGraph(loadOnnx(bytes), C_CAPS);
    const art = renderC(prog, { version: 'test', source: c.name, sourceHash: '-' });
    const b = buildC(art, prog);
    compare(runC(b, art, prog, feeds).outputs as Map<string, RValue>, want, names, 'c');
  }
}

const f = (name: string, shape: number[]): IoSpec => ({ name, shape });
const CASES: Case[] = [
  {
    name: 'Conv 2-d: groups, dilations, strides, asymmetric pads, bias',
    nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { group: 2, dilations: [2, 1], strides: [1, 2], pads: [1, 0, 2, 1] } }],
    inputs: [f('x', [2, 4, 7, 6]), f('w', [6, 2, 3, 2]), f('b', [6])], outputs: [f('y', [2, 6, 6, 3])],
  },
  {
    name: 'Conv 1-d, no padding',
    nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { strides: [2] } }],
    inputs: [f('x', [1, 3, 9]), f('w', [2, 3, 3])], outputs: [f('y', [1, 2, 4])],
  },
  {
    name: 'Conv 3-d depthwise',
    nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { group: 2, pads: [1, 0, 1, 0, 1, 1] } }],
    inputs: [f('x', [1, 2, 3, 4, 4]), f('w', [2, 1, 2, 3, 2])], outputs: [f('y', [1, 2, 3, 3, 5])],
  },
  {
    name: 'ConvTranspose: groups, strides, dilations, pads, output_padding, bias',
    nodes: [{ op: 'ConvTranspose', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { group: 2, strides: [2, 3], dilations: [1, 2], pads: [1, 0, 0, 2], output_padding: [1, 0] } }],
    inputs: [f('x', [1, 4, 3, 3]), f('w', [4, 3, 3, 2]), f('b', [6])], outputs: [f('y', [1, 6, 7, 7])],
  },
  {
    name: 'MaxPool: pads, dilations, ceil_mode, column-major Indices',
    nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y', 'i'], attrs: { kernel_shape: [3, 2], pads: [1, 1, 1, 0], strides: [2, 2], dilations: [1, 2], ceil_mode: 1, storage_order: 1 } }],
    inputs: [f('x', [2, 2, 7, 8])], outputs: [f('y', [2, 2, 4, 4]), { name: 'i', dtype: 7, shape: [2, 2, 4, 4] }],
  },
  {
    name: 'MaxPool: NaN only counts as the first tap',
    nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y', 'i'], attrs: { kernel_shape: [2, 2], pads: [1, 1, 0, 0] } }],
    inputs: [f('x', [1, 1, 3, 3])], outputs: [f('y', [1, 1, 3, 3]), { name: 'i', dtype: 7, shape: [1, 1, 3, 3] }],
    feeds: { x: [NaN, 1, 2, NaN, NaN, 3, -1, NaN, 0] },
  },
  {
    name: 'AveragePool: count_include_pad with ceil_mode',
    nodes: [{ op: 'AveragePool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [3, 3], pads: [1, 2, 1, 0], strides: [2, 2], ceil_mode: 1, count_include_pad: 1 } }],
    inputs: [f('x', [1, 2, 6, 7])], outputs: [f('y', [1, 2, 4, 4])],
  },
  {
    name: 'AveragePool 1-d with dilations, excluding pads',
    nodes: [{ op: 'AveragePool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [3], pads: [2, 2], dilations: [2] } }],
    inputs: [f('x', [1, 2, 6])], outputs: [f('y', [1, 2, 6])], opset: 19,
  },
  {
    name: 'LpPool p=3',
    nodes: [{ op: 'LpPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [2, 2], p: 3, pads: [1, 1, 1, 1] } }],
    inputs: [f('x', [1, 2, 4, 4])], outputs: [f('y', [1, 2, 5, 5])], opset: 18,
  },
  {
    name: 'GlobalMaxPool / GlobalAveragePool / GlobalLpPool',
    nodes: [
      { op: 'GlobalMaxPool', inputs: ['x'], outputs: ['a'] }, { op: 'GlobalAveragePool', inputs: ['x'], outputs: ['b'] },
      { op: 'GlobalLpPool', inputs: ['x'], outputs: ['c'], attrs: { p: 3 } },
    ],
    inputs: [f('x', [2, 3, 2, 3])], outputs: [f('a', [2, 3, 1, 1]), f('b', [2, 3, 1, 1]), f('c', [2, 3, 1, 1])],
  },
  {
    name: 'MaxUnpool after MaxPool',
    nodes: [
      { op: 'MaxPool', inputs: ['x'], outputs: ['p', 'i'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'MaxUnpool', inputs: ['p', 'i'], outputs: ['y'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
    ],
    inputs: [f('x', [1, 2, 4, 6])], outputs: [f('y', [1, 2, 4, 6])],
  },
  {
    name: 'BatchNormalization training mode (running statistics)',
    nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'v'], outputs: ['y', 'rm', 'rv'], attrs: { training_mode: 1 } }],
    inputs: [f('x', [2, 3, 2, 2]), f('s', [3]), f('b', [3]), f('m', [3]), { name: 'v', shape: [3] }],
    outputs: [f('y', [2, 3, 2, 2]), f('rm', [3]), f('rv', [3])], opset: 15,
    feeds: { v: [0.5, 1, 2] },
  },
  {
    name: 'LayerNormalization axis 1 with Mean and InvStdDev',
    nodes: [{ op: 'LayerNormalization', inputs: ['x', 's', 'b'], outputs: ['y', 'mean', 'inv'], attrs: { axis: 1 } }],
    inputs: [f('x', [3, 2, 4]), f('s', [4]), f('b', [2, 1])], outputs: [f('y', [3, 2, 4]), f('mean', [3, 1, 1]), f('inv', [3, 1, 1])], opset: 17,
  },
  {
    name: 'GroupNormalization (per-group scale, opset 18)',
    nodes: [{ op: 'GroupNormalization', inputs: ['x', 's', 'b'], outputs: ['y'], attrs: { num_groups: 2 } }],
    inputs: [f('x', [2, 4, 3]), f('s', [2]), f('b', [2])], outputs: [f('y', [2, 4, 3])], opset: 18,
  },
  {
    name: 'InstanceNormalization, LRN (even size), MeanVarianceNormalization',
    nodes: [
      { op: 'InstanceNormalization', inputs: ['x', 's', 'b'], outputs: ['y'] },
      { op: 'LRN', inputs: ['x'], outputs: ['z'], attrs: { size: 4 } },
      { op: 'MeanVarianceNormalization', inputs: ['x'], outputs: ['m'], attrs: { axes: [1, 3] } },
    ],
    inputs: [f('x', [2, 5, 3, 2]), f('s', [5]), f('b', [5])], outputs: [f('y', [2, 5, 3, 2]), f('z', [2, 5, 3, 2]), f('m', [2, 5, 3, 2])],
  },
];

describe('nn lowering matches the interpreter (loop-IR interpreter)', () => {
  for (const c of CASES) it(c.name, () => checkCase(c, 'loops'));
});

describe.skipIf(!haveCC)('nn lowering matches the interpreter (generated C)', () => {
  for (const c of CASES) it(c.name, () => checkCase(c, 'c'), 60_000);
});

function modelFeeds(name: string): { feeds: Map<string, RValue>; want: Map<string, Tensor> } {
  const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));
  const feeds = new Map<string, RValue>();
  for (const i of meta.inputs) feeds.set(i.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(FIXTURES, i.file)))));
  const want = new Map<string, Tensor>();
  for (const o of meta.outputs) want.set(o.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(FIXTURES, o.file)))));
  return { feeds, want };
}

function expectModel(outs: Map<string, RValue>, want: Map<string, Tensor>, what: string): void {
  for (const [name, w] of want) {
    const g = outs.get(name) as Tensor;
    expect(g.shape).toEqual(w.shape);
    const r = maxError(g, w, 1e-3, 1e-4);
    expect(r.ok, `${what}/${name}: ${r.worst}`).toBe(true);
  }
}

describe('CNN models through lowering', () => {
  it('small_cnn: loop-IR interpreter matches PyTorch', () => {
    const { feeds, want } = modelFeeds('small_cnn');
    const prog = lowerGraph(loadOnnxFile(path.join(FIXTURES, 'small_cnn.onnx')), LOOPS_CAPS);
    expectModel(runProgram(prog, feeds) as Map<string, RValue>, want, 'small_cnn');
  }, 120_000);

  // the loop interpreter is too slow for squeezenet's convolutions: lower, render and (with cc) run C
  it.skipIf(!haveCC)('squeezenet1_1: generated C matches PyTorch', () => {
    const { feeds, want } = modelFeeds('squeezenet1_1');
    const prog = lowerGraph(loadOnnxFile(path.join(FIXTURES, 'squeezenet1_1.onnx')), C_CAPS);
    const art = renderC(prog, { version: 'test', source: 'squeezenet1_1', sourceHash: '-' });
    const b = buildC(art, prog);
    expectModel(runC(b, art, prog, feeds).outputs as Map<string, RValue>, want, 'squeezenet1_1');
  }, 300_000);
});
