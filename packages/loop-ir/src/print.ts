/** Loop IR -> text. The text parses back (parse.ts) to the same IR: print(parse(print(k))) === print(k). */
import type { Buffer, Expr, Kernel, LoopKind, Stmt } from './ir.ts';

const INFIX: Record<string, string> = {
  add: '+', sub: '-', mul: '*', div: '/', mod: '%', and: '&', or: '|', xor: '^', shl: '<<', shr: '>>',
  eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=',
};

export function fmtNum(v: number, t: string): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (t === 'f32' || t === 'f64') {
    const s = Object.is(v, -0) ? '-0.0' : String(v);
    return /[.e]/.test(s) ? s : `${s}.0`;
  }
  return String(v);
}

export function printExpr(e: Expr): string {
  switch (e.k) {
    case 'const': return e.t === 'i32' ? fmtNum(e.v, e.t) : `${fmtNum(e.v, e.t)}:${e.t}`;
    case 'var': return e.name;
    case 'load': return `${e.buf}[${printExpr(e.idx)}]`;
    case 'bin': return INFIX[e.op] ? `(${printExpr(e.a)} ${INFIX[e.op]} ${printExpr(e.b)})` : `${e.op}(${printExpr(e.a)}, ${printExpr(e.b)})`;
    case 'un': return `${e.op}(${printExpr(e.x)})`;
    case 'call': return `${e.fn}(${e.args.map(printExpr).join(', ')})`;
    case 'select': return `select(${printExpr(e.c)}, ${printExpr(e.a)}, ${printExpr(e.b)})`;
    case 'cast': return `cast<${e.t}>(${printExpr(e.x)})`;
    case 'bcast': return `bcast(${printExpr(e.x)}, ${e.lanes})`;
    case 'ramp': return `ramp(${printExpr(e.base)}, ${e.stride}, ${e.lanes})`;
    case 'reduce': return `${e.op}[${e.axes.map((a) => `${a.name}:${a.extent}`).join(', ')}](${printExpr(e.body)})`;
  }
}

export function fmtKind(k: LoopKind): string {
  switch (k.k) {
    case 'serial': return '';
    case 'vectorized': return ` vectorized(${k.lanes})`;
    case 'unrolled': return ' unrolled';
    case 'parallel': return ' parallel';
    case 'gpu': return ` gpu(${k.axis}.${k.dim})`;
  }
}

export function fmtBuffer(b: Buffer): string {
  return `${b.name}: ${b.dtype}[${b.shape.join(', ')}]${b.scope === 'global' ? '' : ` ${b.scope}`}`;
}

export function printStmt(s: Stmt, ind = ''): string[] {
  const inner = ind + '  ';
  const block = (b: Stmt) => (b.k === 'seq' ? b.body.flatMap((x) => printStmt(x, inner)) : printStmt(b, inner));
  switch (s.k) {
    case 'for': return [`${ind}for ${s.v} in 0..${printExpr(s.ext)}${fmtKind(s.kind)} {`, ...block(s.body), `${ind}}`];
    case 'store': return [`${ind}${s.buf}[${printExpr(s.idx)}] = ${printExpr(s.val)}`];
    case 'if': {
      const out = [`${ind}if ${printExpr(s.c)} {`, ...block(s.then)];
      if (s.else) out.push(`${ind}} else {`, ...block(s.else));
      out.push(`${ind}}`);
      return out;
    }
    case 'alloc': return [`${ind}alloc ${fmtBuffer(s.buf)} {`, ...block(s.body), `${ind}}`];
    case 'let': return [`${ind}let ${s.v}: ${s.t} = ${printExpr(s.val)} {`, ...block(s.body), `${ind}}`];
    case 'seq': return s.body.length ? s.body.flatMap((x) => printStmt(x, ind)) : [`${ind}pass`];
    case 'barrier': return [`${ind}barrier`];
  }
}

export function printKernel(k: Kernel): string {
  const params = k.params.map((b) => `${b.role} ${fmtBuffer(b)}`).join(', ');
  const body = k.body.k === 'seq' ? k.body.body.flatMap((x) => printStmt(x, '  ')) : printStmt(k.body, '  ');
  return `kernel ${k.name}(${params}) {\n${body.join('\n')}${body.length ? '\n' : ''}}\n`;
}
