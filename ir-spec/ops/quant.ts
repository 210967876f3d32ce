/**
 * Linear quantization: QuantizeLinear, DequantizeLinear (per-tensor, per-axis and blocked scales),
 * DynamicQuantizeLinear.
 */
import {
  Tensor, diag, dtypeFromOnnx, nodeLocation, roundBf16, roundF16,
  type DType, type Location, type TensorType,
} from '@aic/core';
import { E, S, type Expr, type ScalarType, type Stmt } from '@aic/loop-ir';
import { defineOp } from '../registry.ts';
import type { AttrReader, InferCtx, LowerCtx } from '../types.ts';
import { scalarOf } from '../lib/lower.ts';
import { compileScalar } from '../lib/scalar-expr.ts';
import { normAxis } from '../lib/util.ts';
import { requireDtype } from '../lib/infer-helpers.ts';
import { qRange, rint } from '../lib/linalg.ts';

const QFLOATS: readonly DType[] = ['float32', 'float16', 'bfloat16'];
const QINTS: readonly DType[] = ['uint8', 'int8', 'uint16', 'int16'];

/** x / s rounded to float16/bfloat16, as numpy arithmetic in x's dtype (float32/int32 x: quantElem). */
function divider(d: DType): (x: number, s: number) => number {
  const round = d === 'float16' ? roundF16 : roundBf16;
  return (x, s) => round(x / s);
}
/**
 * How scale / zero-point elements map onto x: for each x element, the index of its scale.
 * per-tensor (one element), per-axis (1-D of x.shape[axis]), or blocked (same rank as x, the axis
 * dim divided into blocks of block_size). Works on static or symbolic shapes for verification.
 */
interface QLayout { outer: number; len: number; inner: number; block: number; scaleLen: number; mode: 'tensor' | 'axis' | 'block' }

function qLayout(op: string, xShape: readonly number[], sShape: readonly number[], axisAttr: number, blockSize: number,
  where?: Location): QLayout {
  const sSize = sShape.reduce((a, b) => a * b, 1);
  if (blockSize === 0 && sSize === 1 && sShape.length <= 1) {
    return { outer: 1, len: 1, inner: 1, block: 1, scaleLen: 1, mode: 'tensor' };
  }
  const axis = normAxis(axisAttr, xShape.length, op);
  const outer = xShape.slice(0, axis).reduce((a, b) => a * b, 1);
  const len = xShape[axis]!;
  const inner = xShape.slice(axis + 1).reduce((a, b) => a * b, 1);
  if (blockSize === 0) {
    if (sShape.length !== 1 || sShape[0] !== len) {
      throw diag.shapeMismatch(op, `per-axis scale must have shape [${len}] (axis ${axis}), got [${sShape.join(', ')}]`, where);
    }
    return { outer, len, inner, block: 1, scaleLen: len, mode: 'axis' };
  }
  if (blockSize < 0) throw diag.verify(op, `block_size must be >= 0, got ${blockSize}`, where);
  const nb = Math.ceil(len / blockSize);
  if (sShape.length !== xShape.length || sShape.some((d, i) => d !== (i === axis ? nb : xShape[i]))) {
    throw diag.shapeMismatch(op, `blocked scale must have shape [${xShape.map((d, i) => (i === axis ? nb : d)).join(', ')}], got [${sShape.join(', ')}]`, where);
  }
  return { outer, len, inner, block: blockSize, scaleLen: nb, mode: 'block' };
}

/** Calls f(xIndex, scaleIndex) for every element. */
function forEachQ(l: QLayout, n: number, f: (i: number, s: number) => void): void {
  if (l.mode === 'tensor') { for (let i = 0; i < n; i++) f(i, 0); return; }
  let i = 0;
  for (let o = 0; o < l.outer; o++) {
    for (let a = 0; a < l.len; a++) {
      if (l.mode === 'axis') {
        for (let k = 0; k < l.inner; k++) f(i++, a);
      } else {
        const base = (o * l.scaleLen + Math.floor(a / l.block)) * l.inner;
        for (let k = 0; k < l.inner; k++) f(i++, base + k);
      }
    }
  }
}

/** Static verification of scale / zero-point shapes when all shapes are known. */
function inferCheckLayout(ctx: InferCtx, x: TensorType, s: TensorType, zp: TensorType | undefined): void {
  const where = nodeLocation(ctx.node);
  if (zp?.shape && s.shape && (zp.shape.length !== s.shape.length || zp.shape.some((d, i) => typeof d === 'number' && typeof s.shape![i] === 'number' && d !== s.shape![i]))) {
    throw diag.shapeMismatch(ctx.node.op, `zero point [${zp.shape.join(', ')}] and scale [${s.shape.join(', ')}] shapes differ`, where);
  }
  if (x.shape && s.shape && x.shape.every((d) => typeof d === 'number') && s.shape.every((d) => typeof d === 'number')) {
    qLayout(ctx.node.op, x.shape as number[], s.shape as number[], ctx.attrs.int('axis'), ctx.attrs.int('block_size'), where);
  } else if (s.shape && s.shape.length > 1 && ctx.attrs.int('block_size') === 0) {
    throw diag.verify(ctx.node.op, `scale must be a scalar or 1-D, got rank ${s.shape.length}`, where);
  }
}

/**
 * One quantized element (single source of QuantizeLinear's eval and lower):
 * saturate(rint(x / s) + zp). The division is rounded in x's float type (f32, as numpy does) or
 * done in double for int32 x; NaN gives 0.
 */
function quantElem(x: Expr, s: Expr, zp: Expr | undefined, out: ScalarType, lo: number, hi: number): Expr {
  const ct: ScalarType = x.t === 'f32' ? 'f32' : 'f64';
  let q = E.call('round_even', E.div(E.cast(x, ct), E.cast(s, ct)));
  if (zp) q = E.add(q, E.cast(zp, ct));
  const sat = E.select(E.lt(q, E.c(lo, ct)), E.c(lo, ct), E.select(E.gt(q, E.c(hi, ct)), E.c(hi, ct), q));
  return E.cast(E.select(E.call('isnan', q), E.c(0, ct), sat), out);
}

/** One dequantized element: (x - zp) * s, exact difference, product in double rounded once to f32. */
function dequantElem(x: Expr, s: Expr, zp: Expr | undefined): Expr {
  const d = zp ? E.sub(E.cast(x, 'f64'), E.cast(zp, 'f64')) : E.cast(x, 'f64');
  return E.cast(E.mul(d, E.cast(s, 'f64')), 'f32');
}

/** the reference's element type for the quantization expressions (float16/bfloat16 scales are exact in f32) */
const qScalar = (d: DType): ScalarType => (d === 'float16' || d === 'bfloat16' ? 'f32' : scalarOf(d));

/** Compiled (x, scale, zero point) -> y over the layout: the expression applied per element. */
function evalQ(op: string, l: QLayout, n: number, dt: [DType, DType, DType | undefined], y: { [i: number]: number },
  xd: ArrayLike<number>, sd: ArrayLike<number>, zd: ArrayLike<number> | undefined,
  elem: (x: Expr, s: Expr, zp: Expr | undefined) => Expr): void {
  const zv = dt[2] ? E.v('z', qScalar(dt[2])) : undefined;
  const f = compileScalar(['x', 's', 'z'], elem(E.v('x', qScalar(dt[0])), E.v('s', qScalar(dt[1])), zv), { strict: { op } });
  forEachQ(l, n, (i, k) => { y[i] = f(xd[i]!, sd[k]!, zd ? zd[k]! : 0); });
}

/** Compute definition: output 0 = elem(x, scale, zero point) with the scale element of each x element. */
function lowerQ(ctx: LowerCtx, elem: (x: Expr, s: Expr, zp: Expr | undefined) => Expr): void {
  const x = ctx.inputs[0]!, s = ctx.inputs[1]!, zp = ctx.inputs[2];
  const l = qLayout(ctx.node.op, x.shape, s.shape, ctx.attrs.int('axis'), ctx.attrs.int('block_size'));
  if (zp && zp.shape.reduce((a, b) => a * b, 1) !== s.shape.reduce((a, b) => a * b, 1)) ctx.unsupported('zero point and scale shapes differ');
  const axis = l.mode === 'tensor' ? 0 : normAxis(ctx.attrs.int('axis'), x.shape.length, ctx.node.op);
  ctx.compute(0, (idx) => {
    const at = (t: typeof s) => (l.mode === 'tensor' ? t.flat(E.i(0))
      : l.mode === 'axis' ? t.flat(idx[axis]!)
      : t.at(...idx.map((v, d) => (d === axis ? E.div(v, E.i(l.block)) : v))));
    return elem(x.at(...idx), at(s), zp ? at(zp) : undefined);
  });
}

function checkPrecision(attrs: AttrReader, op: string, where?: Location): void {
  if (attrs.has('precision') && attrs.int('precision') !== 0) {
    throw diag.unsupportedAttr({ op }, 'precision', String(attrs.int('precision')), where);
  }
}

/** QuantizeLinear output dtype: the zero point's, else output_dtype, else uint8. */
function quantOutDtype(zp: DType | undefined, attrs: AttrReader, where?: Location): DType {
  const code = attrs.int('output_dtype');
  let od: DType | undefined;
  if (code !== 0) {
    od = dtypeFromOnnx(code);
    if (!od || !QINTS.includes(od)) throw diag.unsupportedAttr({ op: 'QuantizeLinear' }, 'output_dtype', String(code), where);
  }
  if (zp !== undefined) {
    if (od && od !== zp) throw diag.verify('QuantizeLinear', `output_dtype ${od} differs from the zero point's ${zp}`, where);
    return zp;
  }
  return od ?? 'uint8';
}

defineOp({
  name: 'QuantizeLinear', category: 'quant',
  summary: 'y = saturate(rint(x / y_scale) + y_zero_point), round half to even; per-tensor, per-axis or blocked',
  types: { T1: [...QFLOATS, 'int32'], T2: QINTS },
  inputs: [{ name: 'x', type: 'T1' }, { name: 'y_scale', type: 'T1' }, { name: 'y_zero_point', type: 'T2', optional: true }],
  outputs: [{ name: 'y', type: 'T2' }],
  attrs: {
    axis: { type: 'int', default: 1 },
    saturate: { type: 'int', default: 1, doc: 'float8 outputs only (not supported)' },
    block_size: { type: 'int', default: 0 },
    output_dtype: { type: 'int', default: 0 },
    precision: { type: 'int', default: 0 },
  },
  onnx: { since: 10 },
  infer: (ctx) => {
    const where = nodeLocation(ctx.node);
    requireDtype(ctx, 0, [...QFLOATS, 'int32']);
    requireDtype(ctx, 1, QFLOATS);
    const zp = ctx.inputTypes[2];
    if (zp) requireDtype(ctx, 2, QINTS);
    checkPrecision(ctx.attrs, 'QuantizeLinear', where);
    const x = ctx.type(0), s = ctx.type(1);
    inferCheckLayout(ctx, x, s, zp);
    return [{ dtype: quantOutDtype(zp?.dtype, ctx.attrs, where), shape: x.shape?.slice() }];
  },
  eval: (ctx) => {
    const x = ctx.input(0), s = ctx.input(1), zp = ctx.optInput(2);
    checkPrecision(ctx.attrs, 'QuantizeLinear');
    const outDtype = quantOutDtype(zp?.dtype, ctx.attrs);
    const [lo, hi] = qRange(outDtype);
    const l = qLayout('QuantizeLinear', x.shape, s.shape, ctx.attrs.int('axis'), ctx.attrs.int('block_size'));
    if (zp && (zp.size !== s.size)) throw diag.shapeMismatch('QuantizeLinear', 'zero point and scale shapes differ');
    const out = new Tensor(outDtype, x.shape);
    const xd = x.num, sd = s.num, zd = zp?.num, y = out.num;
    if (x.dtype === 'float32' || x.dtype === 'int32') {
      evalQ('QuantizeLinear', l, x.size, [x.dtype, s.dtype, zp?.dtype], y, xd, sd, zd,
        (a, b, c) => quantElem(a, b, c, scalarOf(outDtype), lo, hi));
      return [out];
    }
    // float16/bfloat16 x: the division rounds to that format, which no loop-IR type expresses
    const div = divider(x.dtype);
    forEachQ(l, x.size, (i, k) => {
      const q = rint(div(xd[i]!, sd[k]!)) + (zd ? zd[k]! : 0);
      y[i] = q < lo ? lo : q > hi ? hi : q;
    });
    return [out];
  },
  lower: (ctx) => {
    const outT = ctx.outputs[0]!.dtype;
    const [lo, hi] = qRange(ctx.node.outputs[0]!.dtype);
    lowerQ(ctx, (a, b, c) => quantElem(a, b, c, outT, lo, hi));
  },
});

defineOp({
  name: 'DequantizeLinear', category: 'quant',
  summary: 'y = (x - x_zero_point) * x_scale; per-tensor, per-axis or blocked',
  types: { T1: [...QINTS, 'int32'], T2: QFLOATS },
  inputs: [{ name: 'x', type: 'T1' }, { name: 'x_scale', type: 'T2' }, { name: 'x_zero_point', type: 'T1', optional: true }],
  outputs: [{ name: 'y', type: 'T2' }],
  attrs: {
    axis: { type: 'int', default: 1 },
    block_size: { type: 'int', default: 0 },
    output_dtype: { type: 'int', default: 0 },
  },
  onnx: { since: 10 },
  infer: (ctx) => {
    const where = nodeLocation(ctx.node);
    requireDtype(ctx, 0, [...QINTS, 'int32']);
    requireDtype(ctx, 1, QFLOATS);
    const x = ctx.type(0), s = ctx.type(1), zp = ctx.inputTypes[2];
    if (zp && zp.dtype !== x.dtype) throw diag.typeMismatch('DequantizeLinear x_zero_point', x.dtype, zp.dtype, where);
    const code = ctx.attrs.int('output_dtype');
    if (code !== 0 && dtypeFromOnnx(code) !== s.dtype) {
      throw diag.unsupportedAttr({ op: 'DequantizeLinear' }, 'output_dtype', String(code), where);
    }
    inferCheckLayout(ctx, x, s, zp);
    return [{ dtype: s.dtype, shape: x.shape?.slice() }];
  },
  eval: (ctx) => {
    const x = ctx.input(0), s = ctx.input(1), zp = ctx.optInput(2);
    const l = qLayout('DequantizeLinear', x.shape, s.shape, ctx.attrs.int('axis'), ctx.attrs.int('block_size'));
    if (zp && (zp.size !== s.size)) throw diag.shapeMismatch('DequantizeLinear', 'zero point and scale shapes differ');
    const out = new Tensor(s.dtype, x.shape);
    // (x - zp) is exact; the product is rounded once to float32 (and by the interpreter to
    // float16/bfloat16 when the scale has that type), as float32 arithmetic does.
    evalQ('DequantizeLinear', l, x.size, [x.dtype, s.dtype, zp?.dtype], out.num, x.num, s.num, zp?.num, dequantElem);
    return [out];
  },
  lower: (ctx) => {
    if (ctx.outputs[0]!.dtype !== 'f32') ctx.unsupported(`${ctx.node.outputs[0]!.dtype} output`);
    lowerQ(ctx, dequantElem);
  },
});

// DynamicQuantizeLinear's element expressions (f32 arithmetic, as the ONNX reference's float32 numpy):
/** scale = max == min ? 1 : (max - min) / 255 */
const dqlScale = (mx: Expr, mn: Expr) => E.select(E.eq(mx, mn), E.c(1), E.div(E.sub(mx, mn), E.c(255)));
/** zero point = rint(clamp(0 - min / scale, 0, 255)), as f32 */
const dqlZp = (mn: Expr, s: Expr) => E.call('round_even', E.max(E.c(0), E.min(E.c(255), E.sub(E.c(0), E.div(mn, s)))));
/** y = saturate(rint(x / scale) + zero point) as uint8 (NaN -> 0) */
const dqlY = (x: Expr, s: Expr, zp: Expr) => {
  const q = E.add(E.call('round_even', E.div(x, s)), zp);
  return E.cast(E.select(E.call('isnan', q), E.c(0), E.max(E.c(0), E.min(E.c(255), q))), 'u8');
};

defineOp({
  name: 'DynamicQuantizeLinear', category: 'quant',
  summary: 'uint8 quantization with scale/zero point computed from min(0, min x) .. max(0, max x)',
  types: { T1: ['float32'], T2: ['uint8'] },
  inputs: [{ name: 'x', type: 'T1' }],
  outputs: [{ name: 'y', type: 'T2' }, { name: 'y_scale', type: 'T1' }, { name: 'y_zero_point', type: 'T2' }],
  attrs: {},
  onnx: { since: 11 },
  infer: (ctx) => {
    requireDtype(ctx, 0, ['float32']);
    const x = ctx.type(0);
    return [{ dtype: 'uint8', shape: x.shape?.slice() }, { dtype: 'float32', shape: [] }, { dtype: 'uint8', shape: [] }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const d = x.num;
    let mx = 0, mn = 0;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (Number.isNaN(v)) throw diag.runtime('DynamicQuantizeLinear', 'input contains NaN');
      if (v > mx) mx = v;
      if (v < mn) mn = v;
    }
    const op = { strict: { op: 'DynamicQuantizeLinear' } };
    const v = (n: string) => E.v(n, 'f32');
    const scale = compileScalar(['mx', 'mn'], dqlScale(v('mx'), v('mn')), op)(mx, mn);
    const zp = compileScalar(['mn', 's'], dqlZp(v('mn'), v('s')), op)(mn, scale);
    const fy = compileScalar(['x', 's', 'z'], dqlY(v('x'), v('s'), v('z')), op);
    const y = new Tensor('uint8', x.shape);
    const yd = y.num;
    for (let i = 0; i < d.length; i++) yd[i] = fy(d[i]!, scale, zp);
    return [y, Tensor.scalarOf('float32', scale), Tensor.scalarOf('uint8', zp)];
  },
  lower: (ctx) => {
    // one pass for min/max (NaN elements are skipped: the reference reports them), then the
    // same element expressions as eval
    const x = ctx.inputs[0]!, [y, so, zo] = ctx.outputs;
    const n = x.shape.reduce((a, b) => a * b, 1);
    const z = E.i(0);
    const mx = ctx.temp('mx', 'f32', [1]), mn = ctx.temp('mn', 'f32', [1]), sc = ctx.temp('sc', 'f32', [1]), zp = ctx.temp('zp', 'f32', [1]);
    const i = ctx.fresh('i'), j = ctx.fresh('i');
    const xi = x.flat(E.v(i)), mxv = mx.flat(z), mnv = mn.flat(z), scv = sc.flat(z), zpv = zp.flat(z);
    const stmts: Stmt[] = [
      S.store(mx.buf.name, z, E.c(0)), S.store(mn.buf.name, z, E.c(0)),
      S.for(i, n, S.seq(
        S.store(mx.buf.name, z, E.select(E.gt(xi, mxv), xi, mxv)),
        S.store(mn.buf.name, z, E.select(E.lt(xi, mnv), xi, mnv)))),
      S.store(sc.buf.name, z, dqlScale(mxv, mnv)),
      S.store(zp.buf.name, z, dqlZp(mnv, scv)),
      S.for(j, n, S.store(y!.buf.name, E.v(j), dqlY(x.flat(E.v(j)), scv, zpv))),
    ];
    if (so!.buf.role !== 'scratch') stmts.push(S.store(so!.buf.name, z, scv));
    if (zo!.buf.role !== 'scratch') stmts.push(S.store(zo!.buf.name, z, E.cast(zpv, 'u8')));
    ctx.extern([0, 1, 2], S.seq(...stmts));
  },
});
