/**
 * Derivative rules of the elementwise ops, as graph IR (each OpDef's `vjp` names one of these).
 * Broadcast operands get their cotangents summed back to their shapes (util.sumTo).
 */
import { ONNX_DTYPE_CODE, isFloat, type Value } from '@aic/core';
import type { VjpCtx, VjpDef } from '../types.ts';
import { binaryVjp, cst, sumTo, dimsOf, unaryVjp } from './util.ts';
import { geluTanh } from './activations.ts';

const mul = (c: VjpCtx, a: Value, b: Value) => c.b.op1('Mul', [a, b]);
const div = (c: VjpCtx, a: Value, b: Value) => c.b.op1('Div', [a, b]);
const sub = (c: VjpCtx, a: Value, b: Value) => c.b.op1('Sub', [a, b]);
const neg = (c: VjpCtx, a: Value) => c.b.op1('Neg', [a]);
/** dy where cond holds, else 0 */
const mask = (c: VjpCtx, cond: Value, dy: Value) => c.b.op1('Where', [cond, dy, cst(c.b, dy, 0)]);

export const identity = unaryVjp((_c, _x, _y, dy) => dy);
export const negate = unaryVjp((c, _x, _y, dy) => neg(c, dy));
export const relu = unaryVjp((c, x, _y, dy) => mask(c, c.b.op1('Greater', [x, cst(c.b, x, 0)]), dy));
/** x > 0 ? dy : alpha dy (torch's leaky_relu_backward: x = 0 takes alpha) */
export const leakyRelu = unaryVjp((c, x, _y, dy) => c.b.op1('Where', [
  c.b.op1('Greater', [x, cst(c.b, x, 0)]), dy, mul(c, dy, cst(c.b, x, c.attrs.float('alpha')))]));
export const abs = unaryVjp((c, x, _y, dy) => mul(c, dy, c.b.op1('Sign', [x])));
export const exp = unaryVjp((c, _x, y, dy) => mul(c, dy, y));
export const log = unaryVjp((c, x, _y, dy) => div(c, dy, x));
/** d sqrt(x) = dy / (2 y) */
export const sqrt = unaryVjp((c, _x, y, dy) => div(c, dy, mul(c, y, cst(c.b, y, 2))));
/** d (1/x) = -dy y^2 */
export const reciprocal = unaryVjp((c, _x, y, dy) => neg(c, mul(c, dy, mul(c, y, y))));
export const tanh = unaryVjp((c, _x, y, dy) => mul(c, dy, sub(c, cst(c.b, y, 1), mul(c, y, y))));
export const sigmoid = unaryVjp((c, _x, y, dy) => mul(c, dy, mul(c, y, sub(c, cst(c.b, y, 1), y))));
export const sin = unaryVjp((c, x, _y, dy) => mul(c, dy, c.b.op1('Cos', [x])));
export const cos = unaryVjp((c, x, _y, dy) => neg(c, mul(c, dy, c.b.op1('Sin', [x]))));
/** d erf(x) = 2/sqrt(pi) e^(-x^2) */
export const erf = unaryVjp((c, x, _y, dy) =>
  mul(c, dy, mul(c, cst(c.b, x, 2 / Math.sqrt(Math.PI)), c.b.op1('Exp', [neg(c, mul(c, x, x))]))));
/** d softplus(x) = sigmoid(x) */
export const softplus = unaryVjp((c, x, _y, dy) => mul(c, dy, c.b.op1('Sigmoid', [x])));
/** Gelu (exact form): d = Phi(x) + x phi(x) = (y / x) + x e^(-x^2/2) / sqrt(2 pi), written without the division; tanh form: activations.ts */
export const gelu = unaryVjp((c, x, _y, dy) => {
  if (c.attrs.str('approximate') === 'tanh') return geluTanh(c, x, dy);
  const cdf = mul(c, cst(c.b, x, 0.5), c.b.op1('Add', [cst(c.b, x, 1), c.b.op1('Erf', [mul(c, x, cst(c.b, x, Math.SQRT1_2))])]));
  const pdf = mul(c, cst(c.b, x, 1 / Math.sqrt(2 * Math.PI)), c.b.op1('Exp', [mul(c, cst(c.b, x, -0.5), mul(c, x, x))]));
  return mul(c, dy, c.b.op1('Add', [cdf, mul(c, x, pdf)]));
});

export const add = binaryVjp((_c, dy) => dy, (_c, dy) => dy);
export const subtract = binaryVjp((_c, dy) => dy, (c, dy) => neg(c, dy));
export const multiply = binaryVjp((c, dy) => mul(c, dy, c.x[1]!), (c, dy) => mul(c, dy, c.x[0]!));
/** d(a/b) = dy/b, -dy a/b^2 = -dy y / b */
export const divide = binaryVjp((c, dy) => div(c, dy, c.x[1]!), (c, dy) => neg(c, div(c, mul(c, dy, c.y[0]), c.x[1]!)));
/** d(a^b) = dy b a^(b-1), dy y ln a */
export const pow: VjpDef = {
  wrt: [0, 1],
  grad: (c) => {
    const [a, e] = [c.x[0]!, c.x[1]!];
    const dy = c.dy[0];
    if (!dy) return [];
    let da: Value | undefined, db: Value | undefined;
    if (c.need[0]) {
      const ef = e.dtype === a.dtype ? e : c.b.op1('Cast', [e], { to: onnxCode(a) });
      const pm1 = c.b.op1('Pow', [a, sub(c, ef, cst(c.b, a, 1))]);
      da = sumTo(c, mul(c, dy, mul(c, ef, pm1)), dimsOf(c, a));
    }
    if (c.need[1] && isFloat(e.dtype)) db = sumTo(c, mul(c, dy, mul(c, c.y[0], c.b.op1('Log', [a]))), dimsOf(c, e));
    return [da, db];
  },
};
/** Sum / Mean of any number of broadcast inputs: each gets the (scaled) cotangent, reduced to its shape */
function variadicVjp(mean: boolean): VjpDef {
  return {
    wrt: 'all',
    grad: (c) => {
      const dy = c.dy[0];
      if (!dy) return [];
      const g = mean ? mul(c, dy, cst(c.b, dy, 1 / c.x.length)) : dy;
      return c.x.map((x, i) => (c.need[i] ? sumTo(c, g, dimsOf(c, x!)) : undefined));
    },
  };
}
export const sum = variadicVjp(false);
export const mean = variadicVjp(true);

/** Where(cond, x, y): the cotangent goes to the chosen side */
export const where: VjpDef = {
  wrt: [1, 2],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const z = cst(c.b, dy, 0);
    return [undefined,
      c.need[1] ? sumTo(c, c.b.op1('Where', [c.x[0]!, dy, z]), dimsOf(c, c.x[1]!)) : undefined,
      c.need[2] ? sumTo(c, c.b.op1('Where', [c.x[0]!, z, dy]), dimsOf(c, c.x[2]!)) : undefined];
  },
};
/** Cast between float types: cast the cotangent back; to or from integers: none */
export const cast: VjpDef = {
  wrt: [0],
  grad: (c) => {
    const x = c.x[0]!, dy = c.dy[0];
    if (!dy || !isFloat(x.dtype) || !isFloat(c.y[0].dtype)) return [];
    return [x.dtype === dy.dtype ? dy : c.b.op1('Cast', [dy], { to: onnxCode(x) })];
  },
};

/** ONNX TensorProto element type of a value (Cast's `to`). */
export const onnxCode = (v: Value): number => ONNX_DTYPE_CODE[v.dtype];
