/**
 * A Concat whose inputs are written straight into its output (codegen/memory/concat-views.ts): at
 * batch 1 along channels, each input is one contiguous run of the output, so the inputs become views
 * of it at their byte offsets and the Concat step is dropped. Checked on C and WebAssembly SIMD
 * against the reference interpreter bit for bit, with the plan's offsets; the cases that must keep
 * the copy (batch 2, an input read again later, a graph input) keep it.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { bytesOf } from '../../codegen/memory/plan.ts';
import { TARGETS, compileC, compileFor, compileWasm, passTarget } from '@aic/codegen';
import { optimizeGraph } from '@aic/api/internal';
import { excess } from '../model-zoo.ts';
import { RUNNERS } from '../../scripts/conformance.ts';

const meta = { version: 'test', source: 'concat', sourceHash: '-' };
const rnd = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 3);

// two concats, one inside the other: (relu(x) ++ neg(x)) ++ x*x, then sigmoid
const NESTED = `opset ai.onnx 13
graph c(x: f32[1, 3, 5, 7]) -> (y: f32[1, 9, 5, 7]) {
  a: f32[1, 3, 5, 7] = Relu(x)
  b: f32[1, 3, 5, 7] = Neg(x)
  ab: f32[1, 6, 5, 7] = Concat(a, b, axis = 1)
  c: f32[1, 3, 5, 7] = Mul(x, x)
  abc: f32[1, 9, 5, 7] = Concat(ab, c, axis = 1)
  y: f32[1, 9, 5, 7] = Add(abc, abc)
}`;

const feeds = (shape: number[]) => new Map<string, RValue>([['x', Tensor.fromNumbers('float32', shape, rnd(shape.reduce((p, d) => p * d, 1)))]]);

/** An already optimized graph compiled and run on a CPU target (no further passes). */
function runCompiledSync(target: string, g: ReturnType<typeof parseGraph>, fm: Map<string, RValue>): Map<string, RValue> {
  const t = TARGETS.find((x) => x.name === target)!;
  return t.runCompiledSync!(compileFor(t, g, meta), fm) as Map<string, RValue>;
}

function expectSame(src: string, shape: number[]): void {
  const ref = run(parseGraph(src), feeds(shape));
  for (const t of ['c', 'wasm-simd']) {
    const got = RUNNERS[t]!(parseGraph(src), feeds(shape));
    for (const [k, v] of ref) expect(Array.from((got.get(k) as Tensor).num), `${t} ${k}`).toEqual(Array.from((v as Tensor).num));
  }
}

/** -O3 for C (16-lane blocks): blocked temps, the Concat step kept or not, C and wasm-simd match the interpreter */
function blockedConcat(src: string, keepsStep: boolean): void {
  const g = () => optimizeGraph(parseGraph(src), { level: 3, target: passTarget('c'), out: () => {} }).graph;
  const c = compileC(g(), meta);
  expect(c.prog.temps.some((b) => b.layout)).toBe(true);
  expect(c.prog.steps.some((st) => st.op === 'Concat')).toBe(keepsStep);
  const fm = feeds([1, 16, 6, 6]);
  const want = run(parseGraph(src), fm).get('y') as Tensor;
  for (const t of ['c', 'wasm-simd']) {
    const got = runCompiledSync(t, g(), fm).get('y') as Tensor;
    expect(excess(got.num, want.num, 1e-5, 1e-5).worst, t).toBeLessThanOrEqual(0);
  }
}

describe('Concat by placement', () => {
  it('nested concats: every input is a view of the outermost output at its byte offset, no Concat step, same bits', () => {
    expectSame(NESTED, [1, 3, 5, 7]);
    for (const c of [compileC(parseGraph(NESTED), meta), compileWasm(parseGraph(NESTED), { ...meta, simd: true })]) {
      expect(c.prog.steps.some((s) => s.op === 'Concat')).toBe(false);
      const buf = (v: string) => c.prog.temps.find((b) => b.value === v)!;
      const off = (v: string) => c.plan.offsets.get(buf(v).name)!;
      const third = bytesOf(buf('a'));
      expect(c.prog.temps.some((b) => b.value === 'ab')).toBe(false); // written by no step any more
      expect(off('a')).toBe(off('abc'));
      expect(off('b')).toBe(off('abc') + third);
      expect(off('c')).toBe(off('abc') + 2 * third);
    }
  });

  it('keeps the copy at batch 2 (an input is two runs of the output), for an input read again, and for a graph input', () => {
    const batch2 = NESTED.replace(/\[1, /g, '[2, ');
    expectSame(batch2, [2, 3, 5, 7]);
    expect(compileC(parseGraph(batch2), meta).prog.steps.filter((s) => s.op === 'Concat')).toHaveLength(2);
    const reread = `opset ai.onnx 13
graph r(x: f32[1, 3, 5, 7]) -> (y: f32[1, 6, 5, 7], z: f32[1, 3, 5, 7]) {
  a: f32[1, 3, 5, 7] = Relu(x)
  b: f32[1, 3, 5, 7] = Neg(x)
  ab: f32[1, 6, 5, 7] = Concat(a, b, axis = 1)
  y: f32[1, 6, 5, 7] = Add(ab, ab)
  z: f32[1, 3, 5, 7] = Mul(a, a)
}`;
    expectSame(reread, [1, 3, 5, 7]);
    expect(compileC(parseGraph(reread), meta).prog.steps.filter((s) => s.op === 'Concat')).toHaveLength(1);
    const input = `opset ai.onnx 13
graph i(x: f32[1, 3, 5, 7]) -> (y: f32[1, 6, 5, 7]) {
  b: f32[1, 3, 5, 7] = Neg(x)
  xb: f32[1, 6, 5, 7] = Concat(x, b, axis = 1)
  y: f32[1, 6, 5, 7] = Add(xb, xb)
}`;
    expectSame(input, [1, 3, 5, 7]);
    expect(compileC(parseGraph(input), meta).prog.steps.filter((s) => s.op === 'Concat')).toHaveLength(1);
  });

  it('-O3: channel-blocked convolutions concatenated by whole blocks are placed the same way', () => {
    const w = (n: number, seed: number) => `[${Array.from({ length: n }, (_, i) => (Math.sin(i * 0.37 + seed) * 0.5).toFixed(4)).join(', ')}]`;
    const src = `opset ai.onnx 13
graph b(x: f32[1, 16, 6, 6]) -> (y: f32[1, 32, 6, 6]) {
  w1: f32[16, 16, 1, 1] = ${w(256, 1)}
  w2: f32[16, 16, 3, 3] = ${w(2304, 2)}
  a: f32[1, 16, 6, 6] = Conv(x, w1)
  b: f32[1, 16, 6, 6] = Conv(x, w2, pads = [1, 1, 1, 1])
  ab: f32[1, 32, 6, 6] = Concat(a, b, axis = 1)
  y: f32[1, 32, 6, 6] = Relu(ab)
}`;
    blockedConcat(src, false);
  });

  it('-O3: parts that are not whole blocks keep the copy (10 + 10 channels fill one 16-lane block each: placed, the second part would start at channel 16, not 10)', () => {
    const w = (n: number, seed: number) => `[${Array.from({ length: n }, (_, i) => (Math.sin(i * 0.37 + seed) * 0.5).toFixed(4)).join(', ')}]`;
    const src = `opset ai.onnx 13
graph b(x: f32[1, 16, 6, 6]) -> (y: f32[1, 4, 6, 6]) {
  w1: f32[10, 16, 1, 1] = ${w(160, 1)}
  w2: f32[10, 16, 3, 3] = ${w(1440, 2)}
  w3: f32[4, 20, 1, 1] = ${w(80, 3)}
  a: f32[1, 10, 6, 6] = Conv(x, w1)
  b: f32[1, 10, 6, 6] = Conv(x, w2, pads = [1, 1, 1, 1])
  ab: f32[1, 20, 6, 6] = Concat(a, b, axis = 1)
  y: f32[1, 4, 6, 6] = Conv(ab, w3)
}`;
    blockedConcat(src, true);
  });

  it('a concat along the last axis of [1, 1, 4] pieces is contiguous too', () => {
    const src = `opset ai.onnx 13
graph l(x: f32[1, 1, 4]) -> (y: f32[1, 1, 8]) {
  a: f32[1, 1, 4] = Relu(x)
  b: f32[1, 1, 4] = Neg(x)
  ab: f32[1, 1, 8] = Concat(a, b, axis = 2)
  y: f32[1, 1, 8] = Add(ab, ab)
}`;
    expectSame(src, [1, 1, 4]);
    expect(compileC(parseGraph(src), meta).prog.steps.some((s) => s.op === 'Concat')).toBe(false);
  });
});
