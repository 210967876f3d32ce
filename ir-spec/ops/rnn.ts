/**
 * Recurrent layers: RNN, GRU, LSTM (ONNX opset 14 form: `layout` attribute). One shared driver
 * handles directions, sequence_lens, initial states, layouts and the Y / Y_h / Y_c outputs; each op
 * supplies its cell.
 */
import { Tensor, diag, freshDim, nodeLocation, type DType, type Dim } from '@aic/core';
import { defineOp } from '../registry.ts';
import type { EvalCtx, InferCtx, LowerCtx, OpDef, OutType } from '../types.ts';
import { CHECK_SEQUENCE_LENS, E, S, rangeMessage, type Expr, type ScalarType, type Stmt, type TensorRef } from '@aic/loop-ir';
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

/** The activations of each direction as (name, alpha, beta), alpha/beta consumed in order. */
function activationSpecs(ctx: { attrs: EvalCtx['attrs']; node: EvalCtx['node'] }, defaults: string[], numDir: number): [string, number, number][][] {
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
  const specs = list.map((n): [string, number, number] => {
    const key = n.toLowerCase();
    const spec = ACTS[key];
    if (!spec) throw diag.unsupportedAttr({ op }, 'activations', n, nodeLocation(ctx.node));
    const [ua, ub, da, db] = spec;
    const a = ua && ai < alphas.length ? alphas[ai++] : da;
    const b = ub && bi < betas.length ? betas[bi++] : db;
    return [key, a, b];
  });
  return Array.from({ length: numDir }, (_, d) => specs.slice(d * perDir, (d + 1) * perDir));
}

/** The activation functions of each direction (`perDir` per direction), with alpha/beta consumed in order. */
function activations(ctx: { attrs: EvalCtx['attrs']; node: EvalCtx['node'] }, defaults: string[], numDir: number): Act[][] {
  return activationSpecs(ctx, defaults, numDir).map((fs) => fs.map(([n, a, b]) => ACTS[n]![4](a, b)));
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
  /** the same step as loop IR (mirrors `step`: same operation order, computed in f64) */
  lowerStep: (a: LowerCell, ctx: LowerCtx) => Stmt;
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
  for (const l of lens) if (l < 0 || l > S) throw diag.runtime(op, rangeMessage(CHECK_SEQUENCE_LENS, l, S + 1));
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

// ---- compute definition (lowering) ---------------------------------------------------------------

/** What a cell's loop-IR step sees (all values in the accumulation type A, f64 where available). */
interface LowerCell {
  H: number; A: ScalarType;
  /** gate pre-activation parts at gate g, unit j */
  xw: (g: number, j: Expr) => Expr; hr: (g: number, j: Expr) => Expr;
  wb: (g: number, j: Expr) => Expr; rb: (g: number, j: Expr) => Expr;
  h: TensorRef; c: TensorRef;
  acts: ((x: Expr) => Expr)[]; clip: (x: Expr) => Expr;
  /** peephole weight k in [0, 3H) of this direction */
  peep?: (k: Expr) => Expr;
  /** out[j] = sum_k R[gate g, j, k] * hv[k] (the reference's rdot) */
  rdot: (g: number, hv: TensorRef, out: TensorRef) => Stmt;
  /** a loop over units j */
  forJ: (body: (j: Expr) => Stmt) => Stmt;
  temp: (prefix: string) => TensorRef;
  fresh: (p: string) => string;
}

function actExpr(name: string, a: number, b: number, A: ScalarType): (x: Expr) => Expr {
  const c = (v: number) => E.c(v, A);
  switch (name) {
    case 'relu': return (x) => E.select(E.gt(x, c(0)), x, c(0));
    case 'tanh': return (x) => E.call('tanh', x);
    case 'sigmoid': return (x) => E.div(c(1), E.add(c(1), E.call('exp', E.neg(x))));
    case 'affine': return (x) => E.add(E.mul(c(a), x), c(b));
    case 'leakyrelu': return (x) => E.select(E.ge(x, c(0)), x, E.mul(c(a), x));
    case 'thresholdedrelu': return (x) => E.select(E.gt(x, c(a)), x, c(0));
    case 'scaledtanh': return (x) => E.mul(c(a), E.call('tanh', E.mul(c(b), x)));
    case 'hardsigmoid': return (x) => E.max(c(0), E.min(c(1), E.add(E.mul(c(a), x), c(b))));
    case 'elu': return (x) => E.select(E.ge(x, c(0)), x, E.mul(c(a), E.sub(E.call('exp', x), c(1))));
    case 'softsign': return (x) => E.div(x, E.add(c(1), E.abs(x)));
    case 'softplus': return (x) => E.call('log', E.add(c(1), E.call('exp', x)));
    default: throw new Error(`activation ${name}`);
  }
}

/** let-bind `val` (type t) to a fresh name for `body` */
function letE(ctx: { fresh: (p: string) => string }, p: string, t: ScalarType, val: Expr, body: (v: Expr) => Stmt): Stmt {
  const n = ctx.fresh(p);
  return S.let(n, t, val, body(E.v(n, t)));
}

function rnnLower(spec: RnnSpec, ctx: LowerCtx): void {
  const X = ctx.inputs[0], W = ctx.inputs[1], R = ctx.inputs[2];
  if (!X || !W || !R) ctx.unsupported('X, W and R are required');
  const Bi = ctx.inputs[3], SL = ctx.inputs[4], H0 = ctx.inputs[5];
  const C0 = spec.hasCell ? ctx.inputs[6] : undefined;
  const P = spec.hasCell ? ctx.inputs[7] : undefined;
  const dir = ctx.attrs.str('direction');
  const nd = dir === 'bidirectional' ? 2 : 1;
  const layout = ctx.attrs.int('layout');
  const G = spec.gates;
  const H = ctx.attrs.has('hidden_size') ? ctx.attrs.int('hidden_size') : W.shape[1]! / G;
  const [S_, Bn, I] = layout === 0 ? [X.shape[0]!, X.shape[1]!, X.shape[2]!] : [X.shape[1]!, X.shape[0]!, X.shape[2]!];
  const same = (t: TensorRef | undefined, s: number[]) => !t || (t.shape.length === s.length && t.shape.every((d, i) => d === s[i]));
  const stateShape = layout === 0 ? [nd, Bn, H] : [Bn, nd, H];
  if (!same(W, [nd, G * H, I]) || !same(R, [nd, G * H, H]) || !same(Bi, [nd, 2 * G * H]) || !same(H0, stateShape)
    || !same(C0, stateShape) || !same(P, [nd, 3 * H]) || !same(SL, [Bn])) ctx.unsupported('inconsistent input shapes');
  const A: ScalarType = ctx.target.dtypes.includes('f64') ? 'f64' : 'f32';
  const T = X.dtype;
  const cA = (v: number) => E.c(v, A);
  const toA = (e: Expr) => E.cast(e, A);
  const clipV = ctx.attrs.has('clip') ? ctx.attrs.float('clip') : undefined;
  const clip = (v: Expr) => (clipV === undefined ? v : E.max(cA(-clipV), E.min(cA(clipV), v)));
  const acts = activationSpecs(ctx, spec.defaultActs, nd).map((fs) => fs.map(([n, a, b]) => actExpr(n, a, b, A)));
  const real = (o: number) => o < ctx.outputs.length && ctx.outputs[o]!.buf.role !== 'scratch';
  const Y = real(0) ? ctx.outputs[0] : undefined, Yh = real(1) ? ctx.outputs[1] : undefined;
  const Yc = spec.hasCell && real(2) ? ctx.outputs[2] : undefined;
  const i32 = (v: number) => E.i(v);
  const add = (...xs: Expr[]) => xs.reduce((a, b) => E.add(a, b));
  const mul = (a: Expr, b: number) => E.mul(a, i32(b));
  const st = (t: TensorRef, idx: Expr, v: Expr) => S.store(t.buf.name, idx, v);
  const loop = (n: number | Expr, body: (i: Expr) => Stmt, p = 'i') => { const v = ctx.fresh(p); return S.for(v, n, body(E.v(v))); };

  const h = ctx.temp('h', A, [H]), c = spec.hasCell ? ctx.temp('c', A, [H]) : h;
  const xw = ctx.temp('xw', A, [G * H]), hr = ctx.temp('hr', A, [G * H]);
  const xAt = (t: Expr, b: Expr, i: Expr) => X.flat(add(mul(layout === 0 ? add(mul(t, Bn), b) : add(mul(b, S_), t), I), i));
  const stIdx = (d: number, b: Expr) => mul(layout === 0 ? add(i32(d * Bn), b) : add(mul(b, nd), i32(d)), H);
  const yIdx = (t: Expr, d: number, b: Expr) => mul(layout === 0 ? add(mul(add(mul(t, nd), i32(d)), Bn), b) : add(mul(add(mul(b, S_), t), nd), i32(d)), H);
  const stmts: Stmt[] = [];
  if (Y) stmts.push(loop(Y.shape.reduce((a, b) => a * b, 1), (i) => st(Y, i, E.c(0, T))));
  for (let d = 0; d < nd; d++) {
    const reverse = dir === 'reverse' || d === 1;
    const wOff = d * G * H * I, rOff = d * G * H * H;
    const rdot = (g: number, hv: TensorRef, out: TensorRef): Stmt => loop(H, (j) => S.seq(
      st(out, j, cA(0)),
      loop(H, (k) => st(out, j, E.add(out.flat(j), E.mul(toA(R.flat(add(i32(rOff), mul(add(i32(g * H), j), H), k))), hv.flat(k)))), 'k'),
    ), 'j');
    const gate = (g: number, j: Expr) => add(i32(g * H), j);
    const cell: LowerCell = {
      H, A,
      xw: (g, j) => xw.flat(gate(g, j)), hr: (g, j) => hr.flat(gate(g, j)),
      wb: (g, j) => (Bi ? toA(Bi.flat(add(i32(d * 2 * G * H), gate(g, j)))) : cA(0)),
      rb: (g, j) => (Bi ? toA(Bi.flat(add(i32(d * 2 * G * H + G * H), gate(g, j)))) : cA(0)),
      h, c, acts: acts[d]!, clip,
      peep: P ? (k) => toA(P.flat(add(i32(d * 3 * H), k))) : undefined,
      rdot,
      forJ: (body) => loop(H, body, 'j'),
      temp: (p) => ctx.temp(p, A, [H]),
      fresh: ctx.fresh,
    };
    const b = ctx.fresh('b'), bv = E.v(b);
    const body = letE(ctx, 'L', 'i32', SL ? E.call('check_range', SL.flat(bv), i32(S_ + 1), i32(CHECK_SEQUENCE_LENS)) : i32(S_), (L) => S.seq(
      loop(H, (k) => S.seq(
        st(h, k, H0 ? toA(H0.flat(add(stIdx(d, bv), k))) : cA(0)),
        ...(spec.hasCell ? [st(c, k, C0 ? toA(C0.flat(add(stIdx(d, bv), k))) : cA(0))] : []),
      ), 'k'),
      loop(S_, (step) => S.if(E.lt(step, L), letE(ctx, 't', 'i32', reverse ? E.sub(E.sub(L, i32(1)), step) : step, (t) => S.seq(
        loop(G * H, (gj) => S.seq(
          st(xw, gj, cA(0)),
          loop(I, (i) => st(xw, gj, E.add(xw.flat(gj), E.mul(toA(W.flat(add(i32(wOff), mul(gj, I), i))), toA(xAt(t, bv, i))))), 'i'),
          st(hr, gj, cA(0)),
          loop(H, (k) => st(hr, gj, E.add(hr.flat(gj), E.mul(toA(R.flat(add(i32(rOff), mul(gj, H), k))), h.flat(k)))), 'k'),
        ), 'g'),
        spec.lowerStep(cell, ctx),
        ...(Y ? [loop(H, (k) => st(Y, add(yIdx(t, d, bv), k), E.cast(h.flat(k), T)), 'k')] : []),
      ))), 's'),
      loop(H, (k) => S.seq(
        ...(Yh ? [st(Yh, add(stIdx(d, bv), k), E.cast(h.flat(k), T))] : []),
        ...(Yc ? [st(Yc, add(stIdx(d, bv), k), E.cast(c.flat(k), T))] : []),
      ), 'k'),
    ));
    stmts.push(S.for(b, Bn, body));
  }
  const outs = [Y ? 0 : -1, Yh ? 1 : -1, Yc ? 2 : -1].filter((o) => o >= 0);
  ctx.extern(outs, S.seq(...stmts));
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
    name: spec.name, category: 'rnn', summary: `${spec.summary}; a sequence_lens value outside [0, seq_length] is a runtime error`,
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
    lower: (ctx) => rnnLower(spec, ctx),
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
  lowerStep: (a) => {
    const f = a.acts[0]!;
    return a.forJ((j) => S.store(a.h.buf.name, j, f(a.clip(E.add(E.add(E.add(a.xw(0, j), a.hr(0, j)), a.wb(0, j)), a.rb(0, j))))));
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
  lowerStep: (a, ctx) => {
    const [f, g] = a.acts as [(x: Expr) => Expr, (x: Expr) => Expr];
    const one = E.c(1, a.A);
    const z = a.temp('z'), rg = a.temp('rg'), nh = a.temp('nh');
    const set = (t: TensorRef, j: Expr, v: Expr) => S.store(t.buf.name, j, v);
    const pre = (gt: number, j: Expr) => E.add(E.add(E.add(a.xw(gt, j), a.hr(gt, j)), a.wb(gt, j)), a.rb(gt, j));
    const stmts: Stmt[] = [a.forJ((j) => S.seq(set(z, j, f(a.clip(pre(0, j)))), set(rg, j, f(a.clip(pre(1, j))))))];
    if (ctx.attrs.int('linear_before_reset') !== 0) {
      stmts.push(a.forJ((j) => set(nh, j, g(a.clip(E.add(E.add(a.xw(2, j), E.mul(rg.flat(j), E.add(a.hr(2, j), a.rb(2, j)))), a.wb(2, j)))))));
    } else {
      const rh = a.temp('rh'), dot = a.temp('dot');
      stmts.push(a.forJ((j) => set(rh, j, E.mul(rg.flat(j), a.h.flat(j)))));
      stmts.push(a.rdot(2, rh, dot));
      stmts.push(a.forJ((j) => set(nh, j, g(a.clip(E.add(E.add(E.add(a.xw(2, j), dot.flat(j)), a.rb(2, j)), a.wb(2, j)))))));
    }
    stmts.push(a.forJ((j) => set(a.h, j, E.add(E.mul(E.sub(one, z.flat(j)), nh.flat(j)), E.mul(z.flat(j), a.h.flat(j))))));
    return S.seq(...stmts);
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
  lowerStep: (a, ctx) => {
    const [f, g, hAct] = a.acts as [(x: Expr) => Expr, (x: Expr) => Expr, (x: Expr) => Expr];
    const { H, A, peep } = a;
    const coupled = ctx.attrs.int('input_forget') !== 0;
    const zero = E.c(0, A);
    const pre = (gt: number, j: Expr) => E.add(E.add(E.add(a.xw(gt, j), a.hr(gt, j)), a.wb(gt, j)), a.rb(gt, j));
    const pp = (k: number, j: Expr, cv: Expr) => (peep ? E.mul(peep(E.add(E.i(k * H), j)), cv) : zero);
    return a.forJ((j) => letE(a, 'cp', A, a.c.flat(j), (cPrev) =>
      letE(a, 'it', A, f(a.clip(E.add(pre(0, j), pp(0, j, cPrev)))), (it) =>
        letE(a, 'ft', A, coupled ? E.sub(E.c(1, A), it) : f(a.clip(E.add(pre(2, j), pp(2, j, cPrev)))), (ft) =>
          letE(a, 'ct', A, g(a.clip(pre(3, j))), (ct) =>
            letE(a, 'cn', A, E.add(E.mul(ft, cPrev), E.mul(it, ct)), (cNew) =>
              letE(a, 'ot', A, f(a.clip(E.add(pre(1, j), pp(1, j, cNew)))), (ot) => S.seq(
                S.store(a.c.buf.name, j, cNew),
                S.store(a.h.buf.name, j, E.mul(ot, hAct(cNew))),
              ))))))));
  },
});
