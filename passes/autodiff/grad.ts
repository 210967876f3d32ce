/**
 * The gradient model of `aic grad`: the forward graph, a loss on its first output, and the
 * gradients of the loss with respect to the parameters (or the named values).
 *
 * Parameters are the float initializers a derivative can reach (not BatchNormalization statistics,
 * shapes or indices) and the outputs of Identity nodes that copy one: exporters deduplicate equal
 * weights that way (torch.onnx names the copy after the tied parameter), so each keeps its own
 * gradient. Outputs: `loss`, then `<name>_grad` per parameter in initializer order.
 */
import { Node, Value, cloneGraph, diag, isFloat, isStatic, type Graph } from '@aic/core';
import { appendGradients, getOp, graphBuilder, inferGraph } from '@aic/ir-spec';
import { removeDead } from '../graph-utils.ts';

export type LossKind = 'sum' | 'mean' | 'cross-entropy' | 'mse';
export const LOSSES: readonly LossKind[] = ['sum', 'mean', 'cross-entropy', 'mse'];

export interface GradOptions {
  loss: LossKind;
  /** value names; undefined = the parameters */
  wrt?: readonly string[];
}

/** Is input slot k of node n one a derivative can flow through (no rule: assume yes, so the error names the op)? */
function differentiableSlot(n: Node, k: number): boolean {
  const w = getOp(n.op, n.domain)?.vjp?.wrt;
  return w === undefined || w === 'all' || w.includes(k);
}

/** The trainable parameters of g (see the file comment). */
export function parameters(g: Graph): Value[] {
  const consts = new Set(g.constants.filter((c) => isFloat(c.dtype)));
  const uses = new Map<Value, { n: Node; k: number }[]>();
  for (const n of g.nodes) n.inputs.forEach((v, k) => { if (v && consts.has(v)) (uses.get(v) ?? uses.set(v, []).get(v)!).push({ n, k }); });
  const out: Value[] = [];
  for (const c of g.constants) {
    const us = uses.get(c);
    if (!us) continue;
    if (us.some((u) => u.n.op !== 'Identity' && differentiableSlot(u.n, u.k))) out.push(c);
    for (const u of us) if (u.n.op === 'Identity' && u.n.domain === '') out.push(u.n.outputs[0]!);
  }
  return out;
}

export function addInput(g: Graph, name: string, dtype: Value['dtype'], shape: Value['shape']): Value {
  if ([...g.definedValues()].some((v) => v.name === name)) throw diag.gradBadLoss(name, `the model already has a value named '${name}'`);
  const v = new Value(name, { dtype, shape });
  g.inputs.push(v);
  return v;
}

/** Append the loss on the first output; returns the scalar loss value. */
function appendLoss(g: Graph, kind: LossKind): Value {
  const y = g.outputs[0];
  if (!y || !isFloat(y.dtype) || y.kind !== 'tensor') throw diag.gradBadLoss(kind, 'the first output of the model must be a float tensor');
  const b = graphBuilder(g, 'loss_');
  let loss: Value;
  if (kind === 'sum' || kind === 'mean') loss = b.op1(kind === 'sum' ? 'ReduceSum' : 'ReduceMean', [y], { keepdims: 0 });
  else if (kind === 'mse') {
    const d = b.op1('Sub', [y, addInput(g, 'target', y.dtype, y.shape?.slice())]);
    loss = b.op1('ReduceMean', [b.op1('Mul', [d, d])], { keepdims: 0 });
  } else {
    if (!y.shape || y.shape.length < 2) throw diag.gradBadLoss(kind, `the first output '${y.name}' must be logits [N, C], got rank ${y.shape?.length ?? '?'}`);
    const labels = addInput(g, 'labels', 'int64', [y.shape[0]!, ...y.shape.slice(2)]);
    loss = b.op1('SoftmaxCrossEntropyLoss', [y, labels], { reduction: 'mean' });
  }
  b.flush();
  if (![...g.definedValues()].some((v) => v.name === 'loss')) loss.name = 'loss';
  else {
    const id = new Node({ op: 'Identity', name: 'loss', inputs: [loss], outputs: [new Value('loss', loss.type)] });
    g.nodes.push(id);
    loss = id.outputs[0]!;
  }
  return loss;
}

export function resolveWrt(g: Graph, names: readonly string[]): Value[] {
  const byName = new Map<string, Value>();
  for (const v of g.definedValues()) byName.set(v.name, v);
  return names.map((name) => {
    const v = byName.get(name);
    if (!v) throw diag.gradBadWrt(name, 'the model has no value of that name');
    if (v.kind !== 'tensor' || !isFloat(v.dtype)) throw diag.gradBadWrt(name, `a gradient needs a float tensor, '${name}' is ${v.dtype}`);
    return v;
  });
}

/** A copy of g0, inferred, whose float values all have static shapes (derivative rules need them). */
export function staticCopy(g0: Graph): Graph {
  const g = cloneGraph(g0);
  inferGraph(g);
  for (const v of g.definedValues()) {
    if (v.kind === 'tensor' && isFloat(v.dtype) && !isStatic(v.shape)) {
      throw diag.derivativeUnsupported('the model', `value '${v.name}' with the symbolic shape [${(v.shape ?? []).join(', ')}] (bind the inputs with --input-shape)`);
    }
  }
  return g;
}

/** The gradient model of g0 (g0 is not changed). Shapes must be static (bind them before). */
export function gradModel(g0: Graph, opts: GradOptions): Graph {
  const g = staticCopy(g0);
  const wrt = opts.wrt ? resolveWrt(g, opts.wrt) : parameters(g);
  const loss = appendLoss(g, opts.loss);
  const grads = appendGradients(g, loss, wrt);
  const outs = grads.map((d, i) => {
    const id = new Node({ op: 'Identity', name: `${wrt[i]!.name}_grad`, inputs: [d], outputs: [new Value(`${wrt[i]!.name}_grad`, d.type)] });
    g.nodes.push(id);
    return id.outputs[0]!;
  });
  g.outputs = [loss, ...outs];
  removeDead(g);
  inferGraph(g);
  return g;
}

