/**
 * Helpers for the elementwise family: exact narrow-float rounding, storage checks for integer
 * results, a broadcasting n-ary map over any dtype (strings included), erf, and the numeric <-> string
 * conversions Cast uses.
 */
import {
  BroadcastError, Tensor, broadcastStatic, diag, isInt, type DType, type TensorData,
} from '@aic/core';
import { E, type Expr, type ScalarType } from '@aic/loop-ir';
import type { AttrReader, EvalCtx, LowerCtx } from '../types.ts';
import { bcastAt, scalarOf } from './lower.ts';
import { compileScalar } from './scalar-expr.ts';
import { broadcastIndex } from './util.ts';

// ---- rounding -------------------------------------------------------------------------------------

import { erf, roundHalf, roundHalfEven } from '@aic/loop-ir';
export { erf, roundHalfEven };

/** double -> nearest float16 (round half even, single rounding; the loop IR's 16-bit store, loop-ir half.ts). */
export const toF16 = (v: number): number => roundHalf(v, 'f16');
/** double -> nearest bfloat16 (round half even, single rounding). */
export const toBf16 = (v: number): number => roundHalf(v, 'bf16');

/** [min, max + 1) of each integer dtype. */
const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 128], int16: [-32768, 32768], int32: [-(2 ** 31), 2 ** 31],
  uint8: [0, 256], uint16: [0, 65536], uint32: [0, 2 ** 32],
  int64: [-(2 ** 63), 2 ** 63], uint64: [0, 2 ** 64],
};
/** [min, max + 1) of an integer dtype (exact doubles). */
export function intRange(d: DType): [number, number] {
  return INT_RANGE[d]!;
}

/**
 * The function that turns an exact (double) result into the stored element of dtype `d`:
 * narrow floats rounded once, integers checked (exact integer; int64/uint64 within 2^53; narrower
 * integers wrap like C). Throws unsupported for results this storage cannot hold exactly.
 */
export function storer(d: DType, op: string): (v: number) => number {
  switch (d) {
    case 'float32': case 'float64': return (v) => v;
    case 'float16': return toF16;
    case 'bfloat16': return toBf16;
    case 'bool': return (v) => (v ? 1 : 0);
    // the doubles ±2^63 / 2^64 stand for INT64_MIN/MAX / UINT64_MAX (what a saturating Cast gives;
    // the tensor bytes clamp them to the type); other integers beyond 2^53 are not exact
    case 'int64': return (v) => {
      if (!Number.isSafeInteger(v) && Math.abs(v) !== 2 ** 63) throw intResultError(op, d, v);
      return v + 0; // no -0 in integer storage
    };
    case 'uint64': return (v) => {
      if ((!Number.isSafeInteger(v) && v !== 2 ** 64) || v < 0) throw intResultError(op, d, v);
      return v + 0;
    };
    default: return (v) => {
      // narrower integers: typed-array stores wrap modulo 2^bits, which is C's wrap for exact integers
      if (!Number.isSafeInteger(v)) throw intResultError(op, d, v);
      return v;
    };
  }
}
function intResultError(op: string, d: DType, v: number) {
  if (Number.isNaN(v) || !Number.isFinite(v)) return diag.unsupportedFeature(`${op}: ${d} result ${v} is undefined behaviour`);
  if (!Number.isInteger(v)) return diag.runtime(op, `internal: non-integer ${d} result ${v}`);
  return diag.unsupportedFeature(`${op}: ${d} result ${v} is beyond the exactly representable range (2^53)`);
}

// ---- broadcasting map -----------------------------------------------------------------------------

/** Broadcast output shape of concrete tensors, as a shape-mismatch diagnostic on failure. */
export function broadcastOut(op: string, shapes: readonly (readonly number[])[]): number[] {
  try {
    return broadcastStatic(shapes);
  } catch (e) {
    if (e instanceof BroadcastError) throw diag.shapeMismatch(op, e.message);
    throw e;
  }
}

type Elem = number | string;
/**
 * n-ary elementwise map with numpy broadcasting over tensors of any dtype (strings as JS strings).
 * Numeric results go through `storer(outDtype)`; string outputs are stored as given.
 */
export function mapN(op: string, inputs: readonly Tensor[], outDtype: DType,
  f: (...v: any[]) => Elem, outShape?: readonly number[]): Tensor {
  const shape = outShape ? outShape.slice() : broadcastOut(op, inputs.map((t) => t.shape));
  const out = new Tensor(outDtype, shape);
  const n = out.size;
  const idx = broadcastIndex(inputs.map((t) => t.shape), shape);
  const datas: ArrayLike<Elem>[] = inputs.map((t) => t.data as TensorData as ArrayLike<Elem>);
  const o = out.data as unknown as Elem[];
  const st = outDtype === 'string' ? (v: Elem) => v : (() => { const s = storer(outDtype, op); return (v: Elem) => s(v as number); })();
  if (inputs.length === 1) {
    const a = datas[0], ia = idx[0];
    for (let i = 0; i < n; i++) o[i] = st(f(a[ia ? ia[i] : i]));
  } else if (inputs.length === 2) {
    const a = datas[0], b = datas[1], ia = idx[0], ib = idx[1];
    for (let i = 0; i < n; i++) o[i] = st(f(a[ia ? ia[i] : i], b[ib ? ib[i] : i]));
  } else {
    const args = new Array<Elem>(inputs.length);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < datas.length; k++) { const ix = idx[k]; args[k] = datas[k][ix ? ix[i] : i]; }
      o[i] = st(f(...args));
    }
  }
  return out;
}

// ---- erf ------------------------------------------------------------------------------------------

// ---- numbers <-> strings (Cast) ---------------------------------------------------------------------

/** Shortest decimal digits (and decimal exponent) that round-trip v through `round`. */
function shortestDigits(v: number, round: (x: number) => number, maxDigits: number): { digits: string; exp: number } {
  for (let p = 1; p <= maxDigits; p++) {
    const s = v.toExponential(p - 1);
    if (round(Number(s)) === v || p === maxDigits) {
      const [m, e] = s.split('e');
      return { digits: m!.replace('.', '').replace(/0+$/, '') || '0', exp: Number(e) };
    }
  }
  throw new Error('unreachable');
}

/**
 * numpy's str() of a float scalar (what ONNX's reference produces for Cast to string): shortest
 * round-trip digits, positional for 1e-4 <= |v| < 1e16 ('1.0', '0.039187793'), else scientific
 * ('1e-05', '1.5e+16'); 'nan', 'inf', '-inf'.
 */
export function formatFloat(v: number, d: DType): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  const a = Math.abs(v);
  if (a === 0) return `${sign}0.0`;
  const [round, maxDigits] = d === 'float64' ? [(x: number) => x, 17]
    : d === 'float32' ? [Math.fround, 9] : d === 'float16' ? [toF16, 5] : [toBf16, 4];
  const { digits, exp } = shortestDigits(a, round, maxDigits);
  if (a >= 1e-4 && a < 1e16) {
    let s: string;
    if (exp >= 0) {
      const intPart = digits.length > exp + 1 ? digits.slice(0, exp + 1) : digits.padEnd(exp + 1, '0');
      const frac = digits.length > exp + 1 ? digits.slice(exp + 1) : '0';
      s = `${intPart}.${frac}`;
    } else {
      s = `0.${'0'.repeat(-exp - 1)}${digits}`;
    }
    return sign + s;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp);
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
}

const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INT_RE = /^[+-]?\d+$/;

/** Parse a string element for Cast to a numeric dtype; throws a runtime error on malformed text. */
export function parseNumber(s: string, to: DType, op: string): number {
  const t = s.trim();
  if (isInt(to)) {
    if (!INT_RE.test(t)) throw diag.runtime(op, `cannot cast string '${s}' to ${to}`);
    const v = Number(t);
    const [lo, hi] = intRange(to);
    if (v < lo || v >= hi || !Number.isSafeInteger(v)) throw diag.unsupportedFeature(`${op}: string '${s}' is out of range for ${to}`);
    return v;
  }
  const low = t.toLowerCase();
  const bare = low.replace(/^[+-]/, '');
  if (bare === 'nan') return NaN;
  if (bare === 'inf' || bare === 'infinity') return low.startsWith('-') ? -Infinity : Infinity;
  if (!FLOAT_RE.test(t)) throw diag.runtime(op, `cannot cast string '${s}' to ${to}`);
  return Number(t);
}

// ---- single-source elementwise definitions ----------------------------------------------------------
//
// An elementwise op defines one output element as a loop-IR expression over its input elements
// (`ElemExpr`). The same builder gives both:
// - the reference (`evalElem`): built over variables with every float dtype computed in f64
//   (float16/bfloat16/float32 results are then rounded once on store, as before), integers in their
//   own C type; compiled to a JS closure once per node (lib/scalar-expr.ts, strict mode);
// - the compiled form (`lowerElem`): built over broadcasting loads in the target's types.

/** What a builder may read besides its operands. */
export interface ElemCtx {
  readonly attrs: AttrReader;
  /** graph dtypes of the node's inputs (undefined where omitted) */
  readonly dtypes: readonly (DType | undefined)[];
  /** the scalar type an element of dtype d computes in (f64 for every float in the reference) */
  scalar(d: DType): ScalarType;
}
/** One output element from the input elements (undefined where an optional input is omitted). */
export type ElemExpr = (x: readonly (Expr | undefined)[], c: ElemCtx) => Expr;

const EVAL_SCALAR: Partial<Record<DType, ScalarType>> = {
  float16: 'f64', bfloat16: 'f64', float32: 'f64', float64: 'f64',
  int8: 'i8', int16: 'i16', int32: 'i32', int64: 'i64', uint8: 'u8', uint16: 'u16', uint32: 'u32', uint64: 'u64', bool: 'bool',
};
/** the reference's compute type of dtype d; undefined for strings (no expression form) */
export function evalScalarOf(d: DType): ScalarType | undefined {
  return EVAL_SCALAR[d];
}

/** Reference semantics of an elementwise op from its expression (numpy broadcasting of all inputs). */
export function evalElem(op: string, ctx: EvalCtx, inputs: readonly (Tensor | undefined)[], outDtype: DType, f: ElemExpr,
  outShape?: readonly number[]): Tensor {
  const scalar = (d: DType) => {
    const s = evalScalarOf(d);
    if (!s) throw diag.unsupportedDtype(`${op} element`, d);
    return s;
  };
  const params: string[] = [];
  const xs = inputs.map((t, i) => {
    if (!t) return undefined;
    params.push(`x${i}`);
    return E.v(`x${i}`, scalar(t.dtype));
  });
  const body = f(xs, { attrs: ctx.attrs, dtypes: inputs.map((t) => t?.dtype), scalar });
  const want = scalar(outDtype);
  if (body.t !== want) throw diag.runtime(op, `internal: element expression has type ${body.t}, expected ${want}`);
  const fn = compileScalar(params, body, { strict: { op } });
  return mapN(op, inputs.filter((t): t is Tensor => t !== undefined), outDtype, fn, outShape);
}

/** Compute definition of an elementwise op from its expression: output 0 = f(broadcast loads). */
export function lowerElem(ctx: LowerCtx, dtypes: readonly (DType | undefined)[], f: ElemExpr): void {
  const out = ctx.outputs[0]!;
  ctx.compute(0, (idx) => {
    const xs = ctx.inputs.map((t) => (t ? bcastAt(t, idx) : undefined));
    const body = f(xs, { attrs: ctx.attrs, dtypes, scalar: scalarOf });
    if (body.t !== out.dtype) throw new Error(`element expression has type ${body.t}, output is ${out.dtype}`);
    return body;
  });
}

/** the builder context of a node being lowered */
export function lowerElemCtx(ctx: LowerCtx): ElemCtx {
  return { attrs: ctx.attrs, dtypes: nodeDtypes(ctx), scalar: scalarOf };
}

/** graph dtypes of a node's inputs, for lowering */
export function nodeDtypes(ctx: LowerCtx): (DType | undefined)[] {
  return ctx.node.inputs.map((v) => v?.dtype);
}

// ---- expression helpers (accurate in f32 and f64 alike) ----------------------------------------------

/** typed constant of x's type */
export const cOf = (x: Expr, v: number): Expr => E.c(v, x.t);
export const ne = (a: Expr, b: Expr): Expr => E.bin('ne', a, b);

/** e^x - 1 without cancellation near 0 (Kahan: (u - 1) * x / log u with u = e^x). */
export function expm1E(x: Expr): Expr {
  const u = E.call('exp', x), um1 = E.sub(u, cOf(x, 1));
  return E.select(E.eq(u, cOf(x, 1)), x,
    E.select(E.or(E.eq(um1, cOf(x, -1)), E.eq(u, cOf(x, Infinity))), um1, E.div(E.mul(um1, x), E.call('log', u))));
}
/** log(1 + y) without cancellation near 0 (Goldberg: log(u) * y / (u - 1) with u = 1 + y). */
export function log1pE(y: Expr): Expr {
  const u = E.add(cOf(y, 1), y);
  return E.select(E.eq(u, cOf(y, 1)), y,
    E.select(E.eq(u, cOf(y, Infinity)), u, E.mul(E.call('log', u), E.div(y, E.sub(u, cOf(y, 1))))));
}
