/**
 * Property test of the derivative rules (OpDef.vjp): for each op with one, on small random float64
 * inputs, the reverse-mode gradient of loss = sum(Y * R) (R random) matches central finite differences
 * within 1e-6 of the gradient's scale (max(1, max |fd|) per input). Inputs keep clear of kinks (Relu at
 * 0, MaxPool ties) by being continuous random draws.
 */
import { describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value, type Attr, type RValue } from '@aic/core';
import { getOp, inferGraph, makeBuilder } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { autodiff } from '@aic/passes';
import { A } from '../helpers.ts';

/** seeded uniform [0, 1) */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

/** a float input: values in ±[0.1, 1.1) (positive with pos), or uniform in `range` */
type In = { shape: number[]; pos?: boolean; range?: [number, number] } | { const: Tensor };
interface Case { op: string; inputs: In[]; attrs?: Record<string, Attr>; outputs?: number; label?: string }

const f64 = (shape: number[], v: number[]) => Tensor.fromNumbers('float64', shape, v);
const i64 = (shape: number[], v: number[]) => Tensor.fromNumbers('int64', shape, v);
const x = (...shape: number[]): In => ({ shape });
const pos = (...shape: number[]): In => ({ shape, pos: true });
const k = (t: Tensor): In => ({ const: t });
const within = (lo: number, hi: number, ...shape: number[]): In => ({ shape, range: [lo, hi] });

const CASES: Case[] = [
  ...['Relu', 'Neg', 'Abs', 'Exp', 'Tanh', 'Sigmoid', 'Sin', 'Cos', 'Erf', 'Softplus', 'Identity'].map((op) => ({ op, inputs: [x(2, 3)] })),
  ...['Log', 'Sqrt', 'Reciprocal'].map((op) => ({ op, inputs: [pos(2, 3)] })),
  { op: 'LeakyRelu', inputs: [x(2, 3)], attrs: { alpha: A.float(0.1) } },
  { op: 'Gelu', inputs: [x(2, 3)] },
  { op: 'Gelu', inputs: [within(-4, 4, 3, 4)], attrs: { approximate: A.str('tanh') }, label: 'Gelu tanh' },
  { op: 'Elu', inputs: [x(2, 3)], attrs: { alpha: A.float(0.7) } },
  { op: 'Selu', inputs: [x(2, 3)] },
  { op: 'Softsign', inputs: [x(2, 3)] },
  ...['Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Atanh'].map((op) => ({ op, inputs: [within(-0.9, 0.9, 2, 3)] })),
  { op: 'Acosh', inputs: [within(1.2, 3, 2, 3)] },
  { op: 'Dropout', inputs: [x(2, 3)] },
  { op: 'Celu', inputs: [x(2, 3)], attrs: { alpha: A.float(0.5) } },
  { op: 'ThresholdedRelu', inputs: [x(2, 3)], attrs: { alpha: A.float(0.4) } },
  { op: 'HardSigmoid', inputs: [within(-6, 6, 3, 4)], attrs: { alpha: A.float(0.25), beta: A.float(0.4) } },
  { op: 'HardSwish', inputs: [within(-5, 5, 3, 4)] },
  { op: 'Mish', inputs: [within(-4, 4, 2, 3)] },
  { op: 'PRelu', inputs: [x(2, 3, 2), x(3, 1)] },
  { op: 'PRelu', inputs: [x(2, 3), x(3)], label: 'PRelu slope [C] last axis' },
  { op: 'Clip', inputs: [within(-2, 2, 3, 4), within(-1.5, -0.5), within(0.5, 1.5)] },
  { op: 'Clip', inputs: [within(-2, 2, 3, 4), { const: f64([], [0]) }], label: 'Clip min only (constant)' },
  { op: 'Cast', inputs: [x(2, 3)], attrs: { to: A.int(11) } },
  { op: 'Add', inputs: [x(2, 3), x(3)] },
  { op: 'Sub', inputs: [x(2, 1, 3), x(4, 1)] },
  { op: 'Mul', inputs: [x(2, 3), x(2, 1)] },
  { op: 'Div', inputs: [x(2, 3), pos(3)] },
  { op: 'Pow', inputs: [pos(2, 3), x(3)] },
  { op: 'Pow', inputs: [pos(2, 3), k(f64([], [2]))], label: 'Pow x^2' },
  { op: 'Where', inputs: [k(Tensor.fromNumbers('bool', [2, 3], [1, 0, 1, 0, 0, 1])), x(2, 3), x(3)] },
  { op: 'MatMul', inputs: [x(2, 3), x(3, 4)] },
  { op: 'MatMul', inputs: [x(2, 2, 3), x(3, 4)], label: 'MatMul batched' },
  { op: 'MatMul', inputs: [x(2, 1, 2, 3), x(3, 3, 2)], label: 'MatMul broadcast batch' },
  { op: 'MatMul', inputs: [x(3), x(3, 2)], label: 'MatMul vector' },
  { op: 'Gemm', inputs: [x(2, 3), x(3, 4), x(4)], attrs: { alpha: A.float(0.5), beta: A.float(2) } },
  { op: 'Gemm', inputs: [x(3, 2), x(4, 3), x(2, 4)], attrs: { transA: A.int(1), transB: A.int(1) }, label: 'Gemm transposed' },
  { op: 'Conv', inputs: [x(2, 2, 5, 5), x(3, 2, 3, 3), x(3)], attrs: { pads: A.ints([1, 1, 1, 1]), strides: A.ints([2, 2]) } },
  { op: 'Conv', inputs: [x(1, 2, 6, 6), x(2, 2, 2, 3)], attrs: { dilations: A.ints([2, 1]), pads: A.ints([0, 1, 1, 0]) }, label: 'Conv dilated' },
  { op: 'Conv', inputs: [x(1, 4, 5, 5), x(4, 2, 3, 3)], attrs: { group: A.int(2), strides: A.ints([2, 2]) }, label: 'Conv grouped' },
  { op: 'Conv', inputs: [x(2, 2, 7), x(3, 2, 3)], attrs: { auto_pad: A.str('SAME_UPPER') }, label: 'Conv 1-d same' },
  { op: 'ConvTranspose', inputs: [x(2, 3, 3, 3), x(3, 2, 3, 3), x(2)], attrs: { strides: A.ints([2, 2]), pads: A.ints([1, 0, 1, 1]), output_padding: A.ints([1, 0]) } },
  { op: 'ConvTranspose', inputs: [x(1, 4, 3, 4), x(4, 1, 2, 2)], attrs: { group: A.int(2), dilations: A.ints([2, 1]) }, label: 'ConvTranspose grouped dilated' },
  { op: 'ScatterND', inputs: [x(4, 3), k(i64([2, 1], [3, 1])), x(2, 3)] },
  { op: 'ScatterND', inputs: [x(4, 3), k(i64([3, 1], [3, 1, 3])), x(3, 3)], attrs: { reduction: A.str('add') }, label: 'ScatterND add' },
  { op: 'MaxPool', inputs: [x(2, 2, 4, 4)], attrs: { kernel_shape: A.ints([2, 2]), strides: A.ints([2, 2]) } },
  { op: 'MaxPool', inputs: [x(1, 2, 5, 5)], attrs: { kernel_shape: A.ints([3, 3]), strides: A.ints([2, 2]), pads: A.ints([1, 1, 1, 1]) }, label: 'MaxPool padded' },
  { op: 'AveragePool', inputs: [x(2, 2, 4, 4)], attrs: { kernel_shape: A.ints([2, 2]), strides: A.ints([2, 2]) } },
  { op: 'AveragePool', inputs: [x(1, 2, 5, 5)], attrs: { kernel_shape: A.ints([3, 3]), strides: A.ints([2, 2]), pads: A.ints([1, 1, 1, 1]) }, label: 'AveragePool padded' },
  { op: 'AveragePool', inputs: [x(1, 2, 5, 5)], attrs: { kernel_shape: A.ints([3, 3]), strides: A.ints([2, 2]), pads: A.ints([1, 1, 1, 1]), count_include_pad: A.int(1) }, label: 'AveragePool count_include_pad' },
  { op: 'AveragePool', inputs: [x(1, 1, 6, 6)], attrs: { kernel_shape: A.ints([3, 3]), strides: A.ints([2, 2]), ceil_mode: A.int(1) }, label: 'AveragePool ceil' },
  { op: 'GlobalAveragePool', inputs: [x(2, 3, 2, 3)] },
  { op: 'BatchNormalization', inputs: [x(2, 3, 2, 2), x(3), x(3), k(f64([3], [0.1, -0.2, 0.3])), k(f64([3], [0.5, 1.2, 0.9]))] },
  { op: 'BatchNormalization', inputs: [x(3, 2, 2, 2), x(2), x(2), k(f64([2], [0.1, -0.2])), k(f64([2], [0.5, 1.2]))], attrs: { training_mode: A.int(1) }, label: 'BatchNormalization training' },
  { op: 'BatchNormalization', inputs: [x(4, 3, 2), x(3), x(3), k(f64([3], [0.1, -0.2, 0.3])), k(f64([3], [0.5, 1.2, 0.9]))], attrs: { training_mode: A.int(1), momentum: A.float(0.8) }, outputs: 3, label: 'BatchNormalization training, running statistics' },
  { op: 'InstanceNormalization', inputs: [x(2, 3, 2, 2), x(3), x(3)] },
  { op: 'LayerNormalization', inputs: [x(2, 3, 4), x(4), x(4)] },
  { op: 'LayerNormalization', inputs: [x(2, 3, 4), x(3, 4)], attrs: { axis: A.int(1) }, label: 'LayerNormalization axis 1' },
  { op: 'Softmax', inputs: [x(2, 3, 4)], attrs: { axis: A.int(1) } },
  { op: 'LogSoftmax', inputs: [x(2, 5)] },
  { op: 'ReduceSum', inputs: [x(2, 3, 4), k(i64([1], [1]))], attrs: { keepdims: A.int(0) } },
  { op: 'ReduceSum', inputs: [x(2, 3)], label: 'ReduceSum all' },
  { op: 'ReduceMean', inputs: [x(2, 3, 4), k(i64([2], [0, -1]))] },
  { op: 'ReduceMax', inputs: [x(2, 3, 4), k(i64([1], [1]))], attrs: { keepdims: A.int(0) } },
  { op: 'ReduceMin', inputs: [x(2, 3, 4), k(i64([2], [0, 2]))] },
  { op: 'ReduceMax', inputs: [x(2, 3)], label: 'ReduceMax all' },
  { op: 'ReduceL1', inputs: [x(2, 3, 4), k(i64([1], [1]))] },
  { op: 'ReduceL2', inputs: [x(2, 3, 4), k(i64([2], [0, 2]))], attrs: { keepdims: A.int(0) } },
  { op: 'ReduceSumSquare', inputs: [x(2, 3)] },
  { op: 'ReduceLogSum', inputs: [pos(2, 3, 2), k(i64([1], [-1]))] },
  { op: 'ReduceLogSumExp', inputs: [x(2, 3, 4), k(i64([1], [1]))], attrs: { keepdims: A.int(0) } },
  { op: 'Max', inputs: [x(2, 3), x(3), x(2, 1)] },
  { op: 'Min', inputs: [x(2, 3), x(2, 3)] },
  { op: 'Reshape', inputs: [x(2, 3, 2), k(i64([2], [3, -1]))] },
  { op: 'Flatten', inputs: [x(2, 3, 2)], attrs: { axis: A.int(2) } },
  { op: 'Squeeze', inputs: [x(2, 1, 3), k(i64([1], [1]))] },
  { op: 'Unsqueeze', inputs: [x(2, 3), k(i64([1], [0]))] },
  { op: 'Transpose', inputs: [x(2, 3, 4)], attrs: { perm: A.ints([2, 0, 1]) } },
  { op: 'Concat', inputs: [x(2, 3), x(2, 1), x(2, 2)], attrs: { axis: A.int(1) } },
  { op: 'Split', inputs: [x(2, 5), k(i64([2], [2, 3]))], attrs: { axis: A.int(1) }, outputs: 2 },
  { op: 'Slice', inputs: [x(3, 5), k(i64([2], [1, -4])), k(i64([2], [3, 100])), k(i64([2], [0, 1]))] },
  { op: 'Slice', inputs: [x(4, 5), k(i64([2], [-1, 0])), k(i64([2], [-100, 100])), k(i64([2], [0, 1])), k(i64([2], [-2, 2]))], label: 'Slice with steps -2, 2' },
  { op: 'Slice', inputs: [x(2, 7), k(i64([1], [1])), k(i64([1], [6])), k(i64([1], [1])), k(i64([1], [3]))], label: 'Slice step 3' },
  { op: 'Gather', inputs: [x(5, 3), k(i64([2, 2], [1, 4, 1, 0]))] },
  { op: 'Gather', inputs: [x(2, 4, 3), k(i64([3], [3, -1, 0]))], attrs: { axis: A.int(1) }, label: 'Gather axis 1' },
  { op: 'Gather', inputs: [x(2, 4, 3), k(i64([], [2]))], attrs: { axis: A.int(1) }, label: 'Gather scalar index' },
  { op: 'Expand', inputs: [x(3, 1), k(i64([3], [2, 3, 4]))] },
  { op: 'Tile', inputs: [x(2, 3), k(i64([2], [2, 3]))] },
  { op: 'GatherElements', inputs: [x(3, 2), k(i64([2, 2], [2, 0, 2, 1]))] },
  { op: 'GatherElements', inputs: [x(2, 3), k(i64([2, 4], [0, 2, 2, 1, 1, 0, 0, 2]))], attrs: { axis: A.int(1) }, label: 'GatherElements axis 1, repeated' },
  { op: 'CumSum', inputs: [x(2, 4), k(i64([], [1]))] },
  { op: 'CumSum', inputs: [x(3, 2), k(i64([], [0]))], attrs: { exclusive: A.int(1), reverse: A.int(1) }, label: 'CumSum exclusive reverse' },
  { op: 'Pad', inputs: [x(2, 3), k(i64([4], [1, 0, 0, 2]))] },
  { op: 'SoftmaxCrossEntropyLoss', inputs: [x(3, 4), k(i64([3], [1, 0, 3]))] },
  { op: 'SoftmaxCrossEntropyLoss', inputs: [x(2, 3, 2), k(i64([2, 2], [2, 0, 1, 1]))], attrs: { reduction: A.str('sum') }, label: 'SoftmaxCrossEntropyLoss sum, [N, C, d]' },
  { op: 'NegativeLogLikelihoodLoss', inputs: [x(3, 4), k(i64([3], [1, 0, 3]))], attrs: { reduction: A.str('none') } },
  ...['none', 'sum', 'mean'].flatMap((red) => [
    { op: 'SoftmaxCrossEntropyLoss', inputs: [x(4, 3), k(i64([4], [1, 0, 2, 1])), k(f64([3], [0.5, 2, 1.5]))], attrs: { reduction: A.str(red) }, label: `SoftmaxCrossEntropyLoss weighted ${red}` },
    { op: 'SoftmaxCrossEntropyLoss', inputs: [x(2, 3, 2), k(i64([2, 2], [2, -1, -1, 1])), k(f64([3], [0.5, 2, 1.5]))], attrs: { reduction: A.str(red), ignore_index: A.int(-1) }, label: `SoftmaxCrossEntropyLoss weighted ignore_index ${red}` },
    { op: 'NegativeLogLikelihoodLoss', inputs: [x(4, 3), k(i64([4], [1, 0, 2, 1])), k(f64([3], [0.5, 2, 1.5]))], attrs: { reduction: A.str(red), ignore_index: A.int(0) }, label: `NegativeLogLikelihoodLoss weighted ignore_index ${red}` },
    { op: 'NegativeLogLikelihoodLoss', inputs: [x(4, 3, 2), k(i64([4, 2], [1, 0, 2, 1, 0, 0, 2, 1]))], attrs: { reduction: A.str(red), ignore_index: A.int(2) }, label: `NegativeLogLikelihoodLoss ignore_index ${red}` },
  ]),
  { op: 'SoftmaxCrossEntropyLoss', inputs: [x(3, 4), k(i64([3], [1, 0, 3]))], outputs: 2, label: 'SoftmaxCrossEntropyLoss with log_prob' },
];

/** The graph: float inputs, constants, the node, loss = sum over outputs of sum(Y * R). */
function build(c: Case, r: () => number): { g: Graph; xs: Value[]; loss: Value } {
  const g = new Graph(c.op);
  const xs: Value[] = [];
  const ins = c.inputs.map((inp, i) => {
    if ('const' in inp) {
      const v = new Value(`k${i}`, { dtype: inp.const.dtype, shape: inp.const.shape.slice() });
      v.const = inp.const;
      g.constants.push(v);
      return v;
    }
    const v = new Value(`x${i}`, { dtype: 'float64', shape: inp.shape.slice() });
    g.inputs.push(v);
    xs.push(v);
    return v;
  });
  const outs = Array.from({ length: c.outputs ?? 1 }, (_, i) => new Value(`y${i}`, { dtype: 'float64', shape: undefined }));
  g.nodes.push(new Node({ op: c.op, inputs: ins, outputs: outs, attrs: c.attrs ?? {} }));
  inferGraph(g);
  const b = makeBuilder('l', () => false);
  const terms = outs.map((y) => {
    const shape = y.shape as number[];
    const n = shape.reduce((a, d) => a * d, 1);
    const w = b.constant(f64(shape, Array.from({ length: n }, () => r() * 2 - 1)));
    return b.op1('ReduceSum', [b.op1('Mul', [y, w])], { keepdims: 0 });
  });
  const loss = terms.length === 1 ? terms[0]! : b.op1('Sum', terms);
  g.nodes.push(...b.nodes);
  g.constants.push(...b.constants);
  g.outputs = [loss];
  return { g, xs, loss };
}

function feedsFor(c: Case, r: () => number): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>();
  c.inputs.forEach((inp, i) => {
    if ('const' in inp) return;
    const n = inp.shape.reduce((a, d) => a * d, 1);
    // keep |x| >= 0.1 (away from the kinks of Relu/Abs) and positive where asked
    const vals = Array.from({ length: n }, () => {
      if (inp.range) return inp.range[0] + (inp.range[1] - inp.range[0]) * r();
      const m = 0.1 + r();
      return inp.pos ? m : (r() < 0.5 ? -m : m);
    });
    feeds.set(`x${i}`, f64(inp.shape, vals));
  });
  return feeds;
}

const H = 1e-6, TOL = 1e-6;

describe('derivative rules match central finite differences (float64)', () => {
  for (const c of CASES) {
    it(c.label ?? c.op, () => {
      const r = rng(CASES.indexOf(c) + 1);
      const fwd = build(c, r);
      const withGrad = build(c, rng(CASES.indexOf(c) + 1));
      const grads = autodiff.appendGradients(withGrad.g, withGrad.loss, withGrad.xs);
      withGrad.g.outputs = [withGrad.loss, ...grads];
      inferGraph(withGrad.g);
      const feeds = feedsFor(c, rng(99 + CASES.indexOf(c)));
      const got = run(withGrad.g, feeds as Map<string, RValue>);
      const lossAt = (f: Map<string, Tensor>) => (run(fwd.g, f as Map<string, RValue>).get(fwd.loss.name) as Tensor).scalar();
      fwd.xs.forEach((xv, i) => {
        const x0 = feeds.get(xv.name)!;
        const g = got.get(grads[i]!.name) as Tensor;
        expect(g.shape).toEqual(x0.shape);
        const fd = x0.toNumbers().map((_, e) => {
          const at = (d: number) => {
            const v = x0.toNumbers();
            v[e] += d;
            return lossAt(new Map(feeds).set(xv.name, f64(x0.shape.slice(), v)));
          };
          return (at(H) - at(-H)) / (2 * H);
        });
        const scale = Math.max(1, ...fd.map(Math.abs));
        const worst = Math.max(...g.toNumbers().map((v, e) => Math.abs(v - fd[e]!)));
        expect(worst / scale, `${c.label ?? c.op}: input ${xv.name}`).toBeLessThan(TOL);
      });
    });
  }
  it('covers every op that has a derivative rule', () => {
    const tested = new Set(CASES.map((c) => c.op));
    const withRule = ['Relu', 'Conv', 'MatMul', 'Gemm', 'SoftmaxCrossEntropyLoss'].filter((op) => getOp(op)?.vjp);
    expect(withRule.every((op) => tested.has(op))).toBe(true);
  });
});
