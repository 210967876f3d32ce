/** graph IR -> ONNX ModelProto (standard ops only; aic-domain fused ops cannot be exported). */
import {
  ONNX_DTYPE_CODE, Value, diag, nodeLocation, type Attr, type Graph, type Node, type Tensor, type TensorType,
  type ValueKind,
} from '@aic/core';
import { getOp, type OnnxImportView } from '@aic/ir-spec';
import { onnx, type IModelProto, type IAttributeProto, type IGraphProto, type INodeProto, type ITensorProto, type ITypeProto, type IValueInfoProto } from './proto.ts';
import { encodeTensor } from './tensor-proto.ts';

export interface ExportOptions {
  /** ModelProto.ir_version (default 8) */
  irVersion?: number;
  producerName?: string;
}

export function exportOnnx(g: Graph, opts: ExportOptions = {}): Uint8Array {
  const opsets = Object.entries(g.opsets).map(([domain, version]) => ({ domain, version }));
  const model: IModelProto = {
    irVersion: opts.irVersion ?? 8,
    producerName: opts.producerName ?? g.meta.producer ?? 'aic',
    opsetImport: opsets,
    graph: exportGraph(g, g.opsets),
  };
  if (g.meta.doc) model.docString = g.meta.doc;
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

function exportGraph(g: Graph, opsets: Record<string, number>): IGraphProto {
  const initializer: ITensorProto[] = g.constants.map((v) => encodeTensor(v.const!, v.name));
  const node: INodeProto[] = [];
  const outputs = new Set(g.outputs);
  const valueInfo: IValueInfoProto[] = [];
  let extra = 0;
  for (const n of g.nodes) {
    node.push(exportNode(n, opsets, (t) => {
      const name = `${n.name || n.op}_export_const${extra++}`;
      initializer.push(encodeTensor(t, name));
      return new Value(name, { dtype: t.dtype, shape: t.shape.slice() });
    }));
    for (const o of n.outputs) if (o.name && !outputs.has(o)) valueInfo.push(valueInfoOf(o));
  }
  // constants that a node used in the IR but no exported node uses (an input -> attribute move in
  // toOnnx) are dropped, so that importing the result recreates the same graph
  const irUsed = new Set<string>();
  const walkIr = (gr: Graph) => {
    for (const n of gr.nodes) {
      for (const i of n.inputs) if (i) irUsed.add(i.name);
      for (const a of Object.values(n.attrs)) {
        if (a.type === 'graph') walkIr(a.value);
        else if (a.type === 'graphs') a.value.forEach(walkIr);
      }
    }
  };
  walkIr(g);
  const used = new Set<string>(g.outputs.map((v) => v.name));
  const walk = (nodes: INodeProto[]) => {
    for (const np of nodes) {
      for (const i of np.input ?? []) used.add(i);
      for (const a of np.attribute ?? []) {
        if (a.g) walk(a.g.node ?? []);
        for (const sg of a.graphs ?? []) walk(sg.node ?? []);
      }
    }
  };
  walk(node);
  return {
    name: g.name,
    node,
    initializer: initializer.filter((t) => used.has(t.name ?? '') || !irUsed.has(t.name ?? '')),
    input: g.inputs.map(valueInfoOf),
    output: g.outputs.map(valueInfoOf),
    valueInfo,
  };
}

function exportNode(n: Node, opsets: Record<string, number>, constInput: (t: Tensor) => Value): INodeProto {
  const loc = nodeLocation(n);
  const def = getOp(n.op, n.domain);
  const full = (n.domain ? n.domain + '.' : '') + n.op;
  if (!def || (def.domain ?? '') === 'aic' || !def.onnx) {
    throw diag.unsupportedFeature(`exporting op ${full} (node '${n.label}') to ONNX: it has no ONNX form`, loc);
  }
  const m = def.onnx;
  const domain = m.domain ?? '';
  const attrs: Record<string, Attr> = { ...n.attrs };
  const view: OnnxImportView = {
    opset: opsets[domain === 'ai.onnx' ? '' : domain] ?? m.since,
    attrs, inputs: n.inputs.slice(), loc,
    constInput,
  };
  m.toOnnx?.(view);
  const attribute: IAttributeProto[] = [];
  for (const [name, a] of Object.entries(view.attrs)) {
    if (name.startsWith('__')) continue; // importer bookkeeping
    attribute.push(exportAttr(name, a, opsets));
  }
  const np: INodeProto = {
    opType: m.opType ?? def.name,
    input: view.inputs.map((v) => (v ? v.name : '')),
    output: n.outputs.map((v) => v.name),
    attribute,
  };
  if (domain) np.domain = domain;
  if (n.name) np.name = n.name;
  return np;
}

const AT = onnx.AttributeProto.AttributeType;

function exportAttr(name: string, a: Attr, opsets: Record<string, number>): IAttributeProto {
  const enc = new TextEncoder();
  switch (a.type) {
    case 'int': return { name, type: AT.INT, i: a.value };
    case 'float': return { name, type: AT.FLOAT, f: a.value };
    case 'string': return { name, type: AT.STRING, s: enc.encode(a.value) };
    case 'ints': return { name, type: AT.INTS, ints: a.value.slice() };
    case 'floats': return { name, type: AT.FLOATS, floats: a.value.slice() };
    case 'strings': return { name, type: AT.STRINGS, strings: a.value.map((s) => enc.encode(s)) };
    case 'tensor': return { name, type: AT.TENSOR, t: encodeTensor(a.value) };
    case 'tensors': return { name, type: AT.TENSORS, tensors: a.value.map((t) => encodeTensor(t)) };
    case 'graph': return { name, type: AT.GRAPH, g: exportGraph(a.value, opsets) };
    case 'graphs': return { name, type: AT.GRAPHS, graphs: a.value.map((sg) => exportGraph(sg, opsets)) };
  }
}

function valueInfoOf(v: Value): IValueInfoProto {
  return { name: v.name, type: typeProto(v.type, v.kind) };
}

function typeProto(t: TensorType, kind: ValueKind): ITypeProto {
  const tensorType: NonNullable<ITypeProto['tensorType']> = { elemType: ONNX_DTYPE_CODE[t.dtype] };
  if (t.shape) {
    tensorType.shape = { dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  }
  const inner: ITypeProto = { tensorType };
  if (kind === 'sequence') return { sequenceType: { elemType: inner } };
  if (kind === 'optional') return { optionalType: { elemType: inner } } as ITypeProto;
  return inner;
}
