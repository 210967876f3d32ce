/**
 * Fused ops (domain 'aic'), produced by the `fuse` pass. They have no ONNX mapping: they exist only
 * between the optimizer and the backends. Their reference semantics are the base ops' own reference
 * code run in sequence (Conv, then Add, then the activation's definition...) through a view of the
 * EvalCtx / InferCtx, so a fused node computes exactly what the nodes it replaced computed — including
 * float16/bfloat16 rounding of every intermediate. Nothing here re-implements an op's math.
 *
 * - aic.FusedConv(X, W, B?, Z?)   = act(Conv(X, W, B) + Z)
 * - aic.FusedGemm(A, B, C?, Z?)   = act(Gemm(A, B, C) + Z)
 * - aic.FusedMatMul(A, B, C?, Z?) = act((MatMul(A, B) + C) + Z)
 * - aic.Attention(Q, K, V, mask?) = MatMul(Softmax(scale(MatMul(scale(Q), K)) + mask), V)
 * - aic.FusedElementwise(inputs...) = the elementwise subgraph held in attribute `body`
 *
 * The activation is a string attribute (`activation`, '' = none) with numeric parameters in
 * `activation_params`: Relu, Tanh, Sigmoid, HardSwish (none); LeakyRelu [alpha]; HardSigmoid
 * [alpha, beta]; Clip [min, max] (omitted = unbounded); Silu = x * Sigmoid(x); Gelu (erf); GeluTanh
 * (Gelu approximate=tanh).
 */
import { Tensor, cloneGraph, diag, nodeLocation, normalizeInPlace, type Attr, type RValue } from '@aic/core';
import { makeAttrReader } from '../attrs.ts';
import { inferGraph } from '../infer.ts';
import { defineOp, getOp } from '../registry.ts';
import type { AttrSpec, EvalCtx, InferCtx, OpDef, OutType } from '../types.ts';
import { FLOATS } from '../lib/infer-helpers.ts';

const CAT = 'fused';

// ---- views: run a base op's definition on chosen inputs and attributes ---------------------------

function base(name: string): OpDef {
  const d = getOp(name);
  if (!d) throw new Error(`fused ops need the base op ${name}`);
  return d;
}

/** Evaluate base op `name` on `inputs` with `attrs`, inside a fused node's EvalCtx. */
export function evalBase(ctx: EvalCtx, name: string, inputs: (Tensor | undefined)[], attrs: Record<string, Attr> = {}): Tensor {
  const def = base(name);
  const loc = nodeLocation(ctx.node);
  const view: EvalCtx = {
    inputs,
    attrs: makeAttrReader(def, attrs, loc),
    outputCount: 1,
    node: ctx.node,
    input(i) {
      const x = inputs[i];
      if (!x) throw diag.verify(def.name, `input ${i} is required`, loc);
      return x;
    },
    optInput: (i) => inputs[i],
    runSubgraph: (g, ins) => ctx.runSubgraph(g, ins),
  };
  const out = def.eval(view)[0];
  if (!(out instanceof Tensor)) throw diag.verify(def.name, 'expected a tensor result', loc);
  normalizeInPlace(out);
  return out;
}

/** Infer base op `name` on chosen input types (and constants) with `attrs`. */
export function inferBase(ctx: InferCtx, name: string, types: (OutType | undefined)[], consts: (Tensor | undefined)[] = [],
  attrs: Record<string, Attr> = {}): OutType {
  const def = base(name);
  const loc = nodeLocation(ctx.node);
  const view: InferCtx = {
    inputTypes: types,
    constValue: (i) => consts[i],
    attrs: makeAttrReader(def, attrs, loc),
    outputCount: 1,
    node: ctx.node,
    type(i) {
      const t = types[i];
      if (!t) throw diag.verify(def.name, `input ${i} is required`, loc);
      return t;
    },
  };
  return def.infer(view)[0];
}

/** The node attributes of the base op (drops the fused op's own). */
function baseAttrs(ctx: { attrs: { raw(n: string): Attr | undefined } }, def: OpDef): Record<string, Attr> {
  const out: Record<string, Attr> = {};
  for (const k of Object.keys(def.attrs)) { const a = ctx.attrs.raw(k); if (a) out[k] = a; }
  return out;
}

// ---- activations ---------------------------------------------------------------------------------

export const ACTIVATIONS = ['Relu', 'Tanh', 'Sigmoid', 'HardSwish', 'LeakyRelu', 'HardSigmoid', 'Clip', 'Silu', 'Gelu', 'GeluTanh'] as const;
const ACT_PARAMS: Record<string, [number, number]> = {
  Relu: [0, 0], Tanh: [0, 0], Sigmoid: [0, 0], HardSwish: [0, 0], Silu: [0, 0], Gelu: [0, 0], GeluTanh: [0, 0],
  LeakyRelu: [1, 1], HardSigmoid: [2, 2], Clip: [0, 2],
};

const actAttrs: Record<string, AttrSpec> = {
  activation: { type: 'string', default: '', doc: `epilogue activation: '' or one of ${ACTIVATIONS.join(', ')}` },
  activation_params: { type: 'floats', default: [], doc: 'LeakyRelu [alpha], HardSigmoid [alpha, beta], Clip [min, max]' },
};

function checkActivation(ctx: InferCtx, op: string): void {
  const act = ctx.attrs.str('activation');
  if (act === '') return;
  const arity = ACT_PARAMS[act];
  const l = nodeLocation(ctx.node);
  if (!arity) throw diag.unsupportedAttr({ op, domain: 'aic' }, 'activation', act, l);
  const n = ctx.attrs.floats('activation_params').length;
  if (n < arity[0] || n > arity[1]) throw diag.verify(op, `activation ${act} takes ${arity[0]}..${arity[1]} activation_params, got ${n}`, l);
}

const fl = (value: number): Attr => ({ type: 'float', value });

/** Apply the node's activation to y with the activation ops' own definitions. */
function applyActivation(ctx: EvalCtx, y: Tensor): Tensor {
  const act = ctx.attrs.str('activation');
  const p = ctx.attrs.floats('activation_params');
  switch (act) {
    case '': return y;
    case 'Relu': case 'Tanh': case 'Sigmoid': case 'HardSwish': return evalBase(ctx, act, [y]);
    case 'LeakyRelu': return evalBase(ctx, 'LeakyRelu', [y], { alpha: fl(p[0]) });
    case 'HardSigmoid': return evalBase(ctx, 'HardSigmoid', [y], { alpha: fl(p[0]), beta: fl(p[1]) });
    case 'Clip': {
      const bound = (v: number | undefined) => (v === undefined ? undefined : Tensor.fromNumbers(y.dtype, [], [v]));
      return evalBase(ctx, 'Clip', [y, bound(p[0]), bound(p[1])]);
    }
    case 'Silu': return evalBase(ctx, 'Mul', [y, evalBase(ctx, 'Sigmoid', [y])]);
    case 'Gelu': return evalBase(ctx, 'Gelu', [y], { approximate: { type: 'string', value: 'none' } });
    case 'GeluTanh': return evalBase(ctx, 'Gelu', [y], { approximate: { type: 'string', value: 'tanh' } });
    default: throw diag.unsupportedAttr({ op: ctx.node.op, domain: 'aic' }, 'activation', act, nodeLocation(ctx.node));
  }
}

const ACT_FLOPS: Record<string, number> = { '': 0, Relu: 1, Tanh: 4, Sigmoid: 4, HardSwish: 5, LeakyRelu: 2, HardSigmoid: 4, Clip: 2, Silu: 5, Gelu: 8, GeluTanh: 8 };
const numel = (s: OutType['shape']) => (s ? s.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1) : 0);

/** infer of the residual addend: `y + Z` must keep y's shape. */
function inferAddend(ctx: InferCtx, op: string, y: OutType, zi: number, what: string): OutType {
  const z = ctx.inputTypes[zi];
  if (!z) return y;
  const s = inferBase(ctx, 'Add', [y, z]);
  if (y.shape && s.shape && (s.shape.length !== y.shape.length ||
    s.shape.some((d, i) => typeof d === 'number' && typeof y.shape![i] === 'number' && d !== y.shape![i]))) {
    throw diag.shapeMismatch(op, `${what} [${z.shape?.join(', ')}] would change the result shape [${y.shape.join(', ')}]`, nodeLocation(ctx.node));
  }
  return { dtype: y.dtype, shape: y.shape ?? s.shape };
}

// ---- aic.FusedConv / FusedGemm / FusedMatMul -----------------------------------------------------

interface ProducerSpec {
  name: string; baseOp: string; summary: string;
  /** inputs of the base op (all of them go through) */
  baseInputs: OpDef['inputs'];
  /** index of the residual input Z */
  z: number;
  /** extra additive input before Z (FusedMatMul's bias C) */
  bias?: number;
}

function defineProducer(s: ProducerSpec): void {
  const bdef = base(s.baseOp);
  const n = s.baseInputs.length;
  defineOp({
    name: s.name, domain: 'aic', category: CAT, summary: s.summary,
    types: { T: FLOATS },
    inputs: [
      ...s.baseInputs,
      ...(s.bias !== undefined ? [{ name: 'C', type: 'T', optional: true, doc: 'bias added to the product (broadcast, must not change its shape)' }] : []),
      { name: 'Z', type: 'T', optional: true, doc: 'residual added before the activation (broadcast, must not change the shape)' },
    ],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: { ...bdef.attrs, ...actAttrs },
    infer: (ctx) => {
      checkActivation(ctx, s.name);
      const types = ctx.inputTypes.slice(0, n) as (OutType | undefined)[];
      const consts = Array.from({ length: n }, (_, i) => ctx.constValue(i));
      let y = inferBase(ctx, s.baseOp, types, consts, baseAttrs(ctx, bdef));
      if (s.bias !== undefined) y = inferAddend(ctx, s.name, y, s.bias, 'C');
      y = inferAddend(ctx, s.name, y, s.z, 'Z');
      return [y];
    },
    eval: (ctx) => {
      const ins = Array.from({ length: n }, (_, i) => ctx.optInput(i));
      let y = evalBase(ctx, s.baseOp, ins, baseAttrs(ctx, bdef));
      const c = s.bias !== undefined ? ctx.optInput(s.bias) : undefined;
      if (c) y = evalBase(ctx, 'Add', [y, c]);
      const z = ctx.optInput(s.z);
      if (z) y = evalBase(ctx, 'Add', [y, z]);
      return [applyActivation(ctx, y)];
    },
    flops: (ctx, outs) => {
      const types = ctx.inputTypes.slice(0, n) as (OutType | undefined)[];
      const consts = Array.from({ length: n }, (_, i) => ctx.constValue(i));
      const view: InferCtx = { ...ctx, inputTypes: types, constValue: (i) => consts[i], attrs: makeAttrReader(bdef, baseAttrs(ctx, bdef)), outputCount: 1 };
      const adds = (s.bias !== undefined && ctx.inputTypes[s.bias] ? 1 : 0) + (ctx.inputTypes[s.z] ? 1 : 0);
      return (bdef.flops?.(view, outs) ?? 0) + (adds + (ACT_FLOPS[ctx.attrs.str('activation')] ?? 1)) * numel(outs[0].shape);
    },
  });
}

defineProducer({
  name: 'FusedConv', baseOp: 'Conv', z: 3,
  summary: 'act(Conv(X, W, B) + Z): Conv with a residual addend and an activation epilogue',
  baseInputs: base('Conv').inputs,
});
defineProducer({
  name: 'FusedGemm', baseOp: 'Gemm', z: 3,
  summary: 'act(Gemm(A, B, C) + Z): Gemm with a residual addend and an activation epilogue',
  baseInputs: base('Gemm').inputs,
});
defineProducer({
  name: 'FusedMatMul', baseOp: 'MatMul', bias: 2, z: 3,
  summary: 'act((MatMul(A, B) + C) + Z): MatMul with bias, residual addend and an activation epilogue',
  baseInputs: base('MatMul').inputs,
});

// ---- aic.Attention -------------------------------------------------------------------------------

const SCALE_AT = ['none', 'q', 'scores'];

defineOp({
  name: 'Attention', domain: 'aic', category: CAT,
  summary: 'scaled dot-product attention: MatMul(Softmax(scale(MatMul(scale(Q), K)) + mask), V); K is the right operand as given',
  types: { T: FLOATS },
  inputs: [
    { name: 'Q', type: 'T', doc: '[..., Sq, D]' },
    { name: 'K', type: 'T', doc: 'right operand of the score MatMul, [..., D, Sk] (already transposed)' },
    { name: 'V', type: 'T', doc: '[..., Sk, Dv]' },
    { name: 'mask', type: 'T', optional: true, doc: 'added to the scaled scores (broadcast)' },
  ],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: {
    scale: { type: 'float', default: 1.0 },
    scale_at: { type: 'string', default: 'none', doc: "where the scale applies: 'none', 'q' (to Q before the product) or 'scores'" },
    scale_divides: { type: 'int', default: 0, doc: '1: divide by `scale`; 0: multiply' },
    softmax_axis: { type: 'int', default: -1 },
  },
  infer: (ctx) => {
    const at = ctx.attrs.str('scale_at');
    if (!SCALE_AT.includes(at)) throw diag.unsupportedAttr({ op: 'Attention', domain: 'aic' }, 'scale_at', at, nodeLocation(ctx.node));
    const s = inferBase(ctx, 'MatMul', [ctx.type(0), ctx.type(1)]);
    const sm = ctx.inputTypes[3] ? inferBase(ctx, 'Add', [s, ctx.inputTypes[3]]) : s;
    const p = inferBase(ctx, 'Softmax', [sm], [], { axis: { type: 'int', value: ctx.attrs.int('softmax_axis') } });
    return [inferBase(ctx, 'MatMul', [p, ctx.type(2)])];
  },
  eval: (ctx) => {
    const at = ctx.attrs.str('scale_at');
    const scaleBy = (x: Tensor) => evalBase(ctx, ctx.attrs.int('scale_divides') ? 'Div' : 'Mul', [x, Tensor.fromNumbers(x.dtype, [], [ctx.attrs.float('scale')])]);
    let q = ctx.input(0);
    if (at === 'q') q = scaleBy(q);
    let s = evalBase(ctx, 'MatMul', [q, ctx.input(1)]);
    if (at === 'scores') s = scaleBy(s);
    const mask = ctx.optInput(3);
    if (mask) s = evalBase(ctx, 'Add', [s, mask]);
    const p = evalBase(ctx, 'Softmax', [s], { axis: { type: 'int', value: ctx.attrs.int('softmax_axis') } });
    return [evalBase(ctx, 'MatMul', [p, ctx.input(2)])];
  },
  flops: (ctx, outs) => {
    const q = ctx.inputTypes[0]?.shape, k = ctx.inputTypes[1]?.shape, y = outs[0].shape;
    if (!q || !k || !y || !y.length) return 0;
    const sk = numel(k.slice(-1)), rows = numel(y.slice(0, -1));
    const scores = rows * sk;
    return 2 * scores * numel(q.slice(-1)) + 2 * scores * numel(y.slice(-1)) + 6 * scores;
  },
});

// ---- aic.FusedElementwise ------------------------------------------------------------------------

defineOp({
  name: 'FusedElementwise', domain: 'aic', category: CAT,
  summary: 'a chain of elementwise ops run as one kernel; `body` holds the ops as a self-contained subgraph',
  types: { T: [...FLOATS, 'bool', 'int32', 'int64'] },
  inputs: [{ name: 'inputs', variadic: true, doc: 'the body graph\'s inputs, in order' }],
  outputs: [{ name: 'Y' }],
  attrs: { body: { type: 'graph', required: true, doc: 'elementwise ops only; inputs = this node\'s inputs, one output' } },
  infer: (ctx) => {
    const body = ctx.attrs.graph('body');
    const l = nodeLocation(ctx.node);
    if (body.inputs.length !== ctx.inputTypes.length) {
      throw diag.verify('FusedElementwise', `body takes ${body.inputs.length} input(s), node has ${ctx.inputTypes.length}`, l);
    }
    if (body.outputs.length !== 1) throw diag.verify('FusedElementwise', `body must have one output, has ${body.outputs.length}`, l);
    const g = cloneGraph(body);
    g.inputs.forEach((v, i) => { const t = ctx.type(i); v.type = { dtype: t.dtype, shape: t.shape?.slice() }; });
    inferGraph(g, { strict: true });
    const o = g.outputs[0];
    return [{ dtype: o.dtype, shape: o.shape?.slice() }];
  },
  eval: (ctx) => {
    const body = ctx.attrs.graph('body');
    const ins: RValue[] = body.inputs.map((_, i) => ctx.input(i));
    return ctx.runSubgraph(body, ins).slice(0, 1);
  },
  flops: (ctx, outs) => ctx.attrs.graph('body').nodes.length * numel(outs[0].shape),
});
