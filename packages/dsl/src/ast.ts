/** DSL text -> syntax tree (ohm-js). Syntax errors become diag.syntax with a caret excerpt. */
import * as fs from 'node:fs';
import * as ohm from 'ohm-js';
import { AicError, LAYOUTS, diag, dtypeFromShort, isLayout, type DType, type Dim, type Layout, type Shape, type ValueKind } from '@aic/core';
import { parseFloatLit, unquoteName } from './syntax.ts';

export interface Pos { line: number; col: number }
export interface TypeAst { kind: ValueKind; dtype: DType; shape: Shape; layout?: Layout }
export interface ParamAst { name: string; type?: TypeAst; pos: Pos }
export interface GraphAst { name: string; inputs: ParamAst[]; outputs: ParamAst[]; body: StmtAst[]; pos: Pos }
export interface CallAst { op: string; domain: string; args: ArgAst[]; pos: Pos }
export type ArgAst =
  | { t: 'attr'; name: string; value: LitAst; pos: Pos }
  | { t: 'call'; call: CallAst; pos: Pos }
  | { t: 'ref'; name: string; pos: Pos };
export type LitAst = (
  | { t: 'graph'; g: GraphAst }
  | { t: 'tensor'; type: TypeAst; value: LitAst }
  | { t: 'empty'; kind: 'ints' | 'floats' | 'strings' | 'tensors' | 'graphs' }
  | { t: 'list'; items: LitAst[] }
  | { t: 'float'; v: number }
  | { t: 'int'; v: number }
  | { t: 'string'; v: string }
  | { t: 'bool'; v: boolean }
) & { pos: Pos };
export type StmtAst =
  | { t: 'const'; name: string; type: TypeAst; init: LitAst | { t: 'weights'; file: string; offset: number; pos: Pos }; pos: Pos }
  | { t: 'node'; lhs: ParamAst[]; call: CallAst; nodeName?: string; pos: Pos };
export interface ModuleAst { opsets: { domain: string; version: number; pos: Pos }[]; graph: GraphAst }

let grammar: ohm.Grammar | undefined;
let semantics: ohm.Semantics | undefined;

function load(): { grammar: ohm.Grammar; semantics: ohm.Semantics } {
  if (grammar && semantics) return { grammar, semantics };
  const src = fs.readFileSync(new URL('./aic.ohm', import.meta.url), 'utf8');
  grammar = ohm.grammar(src);
  semantics = grammar.createSemantics();
  semantics.addOperation('ast', actions as unknown as ohm.ActionDict<unknown>);
  return { grammar, semantics };
}

function pos(node: ohm.Node): Pos {
  const lc = node.source.getLineAndColumn();
  return { line: lc.lineNum, col: lc.colNum };
}

type N = ohm.Node;
const A = (n: N) => n.ast();
const list = (n: N) => n.asIteration().children.map(A);
const opt = (n: N) => (n.children.length ? n.children[0]!.ast() : undefined);

const actions = {
  Module(opsets: N, g: N, _end: N): ModuleAst {
    return { opsets: opsets.children.map(A), graph: g.ast() };
  },
  OpsetDecl(_kw: N, d: N, v: N) {
    return { domain: d.ast(), version: v.ast().v, pos: pos(this as unknown as N) };
  },
  GraphDef(this: N, _g: N, name: N, _lp: N, ins: N, _rp: N, _arrow: N, _lp2: N, outs: N, _rp2: N, _lb: N, body: N, _rb: N): GraphAst {
    return { name: name.ast(), inputs: list(ins), outputs: list(outs), body: body.children.map(A), pos: pos(this) };
  },
  InParam(this: N, name: N, _c: N, type: N): ParamAst {
    return { name: name.ast(), type: type.ast(), pos: pos(this) };
  },
  OutParam(this: N, name: N, _c: N, type: N): ParamAst {
    return { name: name.ast(), type: opt(type), pos: pos(this) };
  },
  ConstStmt(this: N, name: N, _c: N, type: N, _eq: N, init: N): StmtAst {
    return { t: 'const', name: name.ast(), type: type.ast(), init: init.ast(), pos: pos(this) };
  },
  Weights(this: N, _kw: N, _lp: N, file: N, _comma: N, _off: N, _eq: N, offset: N, _rp: N) {
    return { t: 'weights', file: file.ast().v, offset: offset.ast().v, pos: pos(this) };
  },
  NodeStmt(this: N, lhs: N, _eq: N, call: N, nodeName: N): StmtAst {
    return { t: 'node', lhs: list(lhs), call: call.ast(), nodeName: opt(nodeName), pos: pos(this) };
  },
  Lhs(this: N, name: N, _c: N, type: N): ParamAst {
    return { name: name.ast(), type: opt(type), pos: pos(this) };
  },
  NodeName(_at: N, s: N) { return s.ast().v; },
  Call(this: N, op: N, _lp: N, args: N, _rp: N): CallAst {
    const full = op.sourceString;
    const k = full.lastIndexOf('.');
    return { op: full.slice(k + 1), domain: k < 0 ? '' : full.slice(0, k), args: list(args), pos: pos(this) };
  },
  Arg(this: N, x: N): ArgAst {
    if (x.ctorName === 'AttrArg') return x.ast();
    if (x.ctorName === 'Call') return { t: 'call', call: x.ast(), pos: pos(this) };
    return { t: 'ref', name: x.ast(), pos: pos(this) };
  },
  AttrArg(this: N, name: N, _eq: N, v: N): ArgAst {
    return { t: 'attr', name: name.ast(), value: v.ast(), pos: pos(this) };
  },
  Type_seq(_kw: N, _l: N, t: N, _r: N): TypeAst { return { ...t.ast(), kind: 'sequence' }; },
  Type_opt(_kw: N, _l: N, t: N, _r: N): TypeAst { return { ...t.ast(), kind: 'optional' }; },
  TensorType(this: N, dt: N, _l: N, dims: N, _r: N, tag: N): TypeAst {
    const layout = tag.children[0]?.ast() as string | undefined;
    if (layout !== undefined && !isLayout(layout)) {
      throw diag.verify('type', `unknown layout '${layout}' (layouts: ${LAYOUTS.join(', ')})`, { line: this.source.getLineAndColumn().lineNum, col: this.source.getLineAndColumn().colNum });
    }
    return { kind: 'tensor', dtype: dt.ast(), shape: dims.ast(), ...(layout ? { layout } : {}) };
  },
  LayoutTag(_l: N, id: N, _r: N): string { return id.sourceString; },
  Dims_unknown(_s: N): Shape { return undefined; },
  Dims_known(l: N): Shape { return list(l) as Dim[]; },
  Dim(this: N, x: N): Dim {
    const v = x.ast();
    if (typeof v === 'string') return v;
    if (!Number.isSafeInteger(v.v) || v.v < 0) {
      const lc = this.source.getLineAndColumn();
      throw diag.verify('type', `dim ${this.sourceString} is not a non-negative integer`, { line: lc.lineNum, col: lc.colNum });
    }
    return v.v;
  },
  Lit(this: N, x: N): LitAst {
    if (x.ctorName === 'GraphDef') return { t: 'graph', g: x.ast(), pos: pos(this) };
    return x.ast();
  },
  TensorLit(this: N, _kw: N, _lp: N, type: N, _c: N, v: N, _rp: N): LitAst {
    return { t: 'tensor', type: type.ast(), value: v.ast(), pos: pos(this) };
  },
  TypedEmpty(this: N, k: N, _l: N, _r: N): LitAst {
    return { t: 'empty', kind: k.sourceString as 'ints', pos: pos(this) };
  },
  packedList(this: N, _l: N, digits: N, _r: N): LitAst {
    const p = pos(this);
    const src = currentPacks[Number(digits.sourceString)]!;
    const items: LitAst[] = src.split(',').map((x) => {
      const t = x.trim();
      return /^-?[0-9]+$/.test(t) ? { t: 'int', v: Number(t), pos: p } : { t: 'float', v: parseFloatLit(t), pos: p };
    });
    return { t: 'list', items, pos: p };
  },
  ListLit(this: N, _l: N, items: N, _r: N): LitAst {
    return { t: 'list', items: list(items), pos: pos(this) };
  },
  dtype(this: N, _x: N): DType { return dtypeFromShort(this.sourceString)!; },
  boolLit(this: N, _x: N): LitAst { return { t: 'bool', v: this.sourceString === 'true', pos: pos(this) }; },
  floatLit(this: N, _x: N): LitAst { return { t: 'float', v: parseFloatLit(this.sourceString), pos: pos(this) }; },
  intLit(this: N, _s: N, _d: N): LitAst { return { t: 'int', v: Number(this.sourceString), pos: pos(this) }; },
  stringLit(this: N, _l: N, _c: N, _r: N): LitAst {
    try {
      return { t: 'string', v: JSON.parse(this.sourceString.replace(/\t/g, '\\t')) as string, pos: pos(this) };
    } catch {
      throw diag.syntax(pos(this), 'a string literal with control characters escaped (\\n, \\u0000) and only JSON escapes', '');
    }
  },
  name(this: N, _x: N): string { return unquoteName(this.sourceString); },
  domainName(x: N): string {
    if (x.ctorName === 'stringLit') return x.ast().v;
    return x.sourceString === 'ai.onnx' ? '' : x.sourceString;
  },
  _iter(...children: N[]) { return children.map(A); },
  _terminal(this: N) { return this.sourceString; },
};

let currentPacks: string[] = [];

const NUM = String.raw`\s*(?:-?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|-?inf|nan)\s*`;
const PACKABLE = new RegExp(String.raw`\[(${NUM}(?:,${NUM}){31,})\]`, 'y');

/**
 * ohm is slow on long literals, so flat lists of 32+ numbers are cut out before matching and
 * replaced by `[%i%]` (followed by the newlines they spanned, so line numbers stay right).
 * Strings, quoted names and comments are skipped.
 */
function packLists(text: string): { text: string; packs: string[] } {
  const packs: string[] = [];
  let out = '';
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === '`') {
      for (i++; i < text.length && text[i] !== c && text[i] !== '\n'; i++) if (text[i] === '\\') i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '[') {
      PACKABLE.lastIndex = i;
      const m = PACKABLE.exec(text);
      if (m) {
        const nl = m[0].split('\n').length - 1;
        out += text.slice(last, i) + `[%${packs.length}%]` + '\n'.repeat(nl);
        packs.push(m[1]!);
        i += m[0].length - 1;
        last = i + 1;
      }
    }
  }
  return { text: packs.length ? out + text.slice(last) : text, packs };
}

/** Parse DSL text to a syntax tree; throws diag.syntax (file:line:col, the line and a caret). */
export function parseAst(source: string, file = '<dsl>'): ModuleAst {
  const { grammar: gr, semantics: sem } = load();
  const { text, packs } = packLists(source);
  const m = gr.match(text);
  if (m.failed()) {
    const at = m.getRightmostFailurePosition();
    const before = text.slice(0, at);
    const line = before.split('\n').length;
    const lineStart = before.lastIndexOf('\n') + 1;
    const col = at - lineStart + 1;
    let lineEnd = text.indexOf('\n', at);
    if (lineEnd < 0) lineEnd = text.length;
    // (lines of `source` and `text` agree: packed lists keep their newlines)
    const src = (source.split('\n')[line - 1] ?? text.slice(lineStart, lineEnd)).replace(/\t/g, ' ');
    const excerpt = `${String(line).padStart(4)} | ${src}\n${' '.repeat(4)} | ${' '.repeat(col - 1)}^`;
    throw diag.syntax({ file, line, col }, m.getExpectedText(), excerpt);
  }
  currentPacks = packs;
  try {
    return sem(m).ast() as ModuleAst;
  } catch (e) {
    // errors raised while building the AST (bad dims, layouts) know the line, not the file
    if (e instanceof AicError && e.loc && !e.loc.file) throw new AicError(e.code, e.message, e.exitCode, { file, ...e.loc }, e.detail);
    throw e;
  } finally {
    currentPacks = [];
  }
}
