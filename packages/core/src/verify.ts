/** Verifiers of the graph IR: structure (SSA, def-before-use, names, outputs defined) and value sizes. */
import { diag } from './diagnostics.ts';
import { Graph, Value, nodeLocation, subgraphsOf } from './graph.ts';
import { checkTensorBytes } from './limits.ts';
import type { Dim } from './shape.ts';

export function verifyStructure(g: Graph, outer: Set<Value> = new Set()): void {
  const defined = new Set<Value>(outer);
  const names = new Set<string>();
  const def = (v: Value) => {
    if (v.name && names.has(v.name)) throw diag.redefinedValue(v.name, v.producer ? nodeLocation(v.producer) : undefined);
    if (v.name) names.add(v.name);
    defined.add(v);
  };
  for (const v of g.inputs) def(v);
  for (const v of g.constants) {
    if (!v.const) throw diag.verify('graph', `constant '${v.name}' has no value`);
    def(v);
  }
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (i && !defined.has(i)) throw diag.undefinedValue(i.name, nodeLocation(n));
    }
    for (const sg of subgraphsOf(n)) verifyStructure(sg, defined);
    for (const o of n.outputs) def(o);
  }
  for (const o of g.outputs) {
    if (!defined.has(o)) throw diag.undefinedValue(o.name, { node: `output of graph ${g.name}` });
  }
}

/** Check every value of a graph (and its subgraphs) whose shape is static. */
export function checkGraphSizes(g: Graph): void {
  const check = (v: Value, what: string) => {
    const s = v.kind === 'tensor' ? v.shape : undefined;
    if (s && s.every((d: Dim) => typeof d === 'number')) {
      checkTensorBytes(v.dtype, s as number[], what, v.producer ? nodeLocation(v.producer) : undefined);
    }
  };
  for (const v of g.inputs) check(v, `graph input '${v.name}'`);
  for (const v of g.constants) check(v, `constant '${v.name}'`);
  for (const n of g.nodes) {
    for (const o of n.outputs) check(o, `value '${o.name}' of ${n.op}`);
    subgraphsOf(n).forEach(checkGraphSizes);
  }
}
