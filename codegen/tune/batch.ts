/**
 * A workload measured alone: a graph holding `copies` copies of the kernel's node, all reading the
 * same inputs and constants, each writing its own outputs. Every copy lowers to a kernel with the
 * workload's key (checked), so copy 0 runs the default schedule and copy i candidate i, all in one
 * build (one shared library / one module), timed in one run and each checked against copy 0.
 */
import { Graph, Node, Value, isStatic } from '@aic/core';
import type { TargetCaps } from '@aic/ir-spec';
import { lowerGraph, type KernelSource } from '../lower/program.ts';
import { workloadKey } from './workload.ts';

export interface BatchGraph {
  graph: Graph;
  /** kernel name of each copy */
  kernels: string[];
  /** output value names of each copy, in the node's output order */
  outputs: string[][];
}

/** The batch graph, or undefined when the kernel cannot run alone with the same key (blocked layouts at its boundary, control flow...). */
export function batchGraph(src: KernelSource, copies: number, caps: TargetCaps): BatchGraph | undefined {
  const node = src.graphNode;
  if (!node || Object.values(node.attrs).some((a) => a.type === 'graph' || a.type === 'graphs')) return undefined;
  const vals = [...node.inputs, ...node.outputs].filter((v): v is Value => !!v);
  if (vals.some((v) => v.kind !== 'tensor' || !isStatic(v.shape) || v.type.layout) || node.outputs.some((o) => !o.name)) return undefined;
  const g = new Graph(`tune_${src.name}`);
  const ins = new Map<Value, Value>();
  for (const v of node.inputs) {
    if (!v || ins.has(v)) continue;
    if (v.const) { ins.set(v, v); g.constants.push(v); continue; }
    const x = new Value(v.name, v.type);
    ins.set(v, x);
    g.inputs.push(x);
  }
  const outputs: string[][] = [];
  for (let i = 0; i < copies; i++) {
    const outs = node.outputs.map((o) => new Value(`${o.name}__tune${i}`, o.type));
    g.nodes.push(new Node({ op: node.op, domain: node.domain, name: `tune${i}`, inputs: node.inputs.map((v) => (v ? ins.get(v)! : null)), outputs: outs, attrs: node.attrs }));
    g.outputs.push(...outs);
    outputs.push(outs.map((o) => o.name));
  }
  let prog;
  try { prog = lowerGraph(g, caps); } catch { return undefined; }
  const key = workloadKey(src);
  const kernels = g.nodes.map((n) => prog.steps.find((s) => s.node === n.label)?.kernel ?? '');
  if (kernels.some((k) => !k || !prog.sources.has(k) || workloadKey(prog.sources.get(k)!) !== key)) return undefined;
  return { graph: g, kernels, outputs };
}
