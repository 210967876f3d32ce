/**
 * Quantization parameters read from constant QDQ operands, and the constants of a fused integer op
 * (int8 weights with the zero point folded in, int32 bias with x_zp * sum(w) folded in, float
 * requantization multipliers). See ir-spec/ops/qfused.ts for what the fused ops compute.
 */
import { Tensor, type DType, type Value } from '@aic/core';
import type { Builder } from '../../rewrite/pattern.ts';
import { evalConst, type Guard } from '../fuse/util.ts';

export const Q8 = ['int8', 'uint8'];
const I32_MIN = -2147483648, I32_MAX = 2147483647;

/** A per-tensor (scale, zero point) pair from constants; zero point absent = 0 of `dtype`. */
export interface QParam { scale: number; zp: number; dtype: DType }

/** constant scalar scale / zero point of a DQ or Q node (inputs 1, 2) */
export function scalarParam(s: Value | undefined, z: Value | undefined, dtype: DType): QParam | string {
  if (!s?.const) return 'scale is not a constant';
  if (s.const.size !== 1 || s.const.dtype !== 'float32') return 'scale is not a float32 scalar (per-tensor)';
  if (z && (!z.const || z.const.size !== 1)) return 'zero point is not a constant scalar';
  return { scale: s.const.num[0]!, zp: z ? z.const!.num[0]! : 0, dtype: z ? z.const!.dtype : dtype };
}

/** Per-channel weight parameters: scales / zero points per output channel (length 1 = per-tensor). */
export interface WParam { scale: number[]; zp: number[] }

export function weightParam(s: Value | undefined, z: Value | undefined, axis: number, wantAxis: number, rank: number): WParam | string {
  if (!s?.const || s.const.dtype !== 'float32') return 'weight scale is not a float32 constant';
  if (z && !z.const) return 'weight zero point is not a constant';
  const n = s.const.size;
  if (n > 1 && (s.const.shape.length !== 1 || ((axis % rank) + rank) % rank !== wantAxis)) return `weight scale is not per-tensor or per-channel on axis ${wantAxis}`;
  if (z && z.const!.size !== n) return 'weight zero point and scale sizes differ';
  return { scale: Array.from(s.const.num), zp: z ? Array.from(z.const!.num) : [0] };
}

/** f32(f32(xs * ws[m]) / ys): ONNX QLinearConv's requantization factor */
export const multiplier = (xs: number, ws: number, ys: number) => Math.fround(Math.fround(xs * ws) / ys);

/**
 * The fused op's constants from weights laid out [M, rest] (channelAxis 0) or [K, M] (channelAxis 1).
 * foldXzp (aic.QMatMul): the bias takes -x_zp * sum(w) so the product is x * w. Returns a reason
 * when the folded values do not fit.
 */
export interface Folded { w: Tensor; bias: Tensor; mult: Tensor; wz?: Tensor }

export function foldWeights(wq: Tensor, wp: WParam, channelAxis: 0 | 1, bias: number[] | undefined, x: QParam, y: QParam, foldXzp: boolean): Folded | string {
  const [M, inner] = channelAxis === 0 ? [wq.shape[0]!, wq.size / wq.shape[0]!] : [wq.shape[1]!, wq.shape[0]!];
  const ch = (i: number) => (channelAxis === 0 ? Math.floor(i / inner) : i % M);
  const at = (a: number[], m: number) => a[a.length === 1 ? 0 : m]!;
  // w - w_zp as int8 when every value fits; else w as it is, with its zero point
  const w = new Tensor('int8', wq.shape), wd = w.num, src = wq.num;
  const wsum = new Array<number>(M).fill(0);
  let fits = true;
  for (let i = 0; i < wq.size; i++) {
    const v = src[i]! - at(wp.zp, ch(i));
    if (v < -128 || v > 127) fits = false;
    wd[i] = v;
    wsum[ch(i)] += v;
  }
  const b = new Tensor('int32', [M]), bd = b.num;
  for (let m = 0; m < M; m++) {
    const v = (bias ? bias[m]! : 0) - (foldXzp ? x.zp * wsum[m]! : 0);
    if (v < I32_MIN || v > I32_MAX) return 'folded bias does not fit int32';
    bd[m] = v;
  }
  const ms = wp.scale.map((s) => multiplier(x.scale, s, y.scale));
  const mult = Tensor.fromNumbers('float32', [ms.length], ms);
  return fits ? { w, bias: b, mult } : { w: wq, bias: b, mult, wz: Tensor.fromNumbers(wq.dtype, [wp.zp.length], wp.zp) };
}

/**
 * Bias in accumulator units (x_scale * w_scale[m]): DequantizeLinear(int32 constant, exactly that
 * scale, zero point 0), or a float constant or another dequantized int32 constant every element of
 * which is such a dequantized integer (zeros always are).
 */
export function biasInts(b: Value | null | undefined, M: number, x: QParam, wp: WParam): number[] | undefined | string {
  if (!b) return undefined;
  const unit = (m: number) => Math.fround(x.scale * wp.scale[wp.scale.length === 1 ? 0 : m]!);
  const per = (t: Tensor) => (t.size === 1 || t.size === M ? (m: number) => t.num[t.size === 1 ? 0 : m]! : undefined);
  const dq = b.producer;
  if (!b.const && dq?.op === 'DequantizeLinear' && dq.domain === '') {
    const [q, s, z] = dq.inputs;
    if (!q?.const || q.const.dtype !== 'int32' || !s?.const || (z && !z.const)) return 'bias is not DequantizeLinear of int32 constants';
    const qv = per(q.const), sv = per(s.const), zv = z ? per(z.const!) : () => 0;
    if (!qv || !sv || !zv || q.const.size !== M) return 'bias has the wrong size';
    // in accumulator units as it is, or (another scale: PyTorch's export, zero biases with the weight's
    // scale) as the float values it stands for, when each is an integer multiple of the unit
    if (!z || z.const!.num.every((v) => v === 0)) {
      if (Array.from({ length: M }, (_, m) => sv(m) === unit(m)).every(Boolean)) return Array.from({ length: M }, (_, m) => qv(m));
    }
    return onGrid(Array.from({ length: M }, (_, m) => Math.fround((qv(m) - zv(m)) * sv(m))), unit);
  }
  if (!b.const || b.const.dtype !== 'float32') return 'bias is neither a float32 constant nor a dequantized int32 constant';
  const bv = per(b.const);
  if (!bv) return 'bias has the wrong size';
  return onGrid(Array.from({ length: M }, (_, m) => bv(m)), unit);
}

/** Float bias values as integers in accumulator units, or why they are not integer multiples of the unit. */
function onGrid(vals: number[], unit: (m: number) => number): number[] | string {
  const out: number[] = [];
  for (let m = 0; m < vals.length; m++) {
    const q = Math.round(vals[m]! / unit(m));
    if (Math.fround(q * unit(m)) !== vals[m]) return `float bias ${vals[m]} is not an integer multiple of x_scale * w_scale`;
    out.push(q);
  }
  return out;
}

/** Quantized clamp bounds of Relu / Clip before QuantizeLinear(y): Q(min), Q(max) (exact: Q is monotone). */
export function clampBounds(act: { op: string; min?: Value | null; max?: Value | null } | undefined, ys: Value, yz: Value | undefined): { lo?: number; hi?: number } | string {
  if (!act) return {};
  const q = (v: number) => evalConst('QuantizeLinear', [Tensor.scalarOf('float32', v), ys.const!, yz?.const ?? null]).num[0]!;
  if (act.op === 'Relu') return { lo: q(0) };
  const bound = (v: Value | null | undefined) => {
    if (!v) return undefined;
    if (!v.const || v.const.size !== 1 || v.const.dtype !== 'float32') return null;
    return q(v.const.num[0]!);
  };
  const lo = bound(act.min), hi = bound(act.max);
  if (lo === null || hi === null) return 'Clip bounds are not float32 constant scalars';
  return { ...(lo !== undefined ? { lo } : {}), ...(hi !== undefined ? { hi } : {}) };
}

/** The fused node's constant operands and attributes, added to the graph by the builder. */
/** the w_zero_point operand, when the weights kept theirs (it goes last, after the optional residual) */
export function wzOperand(b: Builder, f: Folded): Value | undefined {
  return f.wz ? b.constant(f.wz, 'qwzp') : undefined;
}

export function constOperands(b: Builder, f: Folded, y: QParam): Value[] {
  return [b.constant(f.w, 'qw'), b.constant(f.bias, 'qbias'), b.constant(f.mult, 'qmult'), b.constant(Tensor.scalarOf(y.dtype, y.zp), 'qyzp')];
}

export function clipAttrs(c: { lo?: number; hi?: number }): Record<string, { type: 'int'; value: number }> {
  const a: Record<string, { type: 'int'; value: number }> = {};
  if (c.lo !== undefined) a.clip_lo = { type: 'int', value: c.lo };
  if (c.hi !== undefined) a.clip_hi = { type: 'int', value: c.hi };
  return a;
}

export function firstReason<T>(...xs: (T | string)[]): Guard {
  for (const x of xs) if (typeof x === 'string') return x;
  return true;
}
