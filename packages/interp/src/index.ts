/**
 * The reference interpreter: runs any graph with each op's ir-spec reference semantics. It is the
 * oracle every later stage is checked against, so it favours clarity over speed.
 */
import {
  AicError, Tensor, diag, logicalValue, nodeLocation, normalizeInPlace, physicalValue, withLocation,
  type Graph, type Node, type RValue, type Value,
} from '@aic/core';
import { checkArity, checkRuntimeSizes, getOp, makeAttrReader, unsupportedError, validateGraph, type EvalCtx } from '@aic/ir-spec';

export interface RunOptions {
  /** called after every node (for debugging / numeric bisection) */
  onNode?: (node: Node, outputs: RValue[]) => void;
  /** keep intermediate values alive (default: freed after their last use) */
  keepAll?: boolean;
}

export type Env = { values: Map<Value, RValue>; parent?: Env };

function lookup(env: Env, v: Value): RValue | undefined {
  for (let e: Env | undefined = env; e; e = e.parent) {
    if (e.values.has(v)) return e.values.get(v);
  }
  return undefined;
}

/**
 * Run a graph. `feeds` maps graph input names to values; returns outputs by name, in order. The graph
 * is validated first (validateGraph: the same check every compiled target makes).
 */
export function run(g: Graph, feeds: Record<string, RValue> | Map<string, RValue>, opts: RunOptions = {}): Map<string, RValue> {
  validateGraph(g);
  const get = (name: string) => (feeds instanceof Map ? feeds.get(name) : feeds[name]);
  const inputs: RValue[] = g.inputs.map((v) => {
    const x = get(v.name);
    if (x === undefined) {
      throw diag.missingInput(v.name);
    }
    if (x instanceof Tensor) checkFeed(v, x);
    return x;
  });
  const outs = runGraph(g, inputs, undefined, opts);
  const res = new Map<string, RValue>();
  g.outputs.forEach((v, i) => res.set(v.name, outs[i]));
  return res;
}

/** A feed must have its input's dtype and every static dim (compiled targets check feeds the same way). */
export function checkFeed(v: Value, t: Tensor): void {
  if (t.dtype !== v.dtype) throw diag.badInputData(v.name, `expected ${v.dtype}, got ${t.dtype}`);
  const s = v.shape;
  if (s === undefined) return;
  if (s.length !== t.rank) throw diag.badInputData(v.name, `expected rank ${s.length} [${s.join(', ')}], got [${t.shape.join(', ')}]`);
  s.forEach((d, i) => {
    if (typeof d === 'number' && d !== t.shape[i]) {
      throw diag.badInputData(v.name, `expected shape [${s.join(', ')}], got [${t.shape.join(', ')}]`);
    }
  });
}

/** Run a (sub)graph with positional inputs inside an optional enclosing environment. */
export function runGraph(g: Graph, inputs: RValue[], parent?: Env, opts: RunOptions = {}): RValue[] {
  const env: Env = { values: new Map(), parent };
  g.inputs.forEach((v, i) => env.values.set(v, inputs[i] ?? null));
  for (const c of g.constants) env.values.set(c, c.const!);

  // last use of every value defined here, so big intermediates can be freed early
  const lastUse = new Map<Value, number>();
  if (!opts.keepAll) {
    g.nodes.forEach((n, i) => {
      for (const v of n.inputs) if (v) lastUse.set(v, i);
      for (const sg of subgraphUses(n)) lastUse.set(sg, i);
    });
    for (const v of g.outputs) lastUse.set(v, Infinity);
  }

  g.nodes.forEach((node, idx) => {
    const outs = evalNode(node, env, opts);
    node.outputs.forEach((o, i) => env.values.set(o, outs[i] ?? null));
    opts.onNode?.(node, outs);
    if (!opts.keepAll) {
      for (const v of node.inputs) {
        if (v && lastUse.get(v) === idx && env.values.has(v) && !g.constants.includes(v)) env.values.delete(v);
      }
    }
  });
  return g.outputs.map((v) => {
    const x = lookup(env, v);
    if (x === undefined) throw diag.undefinedValue(v.name);
    return x;
  });
}

/** Values of enclosing scopes used inside a node's subgraphs (kept alive until the node runs). */
function subgraphUses(n: Node): Value[] {
  const out: Value[] = [];
  const visit = (g: Graph) => {
    const local = new Set<Value>(g.inputs.concat(g.constants));
    for (const m of g.nodes) {
      for (const v of m.inputs) if (v && !local.has(v)) out.push(v);
      for (const a of Object.values(m.attrs)) {
        if (a.type === 'graph') visit(a.value);
        if (a.type === 'graphs') a.value.forEach(visit);
      }
      for (const o of m.outputs) local.add(o);
    }
    for (const o of g.outputs) if (!local.has(o)) out.push(o);
  };
  for (const a of Object.values(n.attrs)) {
    if (a.type === 'graph') visit(a.value);
    if (a.type === 'graphs') a.value.forEach(visit);
  }
  return out;
}

export function evalNode(node: Node, env: Env, opts: RunOptions = {}): RValue[] {
  const loc = nodeLocation(node);
  const unsupported = unsupportedError(node);
  if (unsupported) throw unsupported;
  const def = getOp(node.op, node.domain)!;
  const inputs = node.inputs.map((v) => {
    if (!v) return undefined;
    const x = lookup(env, v);
    if (x === undefined) throw diag.undefinedValue(v.name, loc);
    return logicalValue(v.type, x); // layout: ops always see logical values (packages/core/src/layout.ts)
  });
  const ctx: EvalCtx = {
    inputs,
    attrs: makeAttrReader(def, node.attrs, loc),
    outputCount: node.outputs.length,
    node,
    input(i) {
      const x = inputs[i];
      if (x === undefined || x === null) throw diag.verify(def.name, `input ${i} (${def.inputs[Math.min(i, def.inputs.length - 1)]?.name}) is required`, loc);
      if (!(x instanceof Tensor)) throw diag.verify(def.name, `input ${i} must be a tensor, got a sequence`, loc);
      return x;
    },
    optInput(i) {
      const x = inputs[i];
      if (x === undefined || x === null) return undefined;
      if (!(x instanceof Tensor)) throw diag.verify(def.name, `input ${i} must be a tensor, got a sequence`, loc);
      return x;
    },
    runSubgraph(g, ins) {
      return runGraph(g, ins, env, opts);
    },
  };
  let outs: RValue[];
  try {
    checkArity(node, def);
    checkRuntimeSizes(node, def, inputs);
    outs = def.eval(ctx);
  } catch (e) {
    if (e instanceof AicError) throw withLocation(e, node.op, loc);
    if (e instanceof RangeError && /Array buffer allocation|Invalid typed array length|Invalid array length/.test(e.message)) {
      throw diag.runtime(node.op, `result too large to allocate (${e.message})`, loc);
    }
    throw withLocation(e, node.op, loc);
  }
  for (const t of outs) {
    if (t instanceof Tensor) normalizeInPlace(t);
    else if (Array.isArray(t)) t.forEach(normalizeInPlace);
  }
  // layout: laid-out results hold their physical data (NC4HW4: [N, C/4, H, W, 4])
  return outs.map((t, i) => (node.outputs[i] ? physicalValue(node.outputs[i].type, t) : t));
}
