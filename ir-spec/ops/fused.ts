/**
 * Fused ops (domain 'aic'), produced by the `fuse` pass. They have no ONNX mapping: they exist only
 * between the optimizer and the backends. Their reference semantics are the base ops' own reference
 * code run in sequence (Conv, then Add, then the activation's definition...) through a view of the
 * EvalCtx / InferCtx, so a fused node computes exactly what the nodes it replaced computed — including
 * float16/bfloat16 rounding of every intermediate. Nothing here re-implements an op's math.
 *
 * - aic.FusedConv(X, W, B?, Z?)   = act(Conv(X, W, B) + Z)
 * - aic.FusedGemm(A, B, C?, Z?)   = act(Gemm(A, B, C) + Z); flatten_a = 1: Gemm(Flatten(A), B, C)
 * - aic.FusedMatMul(A, B, C?, Z?) = act((MatMul(A, B) + C) + Z)
 * - aic.Attention(Q, K, V, mask?) = MatMul(Softmax(scale(MatMul(scale(Q), K)) + mask), V)
 * - aic.FusedElementwise(inputs...) = the elementwise subgraph held in attribute `body`
 *
 * The activation is a string attribute (`activation`, '' = none) with numeric parameters in
 * `activation_params`: Relu, Tanh, Sigmoid, HardSwish, Mish (none); LeakyRelu [alpha]; HardSigmoid
 * [alpha, beta]; Clip [min, max] (omitted = unbounded); Silu = x * Sigmoid(x); Gelu (erf); GeluTanh
 * (Gelu approximate=tanh).
 */
import { Node, Tensor, Value, cloneGraph, diag, nodeLocation, normalizeInPlace, type Attr, type DType, type RValue } from '@aic/core';
import { E, lowerCompute, mapStmt, substitute, type Expr, type ScalarType, type Stmt, type TensorRef } from '@aic/loop-ir';
import { makeAttrReader } from '../attrs.ts';
import { inferGraph } from '../infer.ts';
import { defineOp, getOp } from '../registry.ts';
import type { AttrSpec, EvalCtx, InferCtx, LowerCtx, OpDef, OutType } from '../types.ts';
import { FLOATS } from '../lib/infer-helpers.ts';
import { bcastAt, scalarOf } from '../lib/lower.ts';
import { softmaxLastAxisStaged } from '../lib/softmax-rows.ts';

const CAT = 'fused';

// ---- views: run a base op's definition on chosen inputs and attributes ---------------------------

function base(name: string, domain = ''): OpDef {
  const d = getOp(name, domain);
  if (!d) throw new Error(`fused ops need the base op ${name}`);
  return d;
}

/** Evaluate base op `name` (of `domain`) on `inputs` with `attrs`, inside a fused node's EvalCtx. */
export function evalBase(ctx: EvalCtx, name: string, inputs: (Tensor | undefined)[], attrs: Record<string, Attr> = {}, domain = ''): Tensor {
  const def = base(name, domain);
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
  attrs: Record<string, Attr> = {}, domain = ''): OutType {
  const def = base(name, domain);
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

export const ACTIVATIONS = ['Relu', 'Tanh', 'Sigmoid', 'HardSwish', 'Mish', 'LeakyRelu', 'HardSigmoid', 'Clip', 'Silu', 'Gelu', 'GeluTanh'] as const;
const ACT_PARAMS: Record<string, [number, number]> = {
  Relu: [0, 0], Tanh: [0, 0], Sigmoid: [0, 0], HardSwish: [0, 0], Mish: [0, 0], Silu: [0, 0], Gelu: [0, 0], GeluTanh: [0, 0],
  LeakyRelu: [1, 1], HardSigmoid: [2, 2], Clip: [0, 2],
};

export const actAttrs: Record<string, AttrSpec> = {
  activation: { type: 'string', default: '', doc: `epilogue activation: '' or one of ${ACTIVATIONS.join(', ')}` },
  activation_params: { type: 'floats', default: [], doc: 'LeakyRelu [alpha], HardSigmoid [alpha, beta], Clip [min, max]' },
};

/** The activation in attributes `attr` / `${attr}_params` is known and has the right parameter count. */
export function checkActivation(ctx: InferCtx, op: string, attr = 'activation'): void {
  const act = ctx.attrs.str(attr);
  if (act === '') return;
  const arity = ACT_PARAMS[act];
  const l = nodeLocation(ctx.node);
  if (!arity) throw diag.unsupportedAttr({ op, domain: 'aic' }, attr, act, l);
  const n = ctx.attrs.floats(`${attr}_params`).length;
  if (n < arity[0] || n > arity[1]) throw diag.verify(op, `${attr} ${act} takes ${arity[0]}..${arity[1]} ${attr}_params, got ${n}`, l);
}

const fl = (value: number): Attr => ({ type: 'float', value });

/** Apply the node's activation (attributes `attr`, `${attr}_params`) to y with the activation ops' own definitions. */
export function applyActivation(ctx: EvalCtx, y: Tensor, attr = 'activation'): Tensor {
  const act = ctx.attrs.str(attr);
  const p = ctx.attrs.floats(`${attr}_params`);
  switch (act) {
    case '': return y;
    case 'Relu': case 'Tanh': case 'Sigmoid': case 'HardSwish': case 'Mish': return evalBase(ctx, act, [y]);
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

// ---- lowering: the base ops' compute definitions through views of the LowerCtx -------------------

/** Row-major multi-index of a flat offset into `shape`. */
function unflatten(i: Expr, shape: readonly number[]): Expr[] {
  const out: Expr[] = [];
  let rest = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    out.unshift(d === 0 ? rest : E.mod(rest, E.i(shape[d])));
    rest = E.div(rest, E.i(shape[d]));
  }
  return out;
}

/** A tensor whose element at index vars `vars` is `expr`: loading it substitutes the index. */
function exprTensor(expr: Expr, vars: readonly string[], shape: number[], dtype: ScalarType): TensorRef {
  const at = (...js: Expr[]) => substitute(expr, Object.fromEntries(vars.map((v, d) => [v, js[d]])));
  return {
    buf: { name: '<expr>', dtype, shape, scope: 'register', role: 'scratch' }, shape, dtype, at,
    flat: (i: Expr) => at(...unflatten(i, shape)),
  };
}

/** A small compile-time constant as a tensor of literals (select chain over its flat index). */
function constTensor(t: Tensor, dtype: ScalarType): TensorRef {
  const vals = Array.from(t.num as ArrayLike<number>, Number);
  const flat = (i: Expr): Expr => {
    let r = E.c(vals[vals.length - 1], dtype);
    for (let k = vals.length - 2; k >= 0; k--) r = E.select(E.eq(i, E.i(k)), E.c(vals[k], dtype), r);
    return r;
  };
  const shape = t.shape.slice();
  return {
    buf: { name: '<const>', dtype, shape, scope: 'register', role: 'scratch' }, shape, dtype,
    at: (...js: Expr[]) => flat(js.length ? js.reduce((acc, j, d) => (d === 0 ? j : E.add(E.mul(acc, E.i(shape[d])), j)), E.i(0)) : E.i(0)),
    flat,
  };
}

/** A node standing in for a base op inside a fused node (dtypes and shapes of its operands, its attributes). */
function viewNode(ctx: LowerCtx, op: string, ins: ({ dtype: DType; shape: number[] } | undefined)[], out: { dtype: DType; shape: number[] },
  attrs: Record<string, Attr>): Node {
  return new Node({
    op, name: ctx.node.name, loc: ctx.node.loc, attrs,
    inputs: ins.map((t, i) => (t ? new Value(`${op}_in${i}`, { dtype: t.dtype, shape: t.shape.slice() }) : null)),
    outputs: [new Value(`${op}_out`, { dtype: out.dtype, shape: out.shape.slice() })],
  });
}

function lowerOf(ctx: LowerCtx, op: string): (c: LowerCtx) => void {
  const def = getOp(op);
  if (!def?.lower) return ctx.unsupported(`base op ${op} has no compute definition yet`);
  return def.lower;
}

/**
 * The element expression of elementwise op `op` applied to `inputs` at index vars `vars` (of an output
 * of `shape`), from the op's own compute definition.
 */
export function elemExpr(ctx: LowerCtx, op: string, inputs: (TensorRef | undefined)[], inDtypes: (DType | undefined)[],
  out: { dtype: DType; shape: number[] }, vars: readonly string[], attrs: Record<string, Attr> = {}, consts: (Tensor | undefined)[] = []): Expr {
  const def = base(op);
  const lower = lowerOf(ctx, op);
  let result: Expr | undefined;
  const outRef = exprTensor(E.c(0, scalarOf(out.dtype)), vars, out.shape, scalarOf(out.dtype));
  const node = viewNode(ctx, op, inputs.map((t, i) => (t ? { dtype: inDtypes[i]!, shape: t.shape } : undefined)), out, attrs);
  const view: LowerCtx = {
    node, attrs: makeAttrReader(def, attrs, nodeLocation(ctx.node)), inputs, outputs: [outRef],
    constValue: (i) => consts[i], target: ctx.target, fresh: ctx.fresh,
    compute: (o, f) => {
      if (o !== 0 || result) ctx.unsupported(`${op} inside a fused node: expected one elementwise compute`);
      result = f(vars.map((v) => E.v(v)));
    },
    extern: () => ctx.unsupported(`${op} inside a fused node is not elementwise`),
    temp: () => ctx.unsupported(`${op} inside a fused node is not elementwise`),
    unsupported: (why) => ctx.unsupported(`${op}: ${why}`),
  };
  lower(view);
  if (!result) return ctx.unsupported(`${op} inside a fused node produced no compute`);
  return result;
}

/** The node's activation (attributes `attr`, `${attr}_params`) applied to y (an expression at `vars`), from the activation ops' own definitions. */
export function activationExpr(ctx: LowerCtx, y: Expr, vars: readonly string[], out: { dtype: DType; shape: number[] }, attr = 'activation'): Expr {
  const act = ctx.attrs.str(attr);
  const p = ctx.attrs.floats(`${attr}_params`);
  const st = scalarOf(out.dtype);
  const yt = exprTensor(y, vars, out.shape, st);
  const one = (op: string, attrs: Record<string, Attr> = {}) => elemExpr(ctx, op, [yt], [out.dtype], out, vars, attrs);
  switch (act) {
    case '': return y;
    case 'Relu': case 'Tanh': case 'Sigmoid': case 'HardSwish': case 'Mish': return one(act);
    case 'LeakyRelu': return one('LeakyRelu', { alpha: fl(p[0]) });
    case 'HardSigmoid': return one('HardSigmoid', { alpha: fl(p[0]), beta: fl(p[1]) });
    case 'Clip': {
      const bound = (v: number | undefined) => (v === undefined ? undefined : constTensor(Tensor.fromNumbers(out.dtype, [], [v]), st));
      return elemExpr(ctx, 'Clip', [yt, bound(p[0]), bound(p[1])], [out.dtype, out.dtype, out.dtype], out, vars);
    }
    case 'Silu': {
      const sg = exprTensor(one('Sigmoid'), vars, out.shape, st);
      return elemExpr(ctx, 'Mul', [yt, sg], [out.dtype, out.dtype], out, vars);
    }
    case 'Gelu': return one('Gelu', { approximate: { type: 'string', value: 'none' } });
    case 'GeluTanh': return one('Gelu', { approximate: { type: 'string', value: 'tanh' } });
    default: return ctx.unsupported(`activation ${act}`);
  }
}

/** y + t (t broadcast into y's shape) with Add's own definition. */
export function addExpr(ctx: LowerCtx, y: Expr, t: TensorRef, tDtype: DType, vars: readonly string[], out: { dtype: DType; shape: number[] }): Expr {
  return elemExpr(ctx, 'Add', [exprTensor(y, vars, out.shape, scalarOf(out.dtype)), t], [out.dtype, tDtype], out, vars);
}

/**
 * A base op's compute definition run through a view of ctx: the base op's inputs, attributes and
 * node. `out` is ctx.outputs[0] (then every compute gets `epilogue` applied to its element expression;
 * an extern stage is redirected to a temp the epilogue then reads) or a kernel temp (stages are
 * realized in place, unscheduled; with `scheduled` and a ctx that has computeTemp, a compute stage
 * is a stage of its own that default schedules and targets treat like an output stage).
 */
export function lowerThroughBase(ctx: LowerCtx, opName: string, ins: (TensorRef | undefined)[], inDtypes: (DType | undefined)[],
  attrs: Record<string, Attr>, out: TensorRef, outDtype: DType, epilogue?: (y: Expr, vars: string[]) => Expr,
  consts: (Tensor | undefined)[] = [], scheduled = false): void {
  const def = base(opName);
  const lower = lowerOf(ctx, opName);
  const direct = out === ctx.outputs[0];
  const node = viewNode(ctx, opName, ins.map((t, i) => (t ? { dtype: inDtypes[i]!, shape: t.shape } : undefined)),
    { dtype: outDtype, shape: out.shape }, attrs);
  // a base definition that reads a virtual operand's buffer directly (not through at/flat) cannot be inlined
  const check = <T>(x: T): T => {
    if (/"buf":"<(expr|const)>"/.test(JSON.stringify(x))) ctx.unsupported(`${opName} inside a fused node reads a fused operand as a buffer`);
    return x;
  };
  const ep = (y: Expr, vars: string[]) => check(epilogue ? epilogue(y, vars) : y);
  const names = (idx: Expr[]) => idx.map((e) => (e as { name: string }).name);
  let redirected: TensorRef | undefined;
  /** out = epilogue(f) as a compute stage (of the node's output, of a scheduled temp, or realized in place) */
  const write = (f: (idx: Expr[]) => Expr) => {
    if (direct) { ctx.compute(0, (idx) => ep(f(idx), names(idx))); return; }
    if (scheduled && ctx.computeTemp) { ctx.computeTemp(out, (idx) => ep(f(idx), names(idx))); return; }
    const axes = out.shape.map(() => ctx.fresh('i'));
    ctx.extern([], lowerCompute({ kind: 'compute', out: out.buf, axes, body: ep(f(axes.map((v) => E.v(v))), axes) }, ctx.fresh));
  };
  const view: LowerCtx = {
    node, attrs: makeAttrReader(def, attrs, nodeLocation(ctx.node)), inputs: ins, outputs: [out],
    constValue: (i) => consts[i], target: ctx.target, fresh: ctx.fresh,
    compute: (o, f) => {
      if (o !== 0) ctx.unsupported(`${opName} writes output ${o}`);
      write(f);
    },
    extern: (outs, body) => {
      if (outs.some((o) => o !== 0)) ctx.unsupported(`${opName} writes output ${outs.join(', ')}`);
      check(body);
      if (!epilogue || !outs.includes(0)) { ctx.extern(direct ? outs : [], body); return; }
      // the base op writes its result imperatively: into a temp, then the epilogue as a compute
      redirected ??= ctx.temp('pre', out.dtype, out.shape);
      const r = redirected;
      ctx.extern([], renameBuffer(body, out.buf.name, r.buf.name));
      write((idx) => r.at(...idx));
    },
    temp: (p, d, s) => ctx.temp(p, d, s),
    unsupported: (why) => ctx.unsupported(`${opName}: ${why}`),
  };
  lower(view);
}

function renameBuffer(s: Stmt, from: string, to: string): Stmt {
  return mapStmt(s, (e) => (e.k === 'load' && e.buf === from ? { ...e, buf: to } : e),
    (x) => (x.k === 'store' && x.buf === from ? { ...x, buf: to } : x));
}

/** FusedConv / FusedGemm / FusedMatMul: the base op's compute with + C, + Z and the activation in its epilogue. */
function lowerProducer(s: ProducerSpec, ctx: LowerCtx): void {
  const n = s.baseInputs.length;
  const outV = ctx.node.outputs[0];
  const out = { dtype: outV.dtype, shape: ctx.outputs[0].shape };
  const addend = (i: number | undefined) => (i !== undefined && ctx.inputs[i] ? { t: ctx.inputs[i]!, d: ctx.node.inputs[i]!.dtype } : undefined);
  const c = addend(s.bias), z = addend(s.z);
  const bdef = base(s.baseOp);
  const ins = ctx.inputs.slice(0, n) as (TensorRef | undefined)[];
  if (flattensA(s, ctx) && ins[0]) ins[0] = flattened(ins[0]);
  const consts = Array.from({ length: n }, (_, i) => ctx.constValue(i));
  lowerThroughBase(ctx, s.baseOp, ins, ins.map((_, i) => ctx.node.inputs[i]?.dtype), baseAttrs(ctx, bdef), ctx.outputs[0], outV.dtype, (y, vars) => {
    if (c) y = addExpr(ctx, y, c.t, c.d, vars, out);
    if (z) y = addExpr(ctx, y, z.t, z.d, vars, out);
    return activationExpr(ctx, y, vars, out);
  }, consts);
}

export const ACT_FLOPS: Record<string, number> = { '': 0, Relu: 1, Tanh: 4, Sigmoid: 4, HardSwish: 5, Mish: 8, LeakyRelu: 2, HardSigmoid: 4, Clip: 2, Silu: 5, Gelu: 8, GeluTanh: 8 };
export const numel = (s: OutType['shape']) => (s ? s.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1) : 0);

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
  /** attribute flatten_a: A read as Flatten(A, axis = 1) (FusedGemm) */
  flattenA?: boolean;
}

const flattensA = (s: ProducerSpec, ctx: { attrs: { int(n: string): number } }) => !!s.flattenA && ctx.attrs.int('flatten_a') === 1;

/** t as the 2-D [d0, d1 * d2 * ...] tensor Flatten(t, axis = 1) would copy it into: the same elements in the same order. */
function flattened(t: TensorRef): TensorRef {
  const k = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return { ...t, shape: [t.shape[0], k], at: (i: Expr, j: Expr) => t.flat(E.add(E.mul(i, E.i(k)), j)) } as TensorRef;
}

/** the base op's input types: A flattened when the node says so */
function baseTypes(s: ProducerSpec, ctx: InferCtx): (OutType | undefined)[] {
  const types = ctx.inputTypes.slice(0, s.baseInputs.length) as (OutType | undefined)[];
  if (flattensA(s, ctx) && types[0]) types[0] = inferBase(ctx, 'Flatten', [types[0]]);
  return types;
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
    attrs: {
      ...bdef.attrs, ...actAttrs,
      ...(s.flattenA ? { flatten_a: { type: 'int' as const, default: 0, doc: '1: A is read as Flatten(A, axis = 1), [d0, d1 * d2 * ...], without a copy' } } : {}),
    },
    infer: (ctx) => {
      checkActivation(ctx, s.name);
      const types = baseTypes(s, ctx);
      const consts = Array.from({ length: n }, (_, i) => ctx.constValue(i));
      let y = inferBase(ctx, s.baseOp, types, consts, baseAttrs(ctx, bdef));
      if (s.bias !== undefined) y = inferAddend(ctx, s.name, y, s.bias, 'C');
      y = inferAddend(ctx, s.name, y, s.z, 'Z');
      return [y];
    },
    eval: (ctx) => {
      const ins = Array.from({ length: n }, (_, i) => ctx.optInput(i));
      if (flattensA(s, ctx)) ins[0] = evalBase(ctx, 'Flatten', [ctx.input(0)]);
      let y = evalBase(ctx, s.baseOp, ins, baseAttrs(ctx, bdef));
      const c = s.bias !== undefined ? ctx.optInput(s.bias) : undefined;
      if (c) y = evalBase(ctx, 'Add', [y, c]);
      const z = ctx.optInput(s.z);
      if (z) y = evalBase(ctx, 'Add', [y, z]);
      return [applyActivation(ctx, y)];
    },
    lower: (ctx) => lowerProducer(s, ctx),
    flops: (ctx, outs) => {
      const types = baseTypes(s, ctx);
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
  name: 'FusedGemm', baseOp: 'Gemm', z: 3, flattenA: true,
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
  lower: (ctx) => lowerAttention(ctx),
  flops: (ctx, outs) => {
    const q = ctx.inputTypes[0]?.shape, k = ctx.inputTypes[1]?.shape, y = outs[0].shape;
    if (!q || !k || !y || !y.length) return 0;
    const sk = numel(k.slice(-1)), rows = numel(y.slice(0, -1));
    const scores = rows * sk;
    return 2 * scores * numel(q.slice(-1)) + 2 * scores * numel(y.slice(-1)) + 6 * scores;
  },
});

/** numpy-broadcast of batch dims */
function broadcastShapes(a: number[], b: number[]): number[] | undefined {
  const r = Math.max(a.length, b.length), out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/**
 * Attention as stages of one kernel: scores = MatMul(Q', K) -> temp, P = Softmax(scores' + mask) -> temp,
 * Y = MatMul(P, V). Where the ctx stages temps (computeTemp) and the softmax runs over the last axis, every
 * step is a compute stage the default schedules tile: Q' materialized once (the same divisions), the score
 * scale and mask as the score product's epilogue (same operations, same order) and the softmax staged
 * (lib/softmax-rows.ts); otherwise the unscheduled form below.
 */
function lowerAttention(ctx: LowerCtx): void {
  const [q, k, v, mask] = ctx.inputs;
  const dt = (i: number) => ctx.node.inputs[i]!.dtype;
  const d = dt(0), st = scalarOf(d);
  if (!q || !k || !v || q.shape.length < 2 || k.shape.length < 2 || v.shape.length < 2) return ctx.unsupported('Q, K, V must have rank >= 2');
  const at = ctx.attrs.str('scale_at');
  const scaleOp = ctx.attrs.int('scale_divides') ? 'Div' : 'Mul';
  const scaleT = constTensor(Tensor.fromNumbers(d, [], [ctx.attrs.float('scale')]), st);
  const scaledExpr = (t: TensorRef, shape: number[], vars: string[]): Expr => elemExpr(ctx, scaleOp, [t, scaleT], [d, d], { dtype: d, shape }, vars);
  const scaled = (t: TensorRef, shape: number[]): TensorRef => {
    const vars = shape.map(() => ctx.fresh('e'));
    return exprTensor(scaledExpr(t, shape, vars), vars, shape, st);
  };
  const batch = broadcastShapes(q.shape.slice(0, -2), k.shape.slice(0, -2));
  if (!batch) return ctx.unsupported('Q and K batch dims do not broadcast');
  const sShape = [...batch, q.shape[q.shape.length - 2], k.shape[k.shape.length - 1]];
  const smShape = mask ? broadcastShapes(sShape, mask.shape) : sShape;
  if (!smShape) return ctx.unsupported('mask does not broadcast');
  const axis = ctx.attrs.int('softmax_axis');
  const staged = !!ctx.computeTemp && smShape.length === sShape.length && smShape.every((x, i) => x === sShape[i]) &&
    (axis === -1 || axis === sShape.length - 1);
  if (staged) {
    let q1: TensorRef = q;
    if (at === 'q') {
      q1 = ctx.temp('qscaled', st, q.shape);
      const qs = scaled(q, q.shape);
      ctx.computeTemp!(q1, (idx) => qs.at(...idx));
    }
    const scores = ctx.temp('scores', st, sShape);
    lowerThroughBase(ctx, 'MatMul', [q1, k], [d, dt(1)], {}, scores, d, (y, vars) => {
      let e = at === 'scores' ? scaledExpr(exprTensor(y, vars, sShape, st), sShape, vars) : y;
      if (mask) e = addExpr(ctx, e, mask, dt(3), vars, { dtype: d, shape: sShape });
      return e;
    }, [], true);
    const p = ctx.temp('probs', st, sShape);
    softmaxLastAxisStaged(ctx, scores, p, st);
    lowerThroughBase(ctx, 'MatMul', [p, v], [d, dt(2)], {}, ctx.outputs[0], d);
    return;
  }
  const q1 = at === 'q' ? scaled(q, q.shape) : q;
  const scores = ctx.temp('scores', st, sShape);
  lowerThroughBase(ctx, 'MatMul', [q1, k], [d, dt(1)], {}, scores, d);
  let s1: TensorRef = at === 'scores' ? scaled(scores, sShape) : scores;
  if (mask) {
    const vars = smShape.map(() => ctx.fresh('e'));
    s1 = exprTensor(elemExpr(ctx, 'Add', [s1, mask], [d, dt(3)], { dtype: d, shape: smShape }, vars), vars, smShape, st);
  }
  const p = ctx.temp('probs', st, smShape);
  lowerThroughBase(ctx, 'Softmax', [s1], [d], { axis: { type: 'int', value: axis } }, p, d);
  lowerThroughBase(ctx, 'MatMul', [p, v], [d, dt(2)], {}, ctx.outputs[0], d);
}

// ---- aic.FusedElementwise ------------------------------------------------------------------------

defineOp({
  name: 'FusedElementwise', domain: 'aic', category: CAT,
  summary: 'a chain of elementwise ops run as one kernel; `body` holds the ops as a self-contained subgraph',
  types: { T: [...FLOATS, 'bool', 'int32', 'int64', 'int8', 'uint8'] },
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
  lower: (ctx) => {
    // every body node's element expression, from its op's own compute definition, inlined into one
    const g = cloneGraph(ctx.attrs.graph('body'));
    if (g.inputs.length !== ctx.inputs.length || g.outputs.length !== 1) ctx.unsupported('body does not match the node');
    g.inputs.forEach((v, i) => { v.type = { dtype: ctx.node.inputs[i]!.dtype, shape: ctx.inputs[i]!.shape.slice() }; });
    inferGraph(g, { strict: true });
    const vals = new Map<Value, { t: TensorRef; d: DType; c?: Tensor }>();
    g.inputs.forEach((v, i) => vals.set(v, { t: ctx.inputs[i]!, d: v.dtype }));
    for (const c of g.constants) if (c.const) vals.set(c, { t: constTensor(c.const, scalarOf(c.dtype)), d: c.dtype, c: c.const });
    for (const n of g.nodes) {
      if (n.outputs.length !== 1 || n.domain !== '') ctx.unsupported(`body node ${n.op} is not a plain elementwise op`);
      const o = n.outputs[0];
      const shape = o.shape as number[];
      const ins = n.inputs.map((v) => {
        if (!v) return undefined;
        const x = vals.get(v);
        if (!x) return ctx.unsupported(`body value '${v.name}' is not defined inside the body`);
        return x;
      });
      const vars = shape.map(() => ctx.fresh('e'));
      const e = elemExpr(ctx, n.op, ins.map((x) => x?.t), ins.map((x) => x?.d), { dtype: o.dtype, shape }, vars, n.attrs, ins.map((x) => x?.c));
      vals.set(o, { t: exprTensor(e, vars, shape, scalarOf(o.dtype)), d: o.dtype });
    }
    const res = vals.get(g.outputs[0]);
    if (!res) return ctx.unsupported('body output is not computed by the body');
    ctx.compute(0, (idx) => bcastAt(res.t, idx));
  },
});
