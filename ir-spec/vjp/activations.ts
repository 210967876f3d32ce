/**
 * Derivative rules of the piecewise and smooth activations (Elu, Selu, HardSigmoid, HardSwish, Mish,
 * Gelu tanh, PRelu, Clip), as graph IR. At a kink the rule takes PyTorch's side (noted per rule).
 */
import type { Value } from '@aic/core';
import type { VjpCtx, VjpDef } from '../types.ts';
import { cst, dimsOf, sumTo, unaryVjp } from './util.ts';
import { onnxCode } from './elementwise.ts';

const mul = (c: VjpCtx, a: Value, b: Value) => c.b.op1('Mul', [a, b]);
const add = (c: VjpCtx, a: Value, b: Value) => c.b.op1('Add', [a, b]);
const sub = (c: VjpCtx, a: Value, b: Value) => c.b.op1('Sub', [a, b]);
const where = (c: VjpCtx, cond: Value, a: Value, b: Value) => c.b.op1('Where', [cond, a, b]);
const and = (c: VjpCtx, a: Value, b: Value) => c.b.op1('And', [a, b]);
const cmp = (c: VjpCtx, op: string, x: Value, k: number | Value) => c.b.op1(op, [x, typeof k === 'number' ? cst(c.b, x, k) : k]);

/** Elu: x > 0 ? dy : dy (y + alpha) (torch: the x <= 0 side at 0) */
export const elu = unaryVjp((c, x, y, dy) =>
  where(c, cmp(c, 'Greater', x, 0), dy, mul(c, dy, add(c, y, cst(c.b, y, c.attrs.float('alpha'))))));

/** Selu: x > 0 ? gamma dy : dy (y + gamma alpha) */
export const selu = unaryVjp((c, x, y, dy) => {
  const g = c.attrs.float('gamma'), a = c.attrs.float('alpha');
  return where(c, cmp(c, 'Greater', x, 0), mul(c, dy, cst(c.b, x, g)), mul(c, dy, add(c, y, cst(c.b, y, g * a))));
});

/** HardSigmoid: alpha dy where 0 < alpha x + beta < 1, else 0 (torch: open interval) */
export const hardSigmoid = unaryVjp((c, x, _y, dy) => {
  const t = add(c, mul(c, x, cst(c.b, x, c.attrs.float('alpha'))), cst(c.b, x, c.attrs.float('beta')));
  const inside = and(c, cmp(c, 'Greater', t, 0), cmp(c, 'Less', t, 1));
  return where(c, inside, mul(c, dy, cst(c.b, x, c.attrs.float('alpha'))), cst(c.b, dy, 0));
});

/** HardSwish: x < -3: 0; x < 3: dy (x / 3 + 1/2); else dy (torch's hardswish_backward: -3 in the middle part, 3 in the last) */
export const hardSwish = unaryVjp((c, x, _y, dy) => {
  const mid = mul(c, dy, add(c, mul(c, x, cst(c.b, x, 1 / 3)), cst(c.b, x, 0.5)));
  return where(c, cmp(c, 'Less', x, -3), cst(c.b, dy, 0), where(c, cmp(c, 'Less', x, 3), mid, dy));
});

/** Mish: d = tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2), sp = softplus(x) */
export const mish = unaryVjp((c, x, _y, dy) => {
  const t = c.b.op1('Tanh', [c.b.op1('Softplus', [x])]);
  const d = add(c, t, mul(c, mul(c, x, c.b.op1('Sigmoid', [x])), sub(c, cst(c.b, x, 1), mul(c, t, t))));
  return mul(c, dy, d);
});

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI), K = 0.044715;
/** Gelu approximate=tanh: u = sqrt(2/pi) (x + k x^3), t = tanh u; d = (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3k x^2) / 2 */
export function geluTanh(c: VjpCtx, x: Value, dy: Value): Value {
  const x2 = mul(c, x, x);
  const u = mul(c, cst(c.b, x, SQRT_2_OVER_PI), add(c, x, mul(c, cst(c.b, x, K), mul(c, x2, x))));
  const t = c.b.op1('Tanh', [u]);
  const du = mul(c, cst(c.b, x, SQRT_2_OVER_PI), add(c, cst(c.b, x, 1), mul(c, cst(c.b, x, 3 * K), x2)));
  const d = mul(c, cst(c.b, x, 0.5), add(c, add(c, cst(c.b, x, 1), t), mul(c, mul(c, x, sub(c, cst(c.b, x, 1), mul(c, t, t))), du)));
  return mul(c, dy, d);
}

/** PRelu: dx = x > 0 ? dy : slope dy; dslope = sum of (x > 0 ? 0 : x dy) over the broadcast axes (torch: x = 0 takes the slope) */
export const prelu: VjpDef = {
  wrt: [0, 1],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const [x, slope] = [c.x[0]!, c.x[1]!];
    const xs = dimsOf(c, x), ss = dimsOf(c, slope);
    // opset < 7's per-channel slope [C] broadcasts over axis 1: seen as [C, 1, ...]
    const s = ss.length === 1 && xs.length > 2 && ss[0] === xs[1] && ss[0] !== xs[xs.length - 1]
      ? c.b.op1('Reshape', [slope, c.b.ints([ss[0]!, ...new Array<number>(xs.length - 2).fill(1)])]) : slope;
    const neg = c.b.op1('Not', [cmp(c, 'Greater', x, 0)]);
    const dx = c.need[0] ? where(c, neg, mul(c, dy, s), dy) : undefined;
    const ds = c.need[1]
      ? c.b.op1('Reshape', [sumTo(c, where(c, neg, mul(c, dy, x), cst(c.b, dy, 0)), dimsOf(c, s)), c.b.ints(ss)]) : undefined;
    return [dx, ds];
  },
};

/**
 * Clip(x, min, max): dx = dy where min <= x <= max (torch.clamp: the bounds included); the bounds
 * (scalars) take the sum of dy where x < min, and where x > max.
 */
export const clip: VjpDef = {
  wrt: [0, 1, 2],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const [x, lo, hi] = [c.x[0]!, c.x[1], c.x[2]];
    const zero = cst(c.b, dy, 0);
    let keep: Value | undefined;
    if (lo) keep = cmp(c, 'GreaterOrEqual', x, lo);
    if (hi) { const k = cmp(c, 'LessOrEqual', x, hi); keep = keep ? and(c, keep, k) : k; }
    const dx = c.need[0] ? (keep ? where(c, keep, dy, zero) : dy) : undefined;
    const bound = (v: Value, op: string) => sumTo(c, where(c, cmp(c, op, x, v), dy, zero), dimsOf(c, v));
    return [dx, lo && c.need[1] ? bound(lo, 'Less') : undefined, hi && c.need[2] ? bound(hi, 'Greater') : undefined];
  },
};

/** Softsign x / (1 + |x|): d = 1 / (1 + |x|)^2 */
export const softsign = unaryVjp((c, x, _y, dy) => {
  const q = add(c, cst(c.b, x, 1), c.b.op1('Abs', [x]));
  return c.b.op1('Div', [dy, mul(c, q, q)]);
});

/** Celu: x > 0 ? dy : dy e^(x / alpha) */
export const celu = unaryVjp((c, x, _y, dy) =>
  where(c, cmp(c, 'Greater', x, 0), dy, mul(c, dy, c.b.op1('Exp', [mul(c, x, cst(c.b, x, 1 / c.attrs.float('alpha')))]))));

/** ThresholdedRelu: x > alpha ? dy : 0 (torch.threshold) */
export const thresholdedRelu = unaryVjp((c, x, _y, dy) => where(c, cmp(c, 'Greater', x, c.attrs.float('alpha')), dy, cst(c.b, dy, 0)));

/**
 * Max / Min of any number of broadcast inputs: the cotangent goes to the inputs equal to the result,
 * shared evenly among ties (torch.maximum / minimum give each of two tied inputs half).
 */
export const extremum: VjpDef = {
  wrt: 'all',
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const y = c.y[0];
    const hits = c.x.map((x) => c.b.op1('Equal', [x!, y]));
    const ones = hits.map((h) => c.b.op1('Cast', [h], { to: onnxCode(y) }));
    const count = ones.length === 1 ? ones[0]! : c.b.op1('Sum', ones);
    const share = c.b.op1('Div', [dy, count]);
    return c.x.map((x, i) => (c.need[i] ? sumTo(c, where(c, hits[i]!, share, cst(c.b, dy, 0)), dimsOf(c, x!)) : undefined));
  },
};
