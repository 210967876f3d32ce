/**
 * Sequences and optionals on compiled targets (issue 13, item 3; codegen/expand-sequences.ts): when a
 * sequence's length and an optional's presence are known before running (from the model, or from the
 * inputs given to the run), they compile to tensors; a sequence input of N tensors becomes N buffers,
 * and the outputs are put back together. Checked against the reference interpreter on the loop-IR
 * interpreter, C and WebAssembly SIMD, through the conformance runner and `aic run`'s driver (runOn);
 * structure that only the data decides is a clean exit-3 diagnostic.
 */
import { describe, expect, it } from 'vitest';
import { AicError, Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { C_TARGET, computeKernels, onLowered, runOn } from '@aic/codegen';
import { RUNNERS } from '../../scripts/conformance.ts';

const f32 = (shape: number[], v: number[]) => Tensor.fromNumbers('float32', shape, v);
const i64 = (v: number) => Tensor.fromNumbers('int64', [], [v]);
const bool = (v: number) => Tensor.fromNumbers('bool', [], [v]);

function expectValue(got: RValue | undefined, want: RValue, name: string): void {
  if (want === null) return void expect(got, name).toBeNull();
  const g = want instanceof Tensor ? [got as Tensor] : (got as Tensor[]);
  const w = want instanceof Tensor ? [want] : want;
  expect(Array.isArray(got), name).toBe(Array.isArray(want));
  expect(g.length, name).toBe(w.length);
  w.forEach((t, i) => {
    expect(g[i]!.dtype, name).toBe(t.dtype);
    expect(g[i]!.shape, name).toEqual(t.shape);
    expect(Array.from(g[i]!.num), `${name}[${i}]`).toEqual(Array.from(t.num));
  });
}

function expectSame(got: Map<string, RValue>, ref: Map<string, RValue>): void {
  expect([...got.keys()].sort()).toEqual([...ref.keys()].sort());
  for (const [name, r] of ref) expectValue(got.get(name), r, name);
}

// a sequence input, insert at a position given as an input, SequenceMap (body reads an outer tensor),
// length, concat along a new axis, and an optional whose presence is a test inside a Loop
const MODEL = `opset ai.onnx 17
graph s(xs: seq<f32[2]>, y: f32[2], p: i64[], b: f32[2], n: i64[], c: bool[]) -> (m: seq<f32[2]>, cat: f32[3, 2], len: i64[], acc: seq<f32[2]>, has: bool[]) {
  s1: seq<f32[2]> = SequenceInsert(xs, y, p)
  m: seq<f32[2]> = SequenceMap(s1, body = graph body(e: f32[2]) -> (o: f32[2]) {
    r: f32[2] = Relu(e)
    o: f32[2] = Add(r, b)
  })
  len: i64[] = SequenceLength(m)
  cat: f32[3, 2] = ConcatFromSequence(m, axis = 0, new_axis = 1)
  some: opt<f32[2]> = Optional(y)
  has: bool[] = OptionalHasElement(some)
  empty: seq<f32[2]> = SequenceEmpty()
  acc: seq<f32[2]> = Loop(n, c, empty, body = graph lb(i: i64[], ci: bool[], sq: seq<f32[2]>) -> (co: bool[], so: seq<f32[2]>) {
    co: bool[] = Identity(ci)
    k: f32[2] = SequenceAt(m, i)
    so: seq<f32[2]> = SequenceInsert(sq, k)
  })
}`;

const feeds = (): Map<string, RValue> => new Map<string, RValue>([
  ['xs', [f32([2], [1, -2]), f32([2], [-3, 4])]],
  ['y', f32([2], [5, -6])],
  ['p', i64(1)],
  ['b', f32([2], [0.5, 0.25])],
  ['n', i64(2)],
  ['c', bool(1)],
]);

describe('sequences and optionals of known structure on compiled targets', () => {
  const ref = run(parseGraph(MODEL), feeds());

  it('the reference gives what the model means', () => {
    expectValue(ref.get('m')!, [f32([2], [1.5, 0.25]), f32([2], [5.5, 0.25]), f32([2], [0.5, 4.25])], 'm');
    expectValue(ref.get('len')!, i64(3), 'len');
    expectValue(ref.get('acc')!, [f32([2], [1.5, 0.25]), f32([2], [5.5, 0.25])], 'acc');
    expectValue(ref.get('has')!, bool(1), 'has');
  });

  for (const t of ['loops', 'c', 'wasm-simd']) {
    it(`${t}: the conformance runner matches the interpreter`, () => {
      expectSame(RUNNERS[t]!(parseGraph(MODEL), feeds()), ref);
    });
  }

  it('aic run\'s driver (runOn) on c: sequence inputs become buffers, outputs are put back together, kernels do the work', async () => {
    const notes: string[] = [];
    const kernels: number[] = [];
    const stop = onLowered((p) => kernels.push(computeKernels(p)));
    const r = await runOn(C_TARGET, parseGraph(MODEL), feeds(), { version: 'test', source: 'seq', note: (s) => notes.push(s) });
    stop();
    expectSame(r.outputs, ref);
    // Relu and Add per element (3 each), the Unsqueeze/Concat of ConcatFromSequence: no interpreter at compile time
    expect(kernels).toHaveLength(1);
    expect(kernels[0]).toBeGreaterThanOrEqual(7);
    expect(notes.filter((s) => s.includes('decides the structure'))).toHaveLength(3); // p, n, c
  });

  it('an empty optional input and an optional output', () => {
    const src = `opset ai.onnx 17
graph o(x: opt<f32[2]>, y: f32[2]) -> (h: bool[], z: opt<f32[2]>) {
  h: bool[] = OptionalHasElement(x)
  w: f32[2] = Neg(y)
  z: opt<f32[2]> = Optional(w)
}`;
    for (const x of [null, f32([2], [1, 2])]) {
      const fm = () => new Map<string, RValue>([['x', x], ['y', f32([2], [3, -4])]]);
      expectSame(RUNNERS['c']!(parseGraph(src), fm()), run(parseGraph(src), fm()));
    }
  });

  it('a position that the data decides is a clean exit-3 diagnostic naming the node', () => {
    const src = `opset ai.onnx 17
graph d(xs: seq<f32[2]>, v: f32[2]) -> (y: f32[2]) {
  i: i64[] = ArgMax(v, axis = 0, keepdims = 0)
  y: f32[2] = SequenceAt(xs, i)
}`;
    const fm = new Map<string, RValue>([['xs', [f32([2], [1, 2]), f32([2], [3, 4])]], ['v', f32([2], [0, 1])]]);
    let err: unknown;
    try { RUNNERS['c']!(parseGraph(src), fm); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(AicError);
    expect((err as AicError).code).toBe('AIC0203');
    expect((err as AicError).exitCode).toBe(3);
    expect((err as AicError).message).toContain("SequenceAt 'SequenceAt': its position 'i' is known only when the model runs");
  });
});

describe('a Loop whose shapes follow the iteration number is unrolled', () => {
  // like the ONNX node test test_loop11: Slice(x, i, i + 1) has a shape only a copy per iteration makes static
  const src = `opset ai.onnx 13
graph l(n: i64[], c: bool[], y: f32[1]) -> (ry: f32[1], rs: f32[4, 1]) {
  ry: f32[1], rs: f32[4, 1] = Loop(n, c, y, body = graph b(i: i64[], ci: bool[], yi: f32[1]) -> (co: bool[], yo: f32[1], so: f32[1]) {
    co: bool[] = Identity(ci)
    x: f32[5] = Constant(value = tensor(f32[5], [1, 2, 3, 4, 5]))
    one: i64[] = Constant(value = tensor(i64[], 1))
    e: i64[] = Add(i, one)
    ax: i64[1] = Constant(value = tensor(i64[1], [0]))
    s0: i64[1] = Unsqueeze(i, ax)
    s1: i64[1] = Unsqueeze(e, ax)
    sl: f32[1] = Slice(x, s0, s1)
    yo: f32[1] = Add(yi, sl)
    so: f32[1] = Identity(yo)
  })
}`;
  const fm = () => new Map<string, RValue>([['n', i64(4)], ['c', bool(1)], ['y', f32([1], [-1])]]);
  const ref = run(parseGraph(src), fm());

  it('the reference: running sums of x', () => {
    expectValue(ref.get('ry')!, f32([1], [9]), 'ry');
    expectValue(ref.get('rs')!, f32([4, 1], [0, 2, 5, 9]), 'rs');
  });
  for (const t of ['c', 'wasm-simd']) it(`${t} matches the interpreter`, () => expectSame(RUNNERS[t]!(parseGraph(src), fm()), ref));

  it('more iterations than it unrolls: a clean exit-3 diagnostic', () => {
    const f = fm();
    f.set('n', i64(100000));
    let err: unknown;
    try { RUNNERS['c']!(parseGraph(src), f); } catch (e) { err = e; }
    expect((err as AicError).code).toBe('AIC0203');
    expect((err as AicError).message).toContain('with 100000 iterations');
  });
});
