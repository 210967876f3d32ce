/**
 * Linear quantization: QuantizeLinear, DequantizeLinear (per-tensor, per-axis and blocked scales),
 * DynamicQuantizeLinear, QLinearConv.
 */
import {
  Tensor, diag, dtypeFromOnnx, freshDim, nodeLocation, roundBf16, roundF16,
  type DType, type Dim, type Location, type TensorType,
} from '@aic/core';
import { E, S, type Expr, type ScalarType, type Stmt, type TensorRef } from '@aic/loop-ir';
import { allOf, convDirect, guard, inBounds, reduceAxes, tapPos, to3, winAxes, windowGeometry, type ConvGeom } from '../lib/nn.ts';
import { defineOp } from '../registry.ts';
import type { AttrReader, InferCtx, LowerCtx } from '../types.ts';
import { scalarOf } from '../lib/lower.ts';
import { lowerConvLike } from './nn/conv.ts';
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

/**
 * One dequantized element: (x - zp) * s, exact difference, product in double rounded once to f32.
 * For 8/16-bit x the difference (|d| < 2^17) and s are exact in f32 and their product is exact in
 * double, so the f32 product (one rounding) is that same value: f32 vector lanes, the same bits.
 */
function dequantElem(x: Expr, s: Expr, zp: Expr | undefined): Expr {
  const ct: ScalarType = NARROW_INT.includes(x.t) ? 'f32' : 'f64';
  const d = zp ? E.sub(E.cast(x, ct), E.cast(zp, ct)) : E.cast(x, ct);
  return E.cast(E.mul(d, E.cast(s, ct)), 'f32');
}
const NARROW_INT: readonly ScalarType[] = ['i8', 'u8', 'i16', 'u16'];

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
    // float16/bfloat16 x: the division rounds to that format, which no loop-IR expression does
    const xd = ctx.node.inputs[0]!.dtype;
    if (xd === 'float16' || xd === 'bfloat16') ctx.unsupported(`${xd} input`);
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

// ---- QLinearConv --------------------------------------------------------------------------------
/*
 * y = saturate(rint(acc * (x_scale * w_scale[m] / y_scale) + y_zero_point)) with
 * acc = (x - x_zero_point) conv (w - w_zero_point[m]) + B[m] (exact integers), as the ONNX reference:
 * the scale ratio in float32 (x_scale * w_scale, then / y_scale), the rest in double; per output
 * channel w_scale / w_zero_point ([M]) index the output channel.
 */
const Q8: readonly DType[] = ['int8', 'uint8'];

/** kernel sizes: kernel_shape or W's spatial dims */
function qconvKernel(attrs: AttrReader, wShape: readonly (number | string)[] | undefined, n: number, where?: Location): number[] | undefined {
  const wsp = wShape?.slice(2);
  if (attrs.has('kernel_shape')) {
    const k = attrs.ints('kernel_shape');
    if (k.length !== n || wsp?.some((d, i) => typeof d === 'number' && d !== k[i])) {
      throw diag.shapeMismatch('QLinearConv', `kernel_shape [${k.join(', ')}] does not match W`, where);
    }
    return k.slice();
  }
  return wsp && wsp.every((d) => typeof d === 'number') ? (wsp as number[]) : undefined;
}

/** per-channel parameter p ([1] / scalar or [M]): its element for output channel m */
const perM = (p: ArrayLike<number>, m: number): number => (p.length === 1 ? p[0]! : p[m]!);

defineOp({
  name: 'QLinearConv', category: 'quant',
  summary: 'quantized convolution: integer conv of (x - x_zp) and (w - w_zp) plus int32 bias, requantized with x_scale * w_scale / y_scale and y_zero_point',
  types: { T1: Q8, T2: Q8, T3: Q8, T4: ['int32'], F: ['float32'] },
  inputs: [
    { name: 'x', type: 'T1' }, { name: 'x_scale', type: 'F' }, { name: 'x_zero_point', type: 'T1' },
    { name: 'w', type: 'T2', doc: '[M, C/group, k...]' }, { name: 'w_scale', type: 'F', doc: 'scalar or [M]' },
    { name: 'w_zero_point', type: 'T2', doc: 'scalar or [M]' },
    { name: 'y_scale', type: 'F' }, { name: 'y_zero_point', type: 'T3' },
    { name: 'B', type: 'T4', optional: true, doc: '[M] int32 bias (scale x_scale * w_scale, zero point 0)' },
  ],
  outputs: [{ name: 'y', type: 'T3' }],
  attrs: {
    auto_pad: { type: 'string', default: 'NOTSET', doc: 'NOTSET | SAME_UPPER | SAME_LOWER | VALID' },
    dilations: { type: 'ints' }, group: { type: 'int', default: 1 }, kernel_shape: { type: 'ints' },
    pads: { type: 'ints' }, strides: { type: 'ints' },
  },
  onnx: { since: 10 },
  infer: (ctx) => {
    const where = nodeLocation(ctx.node);
    requireDtype(ctx, 0, Q8); requireDtype(ctx, 3, Q8); requireDtype(ctx, 7, Q8);
    for (const i of [1, 4, 6]) requireDtype(ctx, i, ['float32']);
    if (ctx.type(2).dtype !== ctx.type(0).dtype) throw diag.typeMismatch('QLinearConv x_zero_point', ctx.type(0).dtype, ctx.type(2).dtype, where);
    if (ctx.type(5).dtype !== ctx.type(3).dtype) throw diag.typeMismatch('QLinearConv w_zero_point', ctx.type(3).dtype, ctx.type(5).dtype, where);
    if (ctx.inputTypes[8]) requireDtype(ctx, 8, ['int32']);
    const x = ctx.type(0), w = ctx.type(3);
    const dt = ctx.type(7).dtype;
    const r = x.shape?.length ?? w.shape?.length;
    if (r === undefined) return [{ dtype: dt, shape: undefined }];
    if (r < 3 || r > 5 || (w.shape && w.shape.length !== r)) throw diag.shapeMismatch('QLinearConv', 'x and w need equal rank 3..5', where);
    const group = ctx.attrs.int('group');
    const C = x.shape?.[1], M = w.shape?.[0], Cg = w.shape?.[1];
    if (typeof C === 'number' && typeof Cg === 'number' && C !== Cg * group) throw diag.shapeMismatch('QLinearConv', `x has ${C} channels but w expects ${Cg} x group ${group}`, where);
    const kernel = qconvKernel(ctx.attrs, w.shape, r - 2, where);
    const inSp: Dim[] = x.shape ? x.shape.slice(2) : Array.from({ length: r - 2 }, () => freshDim());
    const out = kernel ? windowGeometry('QLinearConv', inSp, kernel, ctx.attrs, { loc: where }).out : inSp.map(() => freshDim());
    return [{ dtype: dt, shape: [x.shape?.[0] ?? freshDim(), M ?? freshDim(), ...out] }];
  },
  eval: (ctx) => {
    const where = nodeLocation(ctx.node);
    const x = ctx.input(0), w = ctx.input(3), B = ctx.optInput(8);
    const xs = ctx.input(1), xz = ctx.input(2), ws = ctx.input(4), wz = ctx.input(5), ys = ctx.input(6), yz = ctx.input(7);
    if (x.rank < 3 || x.rank > 5 || w.rank !== x.rank) throw diag.shapeMismatch('QLinearConv', `x [${x.shape.join(', ')}] and w [${w.shape.join(', ')}] need equal rank 3..5`, where);
    const group = ctx.attrs.int('group');
    const [N, C] = x.shape as [number, number], M = w.shape[0]!;
    if (C !== w.shape[1]! * group || M % group !== 0) throw diag.shapeMismatch('QLinearConv', `x, w and group ${group} do not agree`, where);
    if (xz.size !== 1 || xs.size !== 1 || ys.size !== 1 || yz.size !== 1) throw diag.unsupportedFeature('QLinearConv with per-channel x / y quantization', where);
    for (const [t, what] of [[ws, 'w_scale'], [wz, 'w_zero_point']] as const) {
      if (t.size !== 1 && t.size !== M) throw diag.shapeMismatch('QLinearConv', `${what} has ${t.size} values for ${M} output channels`, where);
    }
    if (B && B.size !== M) throw diag.shapeMismatch('QLinearConv', `B has ${B.size} values for ${M} output channels`, where);
    const kernel = w.shape.slice(2) as number[];
    qconvKernel(ctx.attrs, w.shape, kernel.length, where);
    const win = windowGeometry('QLinearConv', x.shape.slice(2), kernel, ctx.attrs, { loc: where });
    const geom: ConvGeom = {
      N, C, M, group,
      in: to3(x.shape.slice(2) as number[], 1), out: to3(win.out as number[], 1), k: to3(kernel, 1),
      s: to3(win.strides, 1), d: to3(win.dilations, 1), p: to3(win.padBegin, 0),
    };
    const x0 = xz.num[0]!, kSize = w.size / M;
    const xv = Float64Array.from(x.num, (v) => v - x0);
    const wv = Float64Array.from(w.num, (v, i) => v - perM(wz.num, Math.floor(i / kSize)));
    const outShape = [N, M, ...(win.out as number[])];
    const acc = new Float64Array(outShape.reduce((a, b) => a * b, 1));
    convDirect(xv, wv, geom, acc);
    const dt = yz.dtype, [lo, hi] = qRange(dt);
    const plane = acc.length / (N * M);
    const y = new Tensor(dt, outShape);
    const yd = y.num;
    for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) {
      const f = Math.fround(Math.fround(xs.num[0]! * perM(ws.num, m)) / ys.num[0]!);
      const b = B ? B.num[m]! : 0;
      for (let i = 0; i < plane; i++) {
        const o = (n * M + m) * plane + i;
        const r = (acc[o]! + b) * f + yz.num[0]!;
        yd[o] = rint(Math.min(hi, Math.max(lo, r)));
      }
    }
    return [y];
  },
  lower: (ctx) => {
    const X = ctx.inputs[0]!, W = ctx.inputs[3]!, B = ctx.inputs[8], Y = ctx.outputs[0]!;
    const [xs, xz, ws, wz, ys, yz] = [1, 2, 4, 5, 6, 7].map((i) => ctx.inputs[i]!);
    const size = (t: { shape: number[] }) => t.shape.reduce((a, b) => a * b, 1);
    const sp = X.shape.length - 2, group = ctx.attrs.int('group');
    const [, C] = X.shape as [number, number], M = W.shape[0]!, Cg = W.shape[1]!, Mg = M / group;
    if (sp < 1 || sp > 3 || Cg * group !== C || !Number.isInteger(Mg)) ctx.unsupported('x, w and group do not agree');
    if ([xs, xz, ys, yz].some((t) => size(t!) !== 1) || [ws, wz].some((t) => size(t!) !== 1 && size(t!) !== M)) ctx.unsupported('quantization parameter shapes');
    const [lo, hi] = qRange(ctx.node.outputs[0]!.type.dtype);
    const z = E.i(0), i32 = (e: Expr) => E.cast(e, 'i32');
    const pm = (t: TensorRef, m: Expr) => t.flat(size(t) === 1 ? z : m);
    // the direct convolution of (x - x_zp) and (w - w_zp) in int32 (ConvInteger's loop nest: padding by a
    // zero-filled copy of x - x_zp), then bias, the scale and y_zp in f64, rounded half to even
    lowerConvLike(ctx, {
      wIndex: 3, xT: 'i32',
      prepX: (x) => E.sub(i32(x), i32(xz.flat(z))),
      term: (xv, co, ci, k) => E.mul(xv, E.sub(i32(W.at(co, ci, ...k)), i32(pm(wz, co)))),
      finish: (sum, co) => {
        const acc = B ? E.add(sum, B.flat(co)) : sum;
        const f = E.cast(E.div(E.mul(xs.flat(z), pm(ws, co)), ys.flat(z)), 'f64');
        const v = E.add(E.mul(E.cast(acc, 'f64'), f), E.cast(yz.flat(z), 'f64'));
        return E.cast(E.call('round_even', E.min(E.c(hi, 'f64'), E.max(E.c(lo, 'f64'), v))), Y.dtype);
      },
    });
  },
});
