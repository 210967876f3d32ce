/**
 * Fused integer ops (domain 'aic'), made by the `fuse-qdq` pass from QDQ patterns and QLinearConv /
 * QLinearMatMul: int8/uint8 operands, int32 accumulation, one requantizing epilogue.
 *
 * - aic.QConv(x, w, bias, multiplier, y_zero_point, x_zero_point, residual?, r_multiplier?, r_zero_point?, w_zero_point?)
 * - aic.QMatMul(x, w, bias, multiplier, y_zero_point, residual?, r_multiplier?, r_zero_point?, w_zero_point?)
 * - aic.QMatMulF(x, w, bias, multiplier, f_bias?, w_zero_point?): the same sum with a float output
 *   y = f32(f32(acc) * multiplier[n]) [+ f_bias[n]], multiplier = x_scale * w_scale (a quantized
 *   model's last Gemm, whose float result nothing quantizes again)
 *
 *   acc = bias[m] + sum over taps of P * Q                 (exact int32)
 *         QConv:   P = i32(x) - i32(x_zero_point) (0 in the padding), as QLinearConv
 *         QMatMul: P = i32(x) (the rewrite folds -x_zp * sum(w) into the bias: no padding there)
 *         Q = i32(w), or i32(w) - i32(w_zero_point[m]) when the op has one
 *   plain (zp_before_round = 0, no residual: QuantizeLinear's order), in f32:
 *   q   = sat_i16(round_half_even(f32(f32(acc) * f32(multiplier[m])))) + y_zero_point  (in i32)
 *   else, in f64 (ONNX QLinearConv / QLinearMatMul arithmetic):
 *   v   = f64(acc) * f64(multiplier[m]) [+ f64(i32(residual) - i32(r_zero_point)) * f64(r_multiplier)]
 *   q   = round_half_even(v) + y_zero_point, or with zp_before_round = 1
 *         round_half_even(v + y_zero_point), QLinearConv's / QLinearMatMul's order (they differ at ties)
 *   y   = saturate(clamp(q, clip_lo, clip_hi))  in y_zero_point's dtype
 *
 * The inner reduction is an int32 sum of products of small integers (int8 / uint8, zero points
 * subtracted), the form codegen's integer dot-product schedules pair: the rewrite folds the weight
 * zero point into int8 weights (w - w_zp) where every value fits (else w keeps its w_zero_point).
 * Requantization is a float multiplier, not fixed point: multiplier[m] = f32(f32(x_scale *
 * w_scale[m]) / y_scale), as ONNX QLinearConv / QLinearMatMul, ties to even.
 * A Relu / Clip epilogue is the clamp [clip_lo, clip_hi] on the quantized value (exact: quantization
 * is monotone). This file is the one definition of both ops: eval and lower build the same
 * expressions (qEpilogue).
 */
import { Tensor, diag, freshDim, nodeLocation, type DType, type Dim } from '@aic/core';
import { E, type Expr, type ScalarType, type TensorRef } from '@aic/loop-ir';
import { convDirect, reduceAxes, to3, windowGeometry, type ConvGeom } from '../lib/nn.ts';
import { lowerConvLike } from './nn/conv.ts';
import { defineOp } from '../registry.ts';
import type { InferCtx, LowerCtx } from '../types.ts';
import { compileScalar } from '../lib/scalar-expr.ts';
import { requireDtype } from '../lib/infer-helpers.ts';
import { qRange } from '../lib/linalg.ts';

const Q8: readonly DType[] = ['int8', 'uint8'];
const CLIP = {
  clip_lo: { type: 'int' as const, default: -2147483648, doc: 'lower clamp of the quantized result (Relu: y_zero_point)' },
  clip_hi: { type: 'int' as const, default: 2147483647, doc: 'upper clamp of the quantized result' },
  zp_before_round: { type: 'int' as const, default: 0, doc: '1: round(v + y_zero_point), as QLinearConv / QLinearMatMul; 0: round(v) + y_zero_point, as QuantizeLinear' },
};

/**
 * The requantizing epilogue (single source of eval and lower). The plain form (QuantizeLinear's order,
 * no residual: what `aic quantize` models fuse to) computes in f32: q = round_even(f32(f32(acc) *
 * multiplier)) then in integers (+ y_zero_point, clamp), one rounding per step, so a vector holds
 * 4 (wasm) / 16 (AVX-512) lanes and every target gets the interpreter's bits: no float multiply feeds
 * a float add, so FMA contraction (-ffp-contract=fast) cannot change it; the clamp is integer
 * min/max (float min/max are legalized into NaN-aware selects that repeat their operand).
 * The QLinear order and the residual form keep the f64 arithmetic of ONNX QLinearConv / QLinearMatMul,
 * whose reference they must reproduce (there acc * multiplier is exact in f64 for |acc| < 2^29).
 */
export function qEpilogue(acc: Expr, mult: Expr, yz: Expr, res: { r: Expr; rm: Expr; rz: Expr } | undefined,
  lo: number, hi: number, out: ScalarType, zpFirst: boolean): Expr {
  const f32 = (e: Expr) => E.cast(e, 'f32'), f64 = (e: Expr) => E.cast(e, 'f64');
  if (!res && !zpFirst) {
    // saturating to i16 keeps every value whose sum with y_zp can land in [lo, hi] (within [-128, 255])
    const i32 = (e: Expr) => E.cast(e, 'i32');
    const q = E.add(i32(E.cast(E.call('round_even', E.mul(f32(acc), f32(mult))), 'i16')), i32(yz));
    return E.cast(E.min(E.i(hi), E.max(E.i(lo), q)), out);
  }
  let v = E.mul(f64(acc), f64(mult));
  if (res) v = E.add(v, E.mul(E.sub(f64(res.r), f64(res.rz)), f64(res.rm)));
  const r = zpFirst ? E.call('round_even', E.add(v, f64(yz))) : E.add(E.call('round_even', v), f64(yz));
  return E.cast(E.min(E.c(hi, 'f64'), E.max(E.c(lo, 'f64'), r)), out);
}

/** clamp bounds: the attributes within the output dtype's range */
function bounds(lo: number, hi: number, dt: DType): [number, number] {
  const [a, b] = qRange(dt);
  return [Math.max(a, lo), Math.min(b, hi)];
}

const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Shared input checks: int8 weights, int32 bias, f32 multipliers, scalar zero points, residual = y. */
function inferCommon(ctx: InferCtx, wIdx: number, resIdx: number, M: Dim | undefined, outShape: Dim[] | undefined): DType {
  const where = nodeLocation(ctx.node);
  requireDtype(ctx, 0, Q8); requireDtype(ctx, wIdx, Q8); requireDtype(ctx, 2, ['int32']);
  const wz = ctx.inputTypes[resIdx + 3];
  if (wz && wz.dtype !== ctx.type(wIdx).dtype) throw diag.typeMismatch(`${ctx.node.op} w_zero_point`, ctx.type(wIdx).dtype, wz.dtype, where);
  requireDtype(ctx, 3, ['float32']); requireDtype(ctx, 4, Q8);
  const b = ctx.type(2).shape, m = ctx.type(3).shape;
  if (b && (b.length !== 1 || (typeof M === 'number' && typeof b[0] === 'number' && b[0] !== M))) throw diag.shapeMismatch(ctx.node.op, `bias must have shape [${M}]`, where);
  if (m && m.length > 1) throw diag.shapeMismatch(ctx.node.op, 'multiplier must be a scalar or 1-D', where);
  const res = ctx.inputTypes[resIdx];
  if (res) {
    requireDtype(ctx, resIdx, Q8); requireDtype(ctx, resIdx + 1, ['float32']); requireDtype(ctx, resIdx + 2, Q8);
    if (res.shape && outShape && (res.shape.length !== outShape.length || res.shape.some((d, i) => typeof d === 'number' && typeof outShape[i] === 'number' && d !== outShape[i]))) {
      throw diag.shapeMismatch(ctx.node.op, `residual [${res.shape.join(', ')}] must have the output's shape [${outShape.join(', ')}]`, where);
    }
  }
  return ctx.type(4).dtype;
}

/** Eval of the epilogue over an exact accumulator laid out [..., M] with channel index ch(i). */
function evalEpilogue(op: string, zpFirst: boolean, acc: Float64Array, ch: (i: number) => number, mult: Tensor, yz: Tensor,
  res: Tensor | undefined, rm: Tensor | undefined, rz: Tensor | undefined, lo: number, hi: number, outDt: DType, shape: number[]): Tensor {
  const v = (n: string, t: ScalarType) => E.v(n, t);
  const f = compileScalar(['a', 'm', 'z', 'r', 'rm', 'rz'], qEpilogue(v('a', 'i32'), v('m', 'f32'), v('z', 'i32'),
    res ? { r: v('r', 'i32'), rm: v('rm', 'f32'), rz: v('rz', 'i32') } : undefined, lo, hi, 'i32', zpFirst), { strict: { op } });
  const y = new Tensor(outDt, shape), yd = y.num, md = mult.num, z = yz.num[0]!;
  const rd = res?.num, rmv = rm ? rm.num[0]! : 0, rzv = rz ? rz.num[0]! : 0;
  for (let i = 0; i < acc.length; i++) yd[i] = f(acc[i]!, md[mult.size === 1 ? 0 : ch(i)]!, z, rd ? rd[i]! : 0, rmv, rzv);
  return y;
}

function checkScalars(op: string, ts: (Tensor | undefined)[], where?: ReturnType<typeof nodeLocation>): void {
  if (ts.some((t) => t && t.size !== 1)) throw diag.shapeMismatch(op, 'zero points and r_multiplier must be scalars', where);
}

const CONV_ATTRS = {
  auto_pad: { type: 'string' as const, default: 'NOTSET' },
  dilations: { type: 'ints' as const }, group: { type: 'int' as const, default: 1 }, kernel_shape: { type: 'ints' as const },
  pads: { type: 'ints' as const }, strides: { type: 'ints' as const },
};

defineOp({
  name: 'QConv', domain: 'aic', category: 'fused',
  summary: 'int8 convolution, int32 accumulation, requantizing epilogue (bias, Relu/Clip clamp, residual add)',
  types: { T1: Q8, T2: Q8, T3: Q8, B: ['int32'], F: ['float32'] },
  inputs: [
    { name: 'x', type: 'T1' }, { name: 'w', type: 'T2', doc: '[M, C/group, k...]' },
    { name: 'bias', type: 'B', doc: '[M] in units of x_scale * w_scale' },
    { name: 'multiplier', type: 'F', doc: 'scalar or [M]: x_scale * w_scale / y_scale' },
    { name: 'y_zero_point', type: 'T3' }, { name: 'x_zero_point', type: 'T1' },
    { name: 'residual', type: 'T3', optional: true }, { name: 'r_multiplier', type: 'F', optional: true },
    { name: 'r_zero_point', type: 'T3', optional: true },
    { name: 'w_zero_point', type: 'T2', optional: true, doc: 'scalar or [M]; absent = 0' },
  ],
  outputs: [{ name: 'y', type: 'T3' }],
  attrs: { ...CONV_ATTRS, ...CLIP },
  infer: (ctx) => {
    const where = nodeLocation(ctx.node);
    const x = ctx.type(0), w = ctx.type(1);
    const r = x.shape?.length ?? w.shape?.length;
    let out: Dim[] | undefined;
    if (r !== undefined) {
      if (r < 3 || r > 5 || (w.shape && w.shape.length !== r)) throw diag.shapeMismatch('aic.QConv', 'x and w need equal rank 3..5', where);
      const C = x.shape?.[1], Cg = w.shape?.[1], group = ctx.attrs.int('group');
      if (typeof C === 'number' && typeof Cg === 'number' && C !== Cg * group) throw diag.shapeMismatch('aic.QConv', `x has ${C} channels but w expects ${Cg} x group ${group}`, where);
      const k = w.shape?.slice(2);
      const inSp: Dim[] = x.shape ? x.shape.slice(2) : k!.map(() => freshDim());
      const sp = k && k.every((d) => typeof d === 'number') ? windowGeometry('aic.QConv', inSp, k as number[], ctx.attrs, { loc: where }).out : inSp.map(() => freshDim());
      out = [x.shape?.[0] ?? freshDim(), w.shape?.[0] ?? freshDim(), ...sp];
    }
    const dt = inferCommon(ctx, 1, 6, w.shape?.[0], out);
    requireDtype(ctx, 5, Q8);
    return [{ dtype: dt, shape: out }];
  },
  eval: (ctx) => {
    const where = nodeLocation(ctx.node);
    const x = ctx.input(0), w = ctx.input(1), bias = ctx.input(2), mult = ctx.input(3), yz = ctx.input(4), xp = ctx.input(5);
    const res = ctx.optInput(6), rm = ctx.optInput(7), rz = ctx.optInput(8);
    checkScalars('aic.QConv', [yz, xp, rm, rz], where);
    const group = ctx.attrs.int('group');
    const [N, C] = x.shape as [number, number], M = w.shape[0]!;
    if (x.rank < 3 || x.rank > 5 || w.rank !== x.rank || C !== w.shape[1]! * group || M % group !== 0) throw diag.shapeMismatch('aic.QConv', 'x, w and group do not agree', where);
    const kernel = w.shape.slice(2);
    const win = windowGeometry('aic.QConv', x.shape.slice(2), kernel, ctx.attrs, { loc: where });
    const geom: ConvGeom = {
      N, C, M, group, in: to3(x.shape.slice(2), 1), out: to3(win.out as number[], 1), k: to3(kernel, 1),
      s: to3(win.strides, 1), d: to3(win.dilations, 1), p: to3(win.padBegin, 0),
    };
    // convDirect skips taps in the padding: they contribute 0 = (x_zp - x_zp) * w
    const p = xp.num[0]!, kSize = w.size / M;
    const xv = Float64Array.from(x.num, (v) => v - p);
    const wv = minusZp(w, ctx.optInput(9), M, (i) => Math.floor(i / kSize));
    const shape = [N, M, ...(win.out as number[])];
    const acc = new Float64Array(sizeOf(shape));
    convDirect(xv, wv, geom, acc);
    const plane = acc.length / (N * M);
    for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + bias.num[Math.floor(i / plane) % M]!;
    const [lo, hi] = bounds(ctx.attrs.int('clip_lo'), ctx.attrs.int('clip_hi'), yz.dtype);
    return [evalEpilogue('aic.QConv', ctx.attrs.int('zp_before_round') === 1, acc, (i) => Math.floor(i / plane) % M, mult, yz, res, rm, rz, lo, hi, yz.dtype, shape)];
  },
  lower: (ctx) => {
    // Conv's direct loop nest (padding by a zero-filled copy of x - x_zp, so no bounds select in the
    // int32 reduction, which the integer dot-product schedules pair), then the epilogue
    const Bi = ctx.inputs[2]!, Mu = ctx.inputs[3]!, Yz = ctx.inputs[4]!, Xz = ctx.inputs[5]!, Y = ctx.outputs[0]!;
    const [lo, hi] = bounds(ctx.attrs.int('clip_lo'), ctx.attrs.int('clip_hi'), ctx.node.outputs[0]!.type.dtype);
    const z = E.i(0), i32 = (e: Expr) => E.cast(e, 'i32');
    const res = residualRefs(ctx.inputs, 6), W = ctx.inputs[1]!;
    lowerConvLike(ctx, {
      xT: 'i32', prepX: (x) => E.sub(i32(x), i32(Xz.flat(z))),
      term: (xv, co, ci, k) => E.mul(xv, wTerm(W.at(co, ci, ...k), ctx.inputs[9], co)),
      finish: (sum, co, idx) => qEpilogue(E.add(sum, Bi.flat(co)), Mu.flat(sizeOf(Mu.shape) === 1 ? z : co), Yz.flat(z), res?.(idx), lo, hi, Y.dtype, ctx.attrs.int('zp_before_round') === 1),
    });
  },
  flops: (ctx, outs) => {
    const w = ctx.inputTypes[1]?.shape, o = outs[0]?.shape;
    if (!w || !o || ![...w, ...o].every((d) => typeof d === 'number')) return 0;
    return 2 * sizeOf(o as number[]) * sizeOf((w as number[]).slice(1));
  },
});

/** weights minus their (per-channel) zero point, exact */
function minusZp(w: Tensor, wz: Tensor | undefined, M: number, ch: (i: number) => number): Float64Array {
  if (wz && wz.size !== 1 && wz.size !== M) throw diag.shapeMismatch('w_zero_point', `has ${wz.size} values for ${M} channels`);
  const zd = wz?.num;
  return Float64Array.from(w.num, (v, i) => (zd ? v - zd[zd.length === 1 ? 0 : ch(i)]! : v));
}

/** the weight operand of the multiply-accumulate: i32(w), or i32(w) - i32(w_zero_point[m]) */
function wTerm(w: Expr, wz: TensorRef | undefined, m: Expr): Expr {
  const i32 = (e: Expr) => E.cast(e, 'i32');
  return wz ? E.sub(i32(w), i32(wz.flat(sizeOf(wz.shape) === 1 ? E.i(0) : m))) : i32(w);
}

/** residual operands of a compute at output index idx (same shape as the output) */
function residualRefs(ins: readonly (TensorRef | undefined)[], i: number): ((idx: Expr[]) => { r: Expr; rm: Expr; rz: Expr }) | undefined {
  const R = ins[i], Rm = ins[i + 1], Rz = ins[i + 2];
  if (!R || !Rm || !Rz) return undefined;
  return (idx) => ({ r: R.at(...idx), rm: Rm.flat(E.i(0)), rz: Rz.flat(E.i(0)) });
}

defineOp({
  name: 'QMatMul', domain: 'aic', category: 'fused',
  summary: 'int8 matmul x[..., K] @ w[K, N], int32 accumulation, requantizing epilogue (bias, Relu/Clip clamp, residual add)',
  types: { T1: Q8, T2: Q8, T3: Q8, B: ['int32'], F: ['float32'] },
  inputs: [
    { name: 'x', type: 'T1', doc: '[..., K]' }, { name: 'w', type: 'T2', doc: '[K, N]' },
    { name: 'bias', type: 'B', doc: '[N], x_zp * sum(w) already subtracted' },
    { name: 'multiplier', type: 'F', doc: 'scalar or [N]' }, { name: 'y_zero_point', type: 'T3' },
    { name: 'residual', type: 'T3', optional: true }, { name: 'r_multiplier', type: 'F', optional: true },
    { name: 'r_zero_point', type: 'T3', optional: true },
    { name: 'w_zero_point', type: 'T2', optional: true, doc: 'scalar or [N]; absent = 0' },
  ],
  outputs: [{ name: 'y', type: 'T3' }],
  attrs: { ...CLIP },
  infer: (ctx) => {
    const where = nodeLocation(ctx.node);
    const x = ctx.type(0).shape, w = ctx.type(1).shape;
    if (w && w.length !== 2) throw diag.shapeMismatch('aic.QMatMul', 'w must be 2-D', where);
    if (x && x.length < 1) throw diag.shapeMismatch('aic.QMatMul', 'x must have rank >= 1', where);
    if (x && w && typeof x[x.length - 1] === 'number' && typeof w[0] === 'number' && x[x.length - 1] !== w[0]) {
      throw diag.shapeMismatch('aic.QMatMul', `x [${x.join(', ')}] and w [${w.join(', ')}] do not agree on K`, where);
    }
    const out = x && w ? [...x.slice(0, -1), w[1]!] : undefined;
    return [{ dtype: inferCommon(ctx, 1, 5, w?.[1], out), shape: out }];
  },
  eval: (ctx) => {
    const where = nodeLocation(ctx.node);
    const x = ctx.input(0), w = ctx.input(1), bias = ctx.input(2), mult = ctx.input(3), yz = ctx.input(4);
    const res = ctx.optInput(5), rm = ctx.optInput(6), rz = ctx.optInput(7);
    checkScalars('aic.QMatMul', [yz, rm, rz], where);
    const [K, N] = w.shape as [number, number];
    if (x.shape[x.rank - 1] !== K) throw diag.shapeMismatch('aic.QMatMul', 'x and w do not agree on K', where);
    const rows = x.size / K, xd = x.num, wd = minusZp(w, ctx.optInput(8), N, (i) => i % N);
    const acc = new Float64Array(rows * N);
    for (let i = 0; i < rows; i++) for (let n = 0; n < N; n++) {
      let s = bias.num[n]!;
      for (let k = 0; k < K; k++) s += xd[i * K + k]! * wd[k * N + n]!;
      acc[i * N + n] = s;
    }
    const [lo, hi] = bounds(ctx.attrs.int('clip_lo'), ctx.attrs.int('clip_hi'), yz.dtype);
    return [evalEpilogue('aic.QMatMul', ctx.attrs.int('zp_before_round') === 1, acc, (i) => i % N, mult, yz, res, rm, rz, lo, hi, yz.dtype, [...x.shape.slice(0, -1), N])];
  },
  lower: (ctx) => {
    const X = ctx.inputs[0]!, W = ctx.inputs[1]!, Bi = ctx.inputs[2]!, Mu = ctx.inputs[3]!, Yz = ctx.inputs[4]!;
    const Y = ctx.outputs[0]!;
    const [lo, hi] = bounds(ctx.attrs.int('clip_lo'), ctx.attrs.int('clip_hi'), ctx.node.outputs[0]!.type.dtype);
    const z = E.i(0);
    const res = residualRefs(ctx.inputs, 5);
    ctx.compute(0, (idx) => {
      const { acc, n } = matmulAcc(ctx, X, W, Bi, ctx.inputs[8], idx);
      return qEpilogue(acc, Mu.flat(sizeOf(Mu.shape) === 1 ? z : n), Yz.flat(z), res?.(idx), lo, hi, Y.dtype, ctx.attrs.int('zp_before_round') === 1);
    });
  },
  flops: (ctx, outs) => {
    const w = ctx.inputTypes[1]?.shape, o = outs[0]?.shape;
    if (!w || !o || ![...w, ...o].every((d) => typeof d === 'number')) return 0;
    return 2 * sizeOf(o as number[]) * (w[0] as number);
  },
});

defineOp({
  name: 'QMatMulF', domain: 'aic', category: 'fused',
  summary: 'int8 matmul x[..., K] @ w[K, N], int32 accumulation, float output: f32(acc) * multiplier[n] (+ f_bias[n])',
  types: { T1: Q8, T2: Q8, B: ['int32'], F: ['float32'] },
  inputs: [
    { name: 'x', type: 'T1', doc: '[..., K]' }, { name: 'w', type: 'T2', doc: '[K, N]' },
    { name: 'bias', type: 'B', doc: '[N] in units of x_scale * w_scale, x_zp * sum(w) already subtracted' },
    { name: 'multiplier', type: 'F', doc: 'scalar or [N]: x_scale * w_scale' },
    { name: 'f_bias', type: 'F', optional: true, doc: '[N], added in float (a bias that is not a multiple of the unit)' },
    { name: 'w_zero_point', type: 'T2', optional: true, doc: 'scalar or [N]; absent = 0' },
  ],
  outputs: [{ name: 'y', type: 'F' }],
  attrs: {},
  infer: (ctx) => {
    const where = nodeLocation(ctx.node);
    const x = ctx.type(0).shape, w = ctx.type(1).shape;
    requireDtype(ctx, 0, Q8); requireDtype(ctx, 1, Q8); requireDtype(ctx, 2, ['int32']); requireDtype(ctx, 3, ['float32']);
    if (ctx.inputTypes[4]) requireDtype(ctx, 4, ['float32']);
    const wz = ctx.inputTypes[5];
    if (wz && wz.dtype !== ctx.type(1).dtype) throw diag.typeMismatch('aic.QMatMulF w_zero_point', ctx.type(1).dtype, wz.dtype, where);
    if (w && w.length !== 2) throw diag.shapeMismatch('aic.QMatMulF', 'w must be 2-D', where);
    if (x && x.length < 1) throw diag.shapeMismatch('aic.QMatMulF', 'x must have rank >= 1', where);
    if (x && w && typeof x[x.length - 1] === 'number' && typeof w[0] === 'number' && x[x.length - 1] !== w[0]) {
      throw diag.shapeMismatch('aic.QMatMulF', `x [${x.join(', ')}] and w [${w.join(', ')}] do not agree on K`, where);
    }
    for (const i of [2, 4]) {
      const b = ctx.inputTypes[i]?.shape;
      if (b && (b.length !== 1 || (w && typeof w[1] === 'number' && typeof b[0] === 'number' && b[0] !== w[1]))) throw diag.shapeMismatch('aic.QMatMulF', `${i === 2 ? 'bias' : 'f_bias'} must have shape [N]`, where);
    }
    const m = ctx.type(3).shape;
    if (m && m.length > 1) throw diag.shapeMismatch('aic.QMatMulF', 'multiplier must be a scalar or 1-D', where);
    return [{ dtype: 'float32', shape: x && w ? [...x.slice(0, -1), w[1]!] : undefined }];
  },
  eval: (ctx) => {
    const where = nodeLocation(ctx.node);
    const x = ctx.input(0), w = ctx.input(1), bias = ctx.input(2), mult = ctx.input(3), fb = ctx.optInput(4);
    const [K, N] = w.shape as [number, number];
    if (x.shape[x.rank - 1] !== K) throw diag.shapeMismatch('aic.QMatMulF', 'x and w do not agree on K', where);
    const rows = x.size / K, xd = x.num, wd = minusZp(w, ctx.optInput(5), N, (i) => i % N);
    const v = (n: string, t: ScalarType) => E.v(n, t);
    const f = compileScalar(['a', 'm', 'b'], qFloatEpilogue(v('a', 'i32'), v('m', 'f32'), fb ? v('b', 'f32') : undefined), { strict: { op: 'aic.QMatMulF' } });
    const y = new Tensor('float32', [...x.shape.slice(0, -1), N]), yd = y.num, md = mult.num;
    for (let i = 0; i < rows; i++) for (let n = 0; n < N; n++) {
      let s = bias.num[n]!;
      for (let k = 0; k < K; k++) s += xd[i * K + k]! * wd[k * N + n]!;
      yd[i * N + n] = f(s, md[mult.size === 1 ? 0 : n]!, fb ? fb.num[n]! : 0);
    }
    return [y];
  },
  lower: (ctx) => {
    const X = ctx.inputs[0]!, W = ctx.inputs[1]!, Bi = ctx.inputs[2]!, Mu = ctx.inputs[3]!, Fb = ctx.inputs[4];
    ctx.compute(0, (idx) => {
      const { acc, n } = matmulAcc(ctx, X, W, Bi, ctx.inputs[5], idx);
      return qFloatEpilogue(acc, Mu.flat(sizeOf(Mu.shape) === 1 ? E.i(0) : n), Fb?.flat(n));
    });
  },
  flops: (ctx, outs) => {
    const w = ctx.inputTypes[1]?.shape, o = outs[0]?.shape;
    if (!w || !o || ![...w, ...o].every((d) => typeof d === 'number')) return 0;
    return 2 * sizeOf(o as number[]) * (w[0] as number);
  },
});

/** aic.QMatMulF's epilogue (eval and lower): f32(f32(acc) * multiplier) [+ f_bias], one rounding per step */
function qFloatEpilogue(acc: Expr, mult: Expr, fbias: Expr | undefined): Expr {
  const y = E.mul(E.cast(acc, 'f32'), mult);
  return fbias ? E.add(y, fbias) : y;
}

/** The int32 accumulator of aic.QMatMul / aic.QMatMulF at output index idx: bias[n] + sum over k of i32(x) * (w - w_zp) */
function matmulAcc(ctx: LowerCtx, X: TensorRef, W: TensorRef, Bi: TensorRef, Wz: TensorRef | undefined, idx: Expr[]): { acc: Expr; n: Expr } {
  const n = idx[idx.length - 1]!;
  const red = reduceAxes(ctx, [W.shape[0]!], 'k');
  const k = red.vars[0]!;
  const term = E.mul(E.cast(X.at(...idx.slice(0, -1), k), 'i32'), wTerm(W.at(k, n), Wz, n));
  return { acc: E.add(E.reduce('sum', red.axes, term), Bi.flat(n)), n };
}
