/**
 * What to quantize: Conv, MatMul and Gemm nodes (float32, not --exclude'd) with their weights, their
 * activation inputs, and their outputs. A Relu or Clip that is the only consumer of such an output
 * counts as the layer's epilogue (as int8 kernels fuse it): the layer's output is quantized after it,
 * never between the two. Graph outputs stay float (the model keeps its output names and precision).
 * Residual adds: an Add of two float activations of one static shape, each the result of a quantized
 * layer or add or an input a layer quantizes, gets both inputs and its result (after a Relu/Clip
 * epilogue) quantized too, as ONNX Runtime's quantizer does (QLinearAdd): the residual path stays int8
 * from block to block, and DQ(a) + DQ(b) -> Relu -> Q runs as one int8 elementwise kernel.
 */
import { diag, isStatic, type Graph, type Node, type Value } from '@aic/core';
import { useMap } from '../graph-utils.ts';

export const QUANTIZABLE_OPS: ReadonlySet<string> = new Set(['Conv', 'MatMul', 'Gemm']);
const EPILOGUES: ReadonlySet<string> = new Set(['Relu', 'Clip']);

export interface QuantLayer {
  node: Node;
  /** input slots holding activations (quantized per tensor, asymmetric) */
  actInputs: number[];
  /** the constant weight's slot, if any */
  weightSlot?: number;
  /** the value holding the layer's result (after a fused Relu/Clip) */
  anchor: Value;
  /** false when the anchor is a graph output (kept float) */
  quantizeOutput: boolean;
}

export interface QuantPlan {
  layers: QuantLayer[];
  /** residual adds quantized with the layers (no weights; not counted or reported as layers) */
  adds: QuantLayer[];
  /** every activation that gets a scale and zero point, in graph order */
  values: Value[];
  /** values whose every consumer reads the quantized copy (layer outputs) */
  anchors: Set<Value>;
}

const isF32 = (v: Value | null | undefined): v is Value => !!v && v.dtype === 'float32';

function weightSlot(n: Node): number | undefined {
  const w = n.inputs[1];
  if (!w?.const || w.dtype !== 'float32') return undefined;
  if (n.op === 'Conv' && (w.const.rank < 3)) return undefined;
  return 1;
}

export function planQuantization(g: Graph, exclude: readonly string[] = []): QuantPlan {
  // a node is named by its own name or by those of the nodes a fold replaced (BN folding renames Convs)
  const namesOf = (n: Node) => [n.name, ...(n.origin ?? [])].filter(Boolean);
  const known = new Set(g.nodes.flatMap(namesOf));
  const unknown = exclude.filter((e) => !known.has(e));
  if (unknown.length) throw diag.quantUnknownExclude(unknown, g.nodes.filter((n) => QUANTIZABLE_OPS.has(n.op) && n.name).map((n) => n.name));
  const excludedNames = new Set(exclude);
  const excluded = new Set(g.nodes.filter((n) => namesOf(n).some((x) => excludedNames.has(x))));
  const uses = useMap(g);
  const outputs = new Set(g.outputs);
  const layers: QuantLayer[] = [];
  for (const n of g.nodes) {
    if (n.domain !== '' || !QUANTIZABLE_OPS.has(n.op) || excluded.has(n) || !isF32(n.outputs[0])) continue;
    const ws = weightSlot(n);
    if (n.op === 'Conv' && ws === undefined) continue;
    const actInputs = [0, 1].filter((i) => i !== ws && isF32(n.inputs[i]) && !n.inputs[i]!.const);
    if (!actInputs.includes(0)) continue;
    const anchor = epilogueOf(n.outputs[0]!);
    layers.push({ node: n, actInputs, weightSlot: ws, anchor, quantizeOutput: !outputs.has(anchor) });
  }
  function epilogueOf(v: Value): Value {
    const next = uses.get(v) ?? [];
    return next.length === 1 && !outputs.has(v) && EPILOGUES.has(next[0]!.op) && next[0]!.domain === ''
      && next[0]!.inputs.slice(1).every((x) => !x || x.const) ? next[0]!.outputs[0]! : v;
  }
  // residual adds, in graph order (an add's result feeds the next one)
  const quantized = new Set<Value>(layers.flatMap((l) => [...(l.quantizeOutput ? [l.anchor] : []), ...l.actInputs.map((i) => l.node.inputs[i]!)]));
  const adds: QuantLayer[] = [];
  for (const n of g.nodes) {
    if (n.domain !== '' || n.op !== 'Add' || excluded.has(n) || n.inputs.length !== 2 || !isF32(n.outputs[0])) continue;
    const [a, b] = n.inputs;
    if (!isF32(a) || !isF32(b) || a.const || b.const || !quantized.has(a) || !quantized.has(b)) continue;
    if (!isStatic(a.shape) || !isStatic(b.shape) || a.shape!.join() !== b.shape!.join()) continue;
    const anchor = epilogueOf(n.outputs[0]!);
    if (outputs.has(anchor)) continue;
    adds.push({ node: n, actInputs: [0, 1], anchor, quantizeOutput: true });
    quantized.add(anchor);
  }
  const anchors = new Set([...layers, ...adds].filter((l) => l.quantizeOutput).map((l) => l.anchor));
  // an add's inputs are read quantized by all their consumers (one copy of the residual)
  for (const l of adds) for (const i of l.actInputs) anchors.add(l.node.inputs[i]!);
  const wanted = new Set<Value>(anchors);
  for (const l of layers) for (const i of l.actInputs) wanted.add(l.node.inputs[i]!);
  const order = [...g.inputs, ...g.nodes.flatMap((n) => n.outputs)];
  return { layers, adds, values: order.filter((v) => wanted.has(v)), anchors };
}
