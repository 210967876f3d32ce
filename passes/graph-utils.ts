/** Graph surgery shared by passes: use lists, replacing uses, fresh names, dead-node removal. */
import { Graph, Node, Value, subgraphsOf, type Tensor } from '@aic/core';

/** Consumers of each value in g (subgraph uses count as a use by the enclosing node). */
export function useMap(g: Graph): Map<Value, Node[]> {
  const uses = new Map<Value, Node[]>();
  const add = (v: Value, n: Node) => { const l = uses.get(v); if (l) { if (!l.includes(n)) l.push(n); } else uses.set(v, [n]); };
  for (const n of g.nodes) {
    for (const v of n.inputs) if (v) add(v, n);
    for (const sg of subgraphsOf(n)) for (const v of outerUses(sg)) add(v, n);
  }
  return uses;
}

/** Values a subgraph uses from enclosing scopes. */
export function outerUses(g: Graph): Set<Value> {
  const local = new Set<Value>([...g.inputs, ...g.constants]);
  const out = new Set<Value>();
  for (const n of g.nodes) {
    for (const v of n.inputs) if (v && !local.has(v)) out.add(v);
    for (const sg of subgraphsOf(n)) for (const v of outerUses(sg)) if (!local.has(v)) out.add(v);
    for (const o of n.outputs) local.add(o);
  }
  for (const v of g.outputs) if (!local.has(v)) out.add(v);
  return out;
}

/**
 * Replace every use of `from` by `to` (also inside subgraphs). When `from` is a graph output, the
 * output keeps its name: `to` takes it over if it is a plain node result, else an Identity is kept.
 */
export function replaceAllUses(g: Graph, from: Value, to: Value): void {
  if (from === to) return;
  const visit = (gr: Graph) => {
    for (const n of gr.nodes) {
      n.inputs = n.inputs.map((v) => (v === from ? to : v));
      subgraphsOf(n).forEach(visit);
    }
    if (gr !== g) gr.outputs = gr.outputs.map((v) => (v === from ? to : v));
  };
  visit(g);
  const oi = g.outputs.indexOf(from);
  if (oi < 0) return;
  const producedHere = to.producer && g.nodes.includes(to.producer);
  if (producedHere && !g.outputs.includes(to) && !g.inputs.includes(to)) {
    to.name = from.name;
    if (from.type.shape && !to.type.shape) to.type = { ...to.type, shape: from.type.shape };
    g.outputs[oi] = to;
  } else {
    const id = new Node({ op: 'Identity', inputs: [to], outputs: [from], name: `${from.name}_identity`, loc: from.producer?.loc });
    g.nodes.push(id);
  }
}

export function uniqueNamer(g: Graph): (base: string) => string {
  const used = new Set<string>();
  const walk = (gr: Graph) => {
    for (const v of gr.definedValues()) used.add(v.name);
    for (const n of gr.nodes) { used.add(n.name); subgraphsOf(n).forEach(walk); }
  };
  walk(g);
  return (base: string) => {
    let name = base, i = 1;
    while (used.has(name)) name = `${base}_${i++}`;
    used.add(name);
    return name;
  };
}

/** Add a constant value to the graph. */
export function addConstant(g: Graph, name: string, t: Tensor): Value {
  const v = new Value(name, { dtype: t.dtype, shape: t.shape.slice() });
  v.const = t;
  g.constants.push(v);
  return v;
}

/** Remove nodes whose outputs are unused (transitively) and constants nobody uses. Returns count. */
export function removeDead(g: Graph): { nodes: number; constants: number } {
  const live = new Set<Value>(g.outputs);
  const keep: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.outputs.some((o) => live.has(o))) {
      keep.push(n);
      for (const v of n.inputs) if (v) live.add(v);
      for (const sg of subgraphsOf(n)) for (const v of outerUses(sg)) live.add(v);
    }
  }
  const removed = g.nodes.length - keep.length;
  g.nodes = keep.reverse();
  const before = g.constants.length;
  g.constants = g.constants.filter((c) => live.has(c));
  return { nodes: removed, constants: before - g.constants.length };
}

/** Stable topological order (needed after rewrites insert nodes late). */
export function topoSort(g: Graph): void {
  const avail = new Set<Value>([...g.inputs, ...g.constants]);
  // outer-scope values are available too
  for (let p = g.parent; p; p = p.parent) for (const v of p.definedValues()) avail.add(v);
  const pending = g.nodes.slice();
  const out: Node[] = [];
  let progress = true;
  while (pending.length && progress) {
    progress = false;
    for (let i = 0; i < pending.length; i++) {
      const n = pending[i];
      const ready = n.inputs.every((v) => !v || avail.has(v)) &&
        subgraphsOf(n).every((sg) => [...outerUses(sg)].every((v) => avail.has(v)));
      if (ready) {
        out.push(n);
        n.outputs.forEach((o) => avail.add(o));
        pending.splice(i, 1);
        i--;
        progress = true;
      }
    }
  }
  g.nodes = out.concat(pending);
}
