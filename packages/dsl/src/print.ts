/** graph IR -> DSL text (the canonical printed form). */
import { isFloat, tensorToBytes, type Attr, type Graph, type Node, type Tensor, type Value } from '@aic/core';
import { fmtFloat, fmtFloatAttr, fmtInt, fmtName, fmtString, fmtTensorType, fmtType } from './syntax.ts';

export interface PrintOptions {
  /**
   * Put constants with more than `threshold` elements into a sidecar binary: `file` is the name
   * written in weights("...") and `chunks` collects the bytes (concatenated in order; offsets are
   * aligned to `align` bytes, default 64).
   */
  sidecar?: { file: string; threshold?: number; align?: number; chunks: Uint8Array[]; size?: number };
  /** print constants that came from a weights file as weights(...) (default true) */
  keepSources?: boolean;
  /** indentation unit (default two spaces) */
  indent?: string;
}

export const DEFAULT_THRESHOLD = 16;

export function printGraph(g: Graph, opts: PrintOptions = {}): string {
  const p = new Printer(opts);
  const lines: string[] = [];
  const domains = Object.keys(g.opsets).sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
  for (const d of domains) lines.push(`opset ${fmtDomain(d)} ${g.opsets[d]}`);
  lines.push(p.graph(g, ''));
  return lines.join('\n') + '\n';
}

function fmtDomain(d: string): string {
  if (d === '') return 'ai.onnx';
  return /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(d) ? d : fmtString(d);
}

class Printer {
  constructor(readonly opts: PrintOptions) {}
  get unit(): string { return this.opts.indent ?? '  '; }

  graph(g: Graph, ind: string): string {
    const ins = g.inputs.map((v) => `${fmtName(v.name)}: ${fmtType(v.type, v.kind)}`).join(', ');
    const outs = g.outputs.map((v) => `${fmtName(v.name)}: ${fmtType(v.type, v.kind)}`).join(', ');
    const inner = ind + this.unit;
    const body: string[] = [];
    for (const c of g.constants) body.push(inner + this.constant(c, inner));
    for (const n of g.nodes) body.push(inner + this.node(n, inner));
    return `graph ${fmtName(g.name)}(${ins}) -> (${outs}) {\n${body.map((l) => l + '\n').join('')}${ind}}`;
  }

  constant(v: Value, _ind: string): string {
    const t = v.const!;
    const head = `${fmtName(v.name)}: ${fmtType(v.type, v.kind)} = `;
    const sc = this.opts.sidecar;
    if (sc && t.dtype !== 'string' && t.size > (sc.threshold ?? DEFAULT_THRESHOLD)) {
      const align = sc.align ?? 64;
      let size = sc.size ?? 0;
      const pad = (align - (size % align)) % align;
      if (pad) { sc.chunks.push(new Uint8Array(pad)); size += pad; }
      const bytes = tensorToBytes(t);
      const offset = size;
      sc.chunks.push(bytes);
      sc.size = size + bytes.length;
      return `${head}weights(${fmtString(sc.file)}, offset = ${offset})`;
    }
    if (v.source && this.opts.keepSources !== false && !sc) {
      return `${head}weights(${fmtString(v.source.file)}, offset = ${v.source.offset})`;
    }
    return head + tensorData(t);
  }

  node(n: Node, ind: string): string {
    const lhs = n.outputs.map((o) => (o.name === '' ? '_' : `${fmtName(o.name)}: ${fmtType(o.type, o.kind)}`)).join(', ');
    const args: string[] = n.inputs.map((i) => (i === null ? '_' : fmtName(i.name)));
    for (const [k, a] of Object.entries(n.attrs)) args.push(`${fmtName(k)} = ${this.attr(a, ind)}`);
    const op = (n.domain ? n.domain + '.' : '') + n.op;
    const name = n.name ? ` @${fmtString(n.name)}` : '';
    return `${lhs} = ${op}(${args.join(', ')})${name}`;
  }

  attr(a: Attr, ind: string): string {
    switch (a.type) {
      case 'int': return fmtInt(a.value);
      case 'float': return fmtFloatAttr(a.value);
      case 'string': return fmtString(a.value);
      case 'ints': return a.value.length ? `[${a.value.map(fmtInt).join(', ')}]` : 'ints[]';
      case 'floats': return a.value.length ? `[${a.value.map(fmtFloatAttr).join(', ')}]` : 'floats[]';
      case 'strings': return a.value.length ? `[${a.value.map(fmtString).join(', ')}]` : 'strings[]';
      case 'tensor': return tensorLit(a.value);
      case 'tensors': return a.value.length ? `[${a.value.map(tensorLit).join(', ')}]` : 'tensors[]';
      case 'graph': return this.graph(a.value, ind);
      case 'graphs': return a.value.length ? `[${a.value.map((g) => this.graph(g, ind)).join(', ')}]` : 'graphs[]';
    }
  }
}

function tensorLit(t: Tensor): string {
  return `tensor(${fmtTensorType(t.dtype, t.shape.slice())}, ${tensorData(t)})`;
}

/** The elements of a tensor: a scalar for rank 0, else a flat list (the type gives the shape). */
export function tensorData(t: Tensor): string {
  const el = elementFormatter(t);
  if (t.shape.length === 0) return el(0);
  const parts = new Array<string>(t.size);
  for (let i = 0; i < t.size; i++) parts[i] = el(i);
  return `[${parts.join(', ')}]`;
}

function elementFormatter(t: Tensor): (i: number) => string {
  if (t.dtype === 'string') { const d = t.data as string[]; return (i) => fmtString(d[i]!); }
  const d = t.num;
  if (t.dtype === 'bool') return (i) => (d[i] ? 'true' : 'false');
  if (isFloat(t.dtype)) return (i) => fmtFloat(d[i]!, t.dtype);
  return (i) => fmtInt(d[i]!);
}
