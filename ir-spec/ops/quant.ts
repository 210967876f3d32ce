/**
 * Linear quantization: QuantizeLinear, DequantizeLinear (per-tensor, per-axis and blocked scales),
 * DynamicQuantizeLinear.
 */
import {
  Tensor, diag, dtypeFromOnnx, nodeLocation, roundBf16, roundF16,
  type DType, type Location, type TensorType,
} from '@aic/core';
import { defineOp } from '../registry.ts';
import type { AttrReader, InferCtx } from '../types.ts';
import { normAxis } from '../lib/util.ts';
import { requireDtype } from '../lib/infer-helpers.ts';
import { qRange, rint } from '../lib/linalg.ts';

const QFLOATS: readonly DType[] = ['float32', 'float16', 'bfloat16'];
const QINTS: readonly DType[] = ['uint8', 'int8', 'uint16', 'int16'];

/** x / s with the rounding of numpy arithmetic in x's dtype. */
function divider(d: DType): (x: number, s: number) => number {
  if (d === 'float32') return (x, s) => Math.fround(x / s);
  if (d === 'float16') return (x, s) => roundF16(x / s);
  if (d === 'bfloat16') return (x, s) => roundBf16(x / s);
  return (x, s) => x / s;
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
    const div = divider(x.dtype === 'int32' ? 'float64' : x.dtype);
    const out = new Tensor(outDtype, x.shape);
    const xd = x.num, sd = s.num, zd = zp?.num, y = out.num;
    forEachQ(l, x.size, (i, k) => {
      const q = rint(div(xd[i]!, sd[k]!)) + (zd ? zd[k]! : 0);
      y[i] = q < lo ? lo : q > hi ? hi : q;
    });
    return [out];
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
    const xd = x.num, sd = s.num, zd = zp?.num, y = out.num;
    // (x - zp) is exact; the product is rounded once to float32 storage (and by the interpreter
    // to float16/bfloat16 when the scale has that type), as float32 arithmetic does.
    forEachQ(l, x.size, (i, k) => { y[i] = Math.fround((xd[i]! - (zd ? zd[k]! : 0)) * sd[k]!); });
    return [out];
  },
});

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
    const f = Math.fround;
    const d = x.num;
    let mx = 0, mn = 0;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (Number.isNaN(v)) throw diag.runtime('DynamicQuantizeLinear', 'input contains NaN');
      if (v > mx) mx = v;
      if (v < mn) mn = v;
    }
    const scale = mx === mn ? 1 : f(f(mx - mn) / 255);
    const zpf = f(0 - f(mn / scale));
    const zp = rint(Math.max(0, Math.min(255, zpf)));
    const y = new Tensor('uint8', x.shape);
    const yd = y.num;
    for (let i = 0; i < d.length; i++) {
      const q = rint(f(d[i]! / scale)) + zp;
      yd[i] = q < 0 ? 0 : q > 255 ? 255 : q;
    }
    return [y, Tensor.scalarOf('float32', scale), Tensor.scalarOf('uint8', zp)];
  },
});
