/**
 * aic.Attention as one kernel of scheduled compute stages (ir-spec/ops/fused.ts, lib/softmax-rows.ts):
 * MatMul(Softmax(scale(Q K) + mask), V) fused from ONNX matches the reference interpreter on odd shapes
 * (batch dims, sequence lengths and head sizes not a multiple of 4, scale on Q or on the scores, a
 * broadcast mask with -1e9 entries, a whole row masked) on the loop-IR interpreter (the scheduled
 * program), C and WebAssembly SIMD; the kernel has no unscheduled (extern) stages left.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type Graph, type RValue } from '@aic/core';
import { loadOnnx } from '@aic/onnx';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { buildC, compileC, compileWasm, passTarget, runC, runProgram, runWasm } from '@aic/codegen';
import { buildModel, type NodeSpec } from '../onnx-builder.ts';
import { excess } from '../model-zoo.ts';

/** deterministic values in [-2, 2) */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return 2 * (s / 2 ** 31 - 1); });
}

interface Case { name: string; batch: number[]; sq: number; sk: number; d: number; dv: number; at: 'q' | 'scores'; op: 'Mul' | 'Div'; mask?: number[] }

function model(c: Case): { graph: () => Graph; feeds: Map<string, RValue> } {
  const shapes: Record<string, number[]> = { q: [...c.batch, c.sq, c.d], k: [...c.batch, c.d, c.sk], v: [...c.batch, c.sk, c.dv] };
  if (c.mask) shapes.mask = c.mask;
  const nodes: NodeSpec[] = [];
  let q = 'q';
  if (c.at === 'q') { nodes.push({ op: c.op, inputs: ['q', 'scale'], outputs: ['qs'] }); q = 'qs'; }
  nodes.push({ op: 'MatMul', inputs: [q, 'k'], outputs: ['s0'] });
  let s = 's0';
  if (c.at === 'scores') { nodes.push({ op: c.op, inputs: [s, 'scale'], outputs: ['s1'] }); s = 's1'; }
  if (c.mask) { nodes.push({ op: 'Add', inputs: [s, 'mask'], outputs: ['s2'] }); s = 's2'; }
  nodes.push({ op: 'Softmax', inputs: [s], outputs: ['p'], attrs: { axis: -1 } });
  nodes.push({ op: 'MatMul', inputs: ['p', 'v'], outputs: ['out'] });
  const feeds = new Map<string, RValue>();
  Object.entries(shapes).forEach(([name, shape], i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    // the mask: 0 or -1e9, its first row all -1e9 (softmax of equal values)
    const vals = name === 'mask' ? values(n, 9).map((x, j) => (j < shape[shape.length - 1] || x < -1 ? -1e9 : 0)) : values(n, 3 + i);
    feeds.set(name, new Tensor('float32', shape, Float32Array.from(vals)));
  });
  const bytes = buildModel(nodes, Object.entries(shapes).map(([name, shape]) => ({ name, shape })),
    [{ name: 'out', shape: [...c.batch, c.sq, c.dv] }], 13, [{ name: 'scale', dims: [], floats: [c.op === 'Div' ? 2.4494898 : 0.4082483] }]);
  return { graph: () => runPipeline(loadOnnx(bytes), pipelineFor(2), { target: passTarget('c'), out: () => {} }).graph, feeds };
}

const meta = { version: 'test', source: 'attention-kernel', sourceHash: '-' };

function check(got: Tensor, want: Tensor, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  const e = excess(got.num, want.num, 1e-5, 1e-6);
  expect(e.worst, `${what}[${e.at}] got ${got.num[e.at]} want ${want.num[e.at]}`).toBeLessThanOrEqual(0);
}

const CASES: Case[] = [
  { name: 'batch 2x3, Sq 5, Sk 7, D 3, Dv 6, scores divided, mask [1, 1, 5, 7]', batch: [2, 3], sq: 5, sk: 7, d: 3, dv: 6, at: 'scores', op: 'Div', mask: [1, 1, 5, 7] },
  { name: 'batch 4, Sq 9, Sk 13, D 5, Dv 3, Q multiplied, no mask', batch: [4], sq: 9, sk: 13, d: 5, dv: 3, at: 'q', op: 'Mul' },
  { name: 'one head, Sq 16, Sk 12, D 8, Dv 8, Q divided, mask [12] (keys)', batch: [1], sq: 16, sk: 12, d: 8, dv: 8, at: 'q', op: 'Div', mask: [12] },
  { name: 'batch 2, Sq 1 (one query), Sk 33, D 4, Dv 5, scores multiplied, mask [2, 1, 33]', batch: [2], sq: 1, sk: 33, d: 4, dv: 5, at: 'scores', op: 'Mul', mask: [2, 1, 33] },
];

describe('aic.Attention kernel (staged, scheduled)', () => {
  for (const c of CASES) {
    it(`${c.name} (loops, c, wasm-simd)`, async () => {
      const { graph, feeds } = model(c);
      const g = graph();
      expect(g.nodes.map((n) => n.op)).toContain('Attention');
      const want = run(g, feeds).get('out') as Tensor;
      const cc = compileC(graph(), meta);
      const k = [...cc.prog.sources.values()].find((s) => s.op === 'Attention')!;
      expect(k.stages.map((s) => s.kind).every((x) => x === 'compute')).toBe(true);
      check(runProgram(cc.prog, feeds).get('out')!, want, 'loops');
      check(runC(buildC(cc.art, cc.prog), cc.art, cc.prog, feeds).outputs.get('out') as Tensor, want, 'c');
      const w = compileWasm(graph(), { ...meta, simd: true });
      check((await runWasm(w, feeds)).get('out') as Tensor, want, 'wasm-simd');
    }, 120_000);
  }
});
