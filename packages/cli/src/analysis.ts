/** Graph queries the CLI needs: unsupported nodes, shape-deciding inputs, unbound dims. */
import { nodeLocation, subgraphsOf, type Graph, type Node, type Value } from '@aic/core';
import { getOp, unsupportedReason } from '@aic/ir-spec';
import { isControl } from '@aic/codegen';

export interface UnsupportedNode { node: string; index?: number; op: string; domain: string; opset?: number; why: string }

/** Nodes a target cannot run: no definition, unsupported opset, or (compiled targets) no compute definition (control nodes aside). */
export function unsupportedNodes(g: Graph, compiled = false): UnsupportedNode[] {
  const out: UnsupportedNode[] = [];
  const visit = (gr: Graph) => {
    for (const n of gr.nodes) {
      const loc = nodeLocation(n);
      const base = { node: loc.node ?? n.label, index: loc.index, op: n.op, domain: n.domain || 'ai.onnx', opset: g.opsets[n.domain] };
      const bad = unsupportedReason(n);
      if (bad) out.push({ ...base, why: bad.why === 'opset' ? `opset ${bad.opset}` : 'no definition' });
      // If / Loop / Scan have no compute definition: lowering wraps their subgraphs' kernels (codegen/lower/control.ts)
      else if (compiled && !isControl(n) && !getOp(n.op, n.domain)!.lower) out.push({ ...base, why: 'no compute definition for compiled targets yet (runs on --target interp)' });
      subgraphsOf(n).forEach(visit);
    }
  };
  visit(g);
  return out;
}

/** Graph inputs whose values decide a shape (Reshape's shape, Slice's starts...) that compiling needs bound, with the consumer. */
export function shapeDataInputs(g: Graph): { input: Value; node: Node; slot: string }[] {
  const inputs = new Set(g.inputs);
  const out: { input: Value; node: Node; slot: string }[] = [];
  for (const n of g.nodes) {
    const def = getOp(n.op, n.domain);
    if (!def) continue;
    n.inputs.forEach((v, i) => {
      const spec = def.inputs[Math.min(i, def.inputs.length - 1)];
      // ops whose outputs compiled targets bound (NonZero, TopK...) take these values at run time
      if (v && inputs.has(v) && spec?.shapeData && !spec.countData && !def.maxShape) out.push({ input: v, node: n, slot: spec.name });
    });
  }
  return out;
}

export function symbolicInputs(g: Graph): Value[] {
  return g.inputs.filter((v) => v.shape === undefined || v.shape.some((d) => typeof d === 'string'));
}
