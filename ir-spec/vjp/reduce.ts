/** Derivative rules of the reductions, Softmax/LogSoftmax and the classification losses, as graph IR. */
import { Tensor, type Value } from '@aic/core';
import type { VjpCtx, VjpDef } from '../types.ts';
import { constInts, cst, dimsOf, expandTo, normAxis, reshape } from './util.ts';

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/** the reduced axes of ReduceSum/ReduceMean (undefined: no reduction) */
function reducedAxes(c: VjpCtx, r: number): number[] | undefined {
  const a = c.x[1] ? constInts(c.x[1]) : [];
  if (!a) return c.unsupported(`${c.node.op} with run-time axes`);
  if (a.length === 0) return c.attrs.int('noop_with_empty_axes') !== 0 ? undefined : range(0, r);
  return a.map((x) => normAxis(x, r));
}

function reduceVjp(mean: boolean): VjpDef {
  return {
    wrt: [0],
    grad: (c) => {
      const dy = c.dy[0];
      if (!dy) return [];
      const xs = dimsOf(c, c.x[0]!);
      const axes = reducedAxes(c, xs.length);
      if (!axes) return [dy];
      const kept = xs.map((d, i) => (axes.includes(i) ? 1 : d));
      let g = reshape(c.b, dy, kept);
      if (mean) g = c.b.op1('Mul', [g, cst(c.b, dy, 1 / axes.reduce((n, a) => n * xs[a]!, 1))]);
      return [expandTo(c.b, g, xs)];
    },
  };
}
export const reduceSum = reduceVjp(false);
export const reduceMean = reduceVjp(true);

/** the axes Softmax/LogSoftmax normalize over (coerce_2d: all from axis on) */
function softAxes(c: VjpCtx): Value {
  const r = dimsOf(c, c.x[0]!).length, axis = normAxis(c.attrs.int('axis'), r);
  return c.b.ints(c.attrs.int('coerce_2d') !== 0 ? range(axis, r) : [axis]);
}
const sumKeep = (c: VjpCtx, v: Value, axes: Value) => c.b.op1('ReduceSum', [v, axes], { keepdims: 1 });

/** dx = y (dy - sum(dy y)) */
export const softmax: VjpDef = {
  wrt: [0],
  grad: (c) => {
    const dy = c.dy[0], y = c.y[0];
    if (!dy) return [];
    return [c.b.op1('Mul', [y, c.b.op1('Sub', [dy, sumKeep(c, c.b.op1('Mul', [dy, y]), softAxes(c))])])];
  },
};

/** dx = dy - exp(y) sum(dy) */
export const logSoftmax: VjpDef = {
  wrt: [0],
  grad: (c) => {
    const dy = c.dy[0], y = c.y[0];
    if (!dy) return [];
    return [c.b.op1('Sub', [dy, c.b.op1('Mul', [c.b.op1('Exp', [y]), sumKeep(c, dy, softAxes(c))])])];
  },
};

/**
 * The cotangent of the class scores [N, C, d...] of a loss whose per-element value is a function of
 * scores[n, label, d...]: `perElem` maps (one-hot labels, upstream cotangent per element) to it.
 */
function lossVjp(f: (c: VjpCtx, onehot: Value, scale: Value) => Value): VjpDef {
  return {
    wrt: [0],
    grad: (c) => {
      const dy = c.dy[0];
      if (!dy) return [];
      if (c.dy[1]) c.unsupported(`${c.node.op} with a used log_prob output`);
      if (c.x[2]) c.unsupported(`${c.node.op} with class weights`);
      if (c.attrs.has('ignore_index')) c.unsupported(`${c.node.op} with ignore_index`);
      const xs = dimsOf(c, c.x[0]!);
      const red = c.attrs.str('reduction');
      const perElem = [xs[0]!, ...xs.slice(2)];
      const count = perElem.reduce((a, d) => a * d, 1);
      // upstream cotangent per element, as [N, 1, d...]
      const g = red === 'none' ? dy : c.b.op1('Mul', [expandTo(c.b, dy, perElem), cst(c.b, dy, red === 'mean' ? 1 / count : 1)]);
      const scale = c.b.op1('Unsqueeze', [g, c.b.ints([1])]);
      const values = c.b.constant(Tensor.fromNumbers(dy.dtype, [2], [0, 1]));
      const onehot = c.b.op1('OneHot', [c.x[1]!, c.b.ints([xs[1]!]), values], { axis: 1 });
      return [f(c, onehot, scale)];
    },
  };
}

/** d/dscores of mean(-log softmax(scores)[label]) = (softmax - onehot) per element */
export const softmaxCrossEntropy = lossVjp((c, onehot, scale) =>
  c.b.op1('Mul', [c.b.op1('Sub', [c.b.op1('Softmax', [c.x[0]!], { axis: 1 }), onehot]), scale]));

/** d/dinput of -input[n, label] = -onehot per element */
export const negativeLogLikelihood = lossVjp((c, onehot, scale) => c.b.op1('Neg', [c.b.op1('Mul', [onehot, scale])]));
