/**
 * Absurd sizes are named errors (AIC0045) as soon as they are known, for every op whose output size
 * comes from data: at shape inference when the data is constant, before the interpreter allocates
 * when it is a runtime input. Normal models are unaffected; the limit is adjustable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  AicError, DEFAULT_MAX_TENSOR_BYTES, Tensor, formatBytes, maxTensorBytes, parseByteSize, setMaxTensorBytes,
} from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';

afterEach(() => setMaxTensorBytes(DEFAULT_MAX_TENSOR_BYTES));

function errorOf(fn: () => unknown): AicError {
  try { fn(); } catch (e) { expect(e, String(e)).toBeInstanceOf(AicError); return e as AicError; }
  throw new Error('expected an error');
}
const i64 = (v: number[]) => Tensor.fromNumbers('int64', [v.length], v);
const f32 = (shape: number[], v: number[]) => Tensor.fromNumbers('float32', shape, v);

// each op twice: its size-deciding input as a constant (inference refuses it) and as a graph input
// (the interpreter refuses it before allocating); 10^12 elements unless said otherwise
const OPS: { op: string; constant: string; runtime: string; feeds: Record<string, Tensor> }[] = [
  {
    op: 'ConstantOfShape',
    constant: 's: i64[2] = [1000000, 1000000]\n  y = ConstantOfShape(s)',
    runtime: 'y = ConstantOfShape(s)', feeds: { s: i64([1000000, 1000000]) },
  },
  {
    op: 'Expand',
    constant: 's: i64[2] = [1000000, 1000000]\n  y = Expand(x, s)',
    runtime: 'y = Expand(x, s)', feeds: { s: i64([1000000, 1000000]) },
  },
  {
    op: 'Tile',
    constant: 'r: i64[1] = [1000000000000]\n  y = Tile(x, r)',
    runtime: 'y = Tile(x, s)', feeds: { s: i64([1000000000000]) },
  },
  {
    op: 'Range',
    constant: 'a: f32[] = 0\n  b: f32[] = 1e12\n  d: f32[] = 1\n  y = Range(a, b, d)',
    runtime: 'y = Range(a, b, d)', feeds: { a: f32([], [0]), b: f32([], [1e12]), d: f32([], [1]) },
  },
  {
    op: 'Pad',
    constant: 'p: i64[2] = [0, 1000000000000]\n  y = Pad(x, p)',
    runtime: 'y = Pad(x, s)', feeds: { s: i64([0, 1e12]) },
  },
  {
    op: 'Resize',
    constant: 'r: f32[0] = []\n  sc: f32[1] = [1e12]\n  y = Resize(x, r, sc)',
    runtime: 'r: f32[0] = []\n  y = Resize(x, r, sc)', feeds: { sc: f32([1], [1e12]) },
  },
  {
    op: 'OneHot',
    constant: 'i: i64[1] = [0]\n  d: i64[] = 1000000000000\n  v: f32[2] = [0, 1]\n  y = OneHot(i, d, v)',
    runtime: 'v: f32[2] = [0, 1]\n  y = OneHot(i, d, v)', feeds: { i: i64([0]), d: Tensor.fromNumbers('int64', [], [1e12]) },
  },
];

function graphOf(body: string, feeds: Record<string, Tensor>): string {
  const ins = ['x: f32[1]', ...Object.entries(feeds).map(([n, t]) => `${n}: ${t.dtype === 'int64' ? 'i64' : 'f32'}[${t.shape.join(', ')}]`)];
  return `opset ai.onnx 18\ngraph g(${ins.join(', ')}) -> (y: f32[?]) {\n  ${body}\n}\n`;
}

describe('ops whose output size comes from data', () => {
  for (const c of OPS) {
    it(`${c.op}: refused at shape inference when the size is constant`, () => {
      const e = errorOf(() => parseGraph(graphOf(c.constant, {}).replace('-> (y: f32[?])', '-> (y)'), { file: 'm.aic' }));
      expect(e.code).toBe('AIC0045');
      expect(e.exitCode).toBe(1);
      expect(e.message).toMatch(new RegExp(`value 'y' of ${c.op} \\(\\w+\\[[0-9, ]+\\]\\) needs [0-9.]+ TiB, more than the limit of 4 GiB`));
      expect(e.loc?.line).toBeGreaterThan(0);
    });
    it(`${c.op}: refused before allocation when the size comes from an input`, () => {
      const g = parseGraph(graphOf(c.runtime, c.feeds).replace('-> (y: f32[?])', '-> (y)'));
      const t0 = performance.now();
      const e = errorOf(() => run(g, { x: f32([1], [2]), ...c.feeds }));
      expect(e.code).toBe('AIC0045');
      expect(e.loc?.line, e.format()).toBeGreaterThan(0);
      expect(performance.now() - t0).toBeLessThan(2000); // no element was ever computed
    });
  }

  it('broadcasting small inputs to a huge result is refused too', () => {
    const e = errorOf(() => parseGraph('graph g(a: f32[1000000, 1], b: f32[1, 1000000]) -> (y) {\n  y = Mul(a, b)\n}\n'));
    expect(e.message).toMatch(/value 'y' of Mul \(f32\[1000000, 1000000\]\) needs 3.64 TiB/);
  });

  it('a declared graph input past the limit is refused when the model is read', () => {
    const e = errorOf(() => parseGraph('graph g(x: f32[1000000, 1000000000]) -> (y) {\n  y = Relu(x)\n}\n'));
    expect(e.message).toMatch(/graph input 'x' \(f32\[1000000, 1000000000\]\) needs 3637.98 TiB/);
  });

  it('the same model runs when its sizes are sane, and the limit is adjustable', () => {
    const g = parseGraph(graphOf(OPS[0]!.runtime, OPS[0]!.feeds).replace('-> (y: f32[?])', '-> (y)'));
    const y = run(g, { x: f32([1], [2]), s: i64([2, 3]) }).get('y') as Tensor;
    expect(y.shape).toEqual([2, 3]);
    setMaxTensorBytes(16);
    const e = errorOf(() => run(g, { x: f32([1], [2]), s: i64([2, 3]) }));
    expect(e.message).toMatch(/f32\[2, 3\]\) needs 24 bytes, more than the limit of 16 bytes/);
    expect(maxTensorBytes()).toBe(16);
  });
});

describe('--max-tensor-bytes sizes', () => {
  it('parses plain bytes and binary suffixes, refuses the rest', () => {
    expect(parseByteSize('4294967296')).toBe(2 ** 32);
    expect(parseByteSize('512M')).toBe(512 * 2 ** 20);
    expect(parseByteSize('8G')).toBe(8 * 2 ** 30);
    expect(parseByteSize('8GiB')).toBe(8 * 2 ** 30);
    expect(parseByteSize('1.5g')).toBe(1.5 * 2 ** 30);
    expect(parseByteSize('64kb')).toBe(64 * 1024);
    expect(parseByteSize('2T')).toBe(2 * 2 ** 40);
    for (const bad of ['', 'lots', '-1', '0', '5X', '1e9', 'G']) expect(parseByteSize(bad), bad).toBeUndefined();
  });
  it('formats sizes for messages', () => {
    expect(formatBytes(DEFAULT_MAX_TENSOR_BYTES)).toBe('4 GiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(12)).toBe('12 bytes');
  });
});
