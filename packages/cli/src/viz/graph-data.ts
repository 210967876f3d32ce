/**
 * The data `aic viz` draws: a graph as plain JSON (nodes with op, name, typed inputs/outputs, FLOPs,
 * bytes, physical layout, fusion provenance), and a profile's per-node share of the run time.
 */
import { formatShape, subgraphsOf, type Attr, type Graph, type Node, type Value } from '@aic/core';
import { nodeBytes, nodeFlops } from '../stats.ts';

export interface VizValue {
  name: string; dtype: string; shape: string; kind: string;
  /** physical layout when not plain row-major (NC4HW4...) */
  layout?: string;
  /** a constant (weights): not drawn as a node, listed in the details */
  isConst?: boolean;
}

export interface VizNode {
  /** unique within its graph: the node name, or op#index when unnamed / duplicated */
  id: string;
  op: string; domain: string; name: string;
  inputs: (string | null)[]; outputs: string[];
  attrs: Record<string, string>;
  flops?: number; bytes?: number;
  /** the layout of its outputs when blocked (NC4HW4): the node runs in a blocked region */
  layout?: string;
  /** an aic.LayoutConvert: 'FROM->TO' */
  convert?: string;
  /** the names of the nodes this one replaced (fusion) */
  origin?: string[];
  /** the nodes inside a fused elementwise body, by name */
  body?: string[];
}

export interface VizGraph {
  label: string;
  nodes: VizNode[];
  values: Record<string, VizValue>;
  inputs: string[]; outputs: string[];
}

/** Per node name: the kernels that ran for it and their share of the run. */
export interface VizProfileEntry { node: string; kernels: string[]; ms: number; share: number; gflops?: number; gbps?: number }

export interface VizData {
  model: string; title: string;
  before: VizGraph; after: VizGraph;
  pipeline: string;
  profile?: { target: string; totalMs: number; runs: number; nodes: VizProfileEntry[]; unmatched: string[] };
}

function attrText(a: Attr): string {
  switch (a.type) {
    case 'tensor': return `tensor ${a.value.dtype}[${a.value.shape.join(', ')}]`;
    case 'tensors': return `${a.value.length} tensors`;
    case 'graph': return `graph '${a.value.name}' (${a.value.nodes.length} nodes)`;
    case 'graphs': return `${a.value.length} graphs`;
    case 'floats': case 'ints': case 'strings': {
      const s = JSON.stringify(a.value);
      return s.length > 200 ? `${s.slice(0, 200)}...` : s;
    }
    default: return String(a.value);
  }
}

const valueOf = (v: Value): VizValue => ({
  name: v.name, dtype: v.dtype, shape: formatShape(v.shape), kind: v.kind,
  ...(v.type.layout && v.type.layout !== 'NCHW' ? { layout: v.type.layout } : {}),
  ...(v.const ? { isConst: true } : {}),
});

export function vizGraph(g: Graph, label: string): VizGraph {
  const values: Record<string, VizValue> = {};
  const add = (v: Value | null) => { if (v && !values[v.name]) values[v.name] = valueOf(v); };
  g.inputs.forEach(add);
  g.constants.forEach(add);
  const ids = new Set<string>();
  const nodes = g.nodes.map((n: Node, i): VizNode => {
    n.inputs.forEach(add);
    n.outputs.forEach(add);
    let id = n.name || `${n.op}#${i}`;
    if (ids.has(id)) id = `${id}#${i}`;
    ids.add(id);
    const attrs: Record<string, string> = {};
    for (const [k, a] of Object.entries(n.attrs)) attrs[k] = attrText(a);
    const layout = n.outputs.map((o) => o.type.layout).find((l) => l && l !== 'NCHW');
    const vn: VizNode = {
      id, op: n.op, domain: n.domain, name: n.name,
      inputs: n.inputs.map((v) => v?.name ?? null), outputs: n.outputs.map((v) => v.name), attrs,
    };
    const f = nodeFlops(n), b = nodeBytes(n);
    if (f !== undefined) vn.flops = f;
    if (b !== undefined) vn.bytes = b;
    if (n.domain === 'aic' && n.op === 'LayoutConvert') {
      const from = n.inputs[0]?.type.layout ?? 'NCHW', to = n.outputs[0]?.type.layout ?? 'NCHW';
      vn.convert = `${from}->${to}`;
    } else if (layout) vn.layout = layout;
    if (n.origin && !(n.origin.length === 1 && n.origin[0] === n.name)) vn.origin = n.origin.slice();
    const body = subgraphsOf(n).flatMap((sg) => sg.nodes.map((x) => x.name || x.op));
    if (body.length && n.domain === 'aic') vn.body = body;
    return vn;
  });
  return { label, nodes, values, inputs: g.inputs.map((v) => v.name), outputs: g.outputs.map((v) => v.name) };
}
