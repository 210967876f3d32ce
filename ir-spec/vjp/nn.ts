/**
 * Derivative rules of Conv, pooling and normalization, as graph IR: Conv's data gradient is a
 * ConvTranspose, its weight gradient a Conv of the input with the output cotangent (batch as
 * channels), MaxPool scatters through its Indices, AveragePool is a ConvTranspose with a ones kernel.
 */
import { Tensor, type Value } from '@aic/core';
import { windowGeometry, type Window } from '../lib/nn.ts';
import type { VjpCtx, VjpDef } from '../types.ts';
import { cst, dimsOf, expandTo, reshape, sumTo } from './util.ts';

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
/** [1, 0, 2, 3...]: swap the batch and channel axes */
const swap01 = (r: number) => [1, 0, ...range(2, r)];

function geometry(c: VjpCtx, x: Value, kernel: number[], ceil: boolean): Window {
  const xs = dimsOf(c, x);
  return windowGeometry(c.node.op, xs.slice(2), kernel, c.attrs, { ceil, dilations: true });
}

/** The ConvTranspose attributes that map an output-shaped tensor back onto x's extent. */
function transposeAttrs(c: VjpCtx, x: Value, y: Value, w: Window, kernel: number[]) {
  const xs = dimsOf(c, x).slice(2), ys = dimsOf(c, y).slice(2);
  const short = xs.map((d, i) => d - ((ys[i]! - 1) * w.strides[i]! + (kernel[i]! - 1) * w.dilations[i]! + 1 - w.padBegin[i]! - w.padEnd[i]!));
  // short > 0: input rows no window reached (output_padding adds them, as zeros); short < 0: the last
  // windows reach past the end padding (ceil_mode): crop that much more at the end
  const padEnd = w.padEnd.map((p, i) => p + Math.max(0, -short[i]!));
  return { strides: w.strides, dilations: w.dilations, pads: [...w.padBegin, ...padEnd], output_padding: short.map((s) => Math.max(0, s)) };
}

export const conv: VjpDef = {
  wrt: [0, 1, 2],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const [x, wt, bias] = [c.x[0]!, c.x[1]!, c.x[2]];
    const xs = dimsOf(c, x), ws = dimsOf(c, wt), r = xs.length;
    const kernel = ws.slice(2), group = c.attrs.int('group');
    const w = geometry(c, x, kernel, false);
    let dx: Value | undefined, dw: Value | undefined, db: Value | undefined;
    if (c.need[0]) dx = c.b.op1('ConvTranspose', [dy, wt], { ...transposeAttrs(c, x, c.y[0], w, kernel), group });
    if (c.need[1]) {
      const Cg = xs[1]! / group, Mg = ws[0]! / group;
      const parts: Value[] = [];
      for (let g = 0; g < group; g++) {
        const xg = group === 1 ? x : c.b.op1('Slice', [x, c.b.ints([g * Cg]), c.b.ints([(g + 1) * Cg]), c.b.ints([1])]);
        const dyg = group === 1 ? dy : c.b.op1('Slice', [dy, c.b.ints([g * Mg]), c.b.ints([(g + 1) * Mg]), c.b.ints([1])]);
        // channels <-> batch: a Conv of x (C as batch) with dy (M as filters) sums over the batch
        const full = c.b.op1('Conv', [c.b.op1('Transpose', [xg], { perm: swap01(r) }), c.b.op1('Transpose', [dyg], { perm: swap01(r) })],
          { strides: w.dilations, dilations: w.strides, pads: [...w.padBegin, ...w.padEnd] });
        const fs = dimsOf(c, full).slice(2);
        const cut = fs.every((d, i) => d === kernel[i]) ? full
          : c.b.op1('Slice', [full, c.b.ints(kernel.map(() => 0)), c.b.ints(kernel), c.b.ints(range(2, r))]);
        parts.push(c.b.op1('Transpose', [cut], { perm: swap01(r) }));
      }
      dw = parts.length === 1 ? parts[0] : c.b.op1('Concat', parts, { axis: 0 });
    }
    if (bias && c.need[2]) db = c.b.op1('ReduceSum', [dy, c.b.ints([0, ...range(2, r)])], { keepdims: 0 });
    return [dx, dw, db];
  },
};

export const maxPool: VjpDef = {
  wrt: [0],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    if (c.attrs.int('storage_order') !== 0) c.unsupported('MaxPool storage_order=1');
    const x = c.x[0]!, xs = dimsOf(c, x);
    const total = xs.reduce((a, d) => a * d, 1);
    const attrs: Record<string, import('@aic/core').Attr> = { ...c.node.attrs };
    const idx = c.b.op('MaxPool', [x], attrs, 2)[1];
    const zeros = c.b.op1('ConstantOfShape', [c.b.ints([total])], { value: { type: 'tensor', value: Tensor.fromNumbers(x.dtype, [1], [0]) } });
    const flat = c.b.op1('ScatterND', [zeros, reshape(c.b, idx, [-1, 1]), reshape(c.b, dy, [-1])], { reduction: 'add' });
    return [reshape(c.b, flat, xs)];
  },
};

/** taps of each window along one axis that the average divides by */
function taps(o: number, w: Window, i: number, k: number, lo: number, hi: number): number {
  let n = 0;
  for (let t = 0; t < k; t++) { const p = o * w.strides[i]! - w.padBegin[i]! + t * w.dilations[i]!; if (p >= lo && p < hi) n++; }
  return n;
}

export const averagePool: VjpDef = {
  wrt: [0],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const x = c.x[0]!, xs = dimsOf(c, x), ys = dimsOf(c, c.y[0]);
    const kernel = c.attrs.ints('kernel_shape');
    const w = geometry(c, x, kernel, c.attrs.int('ceil_mode') !== 0);
    const incl = c.attrs.int('count_include_pad') !== 0;
    // the divisor of every output position (the same for each batch row and channel)
    const sp = ys.slice(2), n = sp.reduce((a, d) => a * d, 1);
    const counts = new Array<number>(n);
    for (let f = 0; f < n; f++) {
      let rest = f, cnt = 1;
      for (let i = sp.length - 1; i >= 0; i--) {
        const o = rest % sp[i]!; rest = Math.floor(rest / sp[i]!);
        const lo = incl ? -w.padBegin[i]! : 0, hi = incl ? xs[i + 2]! + w.padEnd[i]! : xs[i + 2]!;
        cnt *= taps(o, w, i, kernel[i]!, lo, hi);
      }
      counts[f] = 1 / cnt;
    }
    const scaled = c.b.op1('Mul', [dy, c.b.constant(Tensor.fromNumbers(dy.dtype, [1, 1, ...sp], counts))]);
    const C = xs[1]!;
    const ones = c.b.constant(Tensor.fromNumbers(x.dtype, [C, 1, ...kernel], new Array<number>(C * kernel.reduce((a, k) => a * k, 1)).fill(1)));
    return [c.b.op1('ConvTranspose', [scaled, ones], { ...transposeAttrs(c, x, c.y[0], w, kernel), group: C })];
  },
};

export const globalAveragePool: VjpDef = {
  wrt: [0],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const xs = dimsOf(c, c.x[0]!), n = xs.slice(2).reduce((a, d) => a * d, 1);
    return [expandTo(c.b, c.b.op1('Mul', [dy, cst(c.b, dy, 1 / n)]), xs)];
  },
};

/** per-channel [C] -> [C, 1, 1...] so it broadcasts over NCHW */
const perChannel = (c: VjpCtx, v: Value, r: number) => reshape(c.b, v, [dimsOf(c, v)[0]!, ...new Array<number>(r - 2).fill(1)]);

/** inference form: y = (x - mean) / sqrt(var + eps) * scale + B */
export const batchNorm: VjpDef = {
  wrt: [0, 1, 2],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy && !c.dy[1] && !c.dy[2]) return [];
    if (!dy) return batchNormTraining(c, undefined);
    if (c.attrs.int('training_mode') !== 0) return batchNormTraining(c, dy);
    const [x, scale, , mean, vr] = c.x as Value[];
    const r = dimsOf(c, x).length, axes = c.b.ints([0, ...range(2, r)]);
    const inv = c.b.op1('Reciprocal', [c.b.op1('Sqrt', [c.b.op1('Add', [vr, cst(c.b, vr, c.attrs.float('epsilon'))])])]);
    const invC = perChannel(c, inv, r);
    const dx = c.need[0] ? c.b.op1('Mul', [dy, perChannel(c, c.b.op1('Mul', [scale, inv]), r)]) : undefined;
    let dscale: Value | undefined;
    if (c.need[1]) {
      const xhat = c.b.op1('Mul', [c.b.op1('Sub', [x, perChannel(c, mean, r)]), invC]);
      dscale = c.b.op1('ReduceSum', [c.b.op1('Mul', [dy, xhat]), axes], { keepdims: 0 });
    }
    const db = c.need[2] ? c.b.op1('ReduceSum', [dy, axes], { keepdims: 0 }) : undefined;
    return [dx, dscale, db];
  },
};

/**
 * training_mode=1: the batch statistics mu, var (biased) over (N, spatial) normalize x, so they carry
 * the derivative: with xhat = (x - mu) inv, g = dy scale, dx = inv (g - mean(g) - xhat mean(g xhat)),
 * as LayerNormalization's rule over the other axes. The running statistics (outputs 1 and 2,
 * momentum m: m input_stat + (1 - m) batch_stat) pass (1 - m) of their cotangents on to x through mu
 * and var; input_mean and input_var carry none (statistics).
 */
function batchNormTraining(c: VjpCtx, dy: Value | undefined): (Value | undefined)[] {
  const xs = dimsOf(c, c.x[0]!);
  const { dx, dscale, db, xc } = normalizedVjp(c, dy, [0, ...range(2, xs.length)]);
  let d = dx;
  if (c.need[0]) {
    const k = 1 - c.attrs.float('momentum'), r = xs.length;
    const cnt = xs[0]! * xs.slice(2).reduce((a, n) => a * n, 1);
    // d mu / dx = 1/cnt; d var / dx = 2 (x - mu) / cnt
    const [dm, dv] = [c.dy[1], c.dy[2]];
    if (dm) d = addTo(c, d, c.b.op1('Expand', [perChannel(c, c.b.op1('Mul', [dm, cst(c.b, dm, k / cnt)]), r), c.b.ints(xs)]));
    if (dv) d = addTo(c, d, c.b.op1('Mul', [xc, perChannel(c, c.b.op1('Mul', [dv, cst(c.b, dv, 2 * k / cnt)]), r)]));
  }
  return [d, dscale, db];
}

/**
 * x normalized by its own mean and biased variance over `stat` axes, then scaled and shifted per
 * channel (axis 1): BatchNormalization in training mode (stat: N and spatial), InstanceNormalization
 * (spatial). With xhat = (x - mu) inv, g = dy scale: dx = inv (g - mean(g) - xhat mean(g xhat)) (means
 * over `stat`), dscale = sum(dy xhat), dB = sum(dy) over N and spatial.
 */
function normalizedVjp(c: VjpCtx, dy: Value | undefined, stat: number[]) {
  const [x, scale] = c.x as Value[];
  const r = dimsOf(c, x).length, axes = c.b.ints(stat), perC = c.b.ints([0, ...range(2, r)]);
  const mean = (v: Value) => c.b.op1('ReduceMean', [v, axes], { keepdims: 1 });
  const mul = (a: Value, b: Value) => c.b.op1('Mul', [a, b]);
  const xc = c.b.op1('Sub', [x, mean(x)]);
  const inv = c.b.op1('Reciprocal', [c.b.op1('Sqrt', [c.b.op1('Add', [mean(mul(xc, xc)), cst(c.b, x, c.attrs.float('epsilon'))])])]);
  const xhat = mul(xc, inv);
  let dx: Value | undefined, dscale: Value | undefined, db: Value | undefined;
  if (dy) {
    if (c.need[0]) {
      const g = mul(dy, perChannel(c, scale, r));
      dx = mul(c.b.op1('Sub', [c.b.op1('Sub', [g, mean(g)]), mul(xhat, mean(mul(g, xhat)))]), inv);
    }
    if (c.need[1]) dscale = c.b.op1('ReduceSum', [mul(dy, xhat), perC], { keepdims: 0 });
    if (c.need[2]) db = c.b.op1('ReduceSum', [dy, perC], { keepdims: 0 });
  }
  return { dx, dscale, db, xc };
}

/** InstanceNormalization: normalized per (n, c) over the spatial axes */
export const instanceNorm: VjpDef = {
  wrt: [0, 1, 2],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const { dx, dscale, db } = normalizedVjp(c, dy, range(2, dimsOf(c, c.x[0]!).length));
    return [dx, dscale, db];
  },
};
const addTo = (c: VjpCtx, a: Value | undefined, b: Value) => (a ? c.b.op1('Add', [a, b]) : b);

/** y = (x - mu) * inv * Scale + B over axes [axis, rank) */
export const layerNorm: VjpDef = {
  wrt: [0, 1, 2],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const [x, scale, bias] = [c.x[0]!, c.x[1]!, c.x[2]];
    const xs = dimsOf(c, x), r = xs.length;
    const a0 = c.attrs.int('axis'), axis = a0 < 0 ? a0 + r : a0;
    const axes = c.b.ints(range(axis, r));
    const mean = (v: Value) => c.b.op1('ReduceMean', [v, axes], { keepdims: 1 });
    const xc = c.b.op1('Sub', [x, mean(x)]);
    const inv = c.b.op1('Reciprocal', [c.b.op1('Sqrt', [c.b.op1('Add', [mean(c.b.op1('Mul', [xc, xc])), cst(c.b, x, c.attrs.float('epsilon'))])])]);
    const xhat = c.b.op1('Mul', [xc, inv]);
    let dx: Value | undefined;
    if (c.need[0]) {
      const g = c.b.op1('Mul', [dy, scale]);
      const inner = c.b.op1('Sub', [c.b.op1('Sub', [g, mean(g)]), c.b.op1('Mul', [xhat, mean(c.b.op1('Mul', [g, xhat]))])]);
      dx = c.b.op1('Mul', [inner, inv]);
    }
    const ds = c.need[1] ? sumTo(c, c.b.op1('Mul', [dy, xhat]), dimsOf(c, scale)) : undefined;
    const db = bias && c.need[2] ? sumTo(c, dy, dimsOf(c, bias)) : undefined;
    return [dx, ds, db];
  },
};

/** ConvTranspose with explicit pads: dX is a Conv of dY with W, dW a Conv of dY (batch as channels) with X */
export const convTranspose: VjpDef = {
  wrt: [0, 1, 2],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    if (c.attrs.has('output_shape') || !['NOTSET', ''].includes(c.attrs.str('auto_pad'))) c.unsupported('ConvTranspose with output_shape or auto_pad');
    const [x, wt, bias] = [c.x[0]!, c.x[1]!, c.x[2]];
    const xs = dimsOf(c, x), ws = dimsOf(c, wt), r = xs.length, n = r - 2;
    const kernel = ws.slice(2), group = c.attrs.int('group');
    const ints = (name: string, fill: number, len = n) => (c.attrs.has(name) && c.attrs.ints(name).length ? c.attrs.ints(name) : new Array<number>(len).fill(fill));
    const strides = ints('strides', 1), dilations = ints('dilations', 1), pads = ints('pads', 0, 2 * n);
    let dx: Value | undefined, dw: Value | undefined, db: Value | undefined;
    if (c.need[0]) dx = c.b.op1('Conv', [dy, wt], { strides, dilations, pads, group });
    if (c.need[1]) {
      const Cg = xs[1]! / group, Mg = ws[1]!;
      const parts: Value[] = [];
      for (let g = 0; g < group; g++) {
        const xg = group === 1 ? x : c.b.op1('Slice', [x, c.b.ints([g * Cg]), c.b.ints([(g + 1) * Cg]), c.b.ints([1])]);
        const dyg = group === 1 ? dy : c.b.op1('Slice', [dy, c.b.ints([g * Mg]), c.b.ints([(g + 1) * Mg]), c.b.ints([1])]);
        const full = c.b.op1('Conv', [c.b.op1('Transpose', [dyg], { perm: swap01(r) }), c.b.op1('Transpose', [xg], { perm: swap01(r) })],
          { strides: dilations, dilations: strides, pads });
        const fs = dimsOf(c, full).slice(2);
        const cut = fs.every((d, i) => d === kernel[i]) ? full
          : c.b.op1('Slice', [full, c.b.ints(kernel.map(() => 0)), c.b.ints(kernel), c.b.ints(range(2, r))]);
        parts.push(c.b.op1('Transpose', [cut], { perm: swap01(r) }));
      }
      dw = parts.length === 1 ? parts[0] : c.b.op1('Concat', parts, { axis: 0 });
    }
    if (bias && c.need[2]) db = c.b.op1('ReduceSum', [dy, c.b.ints([0, ...range(2, r)])], { keepdims: 0 });
    return [dx, dw, db];
  },
};
