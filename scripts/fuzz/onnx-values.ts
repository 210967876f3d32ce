/** Value-level ONNX mutators: dims, element types, attribute values and types, tensor data. */
import type onnxProto from 'onnx-proto';
import { onnx } from '@aic/onnx';
export type IGraphProto = onnxProto.onnx.IGraphProto;
export type INodeProto = onnxProto.onnx.INodeProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;
import type { Rng } from './rng.ts';

export interface Ctx { r: Rng; model: onnxProto.onnx.IModelProto; graph: IGraphProto; files: Map<string, Uint8Array> }
export type Mutator = (c: Ctx) => string | null;

export const INTS = [0, 1, -1, 2, 3, -2, 5, 7, 64, 1000, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 40, 2 ** 53 - 1, 1e15, -1e15];
export const FLOATS = [0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, 1e-30, 1e30, 3.4e38, -3.4e38];
const AT = onnx.AttributeProto.AttributeType;

export const valueInfos = (g: IGraphProto): IValueInfoProto[] => [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])];
export const nodes = (g: IGraphProto): INodeProto[] => g.node ?? [];
const nonEmpty = <T>(xs: T[] | null | undefined): xs is T[] => !!xs && xs.length > 0;

function pickInt(r: Rng, small = false): number {
  return small && r.chance(0.5) ? r.int(-3, 8) : r.pick(INTS);
}

/** a dim of an input/output/value_info: zero, negative, huge, symbolic, unset */
export const dim: Mutator = ({ r, graph }) => {
  const vis = valueInfos(graph).filter((v) => nonEmpty(v.type?.tensorType?.shape?.dim));
  if (!vis.length) return null;
  const v = r.pick(vis);
  const d = r.pick(v.type!.tensorType!.shape!.dim!) as { dimValue?: unknown; dimParam?: unknown };
  const kind = r.pick(['small', 'zero', 'negative', 'huge', 'param', 'empty-param', 'unset'] as const);
  delete d.dimValue; delete d.dimParam;
  if (kind === 'small') d.dimValue = r.int(1, 9);
  else if (kind === 'zero') d.dimValue = 0;
  else if (kind === 'negative') d.dimValue = r.pick([-1, -3, -(2 ** 40)]);
  else if (kind === 'huge') d.dimValue = r.pick([2 ** 31, 2 ** 40, 1e15, 2 ** 53 - 1]);
  else if (kind === 'param') d.dimParam = r.pick(['N', 'batch', 'a b', '0']);
  else if (kind === 'empty-param') d.dimParam = '';
  return `${kind} dim of '${v.name}'`;
};

/** add or remove a dim, or drop the shape */
export const rank: Mutator = ({ r, graph }) => {
  const vis = valueInfos(graph).filter((v) => v.type?.tensorType);
  if (!vis.length) return null;
  const v = r.pick(vis);
  const tt = v.type!.tensorType!;
  const dims = tt.shape?.dim ?? [];
  const op = r.pick(['add', 'remove', 'no-shape', 'scalar'] as const);
  if (op === 'add') tt.shape = { dim: [...dims, { dimValue: r.int(1, 4) }] };
  else if (op === 'remove') { if (!dims.length) return null; tt.shape = { dim: dims.slice(1) }; }
  else if (op === 'no-shape') tt.shape = null;
  else tt.shape = { dim: [] };
  return `rank ${op} of '${v.name}'`;
};

const DTYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 21, 22, 23, 99, -1];
/** element type of a value_info or an initializer */
export const dtype: Mutator = ({ r, graph }) => {
  const inits = graph.initializer ?? [];
  const vis = valueInfos(graph).filter((v) => v.type?.tensorType);
  if (inits.length && (r.chance(0.4) || !vis.length)) {
    const t = r.pick(inits);
    t.dataType = r.pick(DTYPES);
    return `initializer '${t.name}' dtype ${t.dataType}`;
  }
  if (!vis.length) return null;
  const v = r.pick(vis);
  v.type!.tensorType!.elemType = r.pick(DTYPES);
  return `'${v.name}' dtype ${v.type!.tensorType!.elemType}`;
};

/** a value_info that is not a tensor: empty type, sequence, optional, map */
export const valueType: Mutator = ({ r, graph }) => {
  const vis = valueInfos(graph);
  if (!vis.length) return null;
  const v = r.pick(vis);
  const elem = v.type?.tensorType ? { tensorType: v.type.tensorType } : { tensorType: { elemType: 1 } };
  const kind = r.pick(['none', 'sequence', 'optional', 'map', 'sparse'] as const);
  if (kind === 'none') v.type = r.chance(0.5) ? null : {};
  else if (kind === 'sequence') v.type = { sequenceType: { elemType: elem } };
  else if (kind === 'optional') v.type = { optionalType: { elemType: elem } };
  else if (kind === 'map') v.type = { mapType: { keyType: 7, valueType: elem } };
  else v.type = { sparseTensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } as onnxProto.onnx.ITypeProto;
  return `'${v.name}' type ${kind}`;
};

export function mutateTensorData(t: ITensorProto, r: Rng): string {
  const op = r.pick(['truncate-raw', 'truncate-typed', 'dims', 'values', 'empty', 'string'] as const);
  if (op === 'truncate-raw' && t.rawData && t.rawData.length) {
    t.rawData = t.rawData.subarray(0, r.int(0, t.rawData.length - 1));
    return `truncated raw data of '${t.name}'`;
  }
  if (op === 'truncate-typed') {
    for (const k of ['floatData', 'int32Data', 'int64Data', 'doubleData', 'uint64Data', 'stringData'] as const) {
      const a = t[k] as unknown[] | null | undefined;
      if (a && a.length) { (t as Record<string, unknown>)[k] = a.slice(0, r.int(0, a.length - 1)); return `truncated ${k} of '${t.name}'`; }
    }
  }
  if (op === 'dims' || op === 'truncate-raw' || op === 'truncate-typed') {
    const dims = [...(t.dims ?? [])];
    const kind = r.pick(['grow', 'negative', 'huge', 'extra', 'drop'] as const);
    if (kind === 'grow' && dims.length) dims[r.int(0, dims.length - 1)] = Number(dims[0] ?? 1) + r.int(1, 5);
    else if (kind === 'negative') dims.push(-r.int(1, 4));
    else if (kind === 'huge') dims.push(r.pick([2 ** 32, 2 ** 45, 1e15]));
    else if (kind === 'extra') dims.push(r.int(0, 3));
    else dims.pop();
    t.dims = dims;
    return `initializer '${t.name}' dims ${kind} [${dims.join(',')}]`;
  }
  if (op === 'values') {
    // shape-like data (Reshape/Expand/Slice/ConstantOfShape inputs) decides sizes: make it absurd
    if (t.int64Data && t.int64Data.length) { t.int64Data[r.int(0, t.int64Data.length - 1)] = pickInt(r, true); return `int64 value of '${t.name}'`; }
    if (t.rawData && t.rawData.length >= 8 && t.dataType === 7) {
      const raw = new Uint8Array(t.rawData);
      const i = r.int(0, raw.length / 8 - 1);
      new DataView(raw.buffer).setBigInt64(8 * i, BigInt(pickInt(r, true)), true);
      t.rawData = raw;
      return `raw int64 value of '${t.name}'`;
    }
    if (t.floatData && t.floatData.length) { t.floatData[r.int(0, t.floatData.length - 1)] = r.pick(FLOATS); return `float value of '${t.name}'`; }
  }
  if (op === 'string') {
    t.dataType = 8; t.stringData = [new TextEncoder().encode('fuzz')]; t.rawData = null;
    return `'${t.name}' as string tensor`;
  }
  t.rawData = null; t.floatData = []; t.int32Data = []; t.int64Data = []; t.doubleData = [];
  return `emptied data of '${t.name}'`;
}

/** initializer data: truncated raw bytes, dims that disagree with the data, absurd values */
export const tensorData: Mutator = ({ r, graph }) => {
  const ts: ITensorProto[] = [...(graph.initializer ?? [])];
  for (const n of nodes(graph)) for (const a of n.attribute ?? []) if (a.t) ts.push(a.t);
  if (!ts.length) return null;
  return mutateTensorData(r.pick(ts), r);
};

/** external data: missing file, wrong offsets, a file that is too short */
export const externalData: Mutator = ({ r, graph, files }) => {
  const inits = graph.initializer ?? [];
  if (!inits.length) return null;
  const t = r.pick(inits);
  const loc = r.pick(['weights.bin', 'missing.bin', '', 'sub/w.bin', '../outside-missing.bin'] as const);
  if (loc === 'weights.bin' || loc === 'sub/w.bin') files.set(loc, r.bytes(r.int(0, 64)));
  const entries: { key: string; value: string }[] = [{ key: 'location', value: loc }];
  if (r.chance(0.5)) entries.push({ key: 'offset', value: String(r.pick([0, 3, 16, -8, 2 ** 40])) });
  if (r.chance(0.5)) entries.push({ key: 'length', value: String(r.pick([0, 4, 64, -1, 2 ** 40])) });
  t.dataLocation = 1; t.externalData = entries; t.rawData = null;
  return `external data '${loc}' for '${t.name}'`;
};

const ATTR_NAMES = ['axis', 'axes', 'perm', 'pads', 'kernel_shape', 'strides', 'dilations', 'group', 'keepdims', 'to', 'mode', 'alpha',
  'epsilon', 'auto_pad', 'value', 'split', 'transA', 'transB', 'direction', 'k', 'body', 'then_branch', 'ceil_mode', 'count_include_pad'];

function randomAttr(r: Rng, name: string): IAttributeProto {
  const type = r.pick([AT.INT, AT.INTS, AT.FLOAT, AT.FLOATS, AT.STRING, AT.TENSOR, AT.GRAPH]);
  const a: IAttributeProto = { name, type };
  if (type === AT.INT) a.i = pickInt(r, true);
  if (type === AT.INTS) a.ints = Array.from({ length: r.int(0, 5) }, () => pickInt(r, true));
  if (type === AT.FLOAT) a.f = r.pick(FLOATS);
  if (type === AT.FLOATS) a.floats = Array.from({ length: r.int(0, 4) }, () => r.pick(FLOATS));
  if (type === AT.STRING) a.s = new TextEncoder().encode(r.pick(['', 'SAME_UPPER', 'VALID', 'nearest', 'garbage', '\u00ff\u0000']));
  if (type === AT.TENSOR) a.t = { dataType: r.pick([1, 7, 9]), dims: r.chance(0.5) ? [] : [r.int(0, 3)], rawData: r.bytes(r.int(0, 16)) };
  if (type === AT.GRAPH) a.g = { name: 'fuzz_sub', node: [], input: [], output: [] };
  return a;
}

/** an attribute's value: ints, floats, strings, tensors changed to edge cases */
export const attrValue: Mutator = ({ r, graph }) => {
  const withAttrs = nodes(graph).filter((n) => nonEmpty(n.attribute));
  if (!withAttrs.length) return null;
  const n = r.pick(withAttrs);
  const a = r.pick(n.attribute!);
  if (a.type === AT.INT) a.i = pickInt(r, true);
  else if (a.type === AT.INTS) {
    const xs = [...(a.ints ?? [])].map(Number);
    const op = r.int(0, 3);
    if (op === 0 && xs.length) xs[r.int(0, xs.length - 1)] = pickInt(r, true);
    else if (op === 1) xs.push(pickInt(r, true));
    else if (op === 2) xs.pop();
    else xs.length = 0;
    a.ints = xs;
  } else if (a.type === AT.FLOAT) a.f = r.pick(FLOATS);
  else if (a.type === AT.FLOATS) a.floats = (a.floats ?? []).map((f) => (r.chance(0.5) ? r.pick(FLOATS) : f));
  else if (a.type === AT.STRING) a.s = new TextEncoder().encode(r.pick(['', 'garbage', 'NOTSET', 'SAME_LOWER', 'linear', 'DCR']));
  else if (a.type === AT.TENSOR && a.t) return `attribute ${n.opType}.${a.name}: ${mutateTensorData(a.t, r)}`;
  else if (a.type === AT.GRAPH && a.g) a.g.output = (a.g.output ?? []).slice(0, r.int(0, (a.g.output ?? []).length));
  else return null;
  return `attribute ${n.opType}.${a.name} value`;
};

/** an attribute's declared type disagrees with its payload; dropped or foreign attributes */
export const attrShape: Mutator = ({ r, graph }) => {
  const ns = nodes(graph);
  if (!ns.length) return null;
  const n = r.pick(ns);
  const op = r.pick(['retype', 'drop', 'add', 'duplicate'] as const);
  const attrs = n.attribute ?? [];
  if (op === 'add' || !attrs.length) {
    n.attribute = [...attrs, randomAttr(r, r.pick(ATTR_NAMES))];
    return `added attribute to ${n.opType}`;
  }
  const i = r.int(0, attrs.length - 1);
  if (op === 'retype') { attrs[i]!.type = r.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 99]) as number as onnxProto.onnx.AttributeProto.AttributeType; return `retyped ${n.opType}.${attrs[i]!.name}`; }
  if (op === 'drop') { attrs.splice(i, 1); return `dropped attribute of ${n.opType}`; }
  attrs.push(randomAttr(r, attrs[i]!.name ?? ''));
  return `duplicate attribute ${n.opType}.${attrs[i]!.name}`;
};
