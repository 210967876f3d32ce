/**
 * Type and shape inference over a graph, driven by each OpDef's `infer`. Also the one place that
 * builds InferCtx, so the verifier, the frontends and `aic inspect` agree.
 */
import {
  Tensor, checkGraphSizes, checkTensorBytes, diag, isStatic, nodeLocation, subgraphsOf, withLocation,
  type Graph, type Node, type RValue, type TensorType, type Value,
} from '@aic/core';
import { makeAttrReader } from './attrs.ts';
import { getOp } from './registry.ts';
import type { InferCtx, OpDef, OutType } from './types.ts';

export function makeInferCtx(node: Node, def: OpDef, constOf: (v: Value) => Tensor | undefined,
  types?: (TensorType | undefined)[]): InferCtx {
  const loc = nodeLocation(node);
  const attrs = makeAttrReader(def, node.attrs, loc);
  const inputTypes = types ?? node.inputs.map((v) => (v ? v.type : undefined));
  return {
    inputTypes,
    attrs,
    node,
    outputCount: node.outputs.length,
    constValue: (i) => { const v = node.inputs[i]; return v ? constOf(v) : undefined; },
    type: (i) => {
      const t = inputTypes[i];
      if (!t) throw diag.verify(def.name, `input ${i} (${def.inputs[Math.min(i, def.inputs.length - 1)]?.name ?? '?'}) is required`, loc);
      return t;
    },
  };
}

/** Verify input count against the signature. */
export function checkArity(node: Node, def: OpDef): void {
  const loc = nodeLocation(node);
  const variadic = def.inputs.some((i) => i.variadic);
  const required = def.inputs.filter((i) => !i.optional && !i.variadic).length;
  let lastRequired = -1;
  def.inputs.forEach((s, i) => { if (!s.optional && !s.variadic) lastRequired = i; });
  if (node.inputs.length <= lastRequired) {
    throw diag.verify(def.name, `expects at least ${required} input(s), got ${node.inputs.length}`, loc);
  }
  if (!variadic && node.inputs.length > def.inputs.length) {
    throw diag.verify(def.name, `expects at most ${def.inputs.length} input(s), got ${node.inputs.length}`, loc);
  }
  def.inputs.forEach((s, i) => {
    if (!s.optional && !s.variadic && i < node.inputs.length && node.inputs[i] === null) {
      throw diag.verify(def.name, `required input '${s.name}' is missing`, loc);
    }
  });
  if (!def.outputs.some((o) => o.variadic) && node.outputs.length > def.outputs.length) {
    throw diag.verify(def.name, `has at most ${def.outputs.length} output(s), got ${node.outputs.length}`, loc);
  }
  const requiredOut = def.outputs.filter((o) => !o.optional && !o.variadic).length;
  if (node.outputs.length < requiredOut) throw diag.verify(def.name, `has ${requiredOut} output(s), got ${node.outputs.length}`, loc);
}

/**
 * Infer every node's output types in order. Declared types on outputs (from ONNX value_info or the
 * DSL) are kept when inference cannot do better. `strict` makes unknown ops an error. Every value
 * whose shape is static is then checked against the tensor size limit (core's checkGraphSizes), so
 * a model declaring or computing an absurd size is refused when it is loaded, bound or folded.
 */
export function inferGraph(g: Graph, opts: { strict?: boolean } = {}): void {
  const constOf = (v: Value) => v.const;
  for (const node of g.nodes) {
    const def = node.attrs['__unsupported_opset'] ? undefined : getOp(node.op, node.domain);
    if (!def) {
      if (opts.strict) throw diag.unsupportedOp({ op: node.op, domain: node.domain }, nodeLocation(node));
      continue;
    }
    let outs: OutType[];
    try {
      checkArity(node, def);
      const ctx = makeInferCtx(node, def, constOf);
      inferBodies(node, def, ctx, opts);
      outs = def.infer(ctx);
    } catch (e) {
      throw withLocation(e, node.op, nodeLocation(node));
    }
    node.outputs.forEach((o, i) => {
      const t = outs[i];
      if (!t) return;
      o.type = mergeTypes(o.type, t);
      if (t.kind) o.kind = t.kind;
    });
  }
  checkGraphSizes(g);
}

/**
 * Infer a node's subgraphs before the node itself: the If/Loop/Scan outputs are typed from the body
 * outputs, and body nodes read values of enclosing graphs (already inferred: they come earlier), so
 * a captured value keeps its type in the body (an ONNX body value without value_info would otherwise
 * keep the importer's placeholder type). Body inputs take the types the op passes in.
 */
function inferBodies(node: Node, def: OpDef, ctx: InferCtx, opts: { strict?: boolean }): void {
  if (!def.bodyInputs) return;
  for (const [name, a] of Object.entries(node.attrs)) {
    const bodies = a.type === 'graph' ? [a.value] : a.type === 'graphs' ? a.value : [];
    if (!bodies.length) continue;
    const given = def.bodyInputs(ctx, name);
    for (const body of bodies) {
      body.inputs.forEach((v, i) => {
        const t = given[i];
        if (!t) return;
        v.type = { ...v.type, dtype: t.dtype };
        if (t.kind) v.kind = t.kind;
      });
      inferGraph(body, opts);
    }
  }
}

/**
 * For the interpreter, before a node runs: when an output's size is not static in the graph (it
 * comes from data), infer it from the actual input values and check it against the tensor size
 * limit, so Tile/Pad/Resize/Range... are refused with the value's name before they allocate.
 * Inference that cannot decide (or fails) leaves the node to run and report its own errors.
 */
export function checkRuntimeSizes(node: Node, def: OpDef, inputs: readonly (RValue | undefined)[]): void {
  // a declared static output shape is only trusted when no input decides the size (a model may declare
  // [1, 1, 1, 3] for a Resize whose sizes, given at run time, ask for 10^9 rows)
  const decidedByData = def.inputs.some((i) => i.shapeData);
  if ((!decidedByData && node.outputs.every((o) => o.kind !== 'tensor' || isStatic(o.shape))) || subgraphsOf(node).length) return;
  const values = new Map<Value, Tensor>();
  const types = node.inputs.map((v, i) => {
    const x = inputs[i];
    if (!(x instanceof Tensor)) return v ? v.type : undefined;
    if (v) values.set(v, x);
    return { dtype: x.dtype, shape: x.shape.slice() };
  });
  let outs: OutType[];
  try {
    outs = def.infer(makeInferCtx(node, def, (v) => values.get(v), types));
  } catch {
    return;
  }
  node.outputs.forEach((o, i) => {
    const t = outs[i];
    if (!t?.shape || o.kind !== 'tensor' || !isStatic(t.shape)) return;
    checkTensorBytes(t.dtype, t.shape as number[], `value '${o.name}' of ${node.op}`, nodeLocation(node));
  });
}

/** Prefer the more precise of a declared and an inferred type. */
function mergeTypes(declared: TensorType, inferred: TensorType): TensorType {
  const layout = inferred.layout ?? declared.layout;
  const L = layout ? { layout } : {};
  if (!inferred.shape) return { dtype: inferred.dtype, shape: declared.shape, ...L };
  if (!declared.shape || declared.shape.length !== inferred.shape.length) return { dtype: inferred.dtype, shape: inferred.shape, ...L };
  return {
    dtype: inferred.dtype,
    shape: inferred.shape.map((d, i) => (typeof d === 'number' ? d : declared.shape![i]!)),
    ...L,
  };
}
