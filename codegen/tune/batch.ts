/**
 * A workload measured alone: a graph holding `copies` copies of the kernel's node, all reading the
 * same inputs and constants, each writing its own outputs. Every copy lowers to a kernel with the
 * workload's key (checked), so copy 0 runs the default schedule and copy i candidate i, all in one
 * build (one shared library / one module), timed in one run and each checked against copy 0.
 */
import { Graph, Node, Value, isStatic, layoutConvertNode, type Layout } from '@aic/core';
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
  // an activation in a channel-blocked layout (-O3) enters and leaves through layout conversions, so
  // the graph's boundary is row-major and the node lowers to the model's blocked kernel (a graph
  // whose inputs or outputs are blocked would be materialized logical: lower/layout.ts); constants
  // keep their packed layouts
  const blocked = (v: Value) => !!v.type.layout && !v.const;
  if (vals.some((v) => v.kind !== 'tensor' || !isStatic(v.shape) || (blocked(v) && !v.type.layout!.startsWith('NC'))) || node.outputs.some((o) => !o.name)) return undefined;
  const rowMajor = (v: Value) => ({ dtype: v.type.dtype, shape: v.type.shape });
  const convert = (x: Value, y: Value, from: Layout, to: Layout) => layoutConvertNode(x, y, from, to, { name: `${y.name}_convert` });
  const g = new Graph(`tune_${src.name}`);
  const ins = new Map<Value, Value>();
  const conversions: Node[] = [];
  for (const v of node.inputs) {
    if (!v || ins.has(v)) continue;
    if (v.const) { ins.set(v, v); g.constants.push(v); continue; }
    const x = new Value(v.name, blocked(v) ? rowMajor(v) : v.type);
    g.inputs.push(x);
    if (blocked(v)) {
      const xb = new Value(`${v.name}__blocked`, v.type);
      conversions.push(convert(x, xb, 'NCHW', v.type.layout!));
      ins.set(v, xb);
    } else ins.set(v, x);
  }
  g.nodes.push(...conversions);
  const outputs: string[][] = [];
  const copyNodes: Node[] = [];
  for (let i = 0; i < copies; i++) {
    const outs = node.outputs.map((o) => new Value(`${o.name}__tune${i}${blocked(o) ? '_blocked' : ''}`, o.type));
    const copy = new Node({ op: node.op, domain: node.domain, name: `tune${i}`, inputs: node.inputs.map((v) => (v ? ins.get(v)! : null)), outputs: outs, attrs: node.attrs });
    g.nodes.push(copy);
    copyNodes.push(copy);
    const visible = outs.map((o, j) => {
      if (!blocked(o)) return o;
      const y = new Value(`${node.outputs[j].name}__tune${i}`, rowMajor(o));
      g.nodes.push(convert(o, y, o.type.layout!, 'NCHW'));
      return y;
    });
    g.outputs.push(...visible);
    outputs.push(visible.map((o) => o.name));
  }
  let prog;
  try { prog = lowerGraph(g, caps); } catch { return undefined; }
  const key = workloadKey(src);
  const kernels = copyNodes.map((n) => prog.steps.find((s) => s.node === n.label)?.kernel ?? '');
  if (kernels.some((k) => !k || !prog.sources.has(k) || workloadKey(prog.sources.get(k)!) !== key)) return undefined;
  return { graph: g, kernels, outputs };
}
