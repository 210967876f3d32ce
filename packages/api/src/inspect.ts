/** Model statistics (op histogram, parameters, FLOPs from each OpDef's flops) and what inspect reports. */
import { BYTE_SIZE, Tensor, isStatic, nodeLocation, subgraphsOf, type Graph, type Node, type Value } from '@aic/core';
import { getOp, makeInferCtx } from '@aic/ir-spec';
import type { ModelInfo } from './types.ts';

export interface ModelStats {
  nodes: number;
  ops: Record<string, number>;
  params: number;
  paramBytes: number;
  flops: number;
  /** nodes whose FLOPs could not be counted (unknown shapes / no flops rule) */
  flopsUnknown: string[];
}

export function modelStats(g: Graph): ModelStats {
  const ops: Record<string, number> = {};
  let nodes = 0, params = 0, paramBytes = 0, flops = 0;
  const flopsUnknown: string[] = [];
  const countTensor = (t: Tensor) => { params += t.size; paramBytes += t.size * (BYTE_SIZE[t.dtype] || 8); };
  const visit = (gr: Graph) => {
    for (const c of gr.constants) countTensor(c.const!);
    for (const n of gr.nodes) {
      nodes++;
      const key = n.domain ? `${n.domain}.${n.op}` : n.op;
      ops[key] = (ops[key] ?? 0) + 1;
      if (n.op === 'Constant') {
        const v = Object.values(n.attrs)[0];
        if (v?.type === 'tensor') countTensor(v.value);
      }
      const f = nodeFlops(n);
      if (f !== undefined) flops += f;
      else if (getOp(n.op, n.domain)?.flops) flopsUnknown.push(nodeLocation(n).node ?? n.label);
      subgraphsOf(n).forEach(visit);
    }
  };
  visit(g);
  return { nodes, ops, params, paramBytes, flops, flopsUnknown };
}

/** A node's FLOPs from its OpDef's flops rule; undefined when it has none or a shape is unknown. */
export function nodeFlops(n: Node): number | undefined {
  const def = getOp(n.op, n.domain);
  if (!def?.flops) return undefined;
  const outs = n.outputs.map((o) => ({ dtype: o.dtype, shape: o.shape }));
  if (!n.inputs.every((v) => !v || isStatic(v.shape)) || !outs.every((o) => isStatic(o.shape))) return undefined;
  try { return def.flops(makeInferCtx(n, def, (v) => v.const), outs); } catch { return undefined; }
}

/** Bytes a node reads and writes at least once (every input and output, static shapes only; undefined otherwise). */
export function nodeBytes(n: Node): number | undefined {
  let b = 0;
  for (const v of [...n.inputs, ...n.outputs]) {
    if (!v) continue;
    if (!isStatic(v.shape)) return undefined;
    b += (v.shape as number[]).reduce((a, d) => a * d, 1) * (BYTE_SIZE[v.dtype] || 8);
  }
  return b;
}

export function humanCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}
export function humanBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/** What inspectGraph reports: the public ModelInfo. */
export type InspectInfo = ModelInfo;

const io = (v: Value) => ({ name: v.name, dtype: v.dtype, shape: v.shape ?? null, kind: v.kind });

/** Inputs/outputs, node count, op histogram, parameters and FLOPs (the keys of `aic inspect --json`). */
export function inspectGraph(g: Graph): InspectInfo {
  const s = modelStats(g);
  return {
    graph: g.name, opsets: g.opsets,
    inputs: g.inputs.map(io), outputs: g.outputs.map(io),
    nodes: s.nodes, ops: s.ops, params: s.params, paramBytes: s.paramBytes, flops: s.flops,
    flopsUncounted: s.flopsUnknown,
  };
}
