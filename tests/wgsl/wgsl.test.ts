/**
 * WGSL target: every emitted shader module compiles without errors or warnings on a real WebGPU
 * device, and small graphs and small_cnn match the reference interpreter / PyTorch (atol 1e-3,
 * rtol 1e-3, the tolerance ORT-web's WebGPU tests use). Runs on SwiftShader when there is no usable
 * GPU; whether it runs at all is tests/webgpu.ts's rule.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value, parseNpy, type Attr, type DType, type RValue } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { loadOnnxFile } from '@aic/onnx';
import { run } from '@aic/interp';
import { webgpuSkipReason } from '../webgpu.ts';
import { compileWgsl, runWgsl, wgslCompilationInfo, type WgslCompiled } from '../../codegen/wgsl/index.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/models');
let skipWhy: string | undefined;

beforeAll(async () => { skipWhy = await webgpuSkipReason(); }, 400_000);

function close(got: Tensor, want: Tensor, atol = 1e-3, rtol = 1e-3): string | undefined {
  if (got.shape.join() !== want.shape.join()) return `shape [${got.shape}] != [${want.shape}]`;
  const a = got.num, b = want.num;
  for (let i = 0; i < b.length; i++) {
    if (Number.isNaN(b[i]) && Number.isNaN(a[i])) continue;
    if (!(Math.abs(a[i] - b[i]) <= atol + rtol * Math.abs(b[i]))) return `[${i}] got ${a[i]} want ${b[i]}`;
  }
  return undefined;
}

const rand = (n: number, seed: number, lo = -2, hi = 2) => {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return lo + (hi - lo) * (s / 2 ** 32); });
};

/** A one-node graph: inputs [dtype, shape, values, const?] */
function graph(op: string, ins: { dtype: DType; shape: number[]; values: number[]; constant?: boolean }[], attrs: Record<string, Attr> = {}, nOut = 1) {
  const g = new Graph(`t_${op}`);
  const feeds = new Map<string, RValue>();
  const vs = ins.map((x, i) => {
    const v = new Value(`in${i}`, { dtype: x.dtype, shape: x.shape.slice() });
    const t = Tensor.fromNumbers(x.dtype, x.shape, x.values);
    if (x.constant) { v.const = t; g.constants.push(v); } else { g.inputs.push(v); feeds.set(v.name, t); }
    return v;
  });
  const outs = Array.from({ length: nOut }, (_, i) => new Value(`out${i}`, { dtype: 'float32', shape: undefined }));
  g.nodes.push(new Node({ op, inputs: vs, outputs: outs, attrs }));
  g.outputs = outs;
  inferGraph(g, { strict: true });
  return { g, feeds };
}

const compiled: WgslCompiled[] = [];
async function check(g: Graph, feeds: Map<string, RValue>): Promise<void> {
  const want = run(g, Object.fromEntries(feeds) as Record<string, Tensor>);
  const c = compileWgsl(g, { version: 'test', source: g.name, sourceHash: '-' });
  compiled.push(c);
  const { outputs } = await runWgsl(c, feeds);
  for (const v of g.outputs) {
    const why = close(outputs.get(v.name)!, want.get(v.name) as Tensor);
    expect(why, `${g.name} output ${v.name}`).toBeUndefined();
  }
}

const f32 = (shape: number[], seed: number, constant = false) => ({ dtype: 'float32' as DType, shape, values: rand(shape.reduce((a, b) => a * b, 1), seed), constant });

describe('wgsl target: small graphs', () => {
  const cases: [string, () => ReturnType<typeof graph>][] = [
    ['Relu', () => graph('Relu', [f32([3, 4, 5], 1)])],
    ['Add broadcast', () => graph('Add', [f32([2, 3, 8], 2), f32([8], 3)])],
    ['MatMul', () => graph('MatMul', [f32([5, 7], 4), f32([7, 3], 5, true)])],
    ['Gemm', () => graph('Gemm', [f32([4, 6], 6), f32([5, 6], 7, true), f32([5], 8, true)], { transB: { type: 'int', value: 1 } })],
    ['Softmax', () => graph('Softmax', [f32([3, 10], 9)])],
    ['Conv', () => graph('Conv', [f32([1, 2, 7, 7], 10), f32([4, 2, 3, 3], 11, true), f32([4], 12, true)], { pads: { type: 'ints', value: [1, 1, 1, 1] } })],
    ['MaxPool', () => graph('MaxPool', [f32([1, 2, 6, 6], 13)], { kernel_shape: { type: 'ints', value: [2, 2] }, strides: { type: 'ints', value: [2, 2] } })],
    ['Erf/Tanh/Exp chain (Erf)', () => graph('Erf', [f32([64], 14)])],
    ['Tanh', () => graph('Tanh', [{ dtype: 'float32', shape: [6], values: [-50, -3, -0.5, 0, 2, 60] }])],
    ['Transpose', () => graph('Transpose', [f32([2, 3, 4], 15)], { perm: { type: 'ints', value: [2, 0, 1] } })],
    ['ReduceMean', () => graph('ReduceMean', [f32([4, 5, 6], 16)], { axes: { type: 'ints', value: [1] } })],
    ['vec4 elementwise (Sigmoid, 1024)', () => graph('Sigmoid', [f32([4, 256], 17)])],
    ['int64 ArgMax', () => graph('ArgMax', [f32([3, 9], 18)], { axis: { type: 'int', value: 1 } })],
    ['int32 Add', () => graph('Add', [{ dtype: 'int32', shape: [5], values: [1, -2, 3, 2147483647, -7] }, { dtype: 'int32', shape: [5], values: [4, 5, -6, 1, 7] }])],
    ['bool Less', () => graph('Less', [f32([10], 19), f32([10], 20)])],
    ['int64 Gather', () => graph('Gather', [f32([5, 4], 21), { dtype: 'int64', shape: [3], values: [4, -1, 0] }], { axis: { type: 'int', value: 0 } })],
    ['uint8 Add (wraps)', () => graph('Add', [{ dtype: 'uint8', shape: [3], values: [250, 1, 128] }, { dtype: 'uint8', shape: [3], values: [10, 2, 128] }])],
  ];
  for (const [name, mk] of cases) {
    it(name, async (ctx) => {
      if (skipWhy) return ctx.skip(skipWhy);
      const { g, feeds } = mk();
      await check(g, feeds);
    });
  }

  it('large grids use workgroup.x and workgroup.y', async (ctx) => {
    if (skipWhy) return ctx.skip(skipWhy);
    const { g, feeds } = graph('Neg', [f32([3, 1000], 22)]);
    const want = run(g, Object.fromEntries(feeds) as Record<string, Tensor>);
    // pretend the device allows only 8 workgroups per dimension
    const c = compileWgsl(g, { version: 'test', source: 'grid', sourceHash: '-', limits: { maxComputeWorkgroupsPerDimension: 8 } });
    expect(c.manifest.dispatches[0].workgroups[1]).toBeGreaterThan(1);
    expect(c.manifest.dispatches[0].workgroups.every((x) => x <= 8)).toBe(true);
    const { outputs } = await runWgsl(c, feeds);
    expect(close(outputs.get('out0')!, want.get('out0') as Tensor)).toBeUndefined();
  });

  // GEMM-like and convolution stages: 2-D workgroup tiles, reduction chunks staged through workgroup memory
  const tiled: [string, () => ReturnType<typeof graph>, number][] = [
    ['tiled MatMul 37x29 @ 29x23 (non-dividing)', () => graph('MatMul', [f32([37, 29], 30), f32([29, 23], 31, true)]), 2],
    ['tiled batched MatMul 3x19x40 @ 40x21', () => graph('MatMul', [f32([3, 19, 40], 32), f32([40, 21], 33)]), 2],
    ['tiled Gemm transB 45x70 @ (33x70)^T + C', () => graph('Gemm', [f32([45, 70], 34), f32([33, 70], 35, true), f32([33], 36, true)], { transB: { type: 'int', value: 1 } }), 2],
    ['tiled Conv 3x3 pad 1, 19 channels, 13x11', () => graph('Conv', [f32([2, 19, 13, 11], 37), f32([10, 19, 3, 3], 38, true), f32([10], 39, true)], { pads: { type: 'ints', value: [1, 1, 1, 1] } }), 2],
    ['tiled Conv 5x5 stride 2, no padding', () => graph('Conv', [f32([1, 7, 17, 19], 40), f32([12, 7, 5, 5], 41, true)], { strides: { type: 'ints', value: [2, 2] } }), 2],
    ['tiled Conv 1x1, 40 channels', () => graph('Conv', [f32([1, 40, 9, 10], 42), f32([24, 40, 1, 1], 43, true)]), 2],
  ];
  for (const [name, mk, nWorkgroupVars] of tiled) {
    it(name, async (ctx) => {
      if (skipWhy) return ctx.skip(skipWhy);
      const { g, feeds } = mk();
      await check(g, feeds);
      const c = compiled[compiled.length - 1];
      expect(c.wgsl.match(/var<workgroup>/g)?.length ?? 0).toBeGreaterThanOrEqual(nWorkgroupVars);
      expect(c.wgsl).toContain('workgroupBarrier()');
      const d = c.manifest.dispatches[c.manifest.dispatches.length - 1];
      expect(d.workgroupSize[0] * d.workgroupSize[1]).toBeGreaterThan(1);
      expect(d.workgroupSize[1]).toBeGreaterThan(1);
    });
  }

  it('workgroup tiles respect maxComputeWorkgroupStorageSize and maxComputeInvocationsPerWorkgroup', async (ctx) => {
    if (skipWhy) return ctx.skip(skipWhy);
    const { g, feeds } = graph('Conv', [f32([1, 16, 12, 12], 44), f32([20, 16, 3, 3], 45, true)], { pads: { type: 'ints', value: [1, 1, 1, 1] } });
    const c = compileWgsl(g, { version: 'test', source: 'small-limits', sourceHash: '-', limits: { maxComputeWorkgroupStorageSize: 2048, maxComputeInvocationsPerWorkgroup: 64 } });
    compiled.push(c);
    let bytes = 0;
    for (const m of c.wgsl.matchAll(/var<workgroup> \w+: array<\w+, (\d+)>/g)) bytes += 4 * Number(m[1]);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(2048);
    for (const d of c.manifest.dispatches) expect(d.workgroupSize[0] * d.workgroupSize[1] * d.workgroupSize[2]).toBeLessThanOrEqual(64);
    const want = run(g, Object.fromEntries(feeds) as Record<string, Tensor>);
    const { outputs } = await runWgsl(c, feeds);
    expect(close(outputs.get('out0')!, want.get('out0') as Tensor)).toBeUndefined();
  });

  it('int64 inputs that do not fit in 32 bits are refused', async (ctx) => {
    if (skipWhy) return ctx.skip(skipWhy);
    const { g, feeds } = graph('Add', [{ dtype: 'int64', shape: [2], values: [1, 2] }, { dtype: 'int64', shape: [2], values: [3, 4] }]);
    const c = compileWgsl(g, { version: 'test', source: 'i64', sourceHash: '-' });
    feeds.set('in0', Tensor.fromNumbers('int64', [2], [2 ** 40, 1]));
    await expect(runWgsl(c, feeds)).rejects.toThrow(/does not fit in 32 bits/);
  });

  it('float64 tensors are unsupported (exit 3)', () => {
    const { g } = graph('Relu', [{ dtype: 'float64', shape: [2], values: [1, -1] }]);
    try {
      compileWgsl(g, { version: 'test', source: 'f64', sourceHash: '-' });
      expect.unreachable();
    } catch (e) {
      expect((e as { exitCode: number }).exitCode).toBe(3);
    }
  });
});

describe('wgsl target: models', () => {
  it('small_cnn matches the PyTorch reference (atol 1e-3, rtol 1e-3), also with weights split into small chunks', async (ctx) => {
    if (skipWhy) return ctx.skip(skipWhy);
    const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'small_cnn.json'), 'utf8'));
    const feeds = new Map<string, RValue>();
    for (const i of meta.inputs) feeds.set(i.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(FIXTURES, i.file)))));
    const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(FIXTURES, meta.outputs[0].file))));
    for (const limits of [{}, { maxStorageBufferBindingSize: 64 * 1024, maxStorageBuffersPerShaderStage: 4 }]) {
      const g = loadOnnxFile(path.join(FIXTURES, meta.model));
      const c = compileWgsl(g, { version: 'test', source: 'small_cnn', sourceHash: '-', limits });
      compiled.push(c);
      if ('maxStorageBufferBindingSize' in limits) {
        expect(c.manifest.weightChunks.length).toBeGreaterThan(1);
        for (const d of c.manifest.dispatches) for (const b of d.bindings) expect(b.size).toBeLessThanOrEqual(64 * 1024);
      }
      const { outputs } = await runWgsl(c, feeds);
      const why = close(outputs.get(meta.outputs[0].name)!, want);
      expect(why, JSON.stringify(limits)).toBeUndefined();
    }
  });
});

describe('wgsl target: shader modules', () => {
  it('every emitted module compiles with no errors or warnings', async (ctx) => {
    if (skipWhy) return ctx.skip(skipWhy);
    expect(compiled.length).toBeGreaterThan(5);
    for (const c of compiled) {
      const msgs = await wgslCompilationInfo(c.wgsl);
      const bad = msgs.filter((m) => m.type === 'error' || m.type === 'warning');
      expect(bad.map((m) => `${c.manifest.source} ${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`)).toEqual([]);
    }
  });
});
