/**
 * Loop-nest IR: buffers, loops, statements and expressions shared by every target (C, WebAssembly
 * SIMD, WGSL). Expressions carry a scalar type and a lane count (1 = scalar; >1 = fixed-width vector).
 * Indices are flat element offsets into a buffer (row-major of its shape).
 */
import type { BufferLayout } from './layout.ts';

/**
 * Scalar element types the IR computes with. `idx` is the index type (i32 on every target).
 * `f16`/`bf16` are storage only (half.ts): buffers hold them, loads yield f32, stores round.
 */
export type ScalarType = 'f32' | 'f64' | 'i8' | 'i16' | 'i32' | 'i64' | 'u8' | 'u16' | 'u32' | 'u64' | 'bool' | 'f16' | 'bf16';
export const INDEX: ScalarType = 'i32';

export type Scope = 'global' | 'local' | 'shared' | 'register';
export type BufferRole = 'input' | 'output' | 'weight' | 'temp' | 'scratch';

export interface Buffer {
  name: string;
  dtype: ScalarType;
  /** the shape of the stored data (physical) */
  shape: number[];
  scope: Scope;
  role: BufferRole;
  /** a physical layout: logical indices go through its index map (layout.ts) */
  layout?: BufferLayout;
}

export type LoopKind =
  | { k: 'serial' }
  | { k: 'vectorized'; lanes: number }
  | { k: 'unrolled' }
  | { k: 'parallel' }
  /** bound to a GPU axis: workgroup id or local invocation id, dimension x|y|z */
  | { k: 'gpu'; axis: 'workgroup' | 'local'; dim: 'x' | 'y' | 'z' };

export type BinOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'mod' | 'min' | 'max' | 'pow'
  | 'and' | 'or' | 'xor' | 'shl' | 'shr'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
/** `div`/`mod` on integers truncate toward zero (C semantics); use floordiv helpers for floor. */
export type UnOp = 'neg' | 'not' | 'abs';
export type Intrinsic =
  | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'tanh' | 'erf' | 'sigmoid' | 'floor' | 'ceil' | 'round_even' | 'trunc'
  | 'sin' | 'cos' | 'tan' | 'asin' | 'acos' | 'atan' | 'sinh' | 'cosh' | 'asinh' | 'acosh' | 'atanh'
  | 'isnan' | 'isinf' | 'fabs' | 'sign' | 'fma' | 'atan2'
  /** dot2(p, q) (i32): each word holds two int16 halves; lo(p)*lo(q) + hi(p)*hi(q), wrapping (int8 kernels: schedule/int-dot.ts) */
  | 'dot2'
  /** dot4(p, q) (i32): the four bytes of p unsigned times those of q signed, summed (int8 kernels: schedule/int-dot4.ts) */
  | 'dot4'
  /** runtime checks (see checks.ts): check_index(i, n) -> i32, check_nonzero(b) -> b, check_range(v, n, code) -> i32 */
  | 'check_index' | 'check_nonzero' | 'check_range';

export type Expr =
  | { k: 'const'; t: ScalarType; v: number; lanes: number }
  | { k: 'var'; name: string; t: ScalarType; lanes: number }
  | { k: 'load'; buf: string; idx: Expr; t: ScalarType; lanes: number }
  | { k: 'bin'; op: BinOp; a: Expr; b: Expr; t: ScalarType; lanes: number }
  | { k: 'un'; op: UnOp; x: Expr; t: ScalarType; lanes: number }
  | { k: 'call'; fn: Intrinsic; args: Expr[]; t: ScalarType; lanes: number }
  | { k: 'select'; c: Expr; a: Expr; b: Expr; t: ScalarType; lanes: number }
  | { k: 'cast'; x: Expr; t: ScalarType; lanes: number }
  | { k: 'bcast'; x: Expr; t: ScalarType; lanes: number }
  | { k: 'ramp'; base: Expr; stride: number; t: ScalarType; lanes: number }
  /** a reduction (only inside compute definitions; lowering turns it into an accumulator loop) */
  | { k: 'reduce'; op: 'sum' | 'max' | 'min' | 'prod'; axes: { name: string; extent: number }[]; body: Expr; t: ScalarType; lanes: number };

export type Stmt =
  | { k: 'for'; v: string; ext: Expr; kind: LoopKind; body: Stmt }
  | { k: 'store'; buf: string; idx: Expr; val: Expr }
  | { k: 'if'; c: Expr; then: Stmt; else?: Stmt }
  | { k: 'alloc'; buf: Buffer; body: Stmt }
  | { k: 'let'; v: string; t: ScalarType; val: Expr; body: Stmt }
  | { k: 'seq'; body: Stmt[] }
  | { k: 'barrier' };

export interface Kernel {
  name: string;
  /** global buffers the kernel reads or writes, in call order */
  params: Buffer[];
  body: Stmt;
}

export const isFloatT = (t: ScalarType) => t === 'f32' || t === 'f64';
export const isSignedT = (t: ScalarType) => t === 'i8' || t === 'i16' || t === 'i32' || t === 'i64' || isFloatT(t);
export const BOOL_RESULT: ReadonlySet<BinOp> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);

// ---- constructors (keep building code short and typed) ----------------------------------------
export const E = {
  c: (v: number, t: ScalarType = 'f32'): Expr => ({ k: 'const', t, v, lanes: 1 }),
  i: (v: number): Expr => ({ k: 'const', t: INDEX, v, lanes: 1 }),
  v: (name: string, t: ScalarType = INDEX): Expr => ({ k: 'var', name, t, lanes: 1 }),
  load: (buf: string, idx: Expr, t: ScalarType, lanes = 1): Expr => ({ k: 'load', buf, idx, t, lanes }),
  bin: (op: BinOp, a: Expr, b: Expr): Expr => ({
    k: 'bin', op, a, b, t: BOOL_RESULT.has(op) ? 'bool' : a.t, lanes: Math.max(a.lanes, b.lanes),
  }),
  add: (a: Expr, b: Expr) => E.bin('add', a, b),
  sub: (a: Expr, b: Expr) => E.bin('sub', a, b),
  mul: (a: Expr, b: Expr) => E.bin('mul', a, b),
  div: (a: Expr, b: Expr) => E.bin('div', a, b),
  mod: (a: Expr, b: Expr) => E.bin('mod', a, b),
  min: (a: Expr, b: Expr) => E.bin('min', a, b),
  max: (a: Expr, b: Expr) => E.bin('max', a, b),
  lt: (a: Expr, b: Expr) => E.bin('lt', a, b),
  le: (a: Expr, b: Expr) => E.bin('le', a, b),
  ge: (a: Expr, b: Expr) => E.bin('ge', a, b),
  gt: (a: Expr, b: Expr) => E.bin('gt', a, b),
  eq: (a: Expr, b: Expr) => E.bin('eq', a, b),
  and: (a: Expr, b: Expr) => E.bin('and', a, b),
  or: (a: Expr, b: Expr) => E.bin('or', a, b),
  neg: (x: Expr): Expr => ({ k: 'un', op: 'neg', x, t: x.t, lanes: x.lanes }),
  not: (x: Expr): Expr => ({ k: 'un', op: 'not', x, t: x.t, lanes: x.lanes }),
  abs: (x: Expr): Expr => ({ k: 'un', op: 'abs', x, t: x.t, lanes: x.lanes }),
  call: (fn: Intrinsic, ...args: Expr[]): Expr => ({
    k: 'call', fn, args, t: fn === 'isnan' || fn === 'isinf' ? 'bool' : fn === 'check_index' || fn === 'check_range' ? INDEX : args[0].t, lanes: Math.max(...args.map((a) => a.lanes)),
  }),
  select: (c: Expr, a: Expr, b: Expr): Expr => ({ k: 'select', c, a, b, t: a.t, lanes: Math.max(c.lanes, a.lanes, b.lanes) }),
  cast: (x: Expr, t: ScalarType): Expr => (x.t === t ? x : { k: 'cast', x, t, lanes: x.lanes }),
  bcast: (x: Expr, lanes: number): Expr => ({ k: 'bcast', x, t: x.t, lanes }),
  ramp: (base: Expr, stride: number, lanes: number): Expr => ({ k: 'ramp', base, stride, t: base.t, lanes }),
  reduce: (op: 'sum' | 'max' | 'min' | 'prod', axes: { name: string; extent: number }[], body: Expr): Expr =>
    ({ k: 'reduce', op, axes, body, t: body.t, lanes: 1 }),
};

export const S = {
  for: (v: string, ext: number | Expr, body: Stmt, kind: LoopKind = { k: 'serial' }): Stmt =>
    ({ k: 'for', v, ext: typeof ext === 'number' ? E.i(ext) : ext, kind, body }),
  store: (buf: string, idx: Expr, val: Expr): Stmt => ({ k: 'store', buf, idx, val }),
  if: (c: Expr, then: Stmt, els?: Stmt): Stmt => ({ k: 'if', c, then, ...(els ? { else: els } : {}) }),
  seq: (...body: Stmt[]): Stmt => ({ k: 'seq', body: body.flatMap((s) => (s.k === 'seq' ? s.body : [s])) }),
  let: (v: string, t: ScalarType, val: Expr, body: Stmt): Stmt => ({ k: 'let', v, t, val, body }),
  alloc: (buf: Buffer, body: Stmt): Stmt => ({ k: 'alloc', buf, body }),
};

/** Row-major flat index of a multi-dimensional index into `shape`. */
export function flatIndex(idx: Expr[], shape: readonly number[]): Expr {
  if (idx.length !== shape.length) throw new Error(`index rank ${idx.length} != buffer rank ${shape.length}`);
  let acc: Expr | undefined;
  for (let d = 0; d < idx.length; d++) {
    acc = acc === undefined ? idx[d] : E.add(E.mul(acc, E.i(shape[d])), idx[d]);
  }
  return acc ?? E.i(0);
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Visit every statement (pre-order). */
export function walkStmt(s: Stmt, f: (s: Stmt) => void): void {
  f(s);
  switch (s.k) {
    case 'for': case 'alloc': case 'let': walkStmt(s.body, f); break;
    case 'if': walkStmt(s.then, f); if (s.else) walkStmt(s.else, f); break;
    case 'seq': s.body.forEach((b) => walkStmt(b, f)); break;
    default: break;
  }
}

/** The direct sub-expressions of e. */
export function childExprs(e: Expr): Expr[] {
  switch (e.k) {
    case 'load': return [e.idx];
    case 'bin': return [e.a, e.b];
    case 'un': case 'cast': case 'bcast': return [e.x];
    case 'call': return e.args;
    case 'select': return [e.c, e.a, e.b];
    case 'ramp': return [e.base];
    case 'reduce': return [e.body];
    default: return [];
  }
}

/** Visit e and every sub-expression (pre-order; nodes keep their identity). */
export function walkExpr(e: Expr, f: (e: Expr) => void): void {
  f(e);
  for (const c of childExprs(e)) walkExpr(c, f);
}

/** The expressions a statement holds directly (loop extent, store index and value, conditions). */
export function stmtExprs(s: Stmt): Expr[] {
  switch (s.k) {
    case 'for': return [s.ext];
    case 'store': return [s.idx, s.val];
    case 'if': return [s.c];
    case 'let': return [s.val];
    default: return [];
  }
}

/** Visit every expression node of a statement tree (pre-order). */
export function walkExprs(s: Stmt, f: (e: Expr) => void): void {
  walkStmt(s, (x) => { for (const e of stmtExprs(x)) walkExpr(e, f); });
}

/** Rebuild an expression bottom-up. */
export function mapExpr(e: Expr, f: (e: Expr) => Expr): Expr {
  let r: Expr;
  switch (e.k) {
    case 'load': r = { ...e, idx: mapExpr(e.idx, f) }; break;
    case 'bin': r = { ...e, a: mapExpr(e.a, f), b: mapExpr(e.b, f) }; break;
    case 'un': r = { ...e, x: mapExpr(e.x, f) }; break;
    case 'call': r = { ...e, args: e.args.map((a) => mapExpr(a, f)) }; break;
    case 'select': r = { ...e, c: mapExpr(e.c, f), a: mapExpr(e.a, f), b: mapExpr(e.b, f) }; break;
    case 'cast': r = { ...e, x: mapExpr(e.x, f) }; break;
    case 'bcast': r = { ...e, x: mapExpr(e.x, f) }; break;
    case 'ramp': r = { ...e, base: mapExpr(e.base, f) }; break;
    case 'reduce': r = { ...e, body: mapExpr(e.body, f) }; break;
    default: r = e;
  }
  return f(r);
}

/** Rebuild a statement, mapping every expression in it and optionally statements bottom-up. */
export function mapStmt(s: Stmt, fe: (e: Expr) => Expr, fs: (s: Stmt) => Stmt = (x) => x): Stmt {
  const me = (e: Expr) => mapExpr(e, fe);
  let r: Stmt;
  switch (s.k) {
    case 'for': r = { ...s, ext: me(s.ext), body: mapStmt(s.body, fe, fs) }; break;
    case 'store': r = { ...s, idx: me(s.idx), val: me(s.val) }; break;
    case 'if': r = { ...s, c: me(s.c), then: mapStmt(s.then, fe, fs), ...(s.else ? { else: mapStmt(s.else, fe, fs) } : {}) }; break;
    case 'alloc': r = { ...s, body: mapStmt(s.body, fe, fs) }; break;
    case 'let': r = { ...s, val: me(s.val), body: mapStmt(s.body, fe, fs) }; break;
    case 'seq': r = { k: 'seq', body: s.body.map((b) => mapStmt(b, fe, fs)) }; break;
    default: r = s;
  }
  return fs(r);
}

/** Substitute variables by expressions. */
export function substitute(e: Expr, env: Record<string, Expr>): Expr {
  return mapExpr(e, (x) => (x.k === 'var' && env[x.name] !== undefined ? env[x.name] : x));
}
export function substituteStmt(s: Stmt, env: Record<string, Expr>): Stmt {
  return mapStmt(s, (x) => (x.k === 'var' && env[x.name] !== undefined ? env[x.name] : x));
}
