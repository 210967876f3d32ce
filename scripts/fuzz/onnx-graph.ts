/** Graph-level ONNX mutators: op types, domains, opsets, inputs/outputs, names, cycles, nested subgraphs. */
import { nodes, type IGraphProto, type INodeProto, type Mutator } from './onnx-values.ts';

const OPS = ['Add', 'Relu', 'Conv', 'MatMul', 'Gemm', 'Reshape', 'Transpose', 'Concat', 'Split', 'Slice', 'Gather', 'Cast', 'Softmax',
  'ReduceMean', 'Pad', 'Resize', 'If', 'Loop', 'Scan', 'Identity', 'Constant', 'ConstantOfShape', 'Expand', 'Where', 'TopK', 'NonZero',
  'Einsum', 'LSTM', 'BatchNormalization', 'MaxPool', 'Flatten', 'Squeeze', 'Unsqueeze', 'Range', 'Tile', 'OneHot', 'CumSum', 'Div',
  'Mod', 'Shape', 'Size', 'SequenceConstruct', 'Optional', 'StringNormalizer', 'PRelu', 'ArgMax', 'Clip', 'LayerNormalization',
  '', 'relu', 'NotAnOp', 'FusedConv'];

/** every name defined in a graph (inputs, initializers, node outputs) */
function definedNames(g: IGraphProto): string[] {
  return [...(g.input ?? []).map((v) => v.name ?? ''), ...(g.initializer ?? []).map((t) => t.name ?? ''), ...nodes(g).flatMap((n) => n.output ?? [])].filter(Boolean);
}

export const opType: Mutator = ({ r, graph }) => {
  const ns = nodes(graph);
  if (!ns.length) return null;
  const n = r.pick(ns);
  const from = n.opType;
  n.opType = r.pick(OPS);
  return `op ${from} -> '${n.opType}'`;
};

export const domain: Mutator = ({ r, graph }) => {
  const ns = nodes(graph);
  if (!ns.length) return null;
  const n = r.pick(ns);
  n.domain = r.pick(['', 'ai.onnx', 'com.microsoft', 'ai.onnx.ml', 'aic', 'x.y', 'ai.onnx.preview.training']);
  return `domain of ${n.opType} -> '${n.domain}'`;
};

export const opset: Mutator = ({ r, model }) => {
  const imports = model.opsetImport ?? [];
  const op = r.pick(['version', 'drop', 'duplicate', 'foreign', 'ir'] as const);
  if (op === 'ir') { model.irVersion = r.pick([0, 1, 3, 4, 10, 100, -1]); return `ir_version ${model.irVersion}`; }
  if (op === 'drop') { model.opsetImport = []; return 'no opset imports'; }
  if (op === 'foreign') { model.opsetImport = [...imports, { domain: r.pick(['com.microsoft', 'ai.onnx.ml', 'x']), version: r.int(0, 3) }]; return 'foreign opset import'; }
  const v = r.pick([0, 1, 5, 6, 7, 9, 10, 11, 12, 13, 16, 17, 18, 19, 21, 22, 23, 99, 2 ** 31, -1]);
  if (op === 'duplicate') { model.opsetImport = [...imports, { domain: '', version: v }]; return `duplicate opset import ${v}`; }
  const def = imports.find((o) => !o.domain) ?? imports[0];
  if (!def) return null;
  def.version = v;
  return `opset ${v}`;
};

/** wrong input counts: drop, blank or add inputs */
export const nodeInputs: Mutator = ({ r, graph }) => {
  const ns = nodes(graph);
  if (!ns.length) return null;
  const n = r.pick(ns);
  const ins = [...(n.input ?? [])];
  const op = r.pick(['drop', 'blank', 'add', 'add-unknown', 'clear'] as const);
  if ((op === 'drop' || op === 'blank') && !ins.length) return null;
  if (op === 'drop') ins.splice(r.int(0, ins.length - 1), 1);
  else if (op === 'blank') ins[r.int(0, ins.length - 1)] = '';
  else if (op === 'add') for (let k = r.int(1, 3); k > 0; k--) ins.push(r.pick(definedNames(graph).concat([''])));
  else if (op === 'add-unknown') ins.push('fuzz_ghost');
  else ins.length = 0;
  n.input = ins;
  return `${op} input of ${n.opType}`;
};

export const nodeOutputs: Mutator = ({ r, graph }) => {
  const ns = nodes(graph);
  if (!ns.length) return null;
  const n = r.pick(ns);
  const outs = [...(n.output ?? [])];
  const op = r.pick(['drop', 'add', 'clear'] as const);
  if (op === 'drop' && outs.length) outs.splice(r.int(0, outs.length - 1), 1);
  else if (op === 'add') outs.push(`fuzz_out${outs.length}`);
  else outs.length = 0;
  n.output = outs;
  return `${op} output of ${n.opType}`;
};

/** a node reads an output defined later (or its own): out of order, or a cycle */
export const cycle: Mutator = ({ r, graph }) => {
  const ns = nodes(graph);
  const withIn = ns.map((n, i) => [n, i] as const).filter(([n]) => (n.input ?? []).length);
  if (!withIn.length) return null;
  const [n, i] = r.pick(withIn);
  const later = ns.slice(i).flatMap((m) => m.output ?? []).filter(Boolean);
  if (!later.length) return null;
  const ins = [...n.input!];
  ins[r.int(0, ins.length - 1)] = r.pick(later);
  n.input = ins;
  return `cycle at ${n.opType} (#${i})`;
};

export const reorder: Mutator = ({ r, graph }) => {
  const ns = nodes(graph);
  if (ns.length < 2) return null;
  const i = r.int(0, ns.length - 1), j = r.int(0, ns.length - 1);
  [ns[i], ns[j]] = [ns[j]!, ns[i]!];
  return `swapped nodes #${i} and #${j}`;
};

export const emptyName: Mutator = ({ r, graph }) => {
  const where = r.pick(['node-in', 'node-out', 'graph-in', 'graph-out', 'initializer', 'node-name'] as const);
  const ns = nodes(graph);
  const n = ns.length ? r.pick(ns) : undefined;
  if (where === 'node-in' && n?.input?.length) n.input[r.int(0, n.input.length - 1)] = '';
  else if (where === 'node-out' && n?.output?.length) n.output[r.int(0, n.output.length - 1)] = '';
  else if (where === 'graph-in' && graph.input?.length) r.pick(graph.input).name = '';
  else if (where === 'graph-out' && graph.output?.length) r.pick(graph.output).name = '';
  else if (where === 'initializer' && graph.initializer?.length) r.pick(graph.initializer).name = '';
  else if (where === 'node-name' && n) n.name = r.pick(['', ' ', '../x', 'a\u0000b']);
  else return null;
  return `empty name (${where})`;
};

export const duplicateName: Mutator = ({ r, graph }) => {
  const where = r.pick(['node-out', 'init-as-input', 'graph-in', 'graph-out', 'initializer'] as const);
  const ns = nodes(graph);
  if (where === 'node-out' && ns.length >= 2) {
    const a = r.pick(ns), b = r.pick(ns);
    if (!a.output?.length || !b.output?.length) return null;
    b.output[0] = a.output[0]!;
  } else if (where === 'init-as-input' && graph.initializer?.length && graph.input?.length) {
    r.pick(graph.initializer).name = r.pick(graph.input).name;
  } else if (where === 'graph-in' && graph.input?.length) graph.input.push({ ...r.pick(graph.input) });
  else if (where === 'graph-out' && graph.output?.length) graph.output.push({ ...r.pick(graph.output) });
  else if (where === 'initializer' && graph.initializer?.length) graph.initializer.push({ ...r.pick(graph.initializer) });
  else return null;
  return `duplicate name (${where})`;
};

export const graphIO: Mutator = ({ r, graph }) => {
  const op = r.pick(['drop-in', 'drop-out', 'ghost-out', 'no-outputs', 'sparse-init'] as const);
  if (op === 'drop-in' && graph.input?.length) graph.input.splice(r.int(0, graph.input.length - 1), 1);
  else if (op === 'drop-out' && graph.output?.length) graph.output.splice(r.int(0, graph.output.length - 1), 1);
  else if (op === 'ghost-out') graph.output = [...(graph.output ?? []), { name: 'fuzz_ghost', type: { tensorType: { elemType: 1 } } }];
  else if (op === 'no-outputs') graph.output = [];
  else if (op === 'sparse-init') graph.sparseInitializer = [{ values: { name: 'sp', dataType: 1, dims: [1], floatData: [1] }, indices: { dataType: 7, dims: [1], int64Data: [0] }, dims: [4] }];
  else return null;
  return `graph io ${op}`;
};

/** nested subgraphs: a node wrapped in If, or given a bogus graph attribute */
export const nest: Mutator = ({ r, graph }) => {
  const ns = nodes(graph);
  if (!ns.length) return null;
  const i = r.int(0, ns.length - 1);
  const n = ns[i]!;
  if (r.chance(0.3)) {
    n.attribute = [...(n.attribute ?? []), { name: r.pick(['body', 'then_branch', 'else_branch']), type: 5, g: { name: 'sub', node: [{ ...n }], input: [], output: [] } }];
    return `graph attribute on ${n.opType}`;
  }
  const outs = (n.output ?? []).filter(Boolean);
  const branch = (): IGraphProto => ({
    name: 'branch', node: [{ ...n, name: `${n.name ?? ''}_in` } as INodeProto], input: [],
    output: outs.map((o) => ({ name: o, type: r.chance(0.7) ? { tensorType: { elemType: 1 } } : null })),
  });
  const cond = 'fuzz_cond';
  if (!(graph.initializer ?? []).some((t) => t.name === cond)) {
    graph.initializer = [...(graph.initializer ?? []), { name: cond, dataType: r.chance(0.8) ? 9 : 1, dims: r.chance(0.8) ? [] : [2], int32Data: [1, 0] }];
  }
  ns[i] = { opType: 'If', input: [cond], output: outs, name: `fuzz_if${i}`, attribute: [
    { name: 'then_branch', type: 5, g: branch() }, { name: 'else_branch', type: 5, g: branch() }] };
  return `wrapped ${n.opType} in If`;
};
