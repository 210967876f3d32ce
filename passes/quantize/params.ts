/**
 * Scales and zero points: asymmetric activations (uint8 or int8) from a calibrated range, symmetric
 * int8 weights (per tensor or per output channel, narrow range [-127, 127]) and int32 biases with
 * scale = input scale * weight scale. Arithmetic follows QuantizeLinear: the division rounds to
 * float32, then to the nearest even integer.
 */
import { Tensor } from '@aic/core';
import { rint } from '@aic/ir-spec';
import type { Range } from './calibrate.ts';

export type ActType = 'uint8' | 'int8';
export interface QParams { scale: number; zeroPoint: number }

const f = Math.fround;

/** Asymmetric activation parameters: [lo, hi] (containing 0) onto the type's 256 levels. */
export function activationParams(r: Range, type: ActType): QParams {
  const [qmin, qmax] = type === 'uint8' ? [0, 255] : [-128, 127];
  const span = r.hi - r.lo;
  if (!(span > 0) || !Number.isFinite(span)) return { scale: 1, zeroPoint: 0 };
  const scale = f(span / (qmax - qmin));
  const zeroPoint = Math.min(qmax, Math.max(qmin, rint(qmin - r.lo / scale)));
  return { scale, zeroPoint };
}

/** QuantizeLinear then DequantizeLinear of one value (what the QDQ model computes). */
export function fakeQuant(x: number, p: QParams, qmin: number, qmax: number): number {
  const q = Math.min(qmax, Math.max(qmin, rint(f(x / p.scale)) + p.zeroPoint));
  return f((q - p.zeroPoint) * p.scale);
}

export const actBounds = (type: ActType): [number, number] => (type === 'uint8' ? [0, 255] : [-128, 127]);

export interface QuantizedWeight {
  q: Tensor;        // int8, the weight's shape
  scale: Float32Array; // one per channel (per-channel) or one
  axis: number | undefined; // the channel axis (per-channel) or undefined (per-tensor)
}

/**
 * Symmetric int8 weights: scale = max|w| / 127 over the tensor or each slice along `axis`
 * (an all-zero slice gets scale 1). `minScale[c]` raises a channel's scale (so its int32 bias fits).
 */
export function quantizeWeight(w: Tensor, axis: number | undefined, minScale?: ArrayLike<number>): QuantizedWeight {
  const shape = w.shape, data = w.num;
  const channels = axis === undefined ? 1 : shape[axis]!;
  const inner = axis === undefined ? data.length : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const chOf = (i: number) => (axis === undefined ? 0 : Math.floor(i / inner) % channels);
  const amax = new Float64Array(channels);
  for (let i = 0; i < data.length; i++) { const c = chOf(i); amax[c] = Math.max(amax[c]!, Math.abs(data[i]!)); }
  const scale = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scale[c] = Math.max(amax[c]! > 0 ? amax[c]! / 127 : 1, minScale?.[c] ?? 0);
  const q = new Tensor('int8', shape);
  const qd = q.num;
  for (let i = 0; i < data.length; i++) qd[i] = Math.min(127, Math.max(-127, rint(f(data[i]! / scale[chOf(i)]!))));
  return { q, scale, axis };
}

const INT32_MAX = 2147483647;

/** The smallest weight scale per channel that keeps bias / (inScale * wScale) inside int32. */
export function biasMinScale(bias: Tensor, inScale: number): Float32Array {
  const b = bias.num, out = new Float32Array(b.length);
  for (let c = 0; c < b.length; c++) out[c] = Math.abs(b[c]!) / (inScale * (INT32_MAX - 1));
  return out;
}

/** int32 bias with scale inScale * wScale[c] (wScale of one element: per tensor). */
export function quantizeBias(bias: Tensor, inScale: number, wScale: Float32Array): { q: Tensor; scale: Float32Array } {
  const b = bias.num, n = b.length;
  const scale = new Float32Array(wScale.length);
  for (let c = 0; c < wScale.length; c++) scale[c] = inScale * wScale[c]!;
  const q = new Tensor('int32', [n]);
  const qd = q.num;
  for (let c = 0; c < n; c++) {
    const s = scale[wScale.length === 1 ? 0 : c]!;
    qd[c] = Math.min(INT32_MAX, Math.max(-INT32_MAX, rint(f(b[c]! / s))));
  }
  return { q, scale };
}

/** Signal-to-quantization-noise ratio in dB: 10 log10(sum x^2 / sum (x - y)^2); Infinity when equal. */
export function sqnrDb(signal: number, noise: number): number {
  if (noise === 0) return Infinity;
  if (signal === 0) return -Infinity;
  return 10 * Math.log10(signal / noise);
}

/** Accumulates sum x^2 and sum (x - y)^2 over arrays. */
export class SqnrAcc {
  signal = 0;
  noise = 0;
  add(x: ArrayLike<number>, y: ArrayLike<number>): void {
    for (let i = 0; i < x.length; i++) { const d = x[i]! - y[i]!; this.signal += x[i]! * x[i]!; this.noise += d * d; }
  }
  get db(): number { return sqnrDb(this.signal, this.noise); }
}
