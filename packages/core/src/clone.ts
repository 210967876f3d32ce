/**
 * Deep copy of a graph (values, nodes, subgraphs). Constant tensors are shared: tensors are treated
 * as immutable everywhere, so passes can be pure functions Graph -> Graph by cloning first.
 */
import { Graph, Node, Value, type Attr } from './graph.ts';

export function cloneGraph(g: Graph, outer: Map<Value, Value> = new Map(), parent?: Graph): Graph {
  const map = new Map<Value, Value>(outer);
  const cv = (v: Value): Value => {
    const m = map.get(v);
    if (m) return m;
    const c = new Value(v.name, { dtype: v.type.dtype, shape: v.type.shape?.slice(), ...(v.type.layout ? { layout: v.type.layout } : {}) }, v.kind);
    if (v.const) c.const = v.const;
    if (v.source) c.source = { ...v.source };
    map.set(v, c);
    return c;
  };
  const out = new Graph(g.name);
  out.parent = parent;
  out.opsets = { ...g.opsets };
  out.meta = { ...g.meta };
  out.inputs = g.inputs.map(cv);
  out.constants = g.constants.map(cv);
  for (const n of g.nodes) {
    const attrs: Record<string, Attr> = {};
    for (const [k, a] of Object.entries(n.attrs)) {
      if (a.type === 'graph') attrs[k] = { type: 'graph', value: cloneGraph(a.value, map, out) };
      else if (a.type === 'graphs') attrs[k] = { type: 'graphs', value: a.value.map((sg) => cloneGraph(sg, map, out)) };
      else if (Array.isArray(a.value)) attrs[k] = { type: a.type, value: (a.value as unknown[]).slice() } as Attr;
      else attrs[k] = { ...a };
    }
    out.nodes.push(new Node({
      op: n.op, domain: n.domain, name: n.name, loc: { ...n.loc }, attrs, origin: n.origin,
      inputs: n.inputs.map((v) => (v ? cv(v) : null)),
      outputs: n.outputs.map(cv),
    }));
  }
  out.outputs = g.outputs.map(cv);
  return out;
}
