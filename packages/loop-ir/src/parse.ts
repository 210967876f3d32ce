/** Text -> loop IR (the inverse of print.ts). Errors name line:col. */
import { E, type BinOp, type Buffer, type BufferRole, type Expr, type Intrinsic, type Kernel, type LoopKind, type ScalarType, type Scope, type Stmt } from './ir.ts';

const TYPES = new Set(['f32', 'f64', 'i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64', 'bool']);
const INFIX: Record<string, BinOp> = {
  '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod', '&': 'and', '|': 'or', '^': 'xor', '<<': 'shl', '>>': 'shr',
  '==': 'eq', '!=': 'ne', '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge',
};
const INTRINSICS = new Set<string>(['exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'erf', 'sigmoid', 'floor', 'ceil', 'round_even', 'trunc',
  'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'asinh', 'acosh', 'atanh', 'isnan', 'isinf', 'fabs', 'sign', 'fma', 'atan2', 'dot2', 'dot4',
  'check_index', 'check_nonzero', 'check_range']);

interface Tok { s: string; line: number; col: number }

function tokenize(text: string): Tok[] {
  const toks: Tok[] = [];
  let line = 1, col = 1, i = 0;
  const re = /^(?:\s+|\/\/[^\n]*|(\d+(?:\.(?!\.)\d*)?(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\.\.|<<|>>|==|!=|<=|>=|[-+*/%&|^<>=(){}\[\],:.;]))/;
  while (i < text.length) {
    const m = re.exec(text.slice(i));
    if (!m) throw new Error(`loop IR ${line}:${col}: unexpected character '${text[i]}'`);
    const s = m[0];
    if (m[1] !== undefined || m[2] !== undefined || m[3] !== undefined) toks.push({ s, line, col });
    for (const ch of s) { if (ch === '\n') { line++; col = 1; } else col++; }
    i += s.length;
  }
  return toks;
}

export function parseKernel(text: string): Kernel {
  const p = new Parser(tokenize(text));
  const k = p.kernel();
  p.end();
  return k;
}

export function parseKernels(text: string): Kernel[] {
  const p = new Parser(tokenize(text));
  const out: Kernel[] = [];
  while (!p.atEnd()) out.push(p.kernel());
  return out;
}

class Parser {
  private i = 0;
  private bufs = new Map<string, ScalarType>();
  private vars: Map<string, ScalarType>[] = [];
  constructor(private toks: Tok[]) {}

  atEnd() { return this.i >= this.toks.length; }
  end() { if (!this.atEnd()) this.fail('end of input'); }
  private peek(o = 0) { return this.toks[this.i + o]?.s; }
  private fail(expected: string): never {
    const t = this.toks[this.i];
    throw new Error(t ? `loop IR ${t.line}:${t.col}: expected ${expected}, got '${t.s}'` : `loop IR: expected ${expected} at end of input`);
  }
  private eat(s?: string): string {
    const t = this.toks[this.i];
    if (!t || (s !== undefined && t.s !== s)) this.fail(s ? `'${s}'` : 'a token');
    this.i++;
    return t.s;
  }
  private ident(): string {
    const t = this.peek();
    if (!t || !/^[A-Za-z_]/.test(t)) this.fail('a name');
    return this.eat();
  }
  private int(): number {
    let neg = false;
    if (this.peek() === '-') { this.eat(); neg = true; }
    const t = this.eat();
    if (!/^\d+$/.test(t)) { this.i--; this.fail('an integer'); }
    return neg ? -Number(t) : Number(t);
  }
  private dtype(): ScalarType {
    const t = this.ident();
    if (!TYPES.has(t)) { this.i--; this.fail('an element type'); }
    return t as ScalarType;
  }
  private buffer(role: BufferRole): Buffer {
    const name = this.ident();
    this.eat(':');
    const dtype = this.dtype();
    this.eat('[');
    const shape: number[] = [];
    while (this.peek() !== ']') { shape.push(this.int()); if (this.peek() === ',') this.eat(','); }
    this.eat(']');
    let scope: Scope = 'global';
    const s = this.peek();
    if (s === 'local' || s === 'shared' || s === 'register') { scope = s; this.eat(); }
    this.bufs.set(name, dtype);
    return { name, dtype, shape, scope, role };
  }

  kernel(): Kernel {
    this.eat('kernel');
    const name = this.ident();
    this.eat('(');
    const params: Buffer[] = [];
    while (this.peek() !== ')') {
      const role = this.ident() as BufferRole;
      if (!['input', 'output', 'weight', 'temp', 'scratch'].includes(role)) { this.i--; this.fail('a buffer role (input|output|weight|temp|scratch)'); }
      params.push(this.buffer(role));
      if (this.peek() === ',') this.eat(',');
    }
    this.eat(')');
    const body = this.block();
    return { name, params, body };
  }

  private block(): Stmt {
    this.eat('{');
    const body: Stmt[] = [];
    while (this.peek() !== '}') {
      const s = this.stmt();
      if (s) body.push(s);
    }
    this.eat('}');
    return { k: 'seq', body };
  }
  private scoped<T>(vars: Record<string, ScalarType>, f: () => T): T {
    this.vars.push(new Map(Object.entries(vars)));
    try { return f(); } finally { this.vars.pop(); }
  }
  private unwrap(s: Stmt): Stmt { return s.k === 'seq' && s.body.length === 1 ? s.body[0] : s; }

  private stmt(): Stmt | undefined {
    const t = this.peek();
    if (t === 'pass') { this.eat(); return undefined; }
    if (t === 'barrier') { this.eat(); return { k: 'barrier' }; }
    if (t === 'for') {
      this.eat();
      const v = this.ident();
      this.eat('in'); this.eat('0'); this.eat('..');
      const ext = this.expr();
      let kind: LoopKind = { k: 'serial' };
      const kw = this.peek();
      if (kw === 'vectorized') { this.eat(); this.eat('('); kind = { k: 'vectorized', lanes: this.int() }; this.eat(')'); }
      else if (kw === 'unrolled') { this.eat(); kind = { k: 'unrolled' }; }
      else if (kw === 'parallel') { this.eat(); kind = { k: 'parallel' }; }
      else if (kw === 'gpu') {
        this.eat(); this.eat('(');
        const axis = this.ident() as 'workgroup' | 'local'; this.eat('.'); const dim = this.ident() as 'x' | 'y' | 'z';
        this.eat(')');
        kind = { k: 'gpu', axis, dim };
      }
      const body = this.scoped({ [v]: 'i32' }, () => this.block());
      return { k: 'for', v, ext, kind, body: this.unwrap(body) };
    }
    if (t === 'if') {
      this.eat();
      const c = this.expr();
      const then = this.unwrap(this.block());
      if (this.peek() === 'else') { this.eat(); return { k: 'if', c, then, else: this.unwrap(this.block()) }; }
      return { k: 'if', c, then };
    }
    if (t === 'alloc') {
      this.eat();
      const buf = this.buffer('scratch');
      const body = this.block();
      return { k: 'alloc', buf, body: this.unwrap(body) };
    }
    if (t === 'let') {
      this.eat();
      const v = this.ident(); this.eat(':'); const ty = this.dtype(); this.eat('=');
      const val = this.expr();
      const body = this.scoped({ [v]: ty }, () => this.block());
      return { k: 'let', v, t: ty, val, body: this.unwrap(body) };
    }
    const buf = this.ident();
    this.eat('[');
    const idx = this.expr();
    this.eat(']');
    this.eat('=');
    return { k: 'store', buf, idx, val: this.expr() };
  }

  private varType(name: string): ScalarType | undefined {
    for (let i = this.vars.length - 1; i >= 0; i--) { const t = this.vars[i].get(name); if (t) return t; }
    return undefined;
  }

  expr(): Expr {
    const t = this.peek();
    if (t === '(') {
      this.eat('(');
      const a = this.expr();
      const op = this.eat();
      const bop = INFIX[op];
      if (!bop) { this.i--; this.fail('an infix operator'); }
      const b = this.expr();
      this.eat(')');
      return E.bin(bop, a, b);
    }
    if (t === '-' || (t !== undefined && /^\d/.test(t)) || t === 'nan' || t === 'inf') {
      let neg = false;
      if (t === '-') { this.eat(); neg = true; }
      const lit = this.eat();
      let v = lit === 'nan' ? NaN : lit === 'inf' ? Infinity : Number(lit);
      if (neg) v = -v;
      let ty: ScalarType = /[.e]|nan|inf/.test(lit) ? 'f32' : 'i32';
      if (this.peek() === ':') { this.eat(); ty = this.dtype(); }
      return E.c(v, ty);
    }
    const name = this.ident();
    const next = this.peek();
    if (next === '[' && this.bufs.has(name)) {
      this.eat('[');
      const idx = this.expr();
      this.eat(']');
      return E.load(name, idx, this.bufs.get(name)!, idx.lanes);
    }
    if ((name === 'sum' || name === 'max' || name === 'min' || name === 'prod') && next === '[') {
      this.eat('[');
      const axes: { name: string; extent: number }[] = [];
      while (this.peek() !== ']') {
        const a = this.ident(); this.eat(':'); axes.push({ name: a, extent: this.int() });
        if (this.peek() === ',') this.eat(',');
      }
      this.eat(']'); this.eat('(');
      const body = this.scoped(Object.fromEntries(axes.map((a) => [a.name, 'i32' as ScalarType])), () => this.expr());
      this.eat(')');
      return E.reduce(name, axes, body);
    }
    if (name === 'cast' && next === '<') {
      this.eat('<'); const ty = this.dtype(); this.eat('>'); this.eat('(');
      const x = this.expr(); this.eat(')');
      return { k: 'cast', x, t: ty, lanes: x.lanes };
    }
    if (next === '(') {
      this.eat('(');
      const args: Expr[] = [];
      const ints: number[] = [];
      while (this.peek() !== ')') {
        if ((name === 'bcast' && args.length === 1) || (name === 'ramp' && args.length >= 1)) ints.push(this.int());
        else args.push(this.expr());
        if (this.peek() === ',') this.eat(',');
      }
      this.eat(')');
      switch (name) {
        case 'min': case 'max': case 'pow': return E.bin(name, args[0], args[1]);
        case 'neg': case 'not': case 'abs': return { k: 'un', op: name, x: args[0], t: args[0].t, lanes: args[0].lanes };
        case 'select': return E.select(args[0], args[1], args[2]);
        case 'bcast': return E.bcast(args[0], ints[0]);
        case 'ramp': return E.ramp(args[0], ints[0], ints[1]);
        default:
          if (INTRINSICS.has(name)) return E.call(name as Intrinsic, ...args);
          this.i--;
          this.fail(`a known function, got '${name}'`);
      }
    }
    const vt = this.varType(name);
    if (!vt) { this.i--; this.fail(`a defined variable or buffer, got '${name}'`); }
    return E.v(name, vt);
  }
}
