/**
 * The ONNX `Gradient` op (ai.onnx.preview.training, opset 1): d y / d xs of values named by its
 * attributes `xs` and `y`, in the graph that holds it. It reads the graph around it, not its inputs'
 * values, so it is expanded when a model is loaded: the node is replaced by the derivative graph
 * (reverse mode, OpDef.vjp rules) and every target then runs plain graph IR. A non-scalar y is
 * differentiated as the sum of its elements.
 */
import { Node, Value, diag, nodeLocation, type Graph } from '@aic/core';
import { appendGradients } from './reverse.ts';

const DOMAIN = 'ai.onnx.preview.training';

/** Replace each Gradient node of g (not its subgraphs) by the nodes computing its outputs. */
export function expandGradientOps(g: Graph): void {
  const nodes = g.nodes.filter((n) => n.op === 'Gradient' && n.domain === DOMAIN);
  if (!nodes.length) return;
  const byName = new Map<string, Value>();
  for (const v of g.definedValues()) byName.set(v.name, v);
  for (const n of nodes) {
    const loc = nodeLocation(n);
    const a = (k: string) => n.attrs[k];
    const xsAttr = a('xs'), yAttr = a('y');
    if (xsAttr?.type !== 'strings' || yAttr?.type !== 'string') throw diag.verify('Gradient', "needs attributes 'xs' (strings) and 'y' (string)", loc);
    if (a('zs')) throw diag.unsupportedAttr({ op: 'Gradient', domain: DOMAIN }, 'zs', xsAttr.value.join(','), loc);
    const find = (name: string) => byName.get(name) ?? (() => { throw diag.verify('Gradient', `names '${name}', which the graph does not define`, loc); })();
    const xs = xsAttr.value.map(find), y = find(yAttr.value);
    if (n.outputs.length !== xs.length) throw diag.verify('Gradient', `has ${n.outputs.length} outputs for ${xs.length} xs`, loc);
    g.nodes.splice(g.nodes.indexOf(n), 1);
    const grads = appendGradients(g, y, xs);
    grads.forEach((d, i) => g.nodes.push(new Node({ op: 'Identity', name: `${n.name || 'Gradient'}_${i}`, inputs: [d], outputs: [n.outputs[i]!], loc })));
  }
  g.nodes = topoSort(g.nodes);
}

/** Producers before consumers, otherwise in the given order. */
function topoSort(nodes: Node[]): Node[] {
  const producer = new Map<Value, Node>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  const done = new Set<Node>(), out: Node[] = [];
  const visit = (n: Node) => {
    if (done.has(n)) return;
    done.add(n);
    for (const v of n.inputs) { const p = v && producer.get(v); if (p) visit(p); }
    out.push(n);
  };
  nodes.forEach(visit);
  return out;
}
