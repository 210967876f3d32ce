/** Structured ONNX mutation: decode a seed model, apply 1-3 mutators to its graph or a subgraph, encode. */
import { onnx } from '@aic/onnx';
import type { Rng } from './rng.ts';
import { attrShape, attrValue, dim, dtype, externalData, rank, tensorData, valueType, type IGraphProto, type Mutator } from './onnx-values.ts';
import { cycle, domain, duplicateName, emptyName, graphIO, nest, nodeInputs, nodeOutputs, opType, opset, reorder } from './onnx-graph.ts';

const MUTATORS: [string, Mutator, number][] = [
  ['dim', dim, 8], ['rank', rank, 3], ['dtype', dtype, 6], ['value-type', valueType, 2], ['tensor-data', tensorData, 8],
  ['external-data', externalData, 2], ['attr-value', attrValue, 10], ['attr-shape', attrShape, 5], ['op-type', opType, 5],
  ['domain', domain, 2], ['opset', opset, 5], ['node-inputs', nodeInputs, 7], ['node-outputs', nodeOutputs, 3], ['cycle', cycle, 3],
  ['reorder', reorder, 2], ['empty-name', emptyName, 4], ['duplicate-name', duplicateName, 4], ['graph-io', graphIO, 3], ['nest', nest, 3],
];

function graphs(g: IGraphProto, out: IGraphProto[] = []): IGraphProto[] {
  out.push(g);
  for (const n of g.node ?? []) for (const a of n.attribute ?? []) {
    if (a.g) graphs(a.g, out);
    for (const s of a.graphs ?? []) graphs(s, out);
  }
  return out;
}

export interface OnnxMutation { bytes: Uint8Array; what: string[]; files: Map<string, Uint8Array> }

export function mutateOnnx(seed: Uint8Array, r: Rng): OnnxMutation {
  const model = onnx.ModelProto.decode(seed);
  const files = new Map<string, Uint8Array>();
  const what: string[] = [];
  const want = r.weighted([[1, 6], [2, 3], [3, 1]] as const);
  for (let tries = 0; what.length < want && tries < 20; tries++) {
    const all = model.graph ? graphs(model.graph) : [];
    if (!all.length) break;
    // subgraphs get a share of the mutations when the model has them
    const graph = all.length > 1 && r.chance(0.4) ? r.pick(all.slice(1)) : all[0]!;
    const [name, m] = r.weighted(MUTATORS.map(([n, f, w]) => [[n, f] as const, w] as const));
    const d = m({ r, model, graph, files });
    if (d) what.push(`${name}: ${d}${graph === all[0] ? '' : ` (in subgraph '${graph.name}')`}`);
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), what, files };
}
