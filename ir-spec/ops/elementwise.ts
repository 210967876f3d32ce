/**
 * Elementwise ops: unary math, activations, binary arithmetic (numpy broadcasting), comparisons,
 * logic and bitwise ops, variadic Sum/Mean/Max/Min, Where, Clip, Cast, CastLike.
 *
 * Single source: each op states one output element as a loop-IR expression over its input elements
 * (`unary`/`binary`/`variadic` take `(x, c) => Expr`, `(a, b, c) => Expr`, `(xs) => Expr`; Where,
 * Clip, PRelu, Cast an `ElemExpr`). `eval` compiles that expression into a JS closure once per node
 * (lib/scalar-expr.ts: C semantics, strict about undefined behaviour) and `lower` loads the
 * broadcast inputs into it (lib/elementwise.ts evalElem / lowerElem). Kept as TS closures, each
 * saying why: strings (Equal, Where, Cast) and integer ^ integer Pow (a loop; lowered as one).
 *
 * Numerics of the reference: floats of every width are computed in double and stored once
 * (float16/bfloat16/float32 rounded directly from the double); integers in their C type (int32 and
 * narrower wrap like C; int64/uint64 are exact within 2^53, results beyond are reported). Integer
 * division by zero and out-of-range float->int casts are reported, never guessed. Compiled code
 * computes in the element type (f32 for float32; float16/bfloat16 are stored as 16 bits and computed
 * in f32, loop-ir half.ts, each store rounding once as the reference does), so composite float ops
 * may differ in the last bits.
 */
import {
  BroadcastError, Tensor, UNSUPPORTED_ONNX_DTYPES, broadcastShapes, diag, dtypeFromOnnx, isFloat, isInt, nodeLocation,
  type Attr, type DType, type Dim, type Node, type Shape,
} from '@aic/core';
import { defineOp } from '../registry.ts';
import { unsupportedError } from '../validate.ts';
import type { EvalCtx, InferCtx, LowerCtx, OnnxImportView, OpDef, OutType } from '../types.ts';
import {
  ALL, FLOATS, INTS, NUMERIC, SIGNED_INTS, broadcastInfer, requireDtype, sameAsInput, sameDtypes,
} from '../lib/infer-helpers.ts';
import {
  broadcastOut, cOf, evalElem, expm1E, formatFloat, log1pE, lowerElem, lowerElemCtx, mapN, ne, nodeDtypes,
  parseNumber, type ElemCtx, type ElemExpr,
} from '../lib/elementwise.ts';
import { bcastAt } from '../lib/lower.ts';
import { ew as V, act as VA, math as VM } from '../vjp/index.ts';
import {
  E, S, flatIndex, isFloatT, type BinOp, type Expr, type Intrinsic, type ScalarType, type Stmt, type TensorRef,
} from '@aic/loop-ir';

type Attrs = OpDef['attrs'];
type Kernel = (...v: any[]) => number | string;

const SIGNED: readonly DType[] = [...FLOATS, ...SIGNED_INTS];
const UINTS: readonly DType[] = ['uint8', 'uint16', 'uint32', 'uint64'];
const BOOL: readonly DType[] = ['bool'];
const is64 = (d: DType) => d === 'int64' || d === 'uint64';

function numel(shape: Shape): number {
  if (!shape) return 0;
  let n = 1;
  for (const d of shape) n *= typeof d === 'number' ? d : 1;
  return n;
}

const attrValue = (a: Attr | undefined): unknown => a?.value;

/**
 * defineOp for this family. Nodes imported at an opset no definition covers keep their ONNX form
 * with an `__unsupported_opset` marker; refuse those instead of running them with other semantics.
 */
function ewOp(def: OpDef): OpDef {
  const guard = (node: Node) => {
    const e = unsupportedError(node);
    if (e) throw e;
  };
  const { infer, eval: ev } = def;
  return defineOp({
    ...def,
    infer: (ctx) => { guard(ctx.node); return infer(ctx); },
    eval: (ctx) => { guard(ctx.node); return ev(ctx); },
  });
}

/** Opset-1 `consumed_inputs` carried no semantics; drop it. */
function dropConsumed(v: OnnxImportView): void {
  delete v.attrs.consumed_inputs;
}

/**
 * Opset < 7 binary ops: `broadcast`=1 with `axis` aligned B's dims to A starting at `axis`. Trailing
 * alignment is numpy broadcasting already; otherwise a constant B is reshaped with trailing 1s.
 */
function legacyBroadcast(v: OnnxImportView): void {
  dropConsumed(v);
  if (v.opset >= 7) return;
  const bcast = attrValue(v.attrs.broadcast), axis = attrValue(v.attrs.axis);
  delete v.attrs.broadcast;
  delete v.attrs.axis;
  if (!bcast || axis === undefined) return;
  const A = v.inputs[0], B = v.inputs[1];
  const ra = A?.shape?.length, rb = B?.shape?.length;
  if (ra === undefined || rb === undefined || !B) {
    throw diag.unsupportedFeature('legacy broadcast with axis on inputs of unknown rank', v.loc);
  }
  const ax = (axis as number) < 0 ? (axis as number) + ra : (axis as number);
  const trailing = ra - ax - rb;
  if (trailing === 0) return;
  if (trailing < 0 || ax < 0) throw diag.verify('broadcast', `axis ${axis as number} does not fit B of rank ${rb} into A of rank ${ra}`, v.loc);
  if (B.const) {
    v.inputs[1] = v.constInput(B.const.reshape([...B.const.shape, ...new Array<number>(trailing).fill(1)]));
    return;
  }
  throw diag.unsupportedFeature('legacy broadcast with a non-trailing axis on a non-constant input', v.loc);
}

function checkType(ctx: InferCtx, i: number, allowed: readonly DType[]): void {
  requireDtype(ctx, i, allowed);
}

// ---- unary ---------------------------------------------------------------------------------------

interface UnaryOpts {
  attrs?: Attrs;
  since?: number;
  domain?: string;
  /** fixed output dtype (IsNaN, IsInf: bool) */
  out?: DType;
  flopsPerElem?: number;
  /** extra attribute validation at inference */
  check?: (ctx: InferCtx) => void;
  /** reverse-mode derivative (ir-spec/vjp) */
  vjp?: OpDef['vjp'];
}

/**
 * A unary elementwise op defined by one loop-IR expression per element (see lib/elementwise.ts,
 * "single-source"): `expr(x, c)` gives y from x; `eval` compiles it, `lower` loads x into it.
 */
function unary(name: string, summary: string, types: readonly DType[],
  expr: (x: Expr, c: ElemCtx) => Expr, opts: UnaryOpts = {}): OpDef {
  const f: ElemExpr = (xs, c) => expr(xs[0]!, c);
  return ewOp({
    name, category: 'elementwise', summary,
    types: { T: types, ...(opts.out ? { T1: [opts.out] } : {}) },
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: opts.out ? 'T1' : 'T' }],
    attrs: opts.attrs ?? {},
    onnx: { since: opts.since ?? 1, ...(opts.domain !== undefined ? { domain: opts.domain } : {}), fromOnnx: dropConsumed },
    infer: (ctx) => {
      checkType(ctx, 0, types);
      opts.check?.(ctx);
      const [o] = sameAsInput(ctx);
      return [{ dtype: opts.out ?? o.dtype, shape: o.shape }];
    },
    eval: (ctx) => {
      const x = ctx.input(0);
      if (!types.includes(x.dtype)) throw diag.unsupportedDtype(`${name} input X`, x.dtype);
      return [evalElem(name, ctx, [x], opts.out ?? x.dtype, f)];
    },
    lower: (ctx) => lowerElem(ctx, nodeDtypes(ctx), f),
    flops: (_ctx, outs) => (opts.flopsPerElem ?? 1) * numel(outs[0].shape),
    ...(opts.vjp ? { vjp: opts.vjp } : {}),
  });
}
/** intrinsic call */
const call = (fn: Intrinsic) => (x: Expr) => E.call(fn, x);
/** a float attribute as a constant of x's type */
const attrC = (x: Expr, c: ElemCtx, a: string) => cOf(x, c.attrs.float(a));
const isUnsignedT = (t: ScalarType) => t === 'u8' || t === 'u16' || t === 'u32' || t === 'u64' || t === 'bool';

// ---- unary math ----------------------------------------------------------------------------------
unary('Abs', 'absolute value |x|', NUMERIC, (x) => (isUnsignedT(x.t) ? x : E.abs(x)), { vjp: V.abs });
unary('Neg', 'negation -x', SIGNED, E.neg, { vjp: V.negate });
unary('Reciprocal', '1 / x', FLOATS, (x) => E.div(cOf(x, 1), x), { vjp: V.reciprocal });
unary('Floor', 'floor(x)', FLOATS, call('floor'));
unary('Ceil', 'ceil(x)', FLOATS, call('ceil'));
unary('Round', 'round to nearest, halves to even', FLOATS, call('round_even'), { since: 11 });
unary('Sqrt', 'square root', FLOATS, call('sqrt'), { vjp: V.sqrt });
unary('Exp', 'exponential e^x', FLOATS, call('exp'), { vjp: V.exp });
unary('Log', 'natural logarithm', FLOATS, call('log'), { vjp: V.log });
unary('Sin', 'sine', FLOATS, call('sin'), { since: 7, vjp: V.sin });
unary('Cos', 'cosine', FLOATS, call('cos'), { since: 7, vjp: V.cos });
unary('Tan', 'tangent', FLOATS, call('tan'), { since: 7, vjp: VM.tan });
unary('Asin', 'arcsine', FLOATS, call('asin'), { since: 7, vjp: VM.asin });
unary('Acos', 'arccosine', FLOATS, call('acos'), { since: 7, vjp: VM.acos });
unary('Atan', 'arctangent', FLOATS, call('atan'), { since: 7, vjp: VM.atan });
unary('Sinh', 'hyperbolic sine', FLOATS, call('sinh'), { since: 9, vjp: VM.sinh });
unary('Cosh', 'hyperbolic cosine', FLOATS, call('cosh'), { since: 9, vjp: VM.cosh });
unary('Asinh', 'inverse hyperbolic sine', FLOATS, call('asinh'), { since: 9, vjp: VM.asinh });
unary('Acosh', 'inverse hyperbolic cosine', FLOATS, call('acosh'), { since: 9, vjp: VM.acosh });
unary('Atanh', 'inverse hyperbolic tangent', FLOATS, call('atanh'), { since: 9, vjp: VM.atanh });
unary('Erf', 'Gauss error function', FLOATS, call('erf'), { since: 9, flopsPerElem: 8, vjp: V.erf });
// not the `sign` intrinsic: written out, NaN stays NaN on every target
unary('Sign', 'sign of x: -1, 0 or 1 (NaN stays NaN)', NUMERIC, (x) => E.select(E.gt(x, cOf(x, 0)), cOf(x, 1),
  isUnsignedT(x.t) ? cOf(x, 0) : E.select(E.lt(x, cOf(x, 0)), cOf(x, -1), E.select(E.eq(x, cOf(x, 0)), cOf(x, 0), x))), { since: 9 });
unary('IsNaN', 'x is NaN', FLOATS, call('isnan'), { since: 9, out: 'bool' });
unary('IsInf', 'x is +inf (detect_positive) or -inf (detect_negative)', FLOATS, (x, c) => {
  const pos = c.attrs.int('detect_positive') !== 0, neg = c.attrs.int('detect_negative') !== 0;
  const p = E.eq(x, cOf(x, Infinity)), n = E.eq(x, cOf(x, -Infinity));
  return pos && neg ? E.or(p, n) : pos ? p : neg ? n : E.c(0, 'bool');
}, {
  since: 10, out: 'bool',
  attrs: { detect_positive: { type: 'int', default: 1 }, detect_negative: { type: 'int', default: 1 } },
});
unary('Not', 'logical not', BOOL, E.not);
// i64/u64 exact in the reference (lib/scalar-expr.ts) and in C
unary('BitwiseNot', 'bitwise complement ~x', INTS, E.not, { since: 18 });

// ---- activations ---------------------------------------------------------------------------------
const SELU_ALPHA = 1.67326319217681884765625;
const SELU_GAMMA = 1.05070102214813232421875;
/** ln(1 + e^x) = x > 0 ? x + log1p(e^-x) : log1p(e^x) (no overflow, no cancellation) */
const softplus = (x: Expr) => E.select(E.gt(x, cOf(x, 0)), E.add(x, log1pE(E.call('exp', E.neg(x)))), log1pE(E.call('exp', x)));
const zero = (x: Expr) => cOf(x, 0);

unary('Relu', 'max(x, 0)', SIGNED, (x) => E.max(x, zero(x)), { vjp: V.relu });
unary('LeakyRelu', 'x >= 0 ? x : alpha * x', FLOATS, (x, c) => E.select(E.ge(x, zero(x)), x, E.mul(attrC(x, c, 'alpha'), x)),
  { attrs: { alpha: { type: 'float', default: 0.01 } }, flopsPerElem: 2, vjp: V.leakyRelu });
unary('Elu', 'x > 0 ? x : alpha * (e^x - 1)', FLOATS, (x, c) => E.select(E.gt(x, zero(x)), x, E.mul(attrC(x, c, 'alpha'), expm1E(x))),
  { attrs: { alpha: { type: 'float', default: 1.0 } }, flopsPerElem: 3, vjp: VA.elu });
unary('Selu', 'gamma * (x > 0 ? x : alpha * (e^x - 1))', FLOATS,
  (x, c) => E.mul(attrC(x, c, 'gamma'), E.select(E.gt(x, zero(x)), x, E.mul(attrC(x, c, 'alpha'), expm1E(x)))),
  { attrs: { alpha: { type: 'float', default: SELU_ALPHA }, gamma: { type: 'float', default: SELU_GAMMA } }, flopsPerElem: 4, vjp: VA.selu });
unary('Celu', 'max(0, x) + min(0, alpha * (e^(x/alpha) - 1))', FLOATS, (x, c) => {
  const a = attrC(x, c, 'alpha');
  return E.add(E.max(zero(x), x), E.min(zero(x), E.mul(a, expm1E(E.div(x, a)))));
}, {
  since: 12, attrs: { alpha: { type: 'float', default: 1.0 } }, flopsPerElem: 5, vjp: VA.celu,
  check: (ctx) => { if (ctx.attrs.float('alpha') === 0) throw diag.verify('Celu', 'alpha must be non-zero', nodeLocation(ctx.node)); },
});
unary('ThresholdedRelu', 'x > alpha ? x : 0', FLOATS, (x, c) => E.select(E.gt(x, attrC(x, c, 'alpha')), x, zero(x)),
  { since: 10, attrs: { alpha: { type: 'float', default: 1.0 } }, vjp: VA.thresholdedRelu });
unary('Sigmoid', '1 / (1 + e^-x)', FLOATS, call('sigmoid'), { flopsPerElem: 4, vjp: V.sigmoid });
unary('HardSigmoid', 'max(0, min(1, alpha * x + beta))', FLOATS,
  (x, c) => E.max(zero(x), E.min(cOf(x, 1), E.add(E.mul(attrC(x, c, 'alpha'), x), attrC(x, c, 'beta')))),
  { attrs: { alpha: { type: 'float', default: 0.2 }, beta: { type: 'float', default: 0.5 } }, flopsPerElem: 4, vjp: VA.hardSigmoid });
unary('HardSwish', 'x * max(0, min(1, x / 6 + 0.5))', FLOATS,
  (x) => E.mul(x, E.max(zero(x), E.min(cOf(x, 1), E.add(E.div(x, cOf(x, 6)), cOf(x, 0.5))))), { since: 14, flopsPerElem: 5, vjp: VA.hardSwish });
unary('Softplus', 'ln(1 + e^x)', FLOATS, softplus, { flopsPerElem: 3, vjp: V.softplus });
unary('Softsign', 'x / (1 + |x|)', FLOATS, (x) => E.div(x, E.add(cOf(x, 1), E.abs(x))), { flopsPerElem: 3, vjp: VA.softsign });
unary('Tanh', 'hyperbolic tangent', FLOATS, call('tanh'), { flopsPerElem: 4, vjp: V.tanh });
unary('Shrink', 'x < -lambd ? x + bias : x > lambd ? x - bias : 0', NUMERIC, (x, c) => {
  // compared in double (lambd is a float attribute); bias is integral for integer x (checked)
  const l = c.attrs.float('lambd'), b = c.attrs.float('bias');
  const xd = E.cast(x, 'f64');
  return E.select(E.lt(xd, E.c(-l, 'f64')), E.add(x, cOf(x, b)),
    E.select(E.gt(xd, E.c(l, 'f64')), E.sub(x, cOf(x, b)), zero(x)));
}, {
  since: 9, attrs: { lambd: { type: 'float', default: 0.5 }, bias: { type: 'float', default: 0 } }, flopsPerElem: 2,
  check: (ctx) => {
    const t = ctx.type(0);
    if (isInt(t.dtype) && !Number.isInteger(ctx.attrs.float('bias'))) {
      throw diag.unsupportedAttr({ op: 'Shrink' }, 'bias', `${ctx.attrs.float('bias')} (non-integer bias on ${t.dtype})`, nodeLocation(ctx.node));
    }
  },
});
unary('Mish', 'x * tanh(softplus(x))', FLOATS, (x) => E.mul(x, E.call('tanh', softplus(x))), { since: 18, flopsPerElem: 8, vjp: VA.mish });
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
unary('Gelu', '0.5 x (1 + erf(x / sqrt 2)); approximate=tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))', FLOATS, (x, c) => {
  const approx = c.attrs.str('approximate');
  const half = E.mul(cOf(x, 0.5), x);
  if (approx === 'tanh') {
    const inner = E.mul(cOf(x, SQRT_2_OVER_PI), E.add(x, E.mul(E.mul(E.mul(cOf(x, 0.044715), x), x), x)));
    return E.mul(half, E.add(cOf(x, 1), E.call('tanh', inner)));
  }
  if (approx === 'none') return E.mul(half, E.add(cOf(x, 1), E.call('erf', E.div(x, cOf(x, Math.SQRT2)))));
  throw diag.unsupportedAttr({ op: 'Gelu' }, 'approximate', approx);
}, {
  since: 20, attrs: { approximate: { type: 'string', default: 'none' } }, flopsPerElem: 8, vjp: V.gelu,
  check: (ctx) => {
    const a = ctx.attrs.str('approximate');
    if (a !== 'none' && a !== 'tanh') throw diag.unsupportedAttr({ op: 'Gelu' }, 'approximate', a, nodeLocation(ctx.node));
  },
});

const prelu: ElemExpr = ([a, b]) => E.select(E.lt(a!, cOf(a!, 0)), E.mul(a!, b!), a!);
/**
 * Set on import from opset < 7. PRelu-1/6 predate numpy broadcasting: a slope of one value is shared,
 * a 1-D slope of X.shape[1] values applies per channel (axis 1: Caffe2's and PyTorch's PReLU), a slope
 * of X's own shape elementwise (the forms ONNX's 7 -> 6 converter accepts); nothing else.
 */
const PRELU_LEGACY = '__prelu_per_channel_slope';

/**
 * The shape the slope broadcasts as (numpy rules, unidirectionally to X): the legacy forms made
 * explicit. Undefined while symbolic dims leave the legacy form undecided (static shapes decide it).
 */
function slopeShape(node: Node, x: readonly Dim[], s: readonly Dim[]): Dim[] | undefined {
  if (!node.attrs[PRELU_LEGACY]) return s.slice();
  const same = s.length === x.length && s.every((d, i) => d === x[i]);
  if (same || s.every((d) => d === 1)) return s.slice();
  if (s.length === 1 && x.length >= 2 && s[0] === x[1]) return [s[0], ...new Array<number>(x.length - 2).fill(1)];
  if ([...s, ...x].some((d) => typeof d === 'string')) return undefined;
  throw diag.shapeMismatch('PRelu', `opset < 7 takes a slope of one value, of X's channel count (X.shape[1]) or of X's shape; got slope [${s.join(', ')}] for X [${x.join(', ')}]`, nodeLocation(node));
}

function checkSlope(node: Node, x: readonly Dim[], s: readonly Dim[]): void {
  const eff = slopeShape(node, x, s);
  if (!eff) return;
  let out: Shape;
  try { out = broadcastShapes([x.slice(), eff]); } catch (e) { if (!(e instanceof BroadcastError)) throw e; out = undefined; }
  if (!out || out.length !== x.length || out.some((d, i) => typeof d === 'number' && typeof x[i] === 'number' && d !== x[i])) {
    throw diag.shapeMismatch('PRelu', `slope [${s.join(', ')}] is not broadcastable to X [${x.join(', ')}]`, nodeLocation(node));
  }
}

ewOp({
  name: 'PRelu', category: 'elementwise', vjp: VA.prelu, summary: 'x < 0 ? slope * x : x, slope broadcast to x (unidirectional; opset < 7: shared or per channel)',
  types: { T: [...FLOATS, 'int32', 'int64', 'uint32', 'uint64'] },
  inputs: [{ name: 'X', type: 'T' }, { name: 'slope', type: 'T' }],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: {},
  onnx: {
    since: 1,
    fromOnnx: (v) => { dropConsumed(v); if (v.opset < 7) v.attrs[PRELU_LEGACY] = { type: 'int', value: 1 }; },
    toOnnx: (v) => { delete v.attrs[PRELU_LEGACY]; },
  },
  infer: (ctx) => {
    checkType(ctx, 0, [...FLOATS, 'int32', 'int64', 'uint32', 'uint64']);
    sameDtypes(ctx);
    const x = ctx.type(0), s = ctx.type(1);
    if (x.shape && s.shape) checkSlope(ctx.node, x.shape, s.shape);
    return [{ dtype: x.dtype, shape: x.shape?.slice() }];
  },
  eval: (ctx) => {
    const x = ctx.input(0), s = ctx.input(1);
    if (x.dtype !== s.dtype) throw diag.typeMismatch('PRelu input slope', x.dtype, s.dtype);
    checkSlope(ctx.node, x.shape, s.shape);
    return [evalElem('PRelu', ctx, [x, s.reshape(slopeShape(ctx.node, x.shape, s.shape)! as number[])], x.dtype, prelu)];
  },
  lower: (ctx) => {
    const [x, s] = ctx.inputs;
    const shape = slopeShape(ctx.node, x!.shape, s!.shape)! as number[];
    if (shape.length === s!.shape.length) return lowerElem(ctx, nodeDtypes(ctx), prelu);
    // a per-channel slope [C] read as [C, 1, ...]: the same elements in the same order
    const view: TensorRef = { ...s!, shape, at: (...idx) => s!.flat(flatIndex(idx, shape)) };
    lowerElem({ ...ctx, inputs: [x, view] }, nodeDtypes(ctx), prelu);
  },
  flops: (_ctx, outs) => 2 * numel(outs[0].shape),
});

// ---- binary --------------------------------------------------------------------------------------

interface BinaryOpts {
  /** operands may be swapped (CSE sorts them) */
  commutative?: boolean;
  since?: number;
  /** opset < 7 form with broadcast/axis attributes */
  legacy?: boolean;
  /** allowed dtypes of B when it may differ from A (Pow) */
  bTypes?: readonly DType[];
  /** fixed output dtype (comparisons) */
  out?: DType;
  attrs?: Attrs;
  check?: (ctx: InferCtx) => void;
  /** reverse-mode derivative (ir-spec/vjp) */
  vjp?: OpDef['vjp'];
  /**
   * Reference kernel for the dtype combinations the expression cannot state exactly (strings;
   * integer Pow); undefined = use the expression. Each use says why.
   */
  kernel?: (ctx: EvalCtx, a: DType, b: DType) => Kernel | undefined;
  /** compute definition for what `kernel` covers; undefined = lower the expression */
  lower?: (ctx: LowerCtx) => boolean;
}

/**
 * A broadcasting binary op defined by one loop-IR expression per element: `expr(a, b, c)` gives the
 * result from the elements of A and B (lib/elementwise.ts, "single-source").
 */
function binary(name: string, summary: string, types: readonly DType[],
  expr: (a: Expr, b: Expr, c: ElemCtx) => Expr, opts: BinaryOpts = {}): OpDef {
  const mixed = opts.bTypes !== undefined;
  const f: ElemExpr = (xs, c) => expr(xs[0]!, xs[1]!, c);
  return ewOp({
    name, category: 'elementwise', summary,
    types: { T: types, ...(mixed ? { T1: opts.bTypes! } : {}), ...(opts.out ? { T2: [opts.out] } : {}) },
    inputs: [{ name: 'A', type: 'T' }, { name: 'B', type: mixed ? 'T1' : 'T' }],
    outputs: [{ name: 'C', type: opts.out ? 'T2' : 'T' }],
    attrs: opts.attrs ?? {},
    commutative: opts.commutative,
    ...(opts.vjp ? { vjp: opts.vjp } : {}),
    onnx: { since: opts.since ?? 7, fromOnnx: opts.legacy ? legacyBroadcast : dropConsumed },
    infer: (ctx) => {
      checkType(ctx, 0, types);
      if (mixed) checkType(ctx, 1, opts.bTypes!);
      else sameDtypes(ctx);
      opts.check?.(ctx);
      return broadcastInfer(ctx, opts.out);
    },
    eval: (ctx) => {
      const a = ctx.input(0), b = ctx.input(1);
      if (!types.includes(a.dtype)) throw diag.unsupportedDtype(`${name} input A`, a.dtype);
      if (!mixed && a.dtype !== b.dtype) throw diag.typeMismatch(`${name} input B`, a.dtype, b.dtype);
      if (mixed && !opts.bTypes!.includes(b.dtype)) throw diag.unsupportedDtype(`${name} input B`, b.dtype);
      const kern = opts.kernel?.(ctx, a.dtype, b.dtype);
      if (kern) return [mapN(name, [a, b], opts.out ?? a.dtype, kern)];
      return [evalElem(name, ctx, [a, b], opts.out ?? a.dtype, f)];
    },
    lower: (ctx) => { if (!opts.lower?.(ctx)) lowerElem(ctx, nodeDtypes(ctx), f); },
    flops: (_ctx, outs) => numel(outs[0].shape),
  });
}

binary('Add', 'a + b with numpy broadcasting', NUMERIC, E.add, { since: 1, legacy: true, commutative: true, vjp: V.add });
binary('Sub', 'a - b with numpy broadcasting', NUMERIC, E.sub, { since: 1, legacy: true, vjp: V.subtract });
binary('Mul', 'a * b with numpy broadcasting (integers wrap)', NUMERIC, E.mul, { since: 1, legacy: true, commutative: true, vjp: V.multiply });
/**
 * Integer divisors are checked on every target (check_nonzero): a zero is a runtime error, as in ONNX
 * Runtime (CPU, 1.25+: "Integer division by zero" / "Integer modulo by zero"). MIN / -1 wraps to MIN
 * and MIN % -1 is 0 (ONNX leaves both undefined; x86 traps, WGSL defines these values).
 */
const intDivisor = (b: Expr) => (isFloatT(b.t) ? b : E.call('check_nonzero', b));
binary('Div', 'a / b; integers truncate toward zero, a zero divisor is a runtime error, MIN / -1 = MIN (wraps)', NUMERIC,
  (a, b) => E.div(a, intDivisor(b)), { since: 1, legacy: true, vjp: V.divide });

binary('Mod', 'remainder; fmod=0: sign of the divisor (integers only), fmod=1: sign of the dividend (C fmod); integers: a zero divisor is a runtime error, MIN % -1 = 0', NUMERIC, (a, b, c) => {
  const fmod = c.attrs.int('fmod') !== 0;
  if (isFloatT(a.t)) {
    if (!fmod) throw diag.verify('Mod', `fmod must be 1 for floating-point inputs (${c.dtypes[0]})`);
    return E.mod(a, b);
  }
  const r = E.mod(a, intDivisor(b));
  if (fmod || isUnsignedT(a.t)) return r;
  // r != 0 && (r < 0) != (b < 0) ? r + b : r
  return E.select(E.and(ne(r, cOf(r, 0)), ne(E.lt(r, cOf(r, 0)), E.lt(b, cOf(b, 0)))), E.add(r, b), r);
}, {
  since: 10, attrs: { fmod: { type: 'int', default: 0 } },
  check: (ctx) => {
    if (isFloat(ctx.type(0).dtype) && ctx.attrs.int('fmod') === 0) {
      throw diag.verify('Mod', `fmod must be 1 for floating-point inputs (${ctx.type(0).dtype})`, nodeLocation(ctx.node));
    }
  },
});

/** Integer power by squaring with C wrap-around; `d` the base dtype. */
function intPow(base: number, e: number, d: DType): number {
  if (e < 0) {
    if (base === 1) return 1;
    if (base === -1) return e % 2 === 0 ? 1 : -1;
    throw diag.unsupportedFeature(`Pow: integer ${base} to the negative power ${e}`);
  }
  if (is64(d)) {
    // square-and-multiply modulo 2^64 (C wrap), then the store rejects |result| > 2^53
    let r = 1n, b = BigInt.asUintN(64, BigInt(base)), n = BigInt(e);
    while (n > 0n) {
      if (n & 1n) r = BigInt.asUintN(64, r * b);
      b = BigInt.asUintN(64, b * b);
      n >>= 1n;
    }
    return Number(d === 'int64' ? BigInt.asIntN(64, r) : r);
  }
  let r = 1, b = base, n = e;
  while (n > 0) {
    if (n & 1) r = Math.imul(r, b);
    b = Math.imul(b, b);
    n = Math.floor(n / 2);
  }
  return r; // 32-bit wrapped; the store wraps narrower types further
}

/**
 * Compute definition of integer ^ integer (the loop of intPow, which no expression states): per
 * element, square-and-multiply over the exponent's bits. Negative exponents: 1 and -1 as in intPow;
 * other bases give 0 (the truncated real result; the reference reports them unsupported).
 */
function lowerIntPow(ctx: LowerCtx): boolean {
  const A = ctx.inputs[0]!, B = ctx.inputs[1]!, out = ctx.outputs[0]!;
  if (isFloatT(A.dtype) || isFloatT(B.dtype)) return false;
  const t = out.dtype;
  const vars = out.shape.map(() => ctx.fresh('i'));
  const idx = vars.map((v) => E.v(v));
  const r = ctx.temp('r', t, [1]), b = ctx.temp('b', t, [1]), e = ctx.temp('e', 'i64', [1]);
  const k = ctx.fresh('k');
  const z = E.i(0), rv = r.flat(z), bv = b.flat(z), ev = e.flat(z);
  const bit = ne(E.and(E.bin('shr', ev, E.cast(E.v(k), 'i64')), E.c(1, 'i64')), E.c(0, 'i64'));
  const neg = E.select(E.eq(bv, E.c(1, t)), E.c(1, t),
    E.select(E.eq(bv, E.c(-1, t)), E.select(E.eq(E.mod(ev, E.c(2, 'i64')), E.c(0, 'i64')), E.c(1, t), E.c(-1, t)), E.c(0, t)));
  let body: Stmt = S.seq(
    S.store(b.buf.name, z, bcastAt(A, idx)),
    S.store(e.buf.name, z, E.cast(bcastAt(B, idx), 'i64')),
    S.store(r.buf.name, z, E.c(1, t)),
    S.if(E.lt(ev, E.c(0, 'i64')),
      S.store(r.buf.name, z, neg),
      S.for(k, 63, S.seq(
        S.if(bit, S.store(r.buf.name, z, E.mul(rv, bv))),
        S.store(b.buf.name, z, E.mul(bv, bv)),
      ))),
    S.store(out.buf.name, out.shape.length ? flatIndex(idx, out.shape) : z, rv),
  );
  for (let d = vars.length - 1; d >= 0; d--) body = S.for(vars[d]!, out.shape[d]!, body);
  ctx.extern([0], body);
  return true;
}

binary('Pow', 'a ^ b (result has the base type; exponent may have another numeric type)',
  [...FLOATS, 'int32', 'int64'], (a, b) => {
    // float base: pow in its type; integer base, float exponent: computed in double, truncated
    // toward zero (C cast; the reference reports results out of range)
    if (isFloatT(a.t)) return E.bin('pow', a, E.cast(b, a.t));
    return E.cast(E.bin('pow', E.cast(a, 'f64'), E.cast(b, 'f64')), a.t);
  }, {
    since: 1, legacy: true, bTypes: NUMERIC, vjp: V.pow,
    // integer ^ integer is square-and-multiply with wrap-around: a loop, not an expression
    kernel: (_ctx, da, db) => (isInt(da) && isInt(db) ? (a: number, b: number) => intPow(a, b, da) : undefined),
    lower: lowerIntPow,
  });

binary('BitShift', 'a << b or a >> b (direction LEFT|RIGHT) on unsigned integers', UINTS, (a, b, c) => {
  const dir = c.attrs.str('direction');
  if (dir !== 'LEFT' && dir !== 'RIGHT') throw diag.unsupportedAttr({ op: 'BitShift' }, 'direction', dir);
  const bits = a.t === 'u8' ? 8 : a.t === 'u16' ? 16 : a.t === 'u32' ? 32 : 64;
  // shifting by >= the width gives 0; the shift count is clamped so no lane shifts out of range (UB in C)
  const s = E.bin(dir === 'LEFT' ? 'shl' : 'shr', a, E.min(b, cOf(b, bits - 1)));
  return E.select(E.ge(b, cOf(b, bits)), cOf(a, 0), s);
}, {
  since: 11, attrs: { direction: { type: 'string', required: true } },
  check: (ctx) => {
    const d = ctx.attrs.str('direction');
    if (d !== 'LEFT' && d !== 'RIGHT') throw diag.verify('BitShift', `direction must be LEFT or RIGHT, got '${d}'`, nodeLocation(ctx.node));
  },
});

/** Bitwise binary op on any integer type (64-bit exact: lib/scalar-expr.ts uses BigInt, C is native). */
function bitwise(name: string, sym: string, op: 'and' | 'or' | 'xor'): void {
  binary(name, `bitwise a ${sym} b`, INTS, (a, b) => E.bin(op, a, b), { since: 18, commutative: true });
}
bitwise('BitwiseAnd', '&', 'and');
bitwise('BitwiseOr', '|', 'or');
bitwise('BitwiseXor', '^', 'xor');

// comparisons (bool output)
const cmpOp = (op: BinOp) => (a: Expr, b: Expr) => E.bin(op, a, b);
binary('Equal', 'a == b (bool)', ALL, cmpOp('eq'), {
  since: 1, legacy: true, commutative: true, out: 'bool',
  // strings have no expression form
  kernel: (_ctx, d) => (d === 'string' ? (a: string, b: string) => (a === b ? 1 : 0) : undefined),
});
binary('Less', 'a < b (bool)', NUMERIC, cmpOp('lt'), { since: 1, legacy: true, out: 'bool' });
binary('Greater', 'a > b (bool)', NUMERIC, cmpOp('gt'), { since: 1, legacy: true, out: 'bool' });
binary('LessOrEqual', 'a <= b (bool)', NUMERIC, cmpOp('le'), { since: 12, out: 'bool' });
binary('GreaterOrEqual', 'a >= b (bool)', NUMERIC, cmpOp('ge'), { since: 12, out: 'bool' });

// logic
binary('And', 'logical and', BOOL, cmpOp('and'), { since: 1, legacy: true, commutative: true });
binary('Or', 'logical or', BOOL, cmpOp('or'), { since: 1, legacy: true, commutative: true });
binary('Xor', 'logical xor', BOOL, cmpOp('xor'), { since: 1, legacy: true, commutative: true });

// ---- variadic ------------------------------------------------------------------------------------

/** 1..N inputs with numpy broadcasting; `fold` combines the elements of one output position. */
function variadic(name: string, summary: string, types: readonly DType[], fold: (v: Expr[]) => Expr, vjp?: OpDef['vjp']): OpDef {
  const f: ElemExpr = (xs) => fold(xs as Expr[]);
  return ewOp({
    name, category: 'elementwise', summary,
    ...(vjp ? { vjp } : {}),
    types: { T: types },
    inputs: [{ name: 'data_0', type: 'T', variadic: true }],
    outputs: [{ name: 'result', type: 'T' }],
    attrs: {},
    commutative: true,
    onnx: { since: 1, fromOnnx: dropConsumed },
    infer: (ctx) => {
      if (ctx.inputTypes.length === 0) throw diag.verify(name, 'expects at least 1 input', nodeLocation(ctx.node));
      checkType(ctx, 0, types);
      sameDtypes(ctx);
      return broadcastInfer(ctx);
    },
    eval: (ctx) => {
      const xs = ctx.inputs.map((_, i) => ctx.input(i));
      if (xs.length === 0) throw diag.verify(name, 'expects at least 1 input');
      const d = xs[0].dtype;
      if (!types.includes(d)) throw diag.unsupportedDtype(`${name} input 0`, d);
      xs.forEach((x, i) => { if (x.dtype !== d) throw diag.typeMismatch(`${name} input ${i}`, d, x.dtype); });
      return [evalElem(name, ctx, xs, d, f)];
    },
    lower: (ctx) => {
      if (ctx.inputs.some((t) => !t)) ctx.unsupported('omitted input');
      lowerElem(ctx, nodeDtypes(ctx), f);
    },
    flops: (ctx, outs) => Math.max(0, ctx.inputTypes.length - 1) * numel(outs[0].shape),
  });
}
const foldWith = (op: (a: Expr, b: Expr) => Expr) => (v: Expr[]) => v.reduce((a, b) => op(a, b));
variadic('Sum', 'elementwise sum of all inputs', NUMERIC, foldWith(E.add), V.sum);
variadic('Mean', 'elementwise mean of all inputs', FLOATS, (v) => E.div(foldWith(E.add)(v), cOf(v[0]!, v.length)), V.mean);
// float min/max propagate NaN (loop IR semantics)
variadic('Max', 'elementwise maximum of all inputs (NaN propagates)', NUMERIC, foldWith(E.max), VA.extremum);
variadic('Min', 'elementwise minimum of all inputs (NaN propagates)', NUMERIC, foldWith(E.min), VA.extremum);

// ---- Where / Clip ----------------------------------------------------------------------------------

const where: ElemExpr = ([c, x, y]) => E.select(c!, x!, y!);
ewOp({
  name: 'Where', category: 'elementwise', summary: 'condition ? X : Y with numpy broadcasting of all three',
  vjp: V.where,
  types: { B: ['bool'], T: ALL },
  inputs: [{ name: 'condition', type: 'B' }, { name: 'X', type: 'T' }, { name: 'Y', type: 'T' }],
  outputs: [{ name: 'output', type: 'T' }],
  attrs: {},
  onnx: { since: 9 },
  infer: (ctx) => {
    const c = ctx.type(0);
    if (c.dtype !== 'bool') throw diag.typeMismatch('Where condition', 'bool', c.dtype, nodeLocation(ctx.node));
    sameDtypes(ctx, [1, 2]);
    return broadcastInfer(ctx, ctx.type(1).dtype);
  },
  eval: (ctx) => {
    const c = ctx.input(0), x = ctx.input(1), y = ctx.input(2);
    if (c.dtype !== 'bool') throw diag.typeMismatch('Where condition', 'bool', c.dtype);
    if (x.dtype !== y.dtype) throw diag.typeMismatch('Where input Y', x.dtype, y.dtype);
    // strings have no expression form
    if (x.dtype === 'string') return [mapN('Where', [c, x, y], x.dtype, (cv: number, a: string, b: string) => (cv ? a : b))];
    return [evalElem('Where', ctx, [c, x, y], x.dtype, where)];
  },
  lower: (ctx) => lowerElem(ctx, nodeDtypes(ctx), where),
});

/** Opset < 11 Clip: min/max attributes become scalar constant inputs of X's type. */
function clipFromOnnx(v: OnnxImportView): void {
  dropConsumed(v);
  if (v.opset >= 11) return;
  const x = v.inputs[0];
  const d = x?.dtype ?? 'float32';
  const lo = attrValue(v.attrs.min) as number | undefined, hi = attrValue(v.attrs.max) as number | undefined;
  delete v.attrs.min;
  delete v.attrs.max;
  v.inputs = [x ?? null,
    lo === undefined ? null : v.constInput(Tensor.scalarOf(d, lo)),
    hi === undefined ? null : v.constInput(Tensor.scalarOf(d, hi))];
}

/** min(max(x, lo), hi), each bound only when given; float min/max keep NaN */
const clip: ElemExpr = ([x, lo, hi]) => {
  let r = x!;
  if (lo) r = E.max(r, lo);
  if (hi) r = E.min(r, hi);
  return r;
};
ewOp({
  name: 'Clip', category: 'elementwise', vjp: VA.clip, summary: 'min(max(x, min), max); omitted bounds are unbounded',
  types: { T: NUMERIC },
  inputs: [{ name: 'input', type: 'T' }, { name: 'min', type: 'T', optional: true }, { name: 'max', type: 'T', optional: true }],
  outputs: [{ name: 'output', type: 'T' }],
  attrs: {},
  onnx: { since: 1, fromOnnx: clipFromOnnx },
  infer: (ctx) => {
    checkType(ctx, 0, NUMERIC);
    sameDtypes(ctx);
    for (const i of [1, 2]) {
      const t = ctx.inputTypes[i];
      if (t?.shape && t.shape.some((d) => typeof d === 'number' && d !== 1)) {
        throw diag.verify('Clip', `${i === 1 ? 'min' : 'max'} must be a scalar, got [${t.shape.join(', ')}]`, nodeLocation(ctx.node));
      }
    }
    return sameAsInput(ctx);
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    if (!NUMERIC.includes(x.dtype)) throw diag.unsupportedDtype('Clip input', x.dtype);
    const bound = (i: number) => {
      const t = ctx.optInput(i);
      if (!t) return undefined;
      if (t.dtype !== x.dtype) throw diag.typeMismatch(`Clip input ${i}`, x.dtype, t.dtype);
      if (t.size !== 1) throw diag.verify('Clip', `${i === 1 ? 'min' : 'max'} must be a scalar, got [${t.shape.join(', ')}]`);
      return Tensor.scalarOf(t.dtype, t.num[0]!);
    };
    return [evalElem('Clip', ctx, [x, bound(1), bound(2)], x.dtype, clip, x.shape)];
  },
  lower: (ctx) => {
    for (const i of [1, 2]) if (ctx.inputs[i] && numel(ctx.inputs[i]!.shape) !== 1) ctx.unsupported('non-scalar bound');
    const x = ctx.inputs[0]!, z = E.i(0);
    ctx.compute(0, (idx) => clip([x.at(...idx), ctx.inputs[1]?.flat(z), ctx.inputs[2]?.flat(z)], lowerElemCtx(ctx)));
  },
  flops: (_ctx, outs) => 2 * numel(outs[0].shape),
});

// ---- Cast / CastLike -------------------------------------------------------------------------------

const ONNX_TYPE_NAMES: Record<string, number> = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, BFLOAT16: 16,
};

function castTarget(code: number, op: string, loc?: ReturnType<typeof nodeLocation>): DType {
  const d = dtypeFromOnnx(code);
  if (!d) throw diag.unsupportedDtype(`${op} 'to'`, UNSUPPORTED_ONNX_DTYPES[code] ?? `code ${code}`, loc);
  return d;
}

/**
 * Element cast from or to strings (no expression form): numpy str() of numbers, parsing of
 * strings (malformed text is a runtime error; out-of-range integers are reported).
 */
function stringCastKernel(from: DType, to: DType, op: string): (v: any) => number | string {
  if (to === 'string') {
    if (isFloat(from)) return (v: number) => formatFloat(v, from);
    if (isInt(from)) return (v: number) => String(v);
    throw diag.unsupportedFeature(`${op} from ${from} to string`);
  }
  if (to === 'bool') throw diag.unsupportedFeature(`${op} from string to bool`);
  return (s: string) => parseNumber(s, to, op); // stored (and rounded to float16/bfloat16) by mapN
}

/** element cast to dtype `to` (as its scalar type in the reference / on the target) */
const castTo = (to: DType): ElemExpr => ([x], c) => E.cast(x!, c.scalar(to));

function castTensor(ctx: EvalCtx, x: Tensor, to: DType, op: string): Tensor {
  if (x.dtype === to) return new Tensor(to, x.shape, Array.isArray(x.data) ? x.data.slice() : x.num.slice());
  // strings have no expression form: numpy-style formatting / parsing
  if (x.dtype === 'string' || to === 'string') return mapN(op, [x], to, stringCastKernel(x.dtype, to, op), x.shape);
  // float -> float casts compute in f64 (identity) and round once on store; float -> int saturates,
  // int -> int wraps (loop-ir cast.ts, the one definition every target renders)
  return evalElem(op, ctx, [x], to, castTo(to), x.shape);
}

function lowerCast(ctx: LowerCtx): void {
  const to = ctx.node.outputs[0]!.dtype;
  ctx.compute(0, (idx) => castTo(to)([ctx.inputs[0]!.at(...idx)], lowerElemCtx(ctx)));
}

/** Opset 1-5 Cast gave `to` as a type name string. */
function castFromOnnx(v: OnnxImportView): void {
  const to = v.attrs.to;
  if (to?.type === 'string') {
    const code = ONNX_TYPE_NAMES[to.value.toUpperCase()];
    if (code === undefined) throw diag.unsupportedAttr({ op: 'Cast', opset: v.opset }, 'to', to.value, v.loc);
    v.attrs.to = { type: 'int', value: code };
  }
}

ewOp({
  name: 'Cast', category: 'elementwise', vjp: V.cast,
  summary: "convert to the element type 'to': float->int saturates (NaN->0, out-of-range and ±Inf clamp to the type's min/max, else truncates toward zero), int->int wraps (two's complement), x->bool is x != 0 (NaN->true), numbers <-> strings numpy-style; the same on every target",
  types: { T1: ALL, T2: ALL },
  inputs: [{ name: 'input', type: 'T1' }],
  outputs: [{ name: 'output', type: 'T2' }],
  attrs: { to: { type: 'int', required: true }, saturate: { type: 'int', default: 1, doc: 'float8 only; ignored' } },
  onnx: { since: 1, fromOnnx: castFromOnnx },
  infer: (ctx) => {
    const to = castTarget(ctx.attrs.int('to'), 'Cast', nodeLocation(ctx.node));
    const t = ctx.type(0);
    if (t.dtype === 'bool' && to === 'string') throw diag.unsupportedFeature('Cast from bool to string', nodeLocation(ctx.node));
    if (t.dtype === 'string' && to === 'bool') throw diag.unsupportedFeature('Cast from string to bool', nodeLocation(ctx.node));
    return [{ dtype: to, shape: t.shape?.slice() }];
  },
  eval: (ctx) => [castTensor(ctx, ctx.input(0), castTarget(ctx.attrs.int('to'), 'Cast'), 'Cast')],
  lower: lowerCast,
});

ewOp({
  name: 'CastLike', category: 'elementwise', summary: "Cast to target_type's element type",
  types: { T1: ALL, T2: ALL },
  inputs: [{ name: 'input', type: 'T1' }, { name: 'target_type', type: 'T2' }],
  outputs: [{ name: 'output', type: 'T2' }],
  attrs: { saturate: { type: 'int', default: 1, doc: 'float8 only; ignored' } },
  onnx: { since: 15 },
  infer: (ctx): OutType[] => {
    const t = ctx.type(0), to = ctx.type(1).dtype;
    if (t.dtype === 'bool' && to === 'string') throw diag.unsupportedFeature('CastLike from bool to string', nodeLocation(ctx.node));
    if (t.dtype === 'string' && to === 'bool') throw diag.unsupportedFeature('CastLike from string to bool', nodeLocation(ctx.node));
    return [{ dtype: to, shape: t.shape?.slice() }];
  },
  eval: (ctx) => [castTensor(ctx, ctx.input(0), ctx.input(1).dtype, 'CastLike')],
  lower: lowerCast,
});
