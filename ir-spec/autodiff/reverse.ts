/**
 * Reverse-mode automatic differentiation on the graph IR: given a graph whose value `loss` is a
 * scalar, append the nodes computing d loss / d v for each value v in `wrt`. Each node on a path from
 * a wrt value to the loss contributes through its op's derivative rule (OpDef.vjp, graph IR built
 * from other ops); contributions to a value are added. An op without a rule is named (exit 3). A
 * wrt value is a leaf: the derivative with respect to it does not flow on into the values it is
 * computed from (each Identity copy of a tied weight gets its own gradient, as in the framework).
 */
import { Tensor, diag, isFloat, nodeLocation, type Graph, type Node, type Value } from '@aic/core';
import { makeAttrReader } from '../attrs.ts';
import { makeBuilder, type BuiltNodes } from '../builder.ts';
import { getOp } from '../registry.ts';
import type { VjpCtx } from '../types.ts';

/** A builder adding to `g` (fresh names `${prefix}N`), its nodes and constants appended by `flush`. */
export function graphBuilder(g: Graph, prefix: string): BuiltNodes & { flush(): void; at(n: Node | undefined): void } {
  const names = new Set<string>();
  for (const v of g.definedValues()) names.add(v.name);
  let here: Node | undefined;
  const b = makeBuilder(prefix, (n) => names.has(n) || (names.add(n), false), () => (here ? nodeLocation(here) : {}));
  return Object.assign(b, {
    flush() { g.nodes.push(...b.nodes.splice(0)); g.constants.push(...b.constants.splice(0)); },
    at(n: Node | undefined) { here = n; },
  });
}

const floatValue = (v: Value | null | undefined): v is Value => !!v && v.kind === 'tensor' && isFloat(v.dtype);

/** The values that depend on `from` through float values (forward reachability). */
export function activeValues(g: Graph, from: Iterable<Value>): Set<Value> {
  const active = new Set<Value>(from);
  for (const n of g.nodes) {
    if (n.inputs.some((v) => v && active.has(v) && floatValue(v))) for (const o of n.outputs) if (floatValue(o)) active.add(o);
  }
  return active;
}

/**
 * Append to `g` the gradient of `loss` (a scalar value of g) with respect to each of `wrt`; returns
 * the gradient values in the same order (zeros where the loss does not depend on a value).
 */
export function appendGradients(g: Graph, loss: Value, wrt: readonly Value[]): Value[] {
  const shape = (loss.shape as number[]) ?? [];
  // d loss / d loss = 1 (a non-scalar `loss` is differentiated as the sum of its elements)
  const one = Tensor.fromNumbers(loss.dtype, shape, new Array<number>(shape.reduce((a, d) => a * d, 1)).fill(1));
  const sb = graphBuilder(g, 'seed_');
  const seed = sb.constant(one);
  sb.flush();
  return appendVjp(g, new Map([[loss, seed]]), wrt);
}

/**
 * The vector-Jacobian product: append to `g` the sum over `seeds` (value -> its cotangent, a value of
 * g shaped like it) of cotangent^T d value / d w, for each w of `wrt`, in that order.
 */
export function appendVjp(g: Graph, seeds: ReadonlyMap<Value, Value>, wrt: readonly Value[]): Value[] {
  const active = activeValues(g, wrt);
  const b = graphBuilder(g, 'grad_');
  const grads = new Map<Value, Value[]>();
  const add = (v: Value, d: Value) => { const l = grads.get(v); if (l) l.push(d); else grads.set(v, [d]); };
  const total = (v: Value): Value | undefined => {
    const l = grads.get(v);
    if (!l?.length) return undefined;
    let acc = l[0]!;
    for (let i = 1; i < l.length; i++) acc = b.op1('Add', [acc, l[i]!]);
    grads.set(v, [acc]);
    return acc;
  };
  for (const [v, d] of seeds) add(v, d);
  const leaves = new Set(wrt);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    // a wrt value is a leaf: its own cotangent, not passed on to what computed it (a tied weight's copy)
    if (n.outputs.every((o) => leaves.has(o))) continue;
    const dy = n.outputs.map((o) => (active.has(o) ? total(o) : undefined));
    if (dy.every((d) => !d)) continue;
    const need = n.inputs.map((v) => floatValue(v) && active.has(v));
    if (!need.some(Boolean)) continue;
    b.at(n);
    const def = getOp(n.op, n.domain);
    if (!def?.vjp) throw diag.noDerivative(n.op, n.outputs.find((_, k) => dy[k])!.name, nodeLocation(n));
    const wrtIdx = def.vjp.wrt;
    need.forEach((x, k) => {
      if (x && wrtIdx !== 'all' && !wrtIdx.includes(k)) {
        throw diag.noDerivativeInput(n.op, def.inputs[Math.min(k, def.inputs.length - 1)]?.name ?? String(k), nodeLocation(n));
      }
    });
    const loc = nodeLocation(n);
    const ctx: VjpCtx = {
      node: n, attrs: makeAttrReader(def, n.attrs, loc), x: n.inputs, y: n.outputs, dy, need, b,
      unsupported: (why) => { throw diag.derivativeUnsupported(n.op, why, loc); },
    };
    const dx = def.vjp.grad(ctx);
    n.inputs.forEach((v, k) => {
      const d = dx[k];
      if (!need[k] || !d || !v) return;
      if (JSON.stringify(d.shape) !== JSON.stringify(v.shape)) {
        throw diag.verify(n.op, `derivative rule gave [${d.shape?.join(', ')}] for input '${v.name}' of shape [${v.shape?.join(', ')}]`, loc);
      }
      add(v, d);
    });
  }
  b.at(undefined);
  const out = wrt.map((v) => total(v) ?? b.op1('ConstantOfShape', [b.ints(v.shape as number[])],
    { value: { type: 'tensor', value: Tensor.fromNumbers(v.dtype, [1], [0]) } }));
  b.flush();
  return out;
}
