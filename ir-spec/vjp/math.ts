/** Derivative rules of the trigonometric and hyperbolic functions, as graph IR. */
import type { Value } from '@aic/core';
import type { VjpCtx } from '../types.ts';
import { cst, unaryVjp } from './util.ts';

const op = (c: VjpCtx, name: string, ...xs: Value[]) => c.b.op1(name, xs);
/** 1 - x^2 */
const oneMinusSq = (c: VjpCtx, x: Value) => op(c, 'Sub', cst(c.b, x, 1), op(c, 'Mul', x, x));
const onePlusSq = (c: VjpCtx, x: Value) => op(c, 'Add', cst(c.b, x, 1), op(c, 'Mul', x, x));

/** d tan = 1 + y^2 */
export const tan = unaryVjp((c, _x, y, dy) => op(c, 'Mul', dy, onePlusSq(c, y)));
/** d asin = 1 / sqrt(1 - x^2); acos its negation */
export const asin = unaryVjp((c, x, _y, dy) => op(c, 'Div', dy, op(c, 'Sqrt', oneMinusSq(c, x))));
export const acos = unaryVjp((c, x, _y, dy) => op(c, 'Neg', op(c, 'Div', dy, op(c, 'Sqrt', oneMinusSq(c, x)))));
/** d atan = 1 / (1 + x^2) */
export const atan = unaryVjp((c, x, _y, dy) => op(c, 'Div', dy, onePlusSq(c, x)));
export const sinh = unaryVjp((c, x, _y, dy) => op(c, 'Mul', dy, op(c, 'Cosh', x)));
export const cosh = unaryVjp((c, x, _y, dy) => op(c, 'Mul', dy, op(c, 'Sinh', x)));
/** d asinh = 1 / sqrt(1 + x^2); d acosh = 1 / sqrt(x^2 - 1); d atanh = 1 / (1 - x^2) */
export const asinh = unaryVjp((c, x, _y, dy) => op(c, 'Div', dy, op(c, 'Sqrt', onePlusSq(c, x))));
export const acosh = unaryVjp((c, x, _y, dy) => op(c, 'Div', dy, op(c, 'Sqrt', op(c, 'Neg', oneMinusSq(c, x)))));
export const atanh = unaryVjp((c, x, _y, dy) => op(c, 'Div', dy, oneMinusSq(c, x)));
