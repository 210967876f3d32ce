/**
 * Recurrent layers: RNN, GRU, LSTM (ONNX opset 14 form: `layout` attribute). One shared driver
 * handles directions, sequence_lens, initial states, layouts and the Y / Y_h / Y_c outputs; each op
 * supplies its cell.
 */
import { Tensor, diag, freshDim, nodeLocation, type DType, type Dim } from '@aic/core';
import { defineOp } from '../registry.ts';
import type { EvalCtx, InferCtx, OpDef, OutType } from '../types.ts';
import { requireDtype } from '../lib/infer-helpers.ts';

const RNN_FLOATS: readonly DType[] = ['float32', 'float64', 'float16'];

// ---- activations --------------------------------------------------------------------------------
type Act = (x: number) => number;
/** name -> [uses alpha, uses beta, default alpha, default beta, factory] */
const ACTS: Record<string, [boolean, boolean, number, number, (a: number, b: number) => Act]> = {
  relu: [false, false, 0, 0, () => (x) => (x > 0 ? x : 0)],
  tanh: [false, false, 0, 0, () => Math.tanh],
  sigmoid: [false, false, 0, 0, () => (x) => 1 / (1 + Math.exp(-x))],
  affine: [true, true, 1, 0, (a, b) => (x) => a * x + b],
  leakyrelu: [true, false, 0.01, 0, (a) => (x) => (x >= 0 ? x : a * x)],
  thresholdedrelu: [true, false, 1, 0, (a) => (x) => (x > a ? x : 0)],
  scaledtanh: [true, true, 1, 1, (a, b) => (x) => a * Math.tanh(b * x)],
  hardsigmoid: [true, true, 0.2, 0.5, (a, b) => (x) => Math.max(0, Math.min(1, a * x + b))],
  elu: [true, false, 1, 0, (a) => (x) => (x >= 0 ? x : a * (Math.exp(x) - 1))],
  softsign: [false, false, 0, 0, () => (x) => x / (1 + Math.abs(x))],
  softplus: [false, false, 0, 0, () => (x) => Math.log1p(Math.exp(x))],
};

/** The activation functions of each direction (`perDir` per direction), with alpha/beta consumed in order. */
function activations(ctx: { attrs: EvalCtx['attrs']; node: EvalCtx['node'] }, defaults: string[], numDir: number): Act[][] {
  const op = ctx.node.op;
  const names = ctx.attrs.has('activations') ? ctx.attrs.strs('activations') : [];
  const perDir = defaults.length;
  let list: string[];
  if (names.length === 0) list = Array.from({ length: numDir }, () => defaults).flat();
  else if (names.length === perDir * numDir) list = names;
  else if (names.length === perDir && numDir === 2) list = [...names, ...names];
  else throw diag.verify(op, `expected ${perDir * numDir} activations, got ${names.length}`, nodeLocation(ctx.node));
  const alphas = ctx.attrs.has('activation_alpha') ? ctx.attrs.floats('activation_alpha') : [];
  const betas = ctx.attrs.has('activation_beta') ? ctx.attrs.floats('activation_beta') : [];
  let ai = 0, bi = 0;
  const fns = list.map((n) => {
    const spec = ACTS[n.toLowerCase()];
    if (!spec) throw diag.unsupportedAttr({ op }, 'activations', n, nodeLocation(ctx.node));
    const [ua, ub, da, db, make] = spec;
    const a = ua && ai < alphas.length ? alphas[ai++] : da;
    const b = ub && bi < betas.length ? betas[bi++] : db;
    return make(a, b);
  });
  return Array.from({ length: numDir }, (_, d) => fns.slice(d * perDir, (d + 1) * perDir));
}

// ---- shared driver ------------------------------------------------------------------------------

interface CellArgs {
  /** per gate: x·W^T + Wb + (for all but special gates) h·R^T + Rb is provided raw so cells can differ */
  xw: Float64Array; hr: Float64Array;
  wb: Float64Array; rb: Float64Array;
  h: Float64Array; c: Float64Array;
  H: number; acts: Act[]; clip: (v: number) => number;
  peep?: Float64Array; // LSTM [3H]: i, o, f
  /** recompute h·R^T for gate g using a modified h (GRU linear_before_reset=0) */
  rdot: (g: number, hv: Float64Array, out: Float64Array) => void;
}

interface RnnSpec {
  name: string; gates: number; defaultActs: string[];
  extraInputs: { name: string; optional: true; type: string; doc?: string }[];
  extraAttrs: OpDef['attrs'];
  hasCell: boolean;
  /** one step for one batch row: updates h (and c) in place */
  step: (a: CellArgs, ctx: EvalCtx) => void;
  summary: string;
}

function rnnInfer(spec: RnnSpec, ctx: InferCtx): OutType[] {
  const loc = nodeLocation(ctx.node);
  const x = ctx.type(0), w = ctx.type(1), r = ctx.type(2);
  requireDtype(ctx, 0, RNN_FLOATS);
  for (let i = 1; i < ctx.inputTypes.length; i++) {
    const t = ctx.inputTypes[i];
    if (t && i !== 4 && t.dtype !== x.dtype) throw diag.typeMismatch(`${spec.name} input ${i}`, x.dtype, t.dtype, loc);
  }
  const dir = ctx.attrs.str('direction');
  if (!['forward', 'reverse', 'bidirectional'].includes(dir)) throw diag.unsupportedAttr({ op: spec.name }, 'direction', dir, loc);
  const nd = dir === 'bidirectional' ? 2 : 1;
  const layout = ctx.attrs.int('layout');
  if (layout !== 0 && layout !== 1) throw diag.unsupportedAttr({ op: spec.name }, 'layout', String(layout), loc);
  const H = ctx.attrs.has('hidden_size') ? ctx.attrs.int('hidden_size') : (w.shape?.[1] !== undefined && typeof w.shape[1] === 'number' ? w.shape[1] / spec.gates : freshDim('hidden'));
  if (x.shape && x.shape.length !== 3) throw diag.verify(spec.name, `X must have rank 3, got [${x.shape.join(', ')}]`, loc);
  const chk = (what: string, got: Dim | undefined, want: Dim) => {
    if (typeof got === 'number' && typeof want === 'number' && got !== want) {
      throw diag.shapeMismatch(spec.name, `${what} is ${got}, expected ${want}`, loc);
    }
  };
  if (w.shape) {
    if (w.shape.length !== 3) throw diag.verify(spec.name, `W must have rank 3`, loc);
    chk('W dim 0 (num_directions)', w.shape[0], nd);
    if (typeof H === 'number') chk('W dim 1', w.shape[1], spec.gates * H);
    if (x.shape) chk('W dim 2 (input_size)', w.shape[2], x.shape[2]!);
  }
  if (r.shape) {
    if (r.shape.length !== 3) throw diag.verify(spec.name, `R must have rank 3`, loc);
    chk('R dim 0 (num_directions)', r.shape[0], nd);
    if (typeof H === 'number') { chk('R dim 1', r.shape[1], spec.gates * H); chk('R dim 2', r.shape[2], H); }
  }
  const S: Dim = x.shape ? x.shape[layout === 0 ? 0 : 1]! : freshDim('seq');
  const B: Dim = x.shape ? x.shape[layout === 0 ? 1 : 0]! : freshDim('batch');
  const y: Dim[] = layout === 0 ? [S, nd, B, H] : [B, S, nd, H];
  const yh: Dim[] = layout === 0 ? [nd, B, H] : [B, nd, H];
  const outs: OutType[] = [{ dtype: x.dtype, shape: y }, { dtype: x.dtype, shape: yh }];
  if (spec.hasCell) outs.push({ dtype: x.dtype, shape: yh.slice() });
  return outs.slice(0, ctx.outputCount);
}

function rnnEval(spec: RnnSpec, ctx: EvalCtx): Tensor[] {
  const X = ctx.input(0), W = ctx.input(1), R = ctx.input(2);
  const B_ = ctx.optInput(3), SL = ctx.optInput(4), H0 = ctx.optInput(5);
  const C0 = spec.hasCell ? ctx.optInput(6) : undefined;
  const P = spec.hasCell ? ctx.optInput(7) : undefined;
  const op = spec.name;
  const dir = ctx.attrs.str('direction');
  const nd = dir === 'bidirectional' ? 2 : 1;
  const layout = ctx.attrs.int('layout');
  const G = spec.gates;
  const H = ctx.attrs.has('hidden_size') ? ctx.attrs.int('hidden_size') : W.shape[1]! / G;
  const [S, Bn, I] = layout === 0 ? [X.shape[0]!, X.shape[1]!, X.shape[2]!] : [X.shape[1]!, X.shape[0]!, X.shape[2]!];
  const eq = (t: Tensor, s: number[], what: string) => {
    if (t.rank !== s.length || t.shape.some((d, i) => d !== s[i])) {
      throw diag.shapeMismatch(op, `${what} has shape [${t.shape.join(', ')}], expected [${s.join(', ')}]`);
    }
  };
  eq(W, [nd, G * H, I], 'W'); eq(R, [nd, G * H, H], 'R');
  if (B_) eq(B_, [nd, 2 * G * H], 'B');
  const stateShape = layout === 0 ? [nd, Bn, H] : [Bn, nd, H];
  if (H0) eq(H0, stateShape, 'initial_h');
  if (C0) eq(C0, stateShape, 'initial_c');
  if (P) eq(P, [nd, 3 * H], 'P');
  if (SL) eq(SL, [Bn], 'sequence_lens');
  const lens = SL ? SL.toNumbers() : new Array<number>(Bn).fill(S);
  for (const l of lens) if (l < 0 || l > S) throw diag.runtime(op, `sequence_lens value ${l} is out of range [0, ${S}]`);
  const clipV = ctx.attrs.has('clip') ? ctx.attrs.float('clip') : undefined;
  const clip = clipV === undefined ? (v: number) => v : (v: number) => Math.max(-clipV, Math.min(clipV, v));
  const acts = activations(ctx, spec.defaultActs, nd);
  const x = X.num, w = W.num, r = R.num;
  const xAt = (t: number, b: number, i: number) => x[(layout === 0 ? (t * Bn + b) : (b * S + t)) * I + i];
  const stIdx = (d: number, b: number) => (layout === 0 ? (d * Bn + b) : (b * nd + d)) * H;

  const Y = new Tensor(X.dtype, layout === 0 ? [S, nd, Bn, H] : [Bn, S, nd, H]);
  const Yh = new Tensor(X.dtype, stateShape), Yc = new Tensor(X.dtype, stateShape);
  const y = Y.num;
  const yIdx = (t: number, d: number, b: number) => (layout === 0 ? ((t * nd + d) * Bn + b) : ((b * S + t) * nd + d)) * H;

  for (let d = 0; d < nd; d++) {
    const reverse = dir === 'reverse' || d === 1;
    const wOff = d * G * H * I, rOff = d * G * H * H;
    const wb = new Float64Array(G * H), rb = new Float64Array(G * H);
    if (B_) { const bv = B_.num; for (let k = 0; k < G * H; k++) { wb[k] = bv[d * 2 * G * H + k]; rb[k] = bv[d * 2 * G * H + G * H + k]; } }
    const peep = P ? Float64Array.from(P.num.subarray(d * 3 * H, (d + 1) * 3 * H)) : undefined;
    for (let b = 0; b < Bn; b++) {
      const h = new Float64Array(H), c = new Float64Array(H);
      if (H0) for (let k = 0; k < H; k++) h[k] = H0.num[stIdx(d, b) + k];
      if (C0) for (let k = 0; k < H; k++) c[k] = C0.num[stIdx(d, b) + k];
      const L = lens[b];
      const xw = new Float64Array(G * H), hr = new Float64Array(G * H);
      const rdot = (g: number, hv: Float64Array, out: Float64Array) => {
        for (let j = 0; j < H; j++) {
          let s = 0;
          const ro = rOff + (g * H + j) * H;
          for (let k = 0; k < H; k++) s += r[ro + k] * hv[k];
          out[j] = s;
        }
      };
      for (let step = 0; step < L; step++) {
        const t = reverse ? L - 1 - step : step;
        for (let gj = 0; gj < G * H; gj++) {
          let s = 0;
          const wo = wOff + gj * I;
          for (let i = 0; i < I; i++) s += w[wo + i] * xAt(t, b, i);
          xw[gj] = s;
          let s2 = 0;
          const ro = rOff + gj * H;
          for (let k = 0; k < H; k++) s2 += r[ro + k] * h[k];
          hr[gj] = s2;
        }
        spec.step({ xw, hr, wb, rb, h, c, H, acts: acts[d], clip, peep, rdot }, ctx);
        const yo = yIdx(t, d, b);
        for (let k = 0; k < H; k++) y[yo + k] = h[k];
      }
      const so = stIdx(d, b);
      for (let k = 0; k < H; k++) { Yh.num[so + k] = h[k]; Yc.num[so + k] = c[k]; }
    }
  }
  const outs = [Y, Yh];
  if (spec.hasCell) outs.push(Yc);
  return outs.slice(0, ctx.outputCount);
}

const commonAttrs: OpDef['attrs'] = {
  hidden_size: { type: 'int', required: false, doc: 'number of hidden units (default: from W)' },
  direction: { type: 'string', default: 'forward', doc: 'forward, reverse or bidirectional' },
  activations: { type: 'strings', required: false, doc: 'activation functions per direction' },
  activation_alpha: { type: 'floats', required: false },
  activation_beta: { type: 'floats', required: false },
  clip: { type: 'float', required: false, doc: 'cell clip threshold applied to activation inputs' },
  layout: { type: 'int', default: 0, doc: '0: X [seq, batch, input]; 1: X [batch, seq, input]' },
};

function defineRnn(spec: RnnSpec): OpDef {
  const states = spec.hasCell ? ['initial_h', 'initial_c'] : ['initial_h'];
  return defineOp({
    name: spec.name, category: 'rnn', summary: spec.summary,
    types: { T: RNN_FLOATS, T1: ['int32'] },
    inputs: [
      { name: 'X', type: 'T' }, { name: 'W', type: 'T' }, { name: 'R', type: 'T' },
      { name: 'B', type: 'T', optional: true },
      { name: 'sequence_lens', type: 'T1', optional: true },
      ...states.map((n) => ({ name: n, type: 'T', optional: true as const })),
      ...spec.extraInputs,
    ],
    outputs: [
      { name: 'Y', type: 'T', optional: true }, { name: 'Y_h', type: 'T', optional: true },
      ...(spec.hasCell ? [{ name: 'Y_c', type: 'T', optional: true }] : []),
    ],
    attrs: { ...commonAttrs, ...spec.extraAttrs },
    onnx: {
      since: 7,
      // layout arrived in opset 14 with the same default behaviour as before
    },
    infer: (ctx) => rnnInfer(spec, ctx),
    eval: (ctx) => rnnEval(spec, ctx),
    flops: (ctx) => {
      const x = ctx.inputTypes[0]?.shape, w = ctx.inputTypes[1]?.shape, r = ctx.inputTypes[2]?.shape;
      if (!x || !w || !r || ![...x, ...w, ...r].every((d) => typeof d === 'number')) return 0;
      const S = (x[0] as number) * (x[1] as number);
      return 2 * S * (w[0] as number) * (w[1] as number) * ((w[2] as number) + (r[2] as number));
    },
  });
}

// ---- RNN ----------------------------------------------------------------------------------------
defineRnn({
  name: 'RNN', gates: 1, defaultActs: ['Tanh', 'Tanh'].slice(0, 1), hasCell: false, extraInputs: [], extraAttrs: {},
  summary: 'simple recurrent layer: H_t = f(X_t·W^T + H_{t-1}·R^T + Wb + Rb)',
  step: (a) => {
    const f = a.acts[0];
    for (let j = 0; j < a.H; j++) a.h[j] = f(a.clip(a.xw[j] + a.hr[j] + a.wb[j] + a.rb[j]));
  },
});

// ---- GRU ----------------------------------------------------------------------------------------
defineRnn({
  name: 'GRU', gates: 3, defaultActs: ['Sigmoid', 'Tanh'], hasCell: false, extraInputs: [],
  extraAttrs: { linear_before_reset: { type: 'int', default: 0, doc: 'apply the recurrence weights before multiplying by the reset gate' } },
  summary: 'gated recurrent unit (gates z, r, h); linear_before_reset selects where the reset gate applies',
  step: (a, ctx) => {
    const { H, xw, hr, wb, rb, h } = a;
    const [f, g] = a.acts;
    const z = new Float64Array(H), rg = new Float64Array(H), nh = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      z[j] = f(a.clip(xw[j] + hr[j] + wb[j] + rb[j]));
      rg[j] = f(a.clip(xw[H + j] + hr[H + j] + wb[H + j] + rb[H + j]));
    }
    if (ctx.attrs.int('linear_before_reset') !== 0) {
      for (let j = 0; j < H; j++) nh[j] = g(a.clip(xw[2 * H + j] + rg[j] * (hr[2 * H + j] + rb[2 * H + j]) + wb[2 * H + j]));
    } else {
      const rh = new Float64Array(H), dot = new Float64Array(H);
      for (let j = 0; j < H; j++) rh[j] = rg[j] * h[j];
      a.rdot(2, rh, dot);
      for (let j = 0; j < H; j++) nh[j] = g(a.clip(xw[2 * H + j] + dot[j] + rb[2 * H + j] + wb[2 * H + j]));
    }
    for (let j = 0; j < H; j++) h[j] = (1 - z[j]) * nh[j] + z[j] * h[j];
  },
});

// ---- LSTM ---------------------------------------------------------------------------------------
defineRnn({
  name: 'LSTM', gates: 4, defaultActs: ['Sigmoid', 'Tanh', 'Tanh'], hasCell: true,
  extraInputs: [{ name: 'P', type: 'T', optional: true, doc: 'peephole weights [num_directions, 3*hidden] (i, o, f)' }],
  extraAttrs: { input_forget: { type: 'int', default: 0, doc: 'couple the input and forget gates (f = 1 - i)' } },
  summary: 'long short-term memory layer (gates i, o, f, c; optional peepholes, input_forget coupling)',
  step: (a, ctx) => {
    const { H, xw, hr, wb, rb, h, c, peep } = a;
    const [f, g, hAct] = a.acts;
    const coupled = ctx.attrs.int('input_forget') !== 0;
    const pre = (gate: number, j: number) => xw[gate * H + j] + hr[gate * H + j] + wb[gate * H + j] + rb[gate * H + j];
    for (let j = 0; j < H; j++) {
      const cPrev = c[j];
      const it = f(a.clip(pre(0, j) + (peep ? peep[j] * cPrev : 0)));
      const ft = coupled ? 1 - it : f(a.clip(pre(2, j) + (peep ? peep[2 * H + j] * cPrev : 0)));
      const ct = g(a.clip(pre(3, j)));
      const cNew = ft * cPrev + it * ct;
      const ot = f(a.clip(pre(1, j) + (peep ? peep[H + j] * cNew : 0)));
      c[j] = cNew;
      h[j] = ot * hAct(cNew);
    }
  },
});
