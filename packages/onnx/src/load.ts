/**
 * ONNX -> graph IR. Each node is mapped through its ir-spec definition's ONNX mapping (opset
 * ranges, attribute -> input moves); nodes of unknown ops are kept as they are so `aic check`
 * can list them all, and only running/compiling them fails.
 */
import * as path from 'node:path';
import {
  Graph, Node, Tensor, UNSUPPORTED_ONNX_DTYPES, Value, diag, dtypeFromOnnx, readFileOrThrow,
  AicError, type Attr, type Dim, type Location, type TensorType, type ValueKind,
} from '@aic/core';
import { expandGradientOps, inferGraph, normalizeDomain, resolveOnnx, type OnnxImportView } from '@aic/ir-spec';
import { topoOrder } from './order.ts';
import { onnx, toNum, type IAttributeProto, type IGraphProto, type ITensorProto, type ITypeProto, type IValueInfoProto } from './proto.ts';
import { decodeTensor } from './tensor-proto.ts';

export interface LoadOptions {
  /** path of the model, for messages and external data */
  file?: string;
  /** run type inference after import (default true) */
  infer?: boolean;
  /** told what the import changed (e.g. nodes put in topological order), for `--verbose` */
  onNote?: (msg: string) => void;
}

export function loadOnnxFile(file: string, opts: Omit<LoadOptions, 'file'> = {}): Graph {
  return loadOnnx(readFileOrThrow(file), { ...opts, file });
}

export function loadOnnx(bytes: Uint8Array, opts: LoadOptions = {}): Graph {
  const file = opts.file ?? '<model>';
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw diag.badOnnx(file, `protobuf decoding failed (${(e as Error).message}); is the file truncated or not ONNX?`);
  }
  if (!model.graph) throw diag.badOnnx(file, 'the model has no graph');
  const opsets: Record<string, number> = {};
  for (const o of model.opsetImport ?? []) opsets[normalizeDomain(o.domain ?? '')] = toNum(o.version);
  if (opsets[''] === undefined) opsets[''] = toNum(model.irVersion) <= 3 ? 1 : 1;
  const baseDir = opts.file ? path.dirname(path.resolve(opts.file)) : undefined;
  const ctx: ImportCtx = { file, opsets, baseDir, onNote: opts.onNote };
  const g = importGraph(model.graph, ctx, undefined);
  g.opsets = opsets;
  g.meta = { producer: model.producerName ?? undefined, irVersion: toNum(model.irVersion), doc: model.docString ?? undefined };
  if (opts.infer !== false) inferGraph(g);
  // ai.onnx.preview.training Gradient reads the graph around it: expanded into derivative nodes here
  if (g.nodes.some((n) => n.op === 'Gradient')) { expandGradientOps(g); inferGraph(g); }
  return g;
}

interface ImportCtx { file: string; opsets: Record<string, number>; baseDir?: string; onNote?: (msg: string) => void }
type Scope = { names: Map<string, Value>; parent?: Scope };

function resolveName(scope: Scope, name: string): Value | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const v = s.names.get(name);
    if (v) return v;
  }
  return undefined;
}

function importGraph(gp: IGraphProto, ctx: ImportCtx, parentScope: Scope | undefined, parent?: Graph): Graph {
  const g = new Graph(gp.name || 'main');
  g.parent = parent;
  const scope: Scope = { names: new Map(), parent: parentScope };
  const declared = new Map<string, IValueInfoProto>();
  for (const vi of [...(gp.valueInfo ?? []), ...(gp.output ?? [])]) if (vi.name) declared.set(vi.name, vi);

  const inits = new Set<string>();
  for (const tp of gp.initializer ?? []) {
    const name = tp.name ?? '';
    const t = tensorOf(tp, ctx, `initializer '${name}'`);
    const v = new Value(name, { dtype: t.dtype, shape: t.shape.slice() });
    v.const = t;
    g.constants.push(v);
    scope.names.set(name, v);
    inits.add(name);
  }
  if ((gp.sparseInitializer ?? []).length) throw diag.unsupportedFeature('sparse initializers');

  for (const vi of gp.input ?? []) {
    if (inits.has(vi.name ?? '')) continue; // IR < 4: initializers are also listed as inputs
    const { type, kind } = decodeValueType(vi, ctx);
    const v = new Value(vi.name ?? '', type, kind);
    g.inputs.push(v);
    scope.names.set(v.name, v);
  }

  for (const index of nodeOrder(gp, ctx, scope)) {
    const np = gp.node![index]!;
    const opType = np.opType ?? '';
    const domain = normalizeDomain(np.domain ?? '');
    const loc: Location = { file: ctx.file, node: np.name || opType, index };
    const inputs = (np.input ?? []).map((name) => {
      if (name === '') return null;
      const v = resolveName(scope, name);
      if (!v) throw diag.badOnnx(ctx.file, `node '${np.name || opType}' (#${index}) uses '${name}', which is not defined`);
      return v;
    });
    const attrs: Record<string, Attr> = {};
    for (const ap of np.attribute ?? []) attrs[ap.name ?? ''] = decodeAttr(ap, ctx, scope, g, loc);
    const outputs = (np.output ?? []).map((name) => {
      const vi = name ? declared.get(name) : undefined;
      const { type, kind } = vi ? decodeValueType(vi, ctx) : { type: { dtype: 'float32' as const, shape: undefined }, kind: 'tensor' as ValueKind };
      const v = new Value(name, type, kind);
      if (name) scope.names.set(name, v);
      return v;
    });
    const opset = ctx.opsets[domain];
    let op = opType, dom = domain;
    if (opset !== undefined) {
      const r = resolveOnnx(opType, domain, opset);
      if ('def' in r) {
        const m = r.def.onnx!;
        const view: OnnxImportView = {
          opset, attrs, inputs, loc,
          constInput: (t: Tensor) => {
            const v = new Value(`${np.name || opType}_${index}_const${g.constants.length}`, { dtype: t.dtype, shape: t.shape.slice() });
            v.const = t;
            g.constants.push(v);
            return v;
          },
        };
        m.fromOnnx?.(view);
        op = r.def.name;
        dom = r.def.domain ?? '';
        inputs.splice(0, inputs.length, ...view.inputs);
        // trailing omitted inputs carry no meaning
        while (inputs.length && inputs[inputs.length - 1] === null) inputs.pop();
        Object.keys(attrs).forEach((k) => { if (!(k in view.attrs)) delete attrs[k]; });
        Object.assign(attrs, view.attrs);
      } else if (r.missing === 'opset') {
        attrs['__unsupported_opset'] = { type: 'string', value: `${opset} (supported ${r.range})` };
      }
    }
    g.nodes.push(new Node({ op, domain: dom, name: np.name ?? '', inputs, outputs, attrs, loc }));
  }

  for (const vi of gp.output ?? []) {
    const v = resolveName(scope, vi.name ?? '');
    if (!v) throw diag.badOnnx(ctx.file, `graph output '${vi.name}' is never defined`);
    g.outputs.push(v);
  }
  return g;
}

/** The node indices in topological order (told under --verbose when that is not the listed order). */
function nodeOrder(gp: IGraphProto, ctx: ImportCtx, scope: Scope): number[] {
  const nodes = gp.node ?? [];
  const label = (i: number) => `'${nodes[i]!.name || nodes[i]!.opType}' (#${i})`;
  const r = topoOrder(gp, (name) => resolveName(scope, name) !== undefined);
  if ('cycle' in r) {
    const flow = r.cycle.slice().reverse(); // each feeds the next; start at the first listed
    const k = flow.reduce((best, n, i) => (n < flow[best]! ? i : best), 0);
    const ring = [...flow.slice(k), ...flow.slice(0, k), flow[k]!];
    const shown = ring.length > 12 ? [...ring.slice(0, 10).map(label), `... (${flow.length} nodes)`, label(ring[ring.length - 1]!)] : ring.map(label);
    throw diag.badOnnx(ctx.file, `the nodes of graph '${gp.name ?? ''}' form a cycle (each feeds the next): ${shown.join(' -> ')}`);
  }
  if (r.late) {
    ctx.onNote?.(`graph '${gp.name ?? ''}': ${r.late} of ${nodes.length} nodes are listed before a producer of their inputs; sorted them in topological order`);
  }
  return r.order;
}

/** A TensorProto to a tensor; a malformed one is a load error naming it. */
function tensorOf(tp: ITensorProto, ctx: ImportCtx, what: string): Tensor {
  try {
    return decodeTensor(tp, { baseDir: ctx.baseDir, file: ctx.file }, what);
  } catch (e) {
    if (e instanceof AicError) throw e;
    throw diag.badOnnx(ctx.file, `${what}: ${(e as Error).message}`);
  }
}

function decodeValueType(vi: IValueInfoProto, ctx: ImportCtx): { type: TensorType; kind: ValueKind } {
  return decodeType(vi.type ?? undefined, vi.name ?? '', ctx);
}

function decodeType(tp: ITypeProto | undefined, name: string, ctx: ImportCtx): { type: TensorType; kind: ValueKind } {
  if (!tp) return { type: { dtype: 'float32', shape: undefined }, kind: 'tensor' };
  if (tp.tensorType) {
    const code = tp.tensorType.elemType ?? 0;
    const dtype = dtypeFromOnnx(code);
    if (!dtype) throw diag.unsupportedDtype(`value '${name}'`, UNSUPPORTED_ONNX_DTYPES[code] ?? `code ${code}`, { file: ctx.file });
    const shape: Dim[] | undefined = tp.tensorType.shape
      ? (tp.tensorType.shape.dim ?? []).map((d, i): Dim => {
          if (d.dimParam) return d.dimParam;
          // a negative dim_value (some exporters write -1) means unknown, as a missing one does
          if ((d as { value?: string }).value === 'dimValue' && toNum(d.dimValue) >= 0) return toNum(d.dimValue);
          return `${name || 'v'}_dim${i}`;
        })
      : undefined;
    return { type: { dtype, shape }, kind: 'tensor' };
  }
  if (tp.sequenceType) {
    const inner = decodeType(tp.sequenceType.elemType ?? undefined, name, ctx);
    return { type: inner.type, kind: 'sequence' };
  }
  const opt = (tp as { optionalType?: { elemType?: ITypeProto } }).optionalType;
  if (opt) {
    const inner = decodeType(opt.elemType ?? undefined, name, ctx);
    return { type: inner.type, kind: 'optional' };
  }
  if (tp.mapType) throw diag.unsupportedFeature(`map-typed value '${name}'`, { file: ctx.file });
  if (tp.sparseTensorType) throw diag.unsupportedFeature(`sparse tensor value '${name}'`, { file: ctx.file });
  return { type: { dtype: 'float32', shape: undefined }, kind: 'tensor' };
}

const AT = onnx.AttributeProto.AttributeType;

function decodeAttr(ap: IAttributeProto, ctx: ImportCtx, scope: Scope, g: Graph, loc: Location): Attr {
  let type = ap.type ?? AT.UNDEFINED;
  if (type === AT.UNDEFINED) {
    // IR < 3 writers omit the type: take whichever field is set
    if (ap.floats?.length) type = AT.FLOATS;
    else if (ap.ints?.length) type = AT.INTS;
    else if (ap.strings?.length) type = AT.STRINGS;
    else if (ap.g) type = AT.GRAPH;
    else if (ap.t) type = AT.TENSOR;
    else if (ap.s?.length) type = AT.STRING;
    else if (ap.f !== undefined && ap.f !== 0) type = AT.FLOAT;
    else type = AT.INT;
  }
  const dec = new TextDecoder();
  // the declared type must have its payload; tensors are checked against their dims
  const bad = (why: string) => diag.badOnnx(ctx.file, `node '${loc.node}' (#${loc.index}) attribute '${ap.name}': ${why}`);
  const tensor = (t: ITensorProto | null | undefined): Tensor => {
    if (!t) throw bad(`declared ${AT[type] ?? type} but holds no tensor`);
    return tensorOf(t, ctx, `attribute '${ap.name}' of node '${loc.node}'`);
  };
  const graph = (sg: IGraphProto | null | undefined): Graph => {
    if (!sg) throw bad(`declared ${AT[type] ?? type} but holds no graph`);
    return importGraph(sg, ctx, scope, g);
  };
  switch (type) {
    case AT.FLOAT: return { type: 'float', value: ap.f ?? 0 };
    case AT.INT: return { type: 'int', value: toNum(ap.i) };
    case AT.STRING: return { type: 'string', value: dec.decode(ap.s ?? new Uint8Array()) };
    case AT.FLOATS: return { type: 'floats', value: (ap.floats ?? []).map(Number) };
    case AT.INTS: return { type: 'ints', value: (ap.ints ?? []).map(toNum) };
    case AT.STRINGS: return { type: 'strings', value: (ap.strings ?? []).map((b) => dec.decode(b)) };
    case AT.TENSOR: return { type: 'tensor', value: tensor(ap.t) };
    case AT.TENSORS: return { type: 'tensors', value: (ap.tensors ?? []).map(tensor) };
    case AT.GRAPH: return { type: 'graph', value: graph(ap.g) };
    case AT.GRAPHS: return { type: 'graphs', value: (ap.graphs ?? []).map(graph) };
    case AT.TYPE_PROTO:
      // only Optional's `type` uses this; the element type is re-derived by inference
      return { type: 'string', value: 'type_proto' };
    default:
      throw diag.unsupportedFeature(`attribute '${ap.name}' of kind ${AT[type] ?? type}`, loc);
  }
}
