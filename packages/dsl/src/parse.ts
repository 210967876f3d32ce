/** DSL syntax tree -> graph IR: name resolution, nested-call desugaring, op checks, weights, inference. */
import * as path from 'node:path';
import {
  Graph, Node, Tensor, Value, diag, readFileOrThrow, readModelData, sizeOf, tensorFromBytes, elementWidth, isStatic,
  type Attr, type Location, type TensorType,
  physicalShape,
} from '@aic/core';
import { allOps, checkArity, getOp, inferGraph, type OpDef } from '@aic/ir-spec';
import { parseAst, type ArgAst, type CallAst, type GraphAst, type LitAst, type Pos, type StmtAst, type TypeAst } from './ast.ts';
import { fmtType } from './syntax.ts';

export interface ParseOptions {
  /** file name used in locations; weights(...) paths resolve relative to its directory */
  file?: string;
  /** directory weights(...) paths resolve against (default: the file's directory, else the cwd) */
  baseDir?: string;
  /** in-memory weights files by the name written in weights("..."), checked before the disk */
  weights?: Record<string, Uint8Array> | ((file: string) => Uint8Array | undefined);
  /** accept ops missing from the registry (their outputs keep their annotated types) */
  allowUnknownOps?: boolean;
  /** run type inference (default true) */
  infer?: boolean;
}

type Scope = { names: Map<string, Value>; parent?: Scope };

/** Parse DSL text into a graph (types inferred, annotations checked). */
export function parseGraph(text: string, opts: ParseOptions = {}): Graph {
  const file = opts.file ?? '<dsl>';
  const mod = parseAst(text, file);
  const b = new Builder(file, opts);
  const opsets: Record<string, number> = {};
  for (const o of mod.opsets) opsets[o.domain] = o.version;
  if (opsets[''] === undefined) opsets[''] = 17;
  b.opsets = opsets;
  collectNames(mod.graph, b.used);
  const g = b.graph(mod.graph, undefined, undefined);
  if (opts.infer !== false) {
    inferAll(g);
    b.checkAnnotations();
  }
  return g;
}

/** Read a .aic file; weights(...) resolve relative to its directory. */
export function loadDslFile(file: string, opts: Omit<ParseOptions, 'file'> = {}): Graph {
  const text = new TextDecoder().decode(readFileOrThrow(file));
  return parseGraph(text, { ...opts, file });
}

/** inferGraph over a graph and every nested subgraph. */
export function inferAll(g: Graph): void {
  inferGraph(g);
  for (const n of g.nodes) {
    for (const a of Object.values(n.attrs)) {
      if (a.type === 'graph') inferAll(a.value);
      else if (a.type === 'graphs') a.value.forEach(inferAll);
    }
  }
}

function collectNames(g: GraphAst, out: Set<string>): void {
  const lit = (l: LitAst): void => {
    if (l.t === 'graph') collectNames(l.g, out);
    else if (l.t === 'list') l.items.forEach(lit);
  };
  const call = (c: CallAst): void => {
    for (const a of c.args) {
      if (a.t === 'call') call(a.call);
      else if (a.t === 'attr') lit(a.value);
    }
  };
  for (const p of [...g.inputs, ...g.outputs]) out.add(p.name);
  for (const s of g.body) {
    if (s.t === 'const') out.add(s.name);
    else { s.lhs.forEach((p) => out.add(p.name)); call(s.call); }
  }
}

function lookup(scope: Scope, name: string): Value | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const v = s.names.get(name);
    if (v) return v;
  }
  return undefined;
}

const PLACEHOLDER = (): TensorType => ({ dtype: 'float32', shape: undefined });

class Builder {
  used = new Set<string>();
  opsets: Record<string, number> = { '': 17 };
  private counter = 0;
  private annotations: { v: Value; type: TypeAst; loc: Location }[] = [];

  constructor(readonly file: string, readonly opts: ParseOptions) {}

  loc(p: Pos): Location { return { file: this.file, line: p.line, col: p.col }; }

  private fresh(): string {
    let n: string;
    do n = `_t${this.counter++}`; while (this.used.has(n));
    this.used.add(n);
    return n;
  }

  private define(scope: Scope, v: Value, p: Pos): void {
    if (v.name === '') return;
    if (scope.names.has(v.name)) throw diag.redefinedValue(v.name, this.loc(p));
    scope.names.set(v.name, v);
  }

  graph(ast: GraphAst, parentScope: Scope | undefined, parent: Graph | undefined): Graph {
    const g = new Graph(ast.name);
    g.parent = parent;
    g.opsets = this.opsets;
    const scope: Scope = { names: new Map(), parent: parentScope };
    for (const p of ast.inputs) {
      const v = new Value(p.name, typeOf(p.type!), p.type!.kind);
      this.define(scope, v, p.pos);
      g.inputs.push(v);
    }
    for (const s of ast.body) this.stmt(s, scope, g);
    for (const p of ast.outputs) {
      const v = lookup(scope, p.name);
      if (!v) throw diag.undefinedValue(p.name, this.loc(p.pos));
      if (p.type) {
        if (v.producer && !this.annotations.some((a) => a.v === v)) {
          v.type = typeOf(p.type);
          v.kind = p.type.kind;
        }
        this.annotations.push({ v, type: p.type, loc: this.loc(p.pos) });
      }
      g.outputs.push(v);
    }
    return g;
  }

  private stmt(s: StmtAst, scope: Scope, g: Graph): void {
    if (s.t === 'const') {
      const loc = this.loc(s.pos);
      if (s.type.kind !== 'tensor' || !isStatic(s.type.shape)) {
        throw diag.verify('constant', `'${s.name}' needs a tensor type with a static shape, got ${fmtType(s.type, s.type.kind)}`, loc);
      }
      const shape = s.type.shape;
      const v = new Value(s.name, { ...typeOf(s.type), shape: shape.slice() });
      if (s.init.t === 'weights') {
        v.const = this.readWeights(s.name, s.type, s.init.file, s.init.offset, this.loc(s.init.pos));
        v.source = { file: s.init.file, offset: s.init.offset };
      } else {
        v.const = this.tensorFromLit(s.type, s.init, loc);
      }
      this.define(scope, v, s.pos);
      g.constants.push(v);
      return;
    }
    const outs = s.lhs.map((p) => {
      const v = new Value(p.name === '_' ? '' : p.name, p.type ? typeOf(p.type) : PLACEHOLDER(),
        p.type?.kind ?? 'tensor');
      if (p.type && v.name !== '') this.annotations.push({ v, type: p.type, loc: this.loc(p.pos) });
      return v;
    });
    this.call(s.call, scope, g, outs, s.nodeName);
    s.lhs.forEach((p, i) => this.define(scope, outs[i]!, p.pos));
  }

  private call(c: CallAst, scope: Scope, g: Graph, outputs: Value[], nodeName?: string): Node {
    const loc = this.loc(c.pos);
    const full = (c.domain ? c.domain + '.' : '') + c.op;
    const def = getOp(c.op, c.domain);
    if (!def && !this.opts.allowUnknownOps) throw diag.unknownOp(full, loc, suggestOp(c.op, c.domain));
    const inputs: (Value | null)[] = [];
    const attrs: Record<string, Attr> = {};
    for (const a of c.args) {
      if (a.t === 'attr') {
        if (a.name in attrs) throw diag.verify(full, `attribute '${a.name}' given twice`, this.loc(a.pos));
        if (def && !(a.name in def.attrs) && !a.name.startsWith('__')) {
          const hint = closest(a.name, Object.keys(def.attrs));
          throw diag.verify(full, `unknown attribute '${a.name}'${hint ? ` (did you mean '${hint}'?)` : ''}`, this.loc(a.pos));
        }
        attrs[a.name] = this.attr(a.value, scope, g, full);
      } else inputs.push(this.arg(a, scope, g));
    }
    // trailing omitted inputs carry no meaning (as in the ONNX importer)
    while (inputs.length && inputs[inputs.length - 1] === null) inputs.pop();
    const node = new Node({ op: c.op, domain: c.domain, name: nodeName ?? '', inputs, outputs, attrs, loc });
    if (def) {
      checkArity(node, def);
      const variadicOut = def.outputs.some((o) => o.variadic);
      if (!variadicOut && outputs.length > def.outputs.length) {
        throw diag.verify(def.name, `has at most ${def.outputs.length} output(s), got ${outputs.length}`, loc);
      }
      const requiredOut = def.outputs.filter((o) => !o.optional && !o.variadic).length;
      if (outputs.length < requiredOut) {
        throw diag.verify(def.name, `has ${requiredOut} output(s), got ${outputs.length}`, loc);
      }
    }
    g.nodes.push(node);
    return node;
  }

  private arg(a: ArgAst, scope: Scope, g: Graph): Value | null {
    if (a.t === 'call') {
      const v = new Value('', PLACEHOLDER());
      this.call(a.call, scope, g, [v]);
      v.name = this.fresh();
      return v;
    }
    if (a.t === 'ref') {
      if (a.name === '_') return null;
      const v = lookup(scope, a.name);
      if (!v) throw diag.undefinedValue(a.name, this.loc(a.pos));
      return v;
    }
    throw new Error('unreachable');
  }

  private attr(l: LitAst, scope: Scope, g: Graph, op: string): Attr {
    const loc = this.loc(l.pos);
    switch (l.t) {
      case 'int': return { type: 'int', value: l.v };
      case 'bool': return { type: 'int', value: l.v ? 1 : 0 };
      case 'float': return { type: 'float', value: Math.fround(l.v) }; // ONNX float attributes are float32
      case 'string': return { type: 'string', value: l.v };
      case 'tensor': return { type: 'tensor', value: this.tensorLit(l, loc) };
      case 'graph': return { type: 'graph', value: this.graph(l.g, scope, g) };
      case 'empty': return { type: l.kind, value: [] } as Attr;
      case 'list': {
        const ts = new Set(l.items.map((i) => (i.t === 'bool' ? 'int' : i.t)));
        if (l.items.length === 0 || [...ts].every((t) => t === 'int')) {
          return { type: 'ints', value: l.items.map((i) => (i.t === 'bool' ? (i.v ? 1 : 0) : (i as { v: number }).v)) };
        }
        if ([...ts].every((t) => t === 'int' || t === 'float')) {
          return { type: 'floats', value: l.items.map((i) => (i.t === 'bool' ? (i.v ? 1 : 0) : (i as { v: number }).v)) };
        }
        if (ts.size === 1 && ts.has('string')) return { type: 'strings', value: l.items.map((i) => (i as { v: string }).v) };
        if (ts.size === 1 && ts.has('tensor')) return { type: 'tensors', value: l.items.map((i) => this.tensorLit(i, this.loc(i.pos))) };
        if (ts.size === 1 && ts.has('graph')) {
          return { type: 'graphs', value: l.items.map((i) => this.graph((i as { g: GraphAst }).g, scope, g)) };
        }
        throw diag.verify(op, `attribute list mixes ${[...ts].join(' and ')} elements`, loc);
      }
    }
  }

  private tensorLit(l: LitAst, loc: Location): Tensor {
    if (l.t !== 'tensor') throw diag.verify('tensor', `expected tensor(...)`, loc);
    if (l.type.kind !== 'tensor' || !isStatic(l.type.shape)) {
      throw diag.verify('tensor', `a tensor literal needs a static shape, got ${fmtType(l.type, l.type.kind)}`, loc);
    }
    return this.tensorFromLit(l.type, l.value, loc);
  }

  tensorFromLit(type: TypeAst, lit: LitAst, loc: Location): Tensor {
    // a laid-out constant holds its physical data (NC4HW4: channels padded to 4)
    const shape = physicalShape(type.shape as number[], type.layout);
    const flat: LitAst[] = [];
    const walk = (x: LitAst) => { if (x.t === 'list') x.items.forEach(walk); else flat.push(x); };
    walk(lit);
    const n = sizeOf(shape);
    const what = `${fmtType(type, 'tensor')} literal`;
    if (flat.length !== n) throw diag.verify('constant', `${what} needs ${n} element(s), got ${flat.length}`, loc);
    if (type.dtype === 'string') {
      return new Tensor('string', shape, flat.map((x) => {
        if (x.t !== 'string') throw diag.verify('constant', `${what}: expected a string, got ${x.t}`, this.loc(x.pos));
        return x.v;
      }));
    }
    return Tensor.fromNumbers(type.dtype, shape, flat.map((x) => {
      if (x.t === 'int' || x.t === 'float') return x.v;
      if (x.t === 'bool') return x.v ? 1 : 0;
      throw diag.verify('constant', `${what}: expected a number, got ${x.t}`, this.loc(x.pos));
    }));
  }

  /** weights("file", offset = N): in-memory files first, else the file, confined to the model's folder. */
  private readWeights(name: string, type: TypeAst, file: string, offset: number, loc: Location): Tensor {
    const shape = physicalShape(type.shape as number[], type.layout);
    if (type.dtype === 'string') throw diag.verify('weights', 'string tensors cannot live in a weights file', loc);
    const bytes = sizeOf(shape) * elementWidth(type.dtype);
    const what = `constant '${name}'`;
    const w = this.opts.weights;
    const mem = typeof w === 'function' ? w(file) : w?.[file];
    if (mem) {
      if (offset < 0 || offset + bytes > mem.length) throw diag.weightsOutOfRange(file, offset, bytes, mem.length, loc, what);
      return tensorFromBytes(type.dtype, shape, mem.subarray(offset, offset + bytes));
    }
    const baseDir = this.opts.baseDir ?? (this.opts.file ? path.dirname(path.resolve(this.opts.file)) : process.cwd());
    return tensorFromBytes(type.dtype, shape, readModelData({ baseDir, location: file, what, loc }, offset, undefined, bytes));
  }

  checkAnnotations(): void {
    for (const { v, type, loc } of this.annotations) {
      const got = v.type;
      let bad = got.dtype !== type.dtype || (v.kind !== type.kind) || (got.layout ?? 'NCHW') !== (type.layout ?? 'NCHW');
      if (!bad && type.shape && got.shape) {
        bad = type.shape.length !== got.shape.length ||
          type.shape.some((d, i) => typeof d === 'number' && typeof got.shape![i] === 'number' && d !== got.shape![i]);
      }
      if (bad) {
        throw diag.typeMismatch(`type of '${v.name}'`, fmtType(got, v.kind), `the declared ${fmtType(type, type.kind)}`, loc);
      }
    }
  }
}

/** A Value type from a parsed type (layout kept). */
function typeOf(t: TypeAst): { dtype: TypeAst['dtype']; shape: TypeAst['shape']; layout?: TypeAst['layout'] } {
  return t.layout ? { dtype: t.dtype, shape: t.shape, layout: t.layout } : { dtype: t.dtype, shape: t.shape };
}

// ---- "did you mean" ----------------------------------------------------------------------------

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

function closest(name: string, candidates: string[]): string | undefined {
  const lower = name.toLowerCase();
  const ci = candidates.find((c) => c.toLowerCase() === lower);
  if (ci) return ci;
  let best: string | undefined, bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD) { bestD = d; best = c; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

export function suggestOp(op: string, domain: string): string | undefined {
  const defs: OpDef[] = allOps();
  const full = (d: OpDef) => (d.domain ? d.domain + '.' : '') + d.name;
  const sameDomain = defs.filter((d) => (d.domain ?? '') === domain).map((d) => d.name);
  const h = closest(op, sameDomain);
  if (h) return domain ? `${domain}.${h}` : h;
  return closest((domain ? domain + '.' : '') + op, defs.map(full));
}
