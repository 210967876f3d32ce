/**
 * The QDQ rewrite: every planned activation gets QuantizeLinear -> DequantizeLinear (one pair per
 * value; a layer output's every consumer reads the dequantized copy, an input only its quantized
 * layers), weights are stored int8 behind a DequantizeLinear (per output channel: axis 0 of Conv's
 * OIHW and of Gemm's B with transB, the last axis of MatMul's and plain Gemm's [K, N] B), and biases
 * int32 with scale = input scale * weight scale. This is the standard QDQ form ONNX Runtime runs.
 */
import { Node, Tensor, Value, diag, type Attr, type Graph } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { addConstant, removeDead, topoSort, uniqueNamer, useMap } from '../graph-utils.ts';
import type { QuantLayer, QuantPlan } from './plan.ts';
import { SqnrAcc, biasMinScale, quantizeBias, quantizeWeight, type ActType, type QParams } from './params.ts';

export interface QdqOptions { perChannel: boolean; actType: ActType }

/** One quantized layer of the result, for the report. */
export interface LayerInfo {
  name: string;
  op: string;
  /** the layer's result in the float graph */
  anchor: string;
  /** the value holding it in the QDQ graph (its dequantized copy, or the anchor kept float) */
  quantized: string;
  weightSqnrDb?: number;
  params?: QParams;
}

function channelAxis(l: QuantLayer, w: Tensor): number | undefined {
  const n = l.node;
  if (n.op === 'Conv') return 0;
  if (w.rank !== 2) return undefined;
  if (n.op === 'Gemm') return n.attrs.transB?.value ? 0 : 1;
  return 1;
}

/** Conv's B, and Gemm's C as a 1-D [N] bias with alpha = beta = 1, fold into the int32 accumulator. */
function biasSlot(l: QuantLayer, wShape: readonly number[]): number | undefined {
  const n = l.node, b = n.inputs[2];
  if (n.op === 'MatMul' || !b?.const || b.dtype !== 'float32' || b.const.rank !== 1) return undefined;
  const channels = n.op === 'Conv' || n.attrs.transB?.value ? wShape[0] : wShape[1];
  if (b.const.size !== channels) return undefined;
  if (n.op === 'Gemm' && ((n.attrs.alpha?.value ?? 1) !== 1 || (n.attrs.beta?.value ?? 1) !== 1)) return undefined;
  return 2;
}

/** Rewrites g (a copy the caller owns) in place; `plan` was made on g. */
export function insertQdq(g: Graph, plan: QuantPlan, params: Map<string, QParams>, opts: QdqOptions): LayerInfo[] {
  const opset = g.opsets[''] ?? 1;
  if (opset < 10) throw diag.unsupportedFeature(`quantizing a model of opset ${opset}: QuantizeLinear needs opset 10 or later`);
  if (opts.perChannel && opset < 13) g.opsets[''] = 13; // per-axis DequantizeLinear
  const fresh = uniqueNamer(g);
  const uses = useMap(g);
  const zpType = opts.actType;
  const dq = new Map<Value, Value>();
  for (const v of plan.values) {
    const p = params.get(v.name)!;
    const s = addConstant(g, fresh(`${v.name}_scale`), Tensor.fromNumbers('float32', [], [p.scale]));
    const z = addConstant(g, fresh(`${v.name}_zero_point`), Tensor.fromNumbers(zpType, [], [p.zeroPoint]));
    const q = new Value(fresh(`${v.name}_quantized`), { dtype: zpType, shape: v.shape?.slice() });
    const d = new Value(fresh(`${v.name}_dequantized`), { dtype: 'float32', shape: v.shape?.slice() });
    g.nodes.push(new Node({ op: 'QuantizeLinear', name: fresh(`${v.name}_QuantizeLinear`), inputs: [v, s, z], outputs: [q] }));
    g.nodes.push(new Node({ op: 'DequantizeLinear', name: fresh(`${v.name}_DequantizeLinear`), inputs: [q, s, z], outputs: [d] }));
    dq.set(v, d);
    if (plan.anchors.has(v)) {
      for (const c of uses.get(v) ?? []) c.inputs = c.inputs.map((x) => (x === v ? d : x));
    }
  }
  for (const l of plan.adds) for (const i of l.actInputs) l.node.inputs[i] = dq.get(l.node.inputs[i]!) ?? l.node.inputs[i]!;
  const infos: LayerInfo[] = [];
  for (const l of plan.layers) {
    const n = l.node;
    for (const i of l.actInputs) n.inputs[i] = dq.get(n.inputs[i]!) ?? n.inputs[i]!;
    const info: LayerInfo = { name: n.label, op: n.op, anchor: l.anchor.name, quantized: (l.quantizeOutput ? dq.get(l.anchor) : l.anchor)!.name };
    if (l.quantizeOutput) info.params = params.get(l.anchor.name);
    if (l.weightSlot !== undefined) info.weightSqnrDb = quantizeWeights(g, l, params, opts, fresh);
    infos.push(info);
  }
  topoSort(g);
  removeDead(g);
  inferGraph(g);
  return infos;
}

function dequantized(g: Graph, fresh: (s: string) => string, base: string, q: Tensor, scale: Float32Array, axis: number | undefined,
  shape: readonly number[]): Value {
  const perAxis = scale.length > 1 || axis !== undefined;
  const sT = Tensor.fromNumbers('float32', perAxis ? [scale.length] : [], scale);
  const zT = new Tensor(q.dtype, perAxis ? [scale.length] : []);
  const qv = addConstant(g, fresh(`${base}_quantized`), q);
  const sv = addConstant(g, fresh(`${base}_scale`), sT);
  const zv = addConstant(g, fresh(`${base}_zero_point`), zT);
  const out = new Value(fresh(`${base}_dequantized`), { dtype: 'float32', shape: shape.slice() });
  const attrs: Record<string, Attr> = perAxis ? { axis: { type: 'int', value: axis ?? 0 } } : {};
  g.nodes.push(new Node({ op: 'DequantizeLinear', name: fresh(`${base}_DequantizeLinear`), inputs: [qv, sv, zv], outputs: [out], attrs }));
  return out;
}

/** Weights int8 (and bias int32 when the input is quantized) behind DequantizeLinear; returns the weights' SQNR. */
function quantizeWeights(g: Graph, l: QuantLayer, params: Map<string, QParams>, opts: QdqOptions, fresh: (s: string) => string): number {
  const n = l.node, wv = n.inputs[l.weightSlot!]!, w = wv.const!;
  const axis = opts.perChannel ? channelAxis(l, w) : undefined;
  const bs = biasSlot(l, w.shape);
  const inP = params.get(n.inputs[0]!.name) ?? params.get(originalName(n.inputs[0]!));
  const bias = bs !== undefined && inP ? n.inputs[bs]!.const! : undefined;
  const need = bias ? biasMinScale(bias, inP!.scale) : undefined;
  const minScale = need && axis === undefined ? Float32Array.of(need.reduce((a, b) => Math.max(a, b), 0)) : need;
  const qw = quantizeWeight(w, axis, minScale);
  n.inputs[l.weightSlot!] = dequantized(g, fresh, wv.name, qw.q, qw.scale, axis, w.shape);
  if (bias) {
    const qb = quantizeBias(bias, inP!.scale, qw.scale);
    n.inputs[bs!] = dequantized(g, fresh, n.inputs[bs!]!.name, qb.q, qb.scale, axis === undefined ? undefined : 0, bias.shape);
  }
  const acc = new SqnrAcc();
  const wd = w.num, qd = qw.q.num, inner = axis === undefined ? wd.length : w.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const deq = new Float32Array(wd.length);
  for (let i = 0; i < wd.length; i++) deq[i] = qd[i]! * qw.scale[axis === undefined ? 0 : Math.floor(i / inner) % qw.scale.length]!;
  acc.add(wd, deq);
  return acc.db;
}

/** The float value a DequantizeLinear copy stands for (its QuantizeLinear's input). */
function originalName(v: Value): string {
  const q = v.producer?.op === 'DequantizeLinear' ? v.producer.inputs[0]?.producer : undefined;
  return q?.op === 'QuantizeLinear' ? q.inputs[0]!.name : v.name;
}
