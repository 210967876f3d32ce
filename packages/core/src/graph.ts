/**
 * The high-level graph IR: SSA values with tensor types, nodes with attributes and a source
 * location, constants, graph inputs/outputs. Control-flow nodes hold subgraphs in attributes; a
 * subgraph's nodes may use values of enclosing graphs directly.
 */
import type { Location } from './diagnostics.ts';
import type { DType } from './dtype.ts';
import type { Layout, Shape, TensorType } from './shape.ts';
import { Tensor } from './tensor.ts';

export type Attr =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: Tensor }
  | { type: 'tensors'; value: Tensor[] }
  | { type: 'graph'; value: Graph }
  | { type: 'graphs'; value: Graph[] };
export type AttrType = Attr['type'];

/** What a value holds: a tensor (default), a sequence of tensors, or an optional tensor. */
export type ValueKind = 'tensor' | 'sequence' | 'optional';

export class Value {
  name: string;
  type: TensorType;
  kind: ValueKind;
  /** compile-time constant (initializer / weights) */
  const?: Tensor;
  /** where a constant's bytes came from (DSL sidecar / ONNX external data), for printing */
  source?: { file: string; offset: number };
  producer?: Node;

  constructor(name: string, type: TensorType, kind: ValueKind = 'tensor') {
    this.name = name;
    this.type = type;
    this.kind = kind;
  }
  get dtype(): DType { return this.type.dtype; }
  get shape(): Shape { return this.type.shape; }
}

export class Node {
  op: string;
  /** '' = ai.onnx (default domain) */
  domain: string;
  name: string;
  /** null = an omitted optional input */
  inputs: (Value | null)[];
  outputs: Value[];
  attrs: Record<string, Attr>;
  loc: Location;
  /** the names of the nodes a rewrite replaced by this one (fusion provenance, for `aic viz`); undefined: none */
  origin?: string[];

  constructor(init: {
    op: string; domain?: string; name?: string; inputs: (Value | null)[]; outputs: Value[];
    attrs?: Record<string, Attr>; loc?: Location; origin?: string[];
  }) {
    this.op = init.op;
    this.domain = init.domain ?? '';
    this.name = init.name ?? '';
    this.inputs = init.inputs;
    this.outputs = init.outputs;
    this.attrs = init.attrs ?? {};
    this.loc = init.loc ?? {};
    if (init.origin) this.origin = init.origin;
    for (const o of this.outputs) o.producer = this;
  }

  /** A label for messages: the node name, else its op type. */
  get label(): string { return this.name || this.op; }
}

/** An aic.LayoutConvert node storing x (in layout `from`) as y (in layout `to`): ir-spec/ops/layout.ts */
export function layoutConvertNode(x: Value, y: Value, from: Layout, to: Layout, init: { name?: string; loc?: Location } = {}): Node {
  return new Node({ op: 'LayoutConvert', domain: 'aic', ...init, inputs: [x], outputs: [y], attrs: { from: { type: 'string', value: from }, to: { type: 'string', value: to } } });
}

export class Graph {
  name: string;
  inputs: Value[] = [];
  outputs: Value[] = [];
  nodes: Node[] = [];
  /** constant values (ONNX initializers, DSL weights/literals) */
  constants: Value[] = [];
  /** opset imports: domain -> version ('' = ai.onnx) */
  opsets: Record<string, number> = { '': 17 };
  /** enclosing graph for subgraphs */
  parent?: Graph;
  /** model-level metadata kept for round trips */
  meta: { producer?: string; irVersion?: number; doc?: string } = {};

  constructor(name: string) { this.name = name; }

  /** Every value defined in this graph (inputs, constants, node outputs). */
  *definedValues(): Iterable<Value> {
    yield* this.inputs;
    yield* this.constants;
    for (const n of this.nodes) yield* n.outputs;
  }
}

export function nodeLocation(n: Node): Location {
  return n.loc.node !== undefined || n.loc.line !== undefined ? n.loc : { ...n.loc, node: n.label };
}

/** Visit every graph nested in a node's attributes. */
export function subgraphsOf(n: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of Object.values(n.attrs)) {
    if (a.type === 'graph') out.push(a.value);
    else if (a.type === 'graphs') out.push(...a.value);
  }
  return out;
}

export function attrValue(a: Attr): unknown { return a.value; }
