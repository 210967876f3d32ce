/**
 * Signal processing (opset 17): window generators (Hann, Hamming, Blackman), DFT, STFT and
 * MelWeightMatrix. Complex values use a trailing axis of 2 (real, imaginary).
 */
import { Tensor, diag, dtypeFromOnnx, freshDim, isFloat, nodeLocation, type DType, type Dim } from '@aic/core';
import { defineOp } from '../registry.ts';
import type { EvalCtx, InferCtx, LowerCtx, OpDef } from '../types.ts';
import { E, S, type Expr, type Stmt, type TensorRef } from '@aic/loop-ir';
import { FLOATS, INTS, requireDtype } from '../lib/infer-helpers.ts';
import { normAxis } from '../lib/util.ts';

// ---- helpers ------------------------------------------------------------------------------------

function outDtype(ctx: InferCtx | EvalCtx, attr = 'output_datatype'): DType {
  const code = ctx.attrs.int(attr);
  const d = dtypeFromOnnx(code);
  if (!d || d === 'string' || d === 'bool') throw diag.unsupportedDtype(`${ctx.node.op} ${attr}`, d ?? `code ${code}`, nodeLocation(ctx.node));
  return d;
}

function scalarInt(t: Tensor, what: string): number {
  if (t.size !== 1) throw diag.verify(what, `expected a scalar, got shape [${t.shape.join(', ')}]`);
  return Math.trunc(t.num[0]!);
}

/** Complex DFT of length n of (re, im) sampled with stride; returns `bins` output bins. */
function dft1(re: Float64Array, im: Float64Array, n: number, bins: number, inverse: boolean): [Float64Array, Float64Array] {
  const oRe = new Float64Array(bins), oIm = new Float64Array(bins);
  const sign = inverse ? 1 : -1;
  for (let k = 0; k < bins; k++) {
    let sr = 0, si = 0;
    for (let t = 0; t < n; t++) {
      const ang = (sign * 2 * Math.PI * ((k * t) % n)) / n;
      const c = Math.cos(ang), s = Math.sin(ang);
      sr += re[t] * c - im[t] * s;
      si += re[t] * s + im[t] * c;
    }
    oRe[k] = inverse ? sr / n : sr;
    oIm[k] = inverse ? si / n : si;
  }
  return [oRe, oIm];
}

// ---- windows ------------------------------------------------------------------------------------

/** Window formulas over JS numbers (reference) or f64 loop-IR expressions (lowering), same operations. */
interface WArith<V> { c(v: number): V; add(a: V, b: V): V; sub(a: V, b: V): V; mul(a: V, b: V): V; div(a: V, b: V): V; cos(a: V): V }
const WNUM: WArith<number> = { c: (v) => v, add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b, cos: Math.cos };
const WEXPR: WArith<Expr> = { c: (v) => E.c(v, 'f64'), add: E.add, sub: E.sub, mul: E.mul, div: E.div, cos: (a) => E.call('cos', a) };
type WindowF = <V>(A: WArith<V>, n: V, N: V) => V;

function windowOp(name: string, summary: string, f: WindowF): OpDef {
  return defineOp({
    name, category: 'signal', summary,
    types: { T1: ['int32', 'int64'] },
    inputs: [{ name: 'size', type: 'T1', shapeData: true }],
    outputs: [{ name: 'output' }],
    attrs: {
      output_datatype: { type: 'int', default: 1, doc: 'ONNX element type of the output (default float)' },
      periodic: { type: 'int', default: 1, doc: '1: periodic window (N = size); 0: symmetric (N = size - 1)' },
    },
    onnx: { since: 17 },
    infer: (ctx) => {
      requireDtype(ctx, 0, ['int32', 'int64']);
      const c = ctx.constValue(0);
      const dt = outDtype(ctx);
      return [{ dtype: dt, shape: [c ? Math.max(0, scalarInt(c, name)) : freshDim('window')] }];
    },
    eval: (ctx) => {
      const size = scalarInt(ctx.input(0), name);
      if (size < 0) throw diag.runtime(name, `size ${size} must be non-negative`);
      const N = ctx.attrs.int('periodic') !== 0 ? size : size - 1;
      const dt = outDtype(ctx);
      const vals = Array.from({ length: size }, (_, n) => (N === 0 ? 1 : f(WNUM, n, N)));
      return [Tensor.fromNumbers(dt, [size], vals)];
    },
    lower: (ctx) => {
      const out = ctx.outputs[0], size = out.shape[0];
      if (out.dtype !== 'f32' && out.dtype !== 'f64') ctx.unsupported(`output type ${out.dtype}`);
      const N = ctx.attrs.int('periodic') !== 0 ? size : size - 1;
      ctx.compute(0, ([n]) => E.cast(N === 0 ? E.c(1, 'f64') : f(WEXPR, E.cast(n, 'f64'), E.c(N, 'f64')), out.dtype));
    },
  });
}

const TWO_PI = 2 * Math.PI, FOUR_PI = 4 * Math.PI;
windowOp('HannWindow', 'Hann window: 0.5 - 0.5 cos(2πn/N)', (A, n, N) => A.sub(A.c(0.5), A.mul(A.c(0.5), A.cos(A.div(A.mul(A.c(TWO_PI), n), N)))));
windowOp('HammingWindow', 'Hamming window: 25/46 - 21/46 cos(2πn/N)',
  (A, n, N) => A.sub(A.c(25 / 46), A.mul(A.c(1 - 25 / 46), A.cos(A.div(A.mul(A.c(TWO_PI), n), N)))));
windowOp('BlackmanWindow', 'Blackman window: 0.42 - 0.5 cos(2πn/N) + 0.08 cos(4πn/N)',
  (A, n, N) => A.add(A.sub(A.c(0.42), A.mul(A.c(0.5), A.cos(A.div(A.mul(A.c(TWO_PI), n), N)))), A.mul(A.c(0.08), A.cos(A.div(A.mul(A.c(FOUR_PI), n), N)))));

/**
 * One bin of dft1 as a compute body: sum over t < n of (re*c - im*s) for the real part (part = 0)
 * or (re*s + im*c) for the imaginary one, angle sign*2π((k*t) mod n)/n, all in f64; /n when inverse.
 */
function dftBin(ctx: LowerCtx, n: number, k: Expr, part: Expr, inverse: boolean, sample: (t: Expr) => { re: Expr; im: Expr }): Expr {
  const ax = { name: ctx.fresh('t'), extent: n };
  const t = E.v(ax.name);
  // (k*t) mod n, in 64 bits when k*t could overflow 32
  const m = n > 46340 ? E.cast(E.mod(E.mul(E.cast(k, 'i64'), E.cast(t, 'i64')), E.c(n, 'i64')), 'f64') : E.cast(E.mod(E.mul(k, t), E.i(n)), 'f64');
  const ang = E.div(E.mul(E.c((inverse ? 1 : -1) * 2 * Math.PI, 'f64'), m), E.c(n, 'f64'));
  const c = E.call('cos', ang), s = E.call('sin', ang);
  const { re, im } = sample(t);
  const body = E.select(E.eq(part, E.i(0)), E.sub(E.mul(re, c), E.mul(im, s)), E.add(E.mul(re, s), E.mul(im, c)));
  const acc = E.reduce('sum', [ax], body);
  return inverse ? E.div(acc, E.c(n, 'f64')) : acc;
}

function constScalar(ctx: LowerCtx, i: number, what: string): number {
  const t = ctx.constValue(i);
  if (!t) return ctx.unsupported(`${what} is not a constant`);
  return scalarInt(t, ctx.node.op);
}

// ---- DFT ----------------------------------------------------------------------------------------
defineOp({
  name: 'DFT', category: 'signal',
  summary: 'discrete Fourier transform along `axis` of a real [...,1] or complex [...,2] signal; output complex [...,2]',
  types: { T1: FLOATS, T2: ['int32', 'int64'] },
  inputs: [
    { name: 'input', type: 'T1', doc: '[batch, ..., signal_dim, 1|2]' },
    { name: 'dft_length', type: 'T2', optional: true, shapeData: true, doc: 'zero-pads or trims the signal' },
  ],
  outputs: [{ name: 'output', type: 'T1' }],
  attrs: {
    axis: { type: 'int', default: 1, doc: 'signal axis (not the last, complex axis)' },
    inverse: { type: 'int', default: 0 },
    onesided: { type: 'int', default: 0, doc: 'keep only the floor(n/2)+1 non-redundant bins (real input)' },
  },
  onnx: { since: 17, until: 19 },
  lower: (ctx) => {
    const x = ctx.inputs[0]!, out = ctx.outputs[0], r = x.shape.length, comp = x.shape[r - 1];
    const ax = normAxis(ctx.attrs.int('axis'), r, 'DFT');
    const inverse = ctx.attrs.int('inverse') !== 0;
    const len = x.shape[ax];
    const n = ctx.inputs[1] ? constScalar(ctx, 1, 'dft_length') : len;
    if (n < 1 || (comp !== 1 && comp !== 2)) ctx.unsupported('malformed DFT');
    ctx.compute(0, (idx) => {
      const at = (t: Expr, p: number) => { const j = idx.slice(); j[ax] = t; j[r - 1] = E.i(p); return E.cast(x.at(...j), 'f64'); };
      const v = dftBin(ctx, n, idx[ax], idx[r - 1], inverse, (t) => {
        const inb = n > len ? E.lt(t, E.i(len)) : undefined;
        const g = (e: Expr) => (inb ? E.select(inb, e, E.c(0, 'f64')) : e);
        return { re: g(at(t, 0)), im: comp === 2 ? g(at(t, 1)) : E.c(0, 'f64') };
      });
      return E.cast(v, out.dtype);
    });
  },
  infer: (ctx) => {
    const loc = nodeLocation(ctx.node);
    requireDtype(ctx, 0, FLOATS);
    const x = ctx.type(0);
    if (ctx.attrs.int('inverse') !== 0 && ctx.attrs.int('onesided') !== 0) {
      throw diag.unsupportedFeature('DFT with both inverse and onesided set', loc);
    }
    if (!x.shape) return [{ dtype: x.dtype, shape: undefined }];
    const r = x.shape.length;
    const last = x.shape[r - 1];
    if (r < 2) throw diag.verify('DFT', `input needs rank >= 2, got ${r}`, loc);
    if (typeof last === 'number' && last !== 1 && last !== 2) throw diag.verify('DFT', `the last axis must be 1 (real) or 2 (complex), got ${last}`, loc);
    const ax = normAxis(ctx.attrs.int('axis'), r, 'DFT');
    if (ax === r - 1) throw diag.verify('DFT', 'axis cannot be the last (complex) axis', loc);
    const shape: Dim[] = x.shape.slice();
    shape[r - 1] = 2;
    const lc = ctx.constValue(1);
    let n: Dim = ctx.node.inputs[1] ? (lc ? scalarInt(lc, 'DFT') : freshDim()) : shape[ax]!;
    if (ctx.attrs.int('onesided') !== 0) n = typeof n === 'number' ? Math.floor(n / 2) + 1 : freshDim();
    shape[ax] = n;
    return [{ dtype: x.dtype, shape }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const r = x.rank;
    const comp = x.shape[r - 1];
    if (comp !== 1 && comp !== 2) throw diag.verify('DFT', `the last axis must be 1 or 2, got ${comp}`);
    const ax = normAxis(ctx.attrs.int('axis'), r, 'DFT');
    if (ax === r - 1) throw diag.verify('DFT', 'axis cannot be the last (complex) axis');
    const inverse = ctx.attrs.int('inverse') !== 0, onesided = ctx.attrs.int('onesided') !== 0;
    if (inverse && onesided) throw diag.unsupportedFeature('DFT with both inverse and onesided set');
    const lt = ctx.optInput(1);
    const len = x.shape[ax]!;
    const n = lt ? scalarInt(lt, 'DFT') : len;
    if (n < 1) throw diag.runtime('DFT', `dft_length ${n} must be positive`);
    const bins = onesided ? Math.floor(n / 2) + 1 : n;
    const outShape = x.shape.slice(); outShape[r - 1] = 2; outShape[ax] = bins;
    const out = new Tensor(x.dtype, outShape);
    const outer = x.shape.slice(0, ax).reduce((a, b) => a * b, 1);
    const inner = x.shape.slice(ax + 1, r - 1).reduce((a, b) => a * b, 1);
    const xv = x.num, o = out.num;
    const re = new Float64Array(n), im = new Float64Array(n);
    for (let a = 0; a < outer; a++) for (let b = 0; b < inner; b++) {
      re.fill(0); im.fill(0);
      for (let t = 0; t < Math.min(n, len); t++) {
        const off = ((a * len + t) * inner + b) * comp;
        re[t] = xv[off];
        if (comp === 2) im[t] = xv[off + 1];
      }
      const [oRe, oIm] = dft1(re, im, n, bins, inverse);
      for (let k = 0; k < bins; k++) {
        const off = ((a * bins + k) * inner + b) * 2;
        o[off] = oRe[k]; o[off + 1] = oIm[k];
      }
    }
    return [out];
  },
  flops: (ctx, outs) => {
    const s = outs[0].shape;
    const x = ctx.inputTypes[0]?.shape;
    if (!s || !x || ![...s, ...x].every((d) => typeof d === 'number')) return 0;
    const ax = normAxis(ctx.attrs.int('axis'), x.length, 'DFT');
    return 8 * (s as number[]).reduce((a, b) => a * b, 1) * (x[ax] as number) / 2;
  },
});

// ---- STFT ---------------------------------------------------------------------------------------
defineOp({
  name: 'STFT', category: 'signal',
  summary: 'short-time Fourier transform: frames of frame_length every frame_step, optionally windowed; output [batch, frames, bins, 2]',
  types: { T1: FLOATS, T2: ['int32', 'int64'] },
  inputs: [
    { name: 'signal', type: 'T1', doc: '[batch, signal_length, 1|2]' },
    { name: 'frame_step', type: 'T2', shapeData: true },
    { name: 'window', type: 'T1', optional: true, doc: '[frame_length]' },
    { name: 'frame_length', type: 'T2', optional: true, shapeData: true },
  ],
  outputs: [{ name: 'output', type: 'T1' }],
  attrs: { onesided: { type: 'int', default: 1 } },
  onnx: { since: 17 },
  lower: (ctx) => {
    const x = ctx.inputs[0]!, win: TensorRef | undefined = ctx.inputs[2], out = ctx.outputs[0];
    const [, L, comp] = x.shape;
    const step = constScalar(ctx, 1, 'frame_step');
    const fl = ctx.inputs[3] ? constScalar(ctx, 3, 'frame_length') : win ? win.shape[0] : NaN;
    if (!(fl > 0) || step <= 0 || fl > L || (win && win.shape[0] !== fl)) ctx.unsupported('malformed STFT');
    ctx.compute(0, ([b, f, k, p]) => {
      const v = dftBin(ctx, fl, k, p, false, (t) => {
        const pos = E.add(E.mul(f, E.i(step)), t);
        const w = win ? E.cast(win.at(t), 'f64') : undefined;
        const ld = (q: number) => { const e = E.cast(x.at(b, pos, E.i(q)), 'f64'); return w ? E.mul(e, w) : e; };
        return { re: ld(0), im: comp === 2 ? ld(1) : E.c(0, 'f64') };
      });
      return E.cast(v, out.dtype);
    });
  },
  infer: (ctx) => {
    const loc = nodeLocation(ctx.node);
    requireDtype(ctx, 0, FLOATS);
    const x = ctx.type(0);
    if (x.shape && x.shape.length !== 3) throw diag.verify('STFT', `signal must be [batch, length, 1|2], got [${x.shape.join(', ')}]`, loc);
    const step = ctx.constValue(1);
    const flc = ctx.constValue(3);
    const w = ctx.inputTypes[2];
    let fl: Dim | undefined = flc ? scalarInt(flc, 'STFT') : (w?.shape?.[0]);
    if (!ctx.node.inputs[2] && !ctx.node.inputs[3]) throw diag.verify('STFT', 'needs a window or a frame_length', loc);
    if (ctx.node.inputs[3] && !flc) fl = undefined;
    const len = x.shape?.[1];
    const frames: Dim = typeof fl === 'number' && step && typeof len === 'number'
      ? Math.floor((len - fl) / scalarInt(step, 'STFT')) + 1 : freshDim('frames');
    const bins: Dim = typeof fl === 'number' ? (ctx.attrs.int('onesided') ? Math.floor(fl / 2) + 1 : fl) : freshDim('bins');
    return [{ dtype: x.dtype, shape: [x.shape?.[0] ?? freshDim('batch'), frames, bins, 2] }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    if (x.rank !== 3 || (x.shape[2] !== 1 && x.shape[2] !== 2)) throw diag.verify('STFT', `signal must be [batch, length, 1|2], got [${x.shape.join(', ')}]`);
    const step = scalarInt(ctx.input(1), 'STFT');
    const win = ctx.optInput(2), flT = ctx.optInput(3);
    const fl = flT ? scalarInt(flT, 'STFT') : win ? win.size : NaN;
    if (!(fl > 0)) throw diag.verify('STFT', 'needs a positive frame_length or a window');
    if (win && (win.rank !== 1 || win.size !== fl)) throw diag.shapeMismatch('STFT', `window has shape [${win.shape.join(', ')}] but frame_length is ${fl}`);
    if (step <= 0) throw diag.runtime('STFT', `frame_step ${step} must be positive`);
    const [B, L, comp] = x.shape as [number, number, number];
    if (fl > L) throw diag.runtime('STFT', `frame_length ${fl} exceeds the signal length ${L}`);
    const frames = Math.floor((L - fl) / step) + 1;
    const onesided = ctx.attrs.int('onesided') !== 0;
    if (onesided && comp === 2) throw diag.verify('STFT', 'onesided output needs a real signal');
    const bins = onesided ? Math.floor(fl / 2) + 1 : fl;
    const out = new Tensor(x.dtype, [B, frames, bins, 2]);
    const xv = x.num, o = out.num, wv = win?.num;
    const re = new Float64Array(fl), im = new Float64Array(fl);
    for (let b = 0; b < B; b++) for (let f = 0; f < frames; f++) {
      for (let t = 0; t < fl; t++) {
        const off = (b * L + f * step + t) * comp;
        const w = wv ? wv[t] : 1;
        re[t] = xv[off] * w;
        im[t] = comp === 2 ? xv[off + 1] * w : 0;
      }
      const [oRe, oIm] = dft1(re, im, fl, bins, false);
      for (let k = 0; k < bins; k++) {
        const off = ((b * frames + f) * bins + k) * 2;
        o[off] = oRe[k]; o[off + 1] = oIm[k];
      }
    }
    return [out];
  },
});

/**
 * MelWeightMatrix as loop IR: the M + 2 filter-bank edges in f64 (log10 as log / ln 10, 10^x as pow:
 * the edges are floored, so they agree with the reference unless a product lands within an ulp of
 * an integer), then the triangles as in the reference (entries outside [0, nSpec) are skipped where
 * the reference reports an error).
 */
function lowerMel(ctx: LowerCtx): void {
  const out = ctx.outputs[0]!;
  if (out.dtype !== 'f32' && out.dtype !== 'f64') ctx.unsupported(`output type ${out.dtype}`);
  const M = constScalar(ctx, 0, 'num_mel_bins'), D = constScalar(ctx, 1, 'dft_length');
  if (M <= 0 || D <= 0) ctx.unsupported('num_mel_bins and dft_length must be positive');
  const nSpec = Math.floor(D / 2) + 1;
  const SR = ctx.inputs[2]!, LO = ctx.inputs[3]!, HI = ctx.inputs[4]!;
  const c = (v: number) => E.c(v, 'f64'), z = E.i(0);
  const fb = ctx.temp('fb', 'i32', [M + 2]);
  const fresh = (p: string) => ctx.fresh(p);
  const let64 = (p: string, v: Expr, body: (x: Expr) => Stmt) => { const n = fresh(p); return S.let(n, 'f64', v, body(E.v(n, 'f64'))); };
  const leti = (p: string, v: Expr, body: (x: Expr) => Stmt) => { const n = fresh(p); return S.let(n, 'i32', v, body(E.v(n))); };
  const loop = (n: number | Expr, body: (i: Expr) => Stmt, p = 'i') => { const v = fresh(p); return S.for(v, n, body(E.v(v))); };
  const log10 = (x: Expr) => E.div(E.call('log', x), c(Math.LN10));
  const mel = (hz: Expr) => E.mul(c(2595), log10(E.add(c(1), E.div(hz, c(700)))));
  const set = (j: Expr, i: Expr, v: Expr) => S.if(E.and(E.ge(j, z), E.lt(j, E.i(nSpec))), S.store(out.buf.name, E.add(E.mul(j, E.i(M)), i), E.cast(v, out.dtype)));
  const body = S.seq(
    loop(nSpec * M, (k) => S.store(out.buf.name, k, E.c(0, out.dtype))),
    leti('sr', E.cast(SR.flat(z), 'i32'), (sr) => S.if(E.gt(sr, z),
      let64('lm', mel(E.cast(LO.flat(z), 'f64')), (loMel) => let64('hm', mel(E.cast(HI.flat(z), 'f64')), (hiMel) =>
        let64('st', E.div(E.sub(hiMel, loMel), c(M + 2)), (step) => S.seq(
          loop(M + 2, (i) => let64('hz', E.mul(c(700), E.sub(E.bin('pow', c(10), E.div(E.add(E.mul(E.cast(i, 'f64'), step), loMel), c(2595))), c(1))), (hz) =>
            S.store(fb.buf.name, i, E.cast(E.call('floor', E.div(E.mul(c(D + 1), hz), E.cast(sr, 'f64'))), 'i32')))),
          loop(M, (i) => leti('l', fb.flat(i), (l) => leti('c', fb.flat(E.add(i, E.i(1))), (cc) => leti('h', fb.flat(E.add(i, E.i(2))), (h) => S.seq(
            S.if(E.eq(cc, l), set(cc, i, c(1)),
              loop(E.add(E.sub(cc, l), E.i(1)), (k) => leti('j', E.add(l, k), (j) =>
                set(j, i, E.div(E.cast(E.sub(j, l), 'f64'), E.cast(E.sub(cc, l), 'f64')))), 'k')),
            S.if(E.gt(h, cc), loop(E.sub(h, cc), (k) => leti('j', E.add(cc, k), (j) =>
              set(j, i, E.div(E.cast(E.sub(h, j), 'f64'), E.cast(E.sub(h, cc), 'f64')))), 'k')),
          ))))),
        )))))),
  );
  ctx.extern([0], body);
}

// ---- MelWeightMatrix ----------------------------------------------------------------------------
defineOp({
  name: 'MelWeightMatrix', category: 'signal',
  summary: 'triangular mel filter bank weights [dft_length/2+1, num_mel_bins] (ONNX reference formulation)',
  types: { T1: ['int32', 'int64'], T2: FLOATS },
  inputs: [
    { name: 'num_mel_bins', type: 'T1', shapeData: true },
    { name: 'dft_length', type: 'T1', shapeData: true },
    { name: 'sample_rate', type: 'T1' },
    { name: 'lower_edge_hertz', type: 'T2' },
    { name: 'upper_edge_hertz', type: 'T2' },
  ],
  outputs: [{ name: 'output' }],
  attrs: { output_datatype: { type: 'int', default: 1 } },
  onnx: { since: 17 },
  infer: (ctx) => {
    const dt = outDtype(ctx);
    if (!isFloat(dt) && !INTS.includes(dt)) throw diag.unsupportedDtype('MelWeightMatrix output', dt, nodeLocation(ctx.node));
    const m = ctx.constValue(0), d = ctx.constValue(1);
    return [{
      dtype: dt,
      shape: [d ? Math.floor(scalarInt(d, 'MelWeightMatrix') / 2) + 1 : freshDim(), m ? scalarInt(m, 'MelWeightMatrix') : freshDim()],
    }];
  },
  eval: (ctx) => {
    const M = scalarInt(ctx.input(0), 'MelWeightMatrix');
    const D = scalarInt(ctx.input(1), 'MelWeightMatrix');
    const SR = scalarInt(ctx.input(2), 'MelWeightMatrix');
    const lo = ctx.input(3).scalar(), hi = ctx.input(4).scalar();
    if (M <= 0 || D <= 0 || SR <= 0) throw diag.runtime('MelWeightMatrix', 'num_mel_bins, dft_length and sample_rate must be positive');
    const nSpec = Math.floor(D / 2) + 1;
    const loMel = 2595 * Math.log10(1 + lo / 700), hiMel = 2595 * Math.log10(1 + hi / 700);
    const step = (hiMel - loMel) / (M + 2);
    const fb = Array.from({ length: M + 2 }, (_, i) => {
      const hz = 700 * (10 ** ((i * step + loMel) / 2595) - 1);
      return Math.trunc(Math.floor(((D + 1) * hz) / SR));
    });
    const w = new Float64Array(nSpec * M);
    const set = (j: number, i: number, v: number) => {
      if (j < 0 || j >= nSpec) throw diag.runtime('MelWeightMatrix', 'upper_edge_hertz lies above the Nyquist frequency');
      w[j * M + i] = v;
    };
    for (let i = 0; i < M; i++) {
      const l = fb[i], c = fb[i + 1], h = fb[i + 2];
      if (c === l) set(c, i, 1);
      else for (let j = l; j <= c; j++) set(j, i, (j - l) / (c - l));
      if (h > c) for (let j = c; j < h; j++) set(j, i, (h - j) / (h - c));
    }
    return [Tensor.fromNumbers(outDtype(ctx), [nSpec, M], w)];
  },
  lower: lowerMel,
});


