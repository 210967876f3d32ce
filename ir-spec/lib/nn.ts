/**
 * Kernels and window geometry shared by the nn ops (convolution, pooling, normalization).
 * Spatial ranks 1..3 run through one 3-d kernel (leading spatial dims padded with size 1); the inner
 * loops run over contiguous rows of typed arrays with precomputed bounds, no per-element allocation.
 */
import { diag, freshDim, type Dim, type Location, type NumericArray } from '@aic/core';
import { E, lowerCompute, markComputed, type ComputeStage, type Expr, type ScalarType, type TensorRef } from '@aic/loop-ir';
import type { AttrReader, LowerCtx } from '../types.ts';

export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';

/** Resolved sliding-window geometry for one node (per spatial axis). */
export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** begin/end pads; undefined per axis when auto_pad=SAME needs an unknown input size */
  padBegin: number[];
  padEnd: number[];
  out: Dim[];
}

export function readAutoPad(op: string, attrs: AttrReader, loc?: Location): AutoPad {
  const a = attrs.str('auto_pad');
  if (a === 'NOTSET' || a === 'SAME_UPPER' || a === 'SAME_LOWER' || a === 'VALID') return a;
  // some writers emit an empty string for NOTSET
  if (a === '') return 'NOTSET';
  throw diag.unsupportedAttr({ op }, 'auto_pad', a, loc);
}

/** An optional per-axis ints attribute with a fill default, length-checked. */
export function axisInts(op: string, attrs: AttrReader, name: string, n: number, fill: number, loc?: Location,
  len = n, min = 1): number[] {
  if (!attrs.has(name)) return new Array<number>(len).fill(fill);
  const v = attrs.ints(name);
  if (v.length === 0) return new Array<number>(len).fill(fill);
  if (v.length !== len) throw diag.verify(op, `attribute '${name}' has ${v.length} values, expected ${len}`, loc);
  for (const x of v) if (!Number.isInteger(x) || x < min) throw diag.verify(op, `attribute '${name}' value ${x} must be an integer >= ${min}`, loc);
  return v.slice();
}

/**
 * Window geometry for Conv / pooling. `inSp` are the input's spatial dims (possibly symbolic).
 * Output size per axis:
 *  NOTSET: floor|ceil((in + pb + pe - dk) / s) + 1  (ceil_mode drops a last window starting in the right pad)
 *  SAME_*: ceil(in / s), total pad = max(0, (out-1)*s + dk - in), odd extra at the end (UPPER) or begin (LOWER)
 *  VALID : NOTSET with zero pads
 */
export function windowGeometry(op: string, inSp: readonly Dim[], kernel: number[], attrs: AttrReader,
  opts: { ceil?: boolean; dilations?: boolean; loc?: Location }): Window {
  const n = inSp.length, loc = opts.loc;
  const strides = axisInts(op, attrs, 'strides', n, 1, loc);
  const dilations = opts.dilations === false ? new Array<number>(n).fill(1) : axisInts(op, attrs, 'dilations', n, 1, loc);
  const autoPad = readAutoPad(op, attrs, loc);
  const padBegin = new Array<number>(n).fill(0), padEnd = new Array<number>(n).fill(0);
  const out: Dim[] = new Array<Dim>(n);
  if (autoPad === 'NOTSET') {
    const pads = axisInts(op, attrs, 'pads', n, 0, loc, 2 * n, 0);
    for (let i = 0; i < n; i++) { padBegin[i] = pads[i]; padEnd[i] = pads[i + n]; }
  } else if (attrs.has('pads') && attrs.ints('pads').some((p) => p !== 0)) {
    throw diag.verify(op, `attributes 'pads' and auto_pad=${autoPad} cannot be used together`, loc);
  }
  for (let i = 0; i < n; i++) {
    const dk = (kernel[i] - 1) * dilations[i] + 1, s = strides[i], d = inSp[i];
    if (typeof d !== 'number') { out[i] = freshDim(); padBegin[i] = NaN; padEnd[i] = NaN; continue; }
    let o: number;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      o = Math.ceil(d / s);
      const total = Math.max(0, (o - 1) * s + dk - d);
      const small = Math.floor(total / 2);
      padBegin[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      padEnd[i] = total - padBegin[i];
    } else {
      // NOTSET, or VALID (= no padding; ceil_mode still applies, as in onnxruntime and the reference)
      const span = d + padBegin[i] + padEnd[i] - dk;
      if (opts.ceil) {
        o = Math.ceil(span / s) + 1;
        if ((o - 1) * s >= d + padBegin[i]) o--;
      } else {
        o = Math.floor(span / s) + 1;
      }
    }
    if (o < 1) throw diag.verify(op, `spatial axis ${i}: input size ${d} is too small for kernel ${kernel[i]} (dilation ${dilations[i]}, pads ${padBegin[i]}+${padEnd[i]})`, loc);
    out[i] = o;
  }
  return { kernel, strides, dilations, padBegin, padEnd, out };
}

/** Pad per-axis lists of up to 3 spatial axes to exactly 3 (leading axes get `fill`). */
export function to3(v: readonly number[], fill: number): [number, number, number] {
  const r: number[] = new Array<number>(3 - v.length).fill(fill).concat(v);
  return [r[0], r[1], r[2]];
}

function asF64(a: NumericArray): Float64Array {
  return a instanceof Float64Array ? a : Float64Array.from(a);
}

/** First output index o in [0, O) with o*s + off >= 0, and last with o*s + off <= I-1. */
function validRange(off: number, s: number, I: number, O: number): [number, number] {
  const lo = off >= 0 ? 0 : Math.ceil(-off / s);
  const hi = Math.min(O - 1, Math.floor((I - 1 - off) / s));
  return [lo, hi];
}

export interface ConvGeom {
  N: number; C: number; M: number; group: number;
  in: [number, number, number];
  out: [number, number, number];
  k: [number, number, number];
  s: [number, number, number];
  d: [number, number, number];
  p: [number, number, number];
}

/**
 * Direct convolution: acc[n, m, o] += sum_{c in group, k} w[m, c, k] * x[n, g*Cg + c, o*s + k*d - p].
 * Loop order per (n, m, c): kernel taps outer, output rows, then a contiguous inner loop over output
 * columns with the valid column range precomputed per kernel column.
 */
export function convDirect(x0: NumericArray, w0: NumericArray, g: ConvGeom, acc: Float64Array): void {
  // one element type in the hot loops keeps them monomorphic
  const x = asF64(x0), w = asF64(w0);
  const { N, C, M, group } = g;
  const [D, H, W] = g.in, [OD, OH, OW] = g.out, [KD, KH, KW] = g.k;
  const [sd, sh, sw] = g.s, [dd, dh, dw] = g.d, [pd, ph, pw] = g.p;
  const Cg = C / group, Mg = M / group;
  const inPlane = D * H * W, outPlane = OD * OH * OW, kSize = KD * KH * KW;
  const owLo = new Int32Array(KW), owHi = new Int32Array(KW), owOff = new Int32Array(KW);
  for (let kw = 0; kw < KW; kw++) {
    const off = kw * dw - pw;
    [owLo[kw], owHi[kw]] = validRange(off, sw, W, OW);
    owOff[kw] = off;
  }
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < group; gi++) {
      // output channels in blocks of 4 share every input load
      for (let m = gi * Mg; m < (gi + 1) * Mg; m += 4) {
        const nb = Math.min(4, (gi + 1) * Mg - m);
        const o0 = (n * M + m) * outPlane;
        const o1 = o0 + (nb > 1 ? outPlane : 0), o2 = o0 + (nb > 2 ? 2 * outPlane : 0), o3 = o0 + (nb > 3 ? 3 * outPlane : 0);
        const wstride = Cg * kSize;
        for (let c = 0; c < Cg; c++) {
          const ibase = (n * C + gi * Cg + c) * inPlane;
          const wbase = (m * Cg + c) * kSize;
          for (let kd = 0; kd < KD; kd++) {
            const [odLo, odHi] = validRange(kd * dd - pd, sd, D, OD);
            for (let kh = 0; kh < KH; kh++) {
              const [ohLo, ohHi] = validRange(kh * dh - ph, sh, H, OH);
              const wrow = wbase + (kd * KH + kh) * KW;
              for (let od = odLo; od <= odHi; od++) {
                const id = od * sd + kd * dd - pd;
                for (let oh = ohLo; oh <= ohHi; oh++) {
                  const ih = oh * sh + kh * dh - ph;
                  const rowIn = ibase + (id * H + ih) * W;
                  const r = (od * OH + oh) * OW;
                  for (let kw = 0; kw < KW; kw++) {
                    const lo = owLo[kw], hi = owHi[kw], base = rowIn + owOff[kw];
                    if (nb === 4) {
                      const w0 = w[wrow + kw], w1 = w[wrow + wstride + kw], w2 = w[wrow + 2 * wstride + kw], w3 = w[wrow + 3 * wstride + kw];
                      const a0 = o0 + r, a1 = o1 + r, a2 = o2 + r, a3 = o3 + r;
                      if (sw === 1) {
                        for (let ow = lo; ow <= hi; ow++) {
                          const xv = x[base + ow];
                          acc[a0 + ow] += w0 * xv; acc[a1 + ow] += w1 * xv; acc[a2 + ow] += w2 * xv; acc[a3 + ow] += w3 * xv;
                        }
                      } else {
                        for (let ow = lo; ow <= hi; ow++) {
                          const xv = x[base + ow * sw];
                          acc[a0 + ow] += w0 * xv; acc[a1 + ow] += w1 * xv; acc[a2 + ow] += w2 * xv; acc[a3 + ow] += w3 * xv;
                        }
                      }
                    } else {
                      for (let j = 0; j < nb; j++) {
                        const wv = w[wrow + j * wstride + kw], a = o0 + j * outPlane + r;
                        if (sw === 1) for (let ow = lo; ow <= hi; ow++) acc[a + ow] += wv * x[base + ow];
                        else for (let ow = lo; ow <= hi; ow++) acc[a + ow] += wv * x[base + ow * sw];
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

/**
 * Transposed convolution (scatter form): acc[n, m, i*s + k*d - p] += x[n, c, i] * w[c, m - g*Mg, k],
 * where c runs over group g's input channels. `g.in` is X's spatial size, `g.out` Y's; W is [C, M/group, k...].
 */
export function convTransposeDirect(x0: NumericArray, w0: NumericArray, g: ConvGeom, acc: Float64Array): void {
  const x = asF64(x0), w = asF64(w0);
  const { N, C, M, group } = g;
  const [D, H, W] = g.in, [OD, OH, OW] = g.out, [KD, KH, KW] = g.k;
  const [sd, sh, sw] = g.s, [dd, dh, dw] = g.d, [pd, ph, pw] = g.p;
  const Cg = C / group, Mg = M / group;
  const inPlane = D * H * W, outPlane = OD * OH * OW, kSize = KD * KH * KW;
  // input column iw writes output column iw*sw + kw*dw - pw: valid iw range per kw
  const iwLo = new Int32Array(KW), iwHi = new Int32Array(KW), kOff = new Int32Array(KW);
  for (let kw = 0; kw < KW; kw++) {
    const off = kw * dw - pw;
    kOff[kw] = off;
    const lo = off >= 0 ? 0 : Math.ceil(-off / sw);
    const hi = Math.min(W - 1, Math.floor((OW - 1 - off) / sw));
    iwLo[kw] = lo; iwHi[kw] = hi;
  }
  const range = (off: number, s: number, I: number, O: number): [number, number] =>
    [off >= 0 ? 0 : Math.ceil(-off / s), Math.min(I - 1, Math.floor((O - 1 - off) / s))];
  for (let n = 0; n < N; n++) {
    for (let ic = 0; ic < C; ic++) {
      const gi = Math.floor(ic / Cg);
      const ibase = (n * C + ic) * inPlane;
      for (let mm = 0; mm < Mg; mm++) {
        const m = gi * Mg + mm;
        const obase = (n * M + m) * outPlane;
        const wbase = (ic * Mg + mm) * kSize;
        for (let kd = 0; kd < KD; kd++) {
          const offD = kd * dd - pd;
          const [idLo, idHi] = range(offD, sd, D, OD);
          for (let kh = 0; kh < KH; kh++) {
            const offH = kh * dh - ph;
            const [ihLo, ihHi] = range(offH, sh, H, OH);
            const wrow = wbase + (kd * KH + kh) * KW;
            for (let id = idLo; id <= idHi; id++) {
              const od = id * sd + offD;
              for (let ih = ihLo; ih <= ihHi; ih++) {
                const oh = ih * sh + offH;
                const rowIn = ibase + (id * H + ih) * W;
                const rowOut = obase + (od * OH + oh) * OW;
                for (let kw = 0; kw < KW; kw++) {
                  const wv = w[wrow + kw];
                  const lo = iwLo[kw], hi = iwHi[kw], base = rowOut + kOff[kw];
                  if (sw === 1) {
                    for (let iw = lo; iw <= hi; iw++) acc[base + iw] += wv * x[rowIn + iw];
                  } else {
                    for (let iw = lo; iw <= hi; iw++) acc[base + iw * sw] += wv * x[rowIn + iw];
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

export type PoolMode = 'max' | 'avg' | 'lp';

export interface PoolGeom {
  NC: number;
  in: [number, number, number];
  out: [number, number, number];
  k: [number, number, number];
  s: [number, number, number];
  d: [number, number, number];
  p: [number, number, number];
  /** end pads (count_include_pad divisor counts window taps inside [-pb, in + pe)) */
  pe: [number, number, number];
}

/**
 * Sliding-window pooling over [NC, D, H, W]. max: first maximum (NaN only if the first tap is NaN);
 * avg: divisor = in-bounds taps, or taps inside the padded extent with countIncludePad;
 * lp: (sum |x|^p)^(1/p). `indices` (max only) gets the flat input index (col-major spatial with
 * storageOrder 1), including the n*C + c plane offset.
 */
export function poolDirect(x: NumericArray, g: PoolGeom, mode: PoolMode, out: Float64Array,
  opts: { countIncludePad?: boolean; p?: number; indices?: Float64Array; storageOrder?: number } = {}): void {
  const [D, H, W] = g.in, [OD, OH, OW] = g.out, [KD, KH, KW] = g.k;
  const [sd, sh, sw] = g.s, [dd, dh, dw] = g.d, [pd, ph, pw] = g.p, [ed, eh, ew] = g.pe;
  const plane = D * H * W, oplane = OD * OH * OW;
  const p = opts.p ?? 2, incl = !!opts.countIncludePad, idx = opts.indices, colMajor = opts.storageOrder === 1;
  // count of taps of one axis' window starting at `start` that fall inside [lo, hi)
  const taps = (start: number, K: number, dl: number, lo: number, hi: number): number => {
    let c = 0;
    for (let k = 0; k < K; k++) { const i = start + k * dl; if (i >= lo && i < hi) c++; }
    return c;
  };
  for (let nc = 0; nc < g.NC; nc++) {
    const ib = nc * plane, ob = nc * oplane;
    for (let od = 0; od < OD; od++) {
      const d0 = od * sd - pd;
      for (let oh = 0; oh < OH; oh++) {
        const h0 = oh * sh - ph;
        for (let ow = 0; ow < OW; ow++) {
          const w0 = ow * sw - pw;
          let acc = 0, cnt = 0, best = 0, bestIdx = -1, first = true;
          for (let kd = 0; kd < KD; kd++) {
            const id = d0 + kd * dd;
            if (id < 0 || id >= D) continue;
            for (let kh = 0; kh < KH; kh++) {
              const ih = h0 + kh * dh;
              if (ih < 0 || ih >= H) continue;
              const row = ib + (id * H + ih) * W;
              for (let kw = 0; kw < KW; kw++) {
                const iw = w0 + kw * dw;
                if (iw < 0 || iw >= W) continue;
                const v = x[row + iw];
                if (mode === 'max') {
                  if (first || v > best) {
                    best = v; first = false;
                    if (idx) bestIdx = colMajor ? ib + ih + iw * H + id * H * W : row + iw;
                  }
                } else if (mode === 'avg') { acc += v; cnt++; }
                else acc += p === 1 ? Math.abs(v) : p === 2 ? v * v : Math.abs(v) ** p;
              }
            }
          }
          const o = ob + (od * OH + oh) * OW + ow;
          if (mode === 'max') {
            out[o] = first ? -Infinity : best;
            if (idx) idx[o] = bestIdx;
          } else if (mode === 'avg') {
            if (incl) cnt = taps(d0, KD, dd, -pd, D + ed) * taps(h0, KH, dh, -ph, H + eh) * taps(w0, KW, dw, -pw, W + ew);
            out[o] = cnt > 0 ? acc / cnt : NaN;
          } else {
            out[o] = p === 1 ? acc : p === 2 ? Math.sqrt(acc) : acc ** (1 / p);
          }
        }
      }
    }
  }
}

// ================================================================================================
// Lowering helpers (compute definitions for compiled targets)
// ================================================================================================

/** f64 view of an expression (the reference kernels accumulate in float64). */
export const f64 = (e: Expr): Expr => E.cast(e, 'f64');
export const c64 = (v: number): Expr => E.c(v, 'f64');

/** Fresh reduction axes with the given extents. */
export function reduceAxes(ctx: LowerCtx, extents: readonly number[], prefix = 'r'): { vars: Expr[]; axes: { name: string; extent: number }[] } {
  const axes = extents.map((extent) => ({ name: ctx.fresh(prefix), extent }));
  return { vars: axes.map((a) => E.v(a.name)), axes };
}

/**
 * A kernel-private tensor defined like an output (one expression per element, reductions allowed),
 * realized as its own loop nest ahead of the stages that read it.
 */
export function tempCompute(ctx: LowerCtx, prefix: string, dtype: ScalarType, shape: number[], f: (idx: Expr[]) => Expr): TensorRef {
  const t = ctx.temp(prefix, dtype, shape);
  const axes = shape.map(() => ctx.fresh('i'));
  const st: ComputeStage = { kind: 'compute', out: t.buf, axes, body: f(axes.map((a) => E.v(a))) };
  // the loop nest is recorded as this compute's realization (for the inline / compute-at directives)
  ctx.extern([], markComputed(lowerCompute(st, ctx.fresh), st));
  return t;
}

/**
 * tempCompute as a compute stage of the kernel where the ctx stages temps (computeTemp): the default
 * schedules then see it (a row statistic's reduction gets interleaved rows, an elementwise one
 * vectors); the same expression per element, so the same results.
 */
export function stagedTemp(ctx: LowerCtx, prefix: string, dtype: ScalarType, shape: number[], f: (idx: Expr[]) => Expr): TensorRef {
  if (!ctx.computeTemp) return tempCompute(ctx, prefix, dtype, shape, f);
  const t = ctx.temp(prefix, dtype, shape);
  ctx.computeTemp(t, f);
  return t;
}

/** AND of conditions (true when empty). */
export function allOf(cs: readonly Expr[]): Expr | undefined {
  return cs.length ? cs.reduce((a, b) => E.and(a, b)) : undefined;
}

/** select(c, a, b), or a when there is no condition. */
export function guard(c: Expr | undefined, a: Expr, b: Expr): Expr {
  return c ? E.select(c, a, b) : a;
}

/** floor(a / d) and ceil(a / d) for an integer expression a and a constant d > 0 (C division truncates). */
export function floorDivE(a: Expr, d: number): Expr {
  return d === 1 ? a : E.select(E.ge(a, E.i(0)), E.div(a, E.i(d)), E.neg(E.div(E.sub(E.i(d - 1), a), E.i(d))));
}
export function ceilDivE(a: Expr, d: number): Expr {
  return d === 1 ? a : E.neg(floorDivE(E.neg(a), d));
}

/**
 * One sliding-window axis for lowering: window start = o*s - pb, taps at start + k*d for k < K over
 * an input of size I. `needLo` / `needHi`: whether some tap of some output position falls below 0 /
 * at or beyond I (when neither, no bounds checks are emitted).
 */
export interface WinAxis { I: number; O: number; K: number; s: number; d: number; pb: number; pe: number; needLo: boolean; needHi: boolean }

export function winAxes(I: readonly number[], O: readonly number[], K: readonly number[], s: readonly number[], d: readonly number[],
  pb: readonly number[], pe: readonly number[]): WinAxis[] {
  return I.map((Ii, a) => ({
    I: Ii, O: O[a], K: K[a], s: s[a], d: d[a], pb: pb[a], pe: pe[a],
    needLo: pb[a] > 0,
    needHi: (O[a] - 1) * s[a] - pb[a] + (K[a] - 1) * d[a] >= Ii,
  }));
}

/** Input position of tap k for output position o on one axis. */
export function tapPos(w: WinAxis, o: Expr, k: Expr): Expr {
  return E.add(E.sub(E.mul(o, E.i(w.s)), E.i(w.pb)), E.mul(k, E.i(w.d)));
}

/** Condition that position p is inside [0, I) (only the sides that can fail), or undefined. */
export function inBounds(w: WinAxis, p: Expr): Expr | undefined {
  const cs: Expr[] = [];
  if (w.needLo) cs.push(E.ge(p, E.i(0)));
  if (w.needHi) cs.push(E.lt(p, E.i(w.I)));
  return allOf(cs);
}

/** Number of taps of output position o's window inside [lo, hi) (host-side). */
export function tapCount(w: WinAxis, o: number, lo: number, hi: number): number {
  let c = 0;
  for (let k = 0; k < w.K; k++) { const p = o * w.s - w.pb + k * w.d; if (p >= lo && p < hi) c++; }
  return c;
}

/** Number of taps inside [lo, hi) as an i32 expression of o (a constant when it never varies). */
export function tapCountE(w: WinAxis, o: Expr, lo: number, hi: number): Expr {
  const counts = Array.from({ length: w.O }, (_, i) => tapCount(w, i, lo, hi));
  if (counts.every((c) => c === counts[0])) return E.i(counts[0]);
  const start = E.sub(E.mul(o, E.i(w.s)), E.i(w.pb));
  const kmin = E.max(E.i(0), ceilDivE(E.sub(E.i(lo), start), w.d));
  const kmax = E.min(E.i(w.K - 1), floorDivE(E.sub(E.i(hi - 1), start), w.d));
  return E.max(E.i(0), E.add(E.sub(kmax, kmin), E.i(1)));
}

/**
 * First in-bounds tap of o's window on one axis: its k and whether it exists (undefined = always).
 * k = max(0, ceil(-start / d)).
 */
export function firstTap(w: WinAxis, o: Expr): { k: Expr; valid: Expr | undefined } {
  const start = E.sub(E.mul(o, E.i(w.s)), E.i(w.pb));
  const k = w.needLo ? E.max(E.i(0), ceilDivE(E.neg(start), w.d)) : E.i(0);
  let always = true;
  for (let i = 0; i < w.O; i++) if (tapCount(w, i, 0, w.I) === 0) always = false;
  const valid = always ? undefined : E.and(E.lt(k, E.i(w.K)), E.lt(E.add(start, E.mul(k, E.i(w.d))), E.i(w.I)));
  return { k, valid };
}

/** ConvTranspose geometry per axis: output size and begin pad (see the ONNX spec / reference). */
export function convTransposeGeometry(op: string, inSp: readonly Dim[], kernel: number[], attrs: AttrReader, l: Location):
  { out: Dim[]; padBegin: number[]; strides: number[]; dilations: number[] } {
  const n = inSp.length;
  const strides = axisInts(op, attrs, 'strides', n, 1, l);
  const dilations = axisInts(op, attrs, 'dilations', n, 1, l);
  const outPad = axisInts(op, attrs, 'output_padding', n, 0, l, n, 0);
  outPad.forEach((p, i) => {
    if (p >= Math.max(strides[i], dilations[i])) throw diag.verify(op, `output_padding ${p} must be smaller than stride or dilation on axis ${i}`, l);
  });
  const autoPad = readAutoPad(op, attrs, l);
  const hasPads = autoPad === 'NOTSET' && attrs.has('pads') && attrs.ints('pads').length > 0;
  const pads = hasPads ? axisInts(op, attrs, 'pads', n, 0, l, 2 * n, 0) : new Array<number>(2 * n).fill(0);
  let outShape: number[] | undefined;
  if (attrs.has('output_shape') && attrs.ints('output_shape').length > 0) {
    const os = attrs.ints('output_shape');
    if (os.length === n) outShape = os.slice();
    else if (os.length === n + 2) outShape = os.slice(2);
    else throw diag.verify(op, `output_shape has ${os.length} values for ${n} spatial axes`, l);
  }
  const out: Dim[] = [], padBegin: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = inSp[i], s = strides[i], dk = (kernel[i] - 1) * dilations[i] + 1;
    if (typeof d !== 'number') { out.push(outShape ? outShape[i] : freshDim()); padBegin.push(NaN); continue; }
    const full = s * (d - 1) + outPad[i] + dk;
    if (outShape === undefined && autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') {
      const o = full - pads[i] - pads[i + n];
      if (o < 1) throw diag.verify(op, `output size ${o} on spatial axis ${i} is not positive`, l);
      out.push(o); padBegin.push(pads[i]);
      continue;
    }
    const o = outShape ? outShape[i] : d * s;
    const total = full - o;
    let pb: number;
    if (hasPads) {
      // explicit pads together with output_shape: only when they agree with each other
      if (pads[i] + pads[i + n] !== total) {
        throw diag.unsupportedFeature(`${op} with both pads and an output_shape that disagrees with them`, l);
      }
      pb = pads[i];
    } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      // runtimes disagree on negative totals; odd totals put the extra pad at the end (UPPER) / begin (LOWER)
      if (total < 0) throw diag.unsupportedFeature(`${op} auto_pad=${autoPad} with output larger than the full transposed size`, l);
      const half = Math.floor(total / 2);
      pb = autoPad === 'SAME_UPPER' ? half : total - half;
    } else {
      // output_shape without pads: pads start at 0, the output is cropped or zero-extended at the end
      // (ONNX reference and onnxruntime agree only for total <= 0)
      if (total > 0) throw diag.unsupportedFeature(`${op} output_shape smaller than the full transposed size without pads`, l);
      pb = 0;
    }
    out.push(o); padBegin.push(pb);
  }
  return { out, padBegin, strides, dilations };
}
