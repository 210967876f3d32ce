/** Derivative rules of the reductions, Softmax/LogSoftmax and the classification losses, as graph IR. */
import { Tensor, type Value } from '@aic/core';
import type { VjpCtx, VjpDef } from '../types.ts';
import { constInts, cst, dimsOf, expandTo, normAxis, reshape } from './util.ts';
import { onnxCode } from './elementwise.ts';

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

/**
 * A reduction's rule from f(c, x, dy, y, axes) -> dx, where dy and y come reshaped to x's rank (1 on
 * the reduced axes) so they broadcast against x. The no-op form (empty axes, noop_with_empty_axes)
 * returns x itself: dx = dy.
 */
function keptVjp(f: (c: VjpCtx, x: Value, dy: Value, y: Value, axes: number[]) => Value): VjpDef {
  return {
    wrt: [0],
    grad: (c) => {
      const dy = c.dy[0];
      if (!dy) return [];
      const x = c.x[0]!, xs = dimsOf(c, x);
      const axes = reducedAxes(c, xs.length);
      if (!axes) return [dy];
      const kept = xs.map((d, i) => (axes.includes(i) ? 1 : d));
      return [expandTo(c.b, f(c, x, reshape(c.b, dy, kept), reshape(c.b, c.y[0], kept), axes), xs)];
    },
  };
}

/**
 * ReduceMax / ReduceMin: the cotangent goes to the elements equal to the extremum, shared evenly
 * among ties (torch.amax / amin's rule; torch.max(dim) would give it all to the one index it returns).
 */
export const reduceExtremum = keptVjp((c, x, dy, y, axes) => {
  const hit = c.b.op1('Equal', [x, y]);
  const count = c.b.op1('ReduceSum', [c.b.op1('Cast', [hit], { to: onnxCode(x) }), c.b.ints(axes)], { keepdims: 1 });
  return c.b.op1('Where', [hit, c.b.op1('Div', [dy, count]), cst(c.b, dy, 0)]);
});

/**
 * The other reductions of a function of each element: dx = dy * d(x, y): ReduceL1 sign(x), ReduceL2
 * x / y (undefined where y = 0), ReduceSumSquare 2 x, ReduceLogSum 1 / e^y, ReduceLogSumExp e^(x - y).
 */
const pointwiseReduceVjp = (d: (c: VjpCtx, x: Value, y: Value) => Value) => keptVjp((c, x, dy, y) => c.b.op1('Mul', [dy, d(c, x, y)]));
export const reduceL1 = pointwiseReduceVjp((c, x) => c.b.op1('Sign', [x]));
export const reduceL2 = pointwiseReduceVjp((c, x, y) => c.b.op1('Div', [x, y]));
export const reduceSumSquare = pointwiseReduceVjp((c, x) => c.b.op1('Mul', [x, cst(c.b, x, 2)]));
export const reduceLogSum = pointwiseReduceVjp((c, _x, y) => c.b.op1('Exp', [c.b.op1('Neg', [y])]));
export const reduceLogSumExp = pointwiseReduceVjp((c, x, y) => c.b.op1('Exp', [c.b.op1('Sub', [x, y])]));

/** CumSum: each x[j] reaches the outputs from j on (from the other end with reverse): CumSum of dy the other way */
export const cumSum: VjpDef = {
  wrt: [0],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    return [c.b.op1('CumSum', [dy, c.x[1]!], { exclusive: c.attrs.int('exclusive'), reverse: c.attrs.int('reverse') ? 0 : 1 })];
  },
};

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
 * The cotangent of the class scores [N, C, d...] of a loss whose per-element value is
 * -weight[label] * f(scores)[n, label, d...] (0 where label = ignore_index): `f` maps (one-hot labels,
 * the per-element scale [N, 1, d...]) to it. The scale is the upstream cotangent per element times
 * weight[label] (0 for ignored elements), divided for reduction mean by the sum of weight[label] over
 * the elements not ignored (the count of them without weights), as the forward definition divides.
 */
function lossVjp(f: (c: VjpCtx, onehot: Value, scale: Value) => Value): VjpDef {
  return {
    wrt: [0],
    grad: (c) => {
      const dy = c.dy[0];
      const xs = dimsOf(c, c.x[0]!);
      const b = c.b, labels = c.x[1]!, weight = c.x[2];
      const perElem = [xs[0]!, ...xs.slice(2)];
      const toT = (v: Value) => b.op1('Cast', [v], { to: onnxCode(c.x[0]!) });
      let scores: Value | undefined;
      if (dy) {
        const red = c.attrs.str('reduction');
        // the labels with ignored ones set to class 0 (their scale is 0), and each element's weight
        let safe = labels, w: Value | undefined;
        if (c.attrs.has('ignore_index')) {
          const kept = b.op1('Not', [b.op1('Equal', [labels, b.scalar(c.attrs.int('ignore_index'), labels.dtype)])]);
          safe = b.op1('Where', [kept, labels, b.scalar(0, labels.dtype)]);
          w = toT(kept);
        }
        if (weight) {
          const wl = b.op1('Gather', [weight, safe], { axis: 0 });
          w = w ? b.op1('Mul', [w, wl]) : wl;
        }
        let g = red === 'none' ? dy : expandTo(b, dy, perElem);
        if (w) g = b.op1('Mul', [g, w]);
        if (red === 'mean') {
          const total = w ? b.op1('ReduceSum', [w], { keepdims: 0 }) : cst(b, dy, perElem.reduce((a, d) => a * d, 1));
          g = b.op1('Div', [g, total]);
        }
        const scale = b.op1('Unsqueeze', [g, b.ints([1])]);
        const values = b.constant(Tensor.fromNumbers(dy.dtype, [2], [0, 1]));
        const onehot = b.op1('OneHot', [safe, b.ints([xs[1]!]), values], { axis: 1 });
        scores = f(c, onehot, scale);
      }
      // SoftmaxCrossEntropyLoss's log_prob output: the LogSoftmax rule over axis 1
      const dlp = c.dy[1];
      if (dlp) {
        const soft = b.op1('Softmax', [c.x[0]!], { axis: 1 });
        const back = b.op1('Sub', [dlp, b.op1('Mul', [soft, b.op1('ReduceSum', [dlp, b.ints([1])], { keepdims: 1 })])]);
        scores = scores ? b.op1('Add', [scores, back]) : back;
      }
      return [scores];
    },
  };
}
/** d/dscores of mean(-log softmax(scores)[label]) = (softmax - onehot) per element */
export const softmaxCrossEntropy = lossVjp((c, onehot, scale) =>
  c.b.op1('Mul', [c.b.op1('Sub', [c.b.op1('Softmax', [c.x[0]!], { axis: 1 }), onehot]), scale]));

/** d/dinput of -input[n, label] = -onehot per element */
export const negativeLogLikelihood = lossVjp((c, onehot, scale) => c.b.op1('Neg', [c.b.op1('Mul', [onehot, scale])]));
