/**
 * Loop IR kernel -> WebAssembly function. Mirrors codegen/c/expr.ts over the same IR:
 * - `vectorized(4)` loops go through vectorizeLoop and become v128 code (f32x4 / i32x4; narrow
 *   integers live widened in i32x4 lanes, bools as all-ones lane masks); contiguous ramp loads and
 *   stores become v128.load/store, other vector indices become per-lane gathers/scatters, operations
 *   without a SIMD instruction run lane by lane. A body the SIMD path cannot express falls back to
 *   the scalar loop (as C does under #else).
 * - `unrolled` loops are expanded with the loop variable substituted, so register tiles are indexed
 *   by constants and live in wasm locals (scalar or v128); other scratch buffers get a frame in the
 *   module's scratch region of linear memory.
 * - Integer semantics follow the interpreter: narrow types wrap; division by zero, NaN min/max,
 *   erf and f64 sigmoid come legalized (loop-ir legalize.ts); f32 sigmoid is math.ts's.
 */
import { E, INT_RANGE, childExprs, isCheck, isFloatT, isHalfT, isSignedT, simplifyExpr, simplifyStmt, substituteStmt, vectorizeLoop, walkExprs, walkStmt, legalizeStmt, unrollCopies, type Buffer, type Expr, type Kernel, type ScalarType, type Stmt } from '@aic/loop-ir';
import { Func, ModuleBuilder, v128Of, type Instr, type ValType } from './module.ts';
import { inlineMath, needMath, type MathFn } from './math.ts';
import { WASM_LEGAL } from '../caps.ts';
import { checkFunc, checkIndexInline } from './checks.ts';
import { bound, hoistIndices, invariantAtom, linearTerms, sum } from './hoist-index.ts';
import { f32x4ToHalf, halfLoad, halfStore, halfToF32x4 } from './half.ts';
import { ValueFacts, clampRange, constOperand, saturatedByNarrow } from './value-facts.ts';

/** integer types whose values a wasm i32 holds exactly (signed, or u32 converted as unsigned) */
const INT32_FITS = new Set(['i8', 'u8', 'i16', 'u16', 'i32', 'u32']);

export const WIDTH: Record<ScalarType, number> = { f32: 4, f64: 8, i8: 1, i16: 2, i32: 4, i64: 8, u8: 1, u16: 2, u32: 4, u64: 8, bool: 1, f16: 2, bf16: 2 };
const LOG2: Record<number, number> = { 1: 0, 2: 1, 4: 2, 8: 3 };
const isF = (t: ScalarType) => t === 'f32' || t === 'f64';

/** a strength-reduced address: stepped by `step` bytes per iteration, by `carry.step` after an iteration whose v % carry.c is carry.c - 1 */
interface Ptr { local: number; step: number; carry?: { c: number; step: number } }
/** a serial loop being emitted: its variable and its local, the variables bound in it, its strength-reduced addresses */
interface LoopCtx { v: string; iv: number; inner: Set<string>; at: number; ptrs: Map<string, Ptr>; init: Instr[] }

const is64 = (t: ScalarType) => t === 'i64' || t === 'u64';
const isSigned = (t: ScalarType) => t === 'i8' || t === 'i16' || t === 'i32' || t === 'i64';
export function wtype(t: ScalarType): ValType { return t === 'f32' ? 'f32' : t === 'f64' ? 'f64' : is64(t) ? 'i64' : 'i32'; }
/** element types a 4-lane v128 value can hold (narrow ints widened to i32 lanes, bool as masks) */
const VEC_OK: ReadonlySet<ScalarType> = new Set<ScalarType>(['f32', 'i32', 'u32', 'i8', 'u8', 'i16', 'u16', 'bool']);

/** i8x16.shuffle bytes of lanes 0, 2 of a and 1, 3 of b (b loaded 3 elements later: elements 0, 2, 4, 6) */
const STRIDE2_SHUFFLE = [0, 1, 2, 3, 8, 9, 10, 11, 20, 21, 22, 23, 28, 29, 30, 31];
const LOAD: Record<ScalarType, string> = {
  f32: 'f32.load', f64: 'f64.load', i32: 'i32.load', u32: 'i32.load', i64: 'i64.load', u64: 'i64.load',
  i8: 'i32.load8_s', u8: 'i32.load8_u', bool: 'i32.load8_u', i16: 'i32.load16_s', u16: 'i32.load16_u',
  f16: 'i32.load16_u', bf16: 'i32.load16_u', // bits, converted by half.ts
};
const STORE: Record<ScalarType, string> = {
  f32: 'f32.store', f64: 'f64.store', i32: 'i32.store', u32: 'i32.store', i64: 'i64.store', u64: 'i64.store',
  i8: 'i32.store8', u8: 'i32.store8', bool: 'i32.store8', i16: 'i32.store16', u16: 'i32.store16',
  f16: 'i32.store16', bf16: 'i32.store16',
};

/** Math functions imported from the host (module "Math"); the loader provides them. */
export const HOST_MATH: Record<string, number> = {
  exp: 1, log: 1, tanh: 1, sin: 1, cos: 1, tan: 1, asin: 1, acos: 1, atan: 1, sinh: 1, cosh: 1, asinh: 1, acosh: 1, atanh: 1,
  atan2: 2, pow: 2, fmod: 2,
};

type BufInfo =
  | { kind: 'mem'; base: { local: number } | { addr: number }; dtype: ScalarType; minBase: number }
  | { kind: 'reg'; dtype: ScalarType; vec: boolean; slots: Map<number, number> };

export interface KernelEnv {
  mb: ModuleBuilder;
  simd: boolean;
  /** address of the shared scratch region (frames for scratch buffers that are not locals) */
  scratchBase: number;
  /** per kernel param: the smallest byte address it is ever bound to */
  minBase: number[];
  /** per param: bound to weights whose every value is finite (in every call) */
  finite?: boolean[];
  /** i32.const instructions whose value is patched to the memory size when it is known */
  memLimits: Instr[];
}

function cfold(e: Expr): number | undefined {
  if (e.lanes !== 1) return undefined;
  if (e.k === 'const') return e.t === 'i32' ? e.v : undefined;
  if (e.k === 'bin' && e.t === 'i32') {
    const a = cfold(e.a), b = cfold(e.b);
    if (a === undefined || b === undefined) return undefined;
    switch (e.op) {
      case 'add': return (a + b) | 0;
      case 'sub': return (a - b) | 0;
      case 'mul': return Math.imul(a, b);
      case 'div': return b === 0 ? undefined : Math.trunc(a / b) | 0;
      case 'mod': return b === 0 ? undefined : a % b;
      case 'min': return Math.min(a, b);
      case 'max': return Math.max(a, b);
      default: return undefined;
    }
  }
  return undefined;
}

/** idx = dyn + c (c a compile-time constant) */
function splitIdx(e: Expr): { dyn?: Expr; c: number } {
  const v = cfold(e);
  if (v !== undefined) return { c: v };
  if (e.k === 'bin' && e.op === 'add') {
    const b = cfold(e.b);
    if (b !== undefined) { const s = splitIdx(e.a); return { dyn: s.dyn, c: s.c + b }; }
    const a = cfold(e.a);
    if (a !== undefined) { const s = splitIdx(e.b); return { dyn: s.dyn, c: s.c + a }; }
  }
  if (e.k === 'bin' && e.op === 'sub') {
    const b = cfold(e.b);
    if (b !== undefined) { const s = splitIdx(e.a); return { dyn: s.dyn, c: s.c - b }; }
  }
  return { dyn: e, c: 0 };
}

const exprsOf = walkExprs;

/** Can every vector value of this (vectorized) body live in a v128? */
function vecSupported(s: Stmt): boolean {
  let ok = true;
  exprsOf(s, (e) => {
    if (e.lanes === 1) return;
    if (e.lanes !== 4 || !VEC_OK.has(e.t)) ok = false;
    if (e.k === 'reduce') ok = false;
    if (e.k === 'ramp' && e.t !== 'i32') ok = false;
  });
  let stores = true;
  const vs = (x: Stmt): void => {
    if (x.k === 'store' && (x.val.lanes > 1 || x.idx.lanes > 1) && (x.val.lanes !== 4 && x.val.lanes !== 1)) stores = false;
    if (x.k === 'for' || x.k === 'alloc' || x.k === 'let') vs(x.body);
    if (x.k === 'if') { vs(x.then); if (x.else) vs(x.else); }
    if (x.k === 'seq') x.body.forEach(vs);
  };
  vs(s);
  return ok && stores;
}

/** Does a (prepared) statement hold any vector value? */
function hasVector(s: Stmt): boolean {
  let v = false;
  exprsOf(s, (e) => { if (e.lanes > 1) v = true; });
  return v;
}

/**
 * Expand vectorized (when SIMD can express them) and unrolled loops; everything else unchanged.
 * `auto`: tried on serial loops whose body holds no vector code (unscheduled loops, e.g. the extern
 * stages of fused kernels); returns the loop vectorized, or undefined to keep it scalar.
 */
export function prepare(s: Stmt, simd: boolean, auto?: (loop: Extract<Stmt, { k: 'for' }>) => Stmt | undefined): Stmt {
  switch (s.k) {
    case 'for': {
      if (s.kind.k === 'vectorized') {
        const v = simd ? vectorizeLoop(s) : undefined;
        if (v && vecSupported(v)) return prepare(v, simd, auto);
        return { ...s, kind: { k: 'serial' }, body: prepare(s.body, simd, auto) };
      }
      const copies = unrollCopies(s);
      if (copies) return prepare({ k: 'seq', body: copies }, simd, auto);
      const body = prepare(s.body, simd, auto);
      if (auto && s.kind.k === 'serial' && !hasVector(body)) {
        const v = auto(s);
        if (v) return v;
      }
      return { ...s, body };
    }
    case 'seq': return { k: 'seq', body: s.body.map((b) => prepare(b, simd, auto)) };
    case 'if': return { ...s, then: prepare(s.then, simd, auto), ...(s.else ? { else: prepare(s.else, simd, auto) } : {}) };
    case 'alloc': case 'let': return { ...s, body: prepare(s.body, simd, auto) };
    default: return s;
  }
}

export class KernelEmitter {
  readonly fn: Func;
  private bufs = new Map<string, BufInfo>();
  /** per expression key of the current store run: does it read a buffer a memory store may change */
  private readonly readsMemory = new Map<string, boolean>();
  private vars = new Map<string, number>();
  private frameTop = 0;
  scratchBytes = 0;
  private tmpN = 0;
  private code: Instr[];
  /** per-statement common subexpressions: key -> local holding the value */
  private memo = new Map<string, number>();
  /** serial loops being emitted, innermost last: their strength-reduced addresses (see loop) */
  private loopCtx: LoopCtx[] = [];
  private counts = new Map<string, number>();
  private uncond = true;
  private noMemo = 0;
  private keys = new WeakMap<Expr, string>();
  private loopVars = new Set<string>();
  /** weights no statement of the kernel writes */
  private readonly readOnly: Set<string>;
  /** read-only weights whose every value is finite */
  private readonly finiteBufs: Set<string>;
  private readonly facts: ValueFacts;

  constructor(readonly k: Kernel, readonly env: KernelEnv) {
    this.fn = new Func(k.name, k.params.map(() => 'i32'), []);
    this.code = this.fn.code;
    k.params.forEach((p, i) => this.bufs.set(p.name, { kind: 'mem', base: { local: i }, dtype: p.dtype, minBase: env.minBase[i] ?? 0 }));
    const stored = new Set<string>();
    walkStmt(k.body, (x) => { if (x.k === 'store') stored.add(x.buf); });
    this.readOnly = new Set(k.params.filter((p) => p.role === 'weight' && !stored.has(p.name)).map((p) => p.name));
    this.finiteBufs = new Set(k.params.filter((p, i) => this.readOnly.has(p.name) && env.finite?.[i]).map((p) => p.name));
    this.facts = new ValueFacts(this.finiteBufs);
    // kernel-local buffers every store of which writes a finite value (a half weight's f32 copy)
    const vals = new Map<string, Expr[]>();
    walkStmt(k.body, (x) => { if (x.k === 'store' && !k.params.some((p) => p.name === x.buf)) vals.set(x.buf, [...(vals.get(x.buf) ?? []), x.val]); });
    for (const [b, vs] of vals) if (vs.every((v) => this.facts.finite(v))) this.finiteBufs.add(b);
  }

  emit(): Func {
    const body = prepare(simplifyStmt(legalizeStmt(this.k.body, WASM_LEGAL)), this.env.simd, this.env.simd ? (l) => this.autoVectorize(l) : undefined);
    let h = 0;
    this.stmt(hoistIndices(body, () => `__h${h++}`));
    return this.fn;
  }

  /**
   * Vectorize an unscheduled serial loop over 4 lanes (plus a scalar tail) when that is safe and
   * cheap: the body has only serial loops, its iterations are independent (every store to a buffer
   * not allocated inside it is outside inner loops, at one index per buffer that loads of the buffer
   * share, contiguous in the loop variable), no load sits in a select arm (a vector select evaluates
   * both arms) and no load needs a gather. Each output element keeps its own order of operations.
   */
  private autoVectorize(loop: Extract<Stmt, { k: 'for' }>): Stmt | undefined {
    const N = cfold(loop.ext);
    if (N === undefined || N < 4) return undefined;
    const priv = new Set<string>();
    const storeIdx = new Map<string, string>();
    let ok = true;
    const walk = (x: Stmt, depth: number): void => {
      if (!ok) return;
      switch (x.k) {
        case 'for': if (x.kind.k !== 'serial') ok = false; else walk(x.body, depth + 1); return;
        case 'alloc': if (x.buf.scope !== 'register' && x.buf.scope !== 'local') ok = false; else { priv.add(x.buf.name); walk(x.body, depth); } return;
        case 'let': walk(x.body, depth); return;
        case 'seq': x.body.forEach((b) => walk(b, depth)); return;
        case 'if': walk(x.then, depth); if (x.else) walk(x.else, depth); return;
        case 'store': {
          if (priv.has(x.buf)) return;
          const k = this.key(x.idx);
          if (depth > 0 || (storeIdx.has(x.buf) && storeIdx.get(x.buf) !== k)) ok = false;
          storeIdx.set(x.buf, k);
          return;
        }
        default: ok = false;
      }
    };
    walk(loop.body, 0);
    if (!ok || !storeIdx.size) return undefined;
    exprsOf(loop.body, (e) => { if (e.k === 'load' && storeIdx.has(e.buf) && storeIdx.get(e.buf) !== this.key(e.idx)) ok = false; });
    if (!ok) return undefined;
    const N4 = N - (N % 4);
    const vo = `${loop.v}_vo`, vi = `${loop.v}_vi`;
    const vb = vectorizeLoop({ k: 'for', v: vi, ext: E.i(4), kind: { k: 'vectorized', lanes: 4 }, body: substituteStmt(loop.body, { [loop.v]: E.add(E.mul(E.v(vo), E.i(4)), E.v(vi)) }) });
    if (!vb) return undefined;
    const body = simplifyStmt(vb);
    if (!vecSupported(body)) return undefined;
    // stores contiguous, loads without gathers, no loads under vector selects
    const check = (x: Stmt): void => {
      if (!ok) return;
      if (x.k === 'store' && !priv.has(x.buf) && (x.idx.lanes !== 4 || this.vindex(x.idx)?.kind !== 'contig')) ok = false;
      if (x.k === 'for' || x.k === 'alloc' || x.k === 'let') check(x.body);
      if (x.k === 'if') { check(x.then); if (x.else) check(x.else); }
      if (x.k === 'seq') x.body.forEach(check);
    };
    check(body);
    exprsOf(body, (e) => {
      if (e.k === 'load' && e.lanes > 1 && !priv.has(e.buf) && !this.vindex(e.idx)) ok = false;
      if (e.k === 'select' && e.lanes > 1) for (const arm of [e.a, e.b]) exprsOf({ k: 'store', buf: '', idx: E.i(0), val: arm }, (y) => { if (y.k === 'load') ok = false; });
    });
    if (!ok) return undefined;
    const out: Stmt[] = [{ k: 'for', v: vo, ext: E.i(N4 / 4), kind: { k: 'serial' }, body: prepare(body, true) }];
    if (N4 < N) {
      const vt = `${loop.v}_vt`;
      out.push({ k: 'for', v: vt, ext: E.i(N - N4), kind: { k: 'serial' }, body: prepare(simplifyStmt(substituteStmt(loop.body, { [loop.v]: E.add(E.v(vt), E.i(N4)) })), true) });
    }
    return out.length === 1 ? out[0] : { k: 'seq', body: out };
  }

  private e(...ins: Instr[]) { for (const i of ins) this.code.push(i); }

  private key(e: Expr): string {
    let k = this.keys.get(e);
    if (k !== undefined) return k;
    switch (e.k) {
      case 'const': k = `c${e.t}${e.lanes}:${e.v}`; break;
      case 'var': k = `v${e.t}:${e.name}`; break;
      case 'load': k = `L${e.t}${e.lanes}:${e.buf}[${this.key(e.idx)}]`; break;
      case 'bin': k = `B${e.op}${e.t}${e.lanes}(${this.key(e.a)},${this.key(e.b)})`; break;
      case 'un': k = `U${e.op}${e.t}${e.lanes}(${this.key(e.x)})`; break;
      case 'call': k = `C${e.fn}${e.t}${e.lanes}(${e.args.map((a) => this.key(a)).join(',')})`; break;
      case 'select': k = `S${e.t}${e.lanes}(${this.key(e.c)},${this.key(e.a)},${this.key(e.b)})`; break;
      case 'cast': k = `T${e.t}${e.lanes}(${this.key(e.x)})`; break;
      case 'bcast': k = `X${e.t}${e.lanes}(${this.key(e.x)})`; break;
      case 'ramp': k = `R${e.stride}:${e.lanes}(${this.key(e.base)})`; break;
      default: k = `?${Math.random()}`; break;
    }
    this.keys.set(e, k);
    return k;
  }

  /** Start a statement-level expression tree: count repeated subexpressions, forget old values. */
  private begin(...roots: Expr[]): void {
    this.memo.clear();
    this.counts.clear();
    this.countUses(roots);
  }

  /** Add the uses in roots to the counts; an expression a store to one of `stored` changes is not counted. */
  private countUses(roots: Expr[], stored?: ReadonlySet<string>): void {
    const visit = (e: Expr): void => {
      if (e.k === 'const' || e.k === 'var') return;
      const k = this.key(e);
      if (stored) for (const b of stored) if (this.kills(b, k)) { childExprs(e).forEach(visit); return; }
      const n = (this.counts.get(k) ?? 0) + 1;
      this.counts.set(k, n);
      if (n > 1) return;
      childExprs(e).forEach(visit);
    };
    roots.forEach(visit);
  }

  /** Emit e through the memo: reuse a value computed earlier in the statement, keep one used again. */
  private memoized(e: Expr, vector: boolean, gen: () => void): void {
    if (this.noMemo || e.k === 'const' || e.k === 'var') { gen(); return; }
    const k = this.key(e);
    const l = this.memo.get(k);
    if (l !== undefined) { this.e(['local.get', l]); return; }
    gen();
    if (this.uncond && (this.counts.get(k) ?? 0) > 1) {
      const nl = this.fn.local(vector ? 'v128' : wtype(e.t));
      this.e(['local.tee', nl]);
      this.memo.set(k, nl);
    }
  }

  private costly(e: Expr): boolean {
    if (!this.noMemo && this.memo.has(this.key(e))) return false;
    if (e.k === 'load' || e.k === 'call' || (e.k === 'bin' && (e.op === 'div' || e.op === 'mod' || e.op === 'pow'))) return true;
    switch (e.k) {
      case 'bin': return this.costly(e.a) || this.costly(e.b);
      case 'un': case 'cast': case 'bcast': return this.costly(e.x);
      case 'select': return this.costly(e.c) || this.costly(e.a) || this.costly(e.b);
      case 'ramp': return this.costly(e.base);
      default: return false;
    }
  }

  private nonneg(e: Expr): boolean {
    switch (e.k) {
      case 'const': return e.v >= 0;
      case 'var': return this.loopVars.has(e.name);
      case 'bin':
        if (e.op === 'add' || e.op === 'mul' || e.op === 'min' || e.op === 'max') return this.nonneg(e.a) && this.nonneg(e.b);
        if (e.op === 'div' || e.op === 'mod') return this.nonneg(e.a) && e.b.k === 'const' && e.b.v > 0;
        return false;
      default: return false;
    }
  }

  private divisible(e: Expr, c: number): boolean {
    if (c === 1) return true;
    const v = cfold(e);
    if (v !== undefined) return v % c === 0;
    if (e.k !== 'bin') return false;
    if (e.op === 'add' || e.op === 'sub') return this.divisible(e.a, c) && this.divisible(e.b, c);
    if (e.op === 'mul') {
      const kb = cfold(e.b), ka = cfold(e.a);
      if (kb !== undefined) return kb % c === 0 || this.divisible(e.a, c);
      if (ka !== undefined) return ka % c === 0 || this.divisible(e.b, c);
      return this.divisible(e.a, c) || this.divisible(e.b, c);
    }
    return false;
  }

  /** A vector i32 index as scalar base + constant lane offsets (div/mod by constants resolved). */
  private affine(e: Expr): { base: Expr; d: number[] } | undefined {
    if (e.lanes === 1) return e.t === 'i32' ? { base: e, d: [0, 0, 0, 0] } : undefined;
    if (e.lanes !== 4) return undefined;
    switch (e.k) {
      case 'bcast': return e.x.t === 'i32' ? { base: e.x, d: [0, 0, 0, 0] } : undefined;
      case 'ramp': return { base: e.base, d: [0, 1, 2, 3].map((l) => l * e.stride) };
      case 'bin': {
        if (e.t !== 'i32') return undefined;
        const a = this.affine(e.a), b = this.affine(e.b);
        if (!a || !b) return undefined;
        const uni = (x: { base: Expr; d: number[] }) => (x.d.every((v) => v === 0) ? cfold(x.base) : undefined);
        switch (e.op) {
          case 'add': return { base: E.add(a.base, b.base), d: a.d.map((x, i) => x + b.d[i]) };
          case 'sub': return { base: E.sub(a.base, b.base), d: a.d.map((x, i) => x - b.d[i]) };
          case 'mul': {
            const cb = uni(b), ca = uni(a);
            if (cb !== undefined) return { base: E.mul(a.base, E.i(cb)), d: a.d.map((x) => x * cb) };
            if (ca !== undefined) return { base: E.mul(b.base, E.i(ca)), d: b.d.map((x) => x * ca) };
            return undefined;
          }
          case 'div': case 'mod': {
            const c = uni(b);
            if (c === undefined || c <= 0 || !a.d.every((x) => x >= 0) || !this.nonneg(a.base) || !this.divisible(a.base, c)) return undefined;
            if (e.op === 'div') return { base: E.div(a.base, E.i(c)), d: a.d.map((x) => Math.floor(x / c)) };
            return { base: E.i(0), d: a.d.map((x) => x % c) };
          }
          default: return undefined;
        }
      }
      default: return undefined;
    }
  }

  /** Vector index -> contiguous (ramp 1), uniform, or constant-offset lanes. */
  private vindex(idx: Expr): { kind: 'contig' | 'uniform' | 'offsets'; base: Expr; d: number[] } | undefined {
    if (idx.k === 'ramp' && idx.stride === 1) return { kind: 'contig', base: idx.base, d: [0, 1, 2, 3] };
    const a = this.affine(idx);
    if (!a) return undefined;
    const m = Math.min(...a.d);
    const base = simplifyExpr(m ? E.add(a.base, E.i(m)) : a.base);
    const d = a.d.map((x) => x - m);
    if (d.every((x, i) => x === i)) return { kind: 'contig', base, d };
    if (d.every((x) => x === 0)) return { kind: 'uniform', base, d };
    return { kind: 'offsets', base, d };
  }

  // ---- statements -------------------------------------------------------------------------------

  private stmt(s: Stmt): void {
    switch (s.k) {
      case 'seq': {
        // runs of stores (unrolled tiles) share common subexpressions until a store invalidates them;
        // nested sequences (a tile unrolled over two loops: channel blocks x pixels) are one run
        const flat = (b: Stmt[]): Stmt[] => b.flatMap((x) => (x.k === 'seq' ? flat(x.body) : [x]));
        if (s.body.some((x) => x.k === 'seq')) { this.stmt({ k: 'seq', body: flat(s.body) }); return; }
        for (let i = 0; i < s.body.length;) {
          let j = i;
          while (j < s.body.length && s.body[j].k === 'store') j++;
          if (j - i >= 2) {
            const run = s.body.slice(i, j) as Extract<Stmt, { k: 'store' }>[];
            this.begin();
            this.readsMemory.clear();
            for (let r = 0; r < run.length; r++) {
              this.countRun(run, r);
              if (r + 1 < run.length && this.storePair(run[r], run[r + 1])) { this.invalidate(run[r].buf); r++; continue; }
              this.store(run[r], false);
              this.invalidate(run[r].buf);
            }
            this.memo.clear();
            i = j;
          } else { this.stmt(s.body[i]); i++; }
        }
        return;
      }
      case 'for': this.loop(s); return;
      case 'store': this.store(s); return;
      case 'if':
        this.begin(s.c);
        this.ex(s.c);
        this.e(['if', '']);
        this.stmt(s.then);
        if (s.else) { this.e(['else']); this.stmt(s.else); }
        this.e(['end']);
        return;
      case 'let': {
        const l = this.fn.local(wtype(s.t));
        this.begin(s.val);
        this.ex(s.val);
        this.e(['local.set', l]);
        const prev = this.vars.get(s.v);
        this.vars.set(s.v, l);
        this.stmt(s.body);
        if (prev === undefined) this.vars.delete(s.v); else this.vars.set(s.v, prev);
        return;
      }
      case 'alloc': this.alloc(s); return;
      case 'barrier': throw new Error('wasm: barrier has no meaning on a CPU target');
    }
  }

  private loop(s: Extract<Stmt, { k: 'for' }>): void {
    const n = cfold(s.ext);
    if (n !== undefined && n <= 0) return;
    const iv = this.fn.local('i32');
    const prev = this.vars.get(s.v);
    let extL = -1;
    if (n === undefined) {
      extL = this.fn.local('i32');
      this.begin(s.ext);
      this.ex(s.ext);
      this.e(['local.set', extL], ['i32.const', 0], ['local.set', iv], ['block', ''], ['local.get', extL], ['i32.const', 0], ['i32.le_s'], ['br_if', 0]);
    } else {
      this.e(['i32.const', 0], ['local.set', iv]);
    }
    this.vars.set(s.v, iv);
    const wasLoopVar = this.loopVars.has(s.v);
    this.loopVars.add(s.v);
    const ctx: LoopCtx = { v: s.v, iv, inner: bound(s), at: this.code.length, ptrs: new Map(), init: [] };
    this.loopCtx.push(ctx);
    this.e(['loop', '']);
    this.stmt(s.body);
    this.loopCtx.pop();
    // the strength-reduced addresses: set before the loop (at iteration 0), stepped at its end
    this.code.splice(ctx.at, 0, ...ctx.init);
    for (const p of ctx.ptrs.values()) {
      this.e(['local.get', p.local], ['i32.const', p.step]);
      if (p.carry) {
        // v % c == c - 1 (v >= 0): the step that crosses into the next v / c
        const { c } = p.carry;
        this.e(['i32.const', p.carry.step], ['local.get', iv], ['i32.const', c & (c - 1) ? c : c - 1], [c & (c - 1) ? 'i32.rem_u' : 'i32.and'], ['i32.const', c - 1], ['i32.ne'], ['select']);
      }
      this.e(['i32.add'], ['local.set', p.local]);
    }
    if (!wasLoopVar) this.loopVars.delete(s.v);
    this.e(['local.get', iv], ['i32.const', 1], ['i32.add'], ['local.tee', iv]);
    if (n === undefined) this.e(['local.get', extL]); else this.e(['i32.const', n]);
    this.e(['i32.lt_s'], ['br_if', 0], ['end']);
    if (n === undefined) this.e(['end']);
    if (prev === undefined) this.vars.delete(s.v); else this.vars.set(s.v, prev);
  }

  private alloc(s: Extract<Stmt, { k: 'alloc' }>): void {
    const b = s.buf;
    const n = Math.max(1, b.shape.reduce((a, c) => a * c, 1));
    const prev = this.bufs.get(b.name);
    const reg = this.localize(b, s.body, n);
    let savedTop = this.frameTop;
    if (reg) this.bufs.set(b.name, reg);
    else {
      const off = Math.ceil(this.frameTop / 16) * 16;
      this.frameTop = off + n * WIDTH[b.dtype] + 16;
      this.scratchBytes = Math.max(this.scratchBytes, this.frameTop);
      const addr = this.env.scratchBase + off;
      this.bufs.set(b.name, { kind: 'mem', base: { addr }, dtype: b.dtype, minBase: addr });
    }
    this.stmt(s.body);
    this.frameTop = savedTop;
    if (prev) this.bufs.set(b.name, prev); else this.bufs.delete(b.name);
  }

  /** Locals for a scratch buffer indexed only by constants (register tiles after unrolling). */
  private localize(b: Buffer, body: Stmt, n: number): BufInfo | undefined {
    if (n > 256) return undefined;
    let scalar = 0, vector = 0, bad = false;
    const idxs: number[] = [];
    const check = (idx: Expr, lanes: number) => {
      if (lanes === 1 && idx.lanes === 1) {
        const c = cfold(idx);
        if (c === undefined || c < 0 || c >= n) bad = true; else { scalar++; idxs.push(c); }
      } else if (idx.k === 'ramp' && idx.stride === 1 && idx.lanes === 4) {
        const c = cfold(idx.base);
        if (c === undefined || c % 4 !== 0 || c < 0 || c + 4 > n) bad = true; else { vector++; idxs.push(c / 4); }
      } else bad = true;
    };
    exprsOf(body, (e) => { if (e.k === 'load' && e.buf === b.name) check(e.idx, e.lanes); });
    const vs = (x: Stmt): void => {
      if (x.k === 'store' && x.buf === b.name) check(x.idx, x.val.lanes > 1 ? x.val.lanes : x.idx.lanes);
      if (x.k === 'for' || x.k === 'let') vs(x.body);
      if (x.k === 'alloc') { if (x.buf.name !== b.name) vs(x.body); }
      if (x.k === 'if') { vs(x.then); if (x.else) vs(x.else); }
      if (x.k === 'seq') x.body.forEach(vs);
    };
    vs(body);
    if (bad || (scalar && vector)) return undefined;
    if (vector && !VEC_OK.has(b.dtype)) return undefined;
    const slots = new Map<number, number>();
    for (const i of [...new Set(idxs)].sort((x, y) => x - y)) slots.set(i, this.fn.local(vector ? 'v128' : wtype(b.dtype)));
    return { kind: 'reg', dtype: b.dtype, vec: vector > 0, slots };
  }

  private buf(name: string): BufInfo {
    const b = this.bufs.get(name);
    if (!b) throw new Error(`wasm: kernel ${this.k.name}: unknown buffer ${name}`);
    return b;
  }

  /**
   * idx as sum(coef * atom) + c (atoms: variables and non-affine subexpressions), rebuilt in a
   * canonical order: unrolled rows `(o*8 + 3)*128 + r` and `(o*8 + 4)*128 + r` share the dynamic part
   * `o*1024 + r` (computed once through the memo) and differ only in the memarg offset. Exact in i32
   * (add and multiplication by constants distribute modulo 2^32).
   */
  private linearize(idx: Expr): { dyn?: Expr; c: number } {
    const d = idx.lanes === 1 && idx.t === 'i32' ? linearTerms(idx, cfold, (e) => this.key(e)) : undefined;
    if (!d) return splitIdx(idx);
    return { dyn: d.ts.length ? sum(d.ts, 0) : undefined, c: d.c };
  }

  /** Push the dynamic part of the address of buf[idx]; returns the static memarg offset. */
  private addr(b: Extract<BufInfo, { kind: 'mem' }>, idx: Expr): number {
    const w = WIDTH[b.dtype];
    const { dyn, c } = this.linearize(idx);
    const pushBase = () => { if ('local' in b.base) this.e(['local.get', b.base.local]); else this.e(['i32.const', b.base.addr]); };
    const cw = c * w;
    const foldable = cw >= 0 && cw <= b.minBase;
    if (!dyn) {
      if (cw >= 0) { pushBase(); return cw; }
      pushBase(); this.e(['i32.const', cw], ['i32.add']); return 0;
    }
    // the byte address base + dyn * w, kept in a local for the rest of the statement run
    const ak = `A${'local' in b.base ? `l${b.base.local}` : `a${b.base.addr}`}*${w}:${this.key(dyn)}`;
    const ptr = this.pointer(ak, dyn, w, pushBase);
    const have = ptr ?? (this.noMemo ? undefined : this.memo.get(ak));
    if (have !== undefined) this.e(['local.get', have]);
    else {
      pushBase();
      this.ex(dyn);
      if (LOG2[w]) this.e(['i32.const', LOG2[w]], ['i32.shl']);
      this.e(['i32.add']);
      if (!this.noMemo && this.uncond) { const l = this.fn.local('i32'); this.e(['local.tee', l]); this.memo.set(ak, l); }
    }
    if (foldable) return cw;
    if (cw) this.e(['i32.const', cw], ['i32.add']);
    return 0;
  }

  /**
   * Strength reduction: an address base + (rest + k*v) * w in the innermost serial loop over v, rest
   * invariant in that loop, is a local set to base + rest * w before the loop and stepped by k * w at
   * the end of each iteration (one add per iteration for all the accesses that share it, where V8
   * recomputed two `lea` per access from v). Terms in v / c and v % c (a one-loop reduction over
   * blocked channels, `in[(r / 4) * HW * 4 + r % 4]`) step by one amount, or by another after an
   * iteration with v % c = c - 1 (a select on v: and, compare, select where V8 computed div, mod,
   * multiply and adds per access). Returns that local, or undefined.
   */
  private pointer(ak: string, dyn: Expr, w: number, pushBase: () => void, level = this.loopCtx.length - 1): number | undefined {
    const ctx = this.loopCtx[level];
    if (!ctx) return undefined;
    const have = ctx.ptrs.get(ak);
    if (have) return have.local;
    const d = linearTerms(dyn, cfold, (e) => this.key(e));
    if (!d) return undefined;
    const isV = (e: Expr) => e.k === 'var' && e.name === ctx.v;
    // terms in v, v / c and v % c (one constant c > 0): a one-loop reduction over blocked channels
    const byC = (t: { atom: Expr }) => t.atom.k === 'bin' && (t.atom.op === 'div' || t.atom.op === 'mod') && isV(t.atom.a) ? cfold(t.atom.b) : undefined;
    const vt = d.ts.find((t) => isV(t.atom));
    const qm = d.ts.filter((t) => (byC(t) ?? 0) > 0);
    const c = qm.length ? byC(qm[0])! : 0;
    if ((!vt && !qm.length) || qm.some((t) => byC(t) !== c)) return undefined;
    const kq = qm.reduce((a, t) => a + ((t.atom as Extract<Expr, { k: 'bin' }>).op === 'div' ? t.k : 0), 0);
    const km = qm.reduce((a, t) => a + ((t.atom as Extract<Expr, { k: 'bin' }>).op === 'mod' ? t.k : 0), 0);
    const rest = d.ts.filter((t) => t !== vt && !qm.includes(t));
    if (!rest.every((t) => invariantAtom(t.atom, ctx.inner))) return undefined;
    const local = this.fn.local('i32');
    const e = rest.length ? sum(rest, 0) : undefined;
    // its value at the loop's first iteration: the enclosing loop's own pointer to base + rest * w, when
    // rest moves with that loop (nested reductions: one add per level), else computed
    const baseKey = ak.slice(0, ak.indexOf(':') + 1);
    const outer = e && level > 0 ? this.pointer(`${baseKey}${this.key(e)}`, e, w, pushBase, level - 1) : undefined;
    const code = this.code;
    this.code = ctx.init;
    this.noMemo++;
    if (outer !== undefined) this.e(['local.get', outer]);
    else {
      pushBase();
      if (e) {
        this.ex(e);
        if (LOG2[w]) this.e(['i32.const', LOG2[w]], ['i32.shl']);
        this.e(['i32.add']);
      }
    }
    if (d.c) this.e(['i32.const', Math.imul(d.c, w)], ['i32.add']);
    this.e(['local.set', local]);
    this.noMemo--;
    this.code = code;
    const kv = vt?.k ?? 0;
    const step = Math.imul((kv + km) | 0, w), over = Math.imul((kv + kq - Math.imul(c - 1, km)) | 0, w);
    ctx.ptrs.set(ak, c && over !== step ? { local, step, carry: { c, step: over } } : { local, step });
    return local;
  }

  /**
   * A store to `buf` ends the memoized loads it may change: of that register buffer, or of any memory
   * buffer (the memory plan may place a dead input where an output goes), except the kernel's weights,
   * which nothing writes (a bias or scale broadcast, a zero point, stays in its local across the stores
   * of a tile's epilogue).
   */
  private invalidate(buf: string): void {
    for (const k of [...this.memo.keys()]) if (this.kills(buf, k)) this.memo.delete(k);
  }

  /** whether a store to `buf` changes the value of the expression keyed k */
  private kills(buf: string, k: string): boolean {
    if (this.buf(buf).kind === 'reg') return k.includes(`:${buf}[`);
    let m = this.readsMemory.get(k);
    if (m === undefined) this.readsMemory.set(k, m = [...k.matchAll(/L\w+?\d+:([A-Za-z0-9_]+)\[/g)].some((x) => this.bufs.get(x[1])?.kind !== 'reg' && !this.readOnly.has(x[1])));
    return m;
  }

  /**
   * Uses, from store r of a run on, of each subexpression that a value kept now could serve: a use
   * after a store that changes it does not count (an accumulator read by every step of an unrolled
   * reduction would otherwise be kept in a new local at each step that nothing reads: in V8 a
   * loop-carried value that is never used, for every step).
   */
  private countRun(run: Extract<Stmt, { k: 'store' }>[], r: number): void {
    this.counts.clear();
    const stored = new Set<string>();
    for (let s = r; s < run.length; s++) {
      this.countUses([run[s].idx, run[s].val], stored);
      stored.add(run[s].buf);
    }
  }

  private store(s: Extract<Stmt, { k: 'store' }>, fresh = true): void {
    const b = this.buf(s.buf);
    if (fresh) this.begin(s.idx, s.val);
    const vector = s.val.lanes > 1 || s.idx.lanes > 1;
    if (b.kind === 'reg') {
      const slot = vector ? cfold((s.idx as Extract<Expr, { k: 'ramp' }>).base)! / 4 : cfold(s.idx)!;
      if (vector) this.vx(s.val); else this.ex(s.val);
      this.e(['local.set', b.slots.get(slot)!]);
      return;
    }
    if (!vector) {
      const off = this.addr(b, s.idx);
      this.ex(s.val);
      if (isHalfT(b.dtype)) this.e(...halfStore(this.env.mb, b.dtype, s.val.t));
      this.e([STORE[b.dtype], LOG2[WIDTH[b.dtype]], off]);
      return;
    }
    const t = b.dtype;
    const vi0 = s.idx.lanes > 1 ? this.vindex(s.idx) : undefined;
    if (vi0?.kind === 'contig') {
      const off = this.addr(b, vi0.base);
      const sat = s.val.lanes > 1 ? saturatedByNarrow(s.val, t) : undefined;
      if (sat) {
        // the clamp into the byte type is the narrowing instructions' own saturation
        const tl = this.fn.local('v128');
        this.vx(sat);
        this.e(['local.tee', tl], ['local.get', tl], ['i16x8.narrow_i32x4_s'], ['local.tee', tl], ['local.get', tl],
          [t === 'i8' ? 'i8x16.narrow_i16x8_s' : 'i8x16.narrow_i16x8_u'], ['v128.store32_lane', 0, off, 0]);
        return;
      }
      this.vx(s.val.lanes > 1 ? s.val : E.bcast(s.val, 4));
      this.vstoreContig(t, off);
      return;
    }
    // scatter
    const vi = this.fn.local('v128'), vv = this.fn.local('v128');
    this.vx(s.idx.lanes > 1 ? s.idx : E.bcast(s.idx, 4)); this.e(['local.set', vi]);
    this.vx(s.val.lanes > 1 ? s.val : E.bcast(s.val, 4)); this.e(['local.set', vv]);
    const w = WIDTH[t];
    for (let l = 0; l < 4; l++) {
      if ('local' in b.base) this.e(['local.get', b.base.local]); else this.e(['i32.const', b.base.addr]);
      this.e(['local.get', vi], ['i32x4.extract_lane', l]);
      if (LOG2[w]) this.e(['i32.const', LOG2[w]], ['i32.shl']);
      this.e(['i32.add']);
      this.e(['local.get', vv]);
      if (isHalfT(t)) this.e(['f32x4.extract_lane', l], ...halfStore(this.env.mb, t, 'f32'));
      else this.laneOut(t, l);
      this.e([STORE[t], LOG2[w], 0]);
    }
  }

  /**
   * Two 4-lane stores of 32-bit values at stride 2, the second one element after the first (an
   * output row of 2-wide tiles: Winograd's output transform), as two interleaving shuffles and two
   * v128 stores instead of eight lane stores. False (nothing emitted) when the pair is not that.
   */
  private storePair(s1: Extract<Stmt, { k: 'store' }>, s2: Extract<Stmt, { k: 'store' }>): boolean {
    const b = this.buf(s1.buf);
    if (s2.buf !== s1.buf || b.kind !== 'mem' || WIDTH[b.dtype] !== 4 || s1.idx.lanes !== 4 || s2.idx.lanes !== 4) return false;
    const v1 = this.vindex(s1.idx), v2 = this.vindex(s2.idx);
    const stride2 = (v: typeof v1) => v?.kind === 'offsets' && v.d.join() === '0,2,4,6';
    if (!stride2(v1) || !stride2(v2)) return false;
    const l1 = this.linearize(v1!.base), l2 = this.linearize(v2!.base);
    const dynKey = (d: Expr | undefined) => (d ? this.key(d) : '');
    if (l2.c - l1.c !== 1 || dynKey(l1.dyn) !== dynKey(l2.dyn)) return false;
    let reads = false;
    for (const v of [s1.val, s2.val]) exprsOf({ k: 'store', buf: '', idx: E.i(0), val: v }, (e) => { if (e.k === 'load' && e.buf === s1.buf) reads = true; });
    if (reads) return false;
    const a = this.fn.local('v128'), c = this.fn.local('v128'), ad = this.fn.local('i32');
    this.vx(s1.val.lanes > 1 ? s1.val : E.bcast(s1.val, 4)); this.e(['local.set', a]);
    this.vx(s2.val.lanes > 1 ? s2.val : E.bcast(s2.val, 4)); this.e(['local.set', c]);
    const off = this.addr(b, v1!.base);
    this.e(['local.tee', ad], ['local.get', a], ['local.get', c], ['i8x16.shuffle', [0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23]], ['v128.store', 4, off]);
    this.e(['local.get', ad], ['local.get', a], ['local.get', c], ['i8x16.shuffle', [8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31]], ['v128.store', 4, off + 16]);
    return true;
  }

  private vstoreContig(t: ScalarType, off: number): void {
    switch (t) {
      case 'f32': case 'i32': case 'u32': this.e(['v128.store', 4, off]); return;
      case 'i16': case 'u16': case 'f16': case 'bf16': {
        const tl = this.fn.local('v128');
        if (isHalfT(t)) this.e(...f32x4ToHalf(this.fn, t));
        this.e(['local.tee', tl], ['local.get', tl], [t === 'i16' ? 'i16x8.narrow_i32x4_s' : 'i16x8.narrow_i32x4_u'], ['v128.store64_lane', 1, off, 0]);
        return;
      }
      default: {
        const tl = this.fn.local('v128');
        if (t === 'bool') this.e(['v128.const', v128Of('i32', [1, 1, 1, 1])], ['v128.and']);
        const s = t === 'i8';
        this.e(['local.tee', tl], ['local.get', tl], [s ? 'i16x8.narrow_i32x4_s' : 'i16x8.narrow_i32x4_u'], ['local.tee', tl], ['local.get', tl],
          [s ? 'i8x16.narrow_i16x8_s' : 'i8x16.narrow_i16x8_u'], ['v128.store32_lane', 0, off, 0]);
      }
    }
  }

  /** v128 on the stack -> scalar lane l in scalar representation */
  private laneOut(t: ScalarType, l: number): void {
    if (t === 'f32') this.e(['f32x4.extract_lane', l]);
    else if (t === 'bool') this.e(['i32x4.extract_lane', l], ['i32.const', 1], ['i32.and']);
    else this.e(['i32x4.extract_lane', l]);
  }

  // ---- scalar expressions -----------------------------------------------------------------------

  private norm(t: ScalarType): void {
    switch (t) {
      case 'i8': this.e(['i32.extend8_s']); return;
      case 'i16': this.e(['i32.extend16_s']); return;
      case 'u8': this.e(['i32.const', 0xff], ['i32.and']); return;
      case 'u16': this.e(['i32.const', 0xffff], ['i32.and']); return;
      default: return;
    }
  }

  private constOf(v: number, t: ScalarType): Instr {
    switch (wtype(t)) {
      case 'f32': return ['f32.const', v];
      case 'f64': return ['f64.const', v];
      case 'i64': return ['i64.const', Number.isFinite(v) ? BigInt.asIntN(64, BigInt(Math.trunc(v))) : 0n];
      default: return ['i32.const', t === 'bool' ? (v ? 1 : 0) : Number.isFinite(v) ? Number(BigInt.asIntN(32, BigInt(Math.trunc(v)))) : 0];
    }
  }

  private tmp(t: ValType): number { return this.fn.local(t); }

  ex(e: Expr): void {
    if (e.lanes > 1) throw new Error(`wasm: vector expression ${e.k} in scalar context`);
    this.memoized(e, false, () => this.ex0(e));
  }

  private ex0(e: Expr): void {
    switch (e.k) {
      case 'const': this.e(this.constOf(e.v, e.t)); return;
      case 'var': {
        const l = this.vars.get(e.name);
        if (l === undefined) throw new Error(`wasm: kernel ${this.k.name}: unbound variable ${e.name}`);
        this.e(['local.get', l]);
        return;
      }
      case 'load': {
        const b = this.buf(e.buf);
        if (b.kind === 'reg') { this.e(['local.get', b.slots.get(cfold(e.idx)!)!]); return; }
        const off = this.addr(b, e.idx);
        this.e([LOAD[b.dtype], LOG2[WIDTH[b.dtype]], off]);
        if (isHalfT(b.dtype)) this.e(...halfLoad(this.env.mb, b.dtype));
        return;
      }
      case 'bin': this.bin(e); return;
      case 'un': this.un(e); return;
      case 'call': this.call(e); return;
      case 'select': {
        if (this.costly(e.a) || this.costly(e.b)) {
          this.ex(e.c);
          this.e(['if', wtype(e.t)]);
          const u = this.uncond;
          this.uncond = false;
          this.ex(e.a);
          this.e(['else']);
          this.ex(e.b);
          this.uncond = u;
          this.e(['end']);
        } else {
          this.ex(e.a); this.ex(e.b); this.ex(e.c); this.e(['select']);
        }
        return;
      }
      case 'cast': this.cast(e.x, e.t); return;
      case 'bcast': case 'ramp': case 'reduce': throw new Error(`wasm: unexpected scalar ${e.k}`);
    }
  }

  private helper(name: string, params: ValType[], result: ValType, body: Instr[]): string {
    if (!this.env.mb.hasFunc(name)) {
      const f = new Func(name, params, [result]);
      f.emit(...body);
      this.env.mb.addFunc(f);
    }
    return name;
  }

  private hostMath(fn: string): string {
    const n = HOST_MATH[fn];
    return this.env.mb.addImport({ module: 'Math', name: fn, params: new Array(n).fill('f64'), results: ['f64'], as: `Math_${fn}` });
  }

  private bin(e: Extract<Expr, { k: 'bin' }>): void {
    const t = e.a.t, W = wtype(t), f = isF(t);
    const sg = isSigned(t);
    switch (e.op) {
      case 'add': case 'sub': case 'mul':
        this.ex(e.a); this.ex(e.b); this.e([`${W}.${e.op}`]); if (!f) this.norm(t); return;
      case 'div': {
        if (f) { this.ex(e.a); this.ex(e.b); this.e([`${W}.div`]); return; }
        const c = cfold(e.b) ?? (e.b.k === 'const' && e.b.lanes === 1 ? e.b.v : undefined);
        if (c !== undefined && c !== 0 && c !== -1 && Number.isInteger(c)) {
          // constant divisor: no zero / overflow checks needed
          if (c === 1) { this.ex(e.a); return; }
          if (e.a.k === 'bin' && e.a.op === 'mul' && cfold(e.a.b) === c && t === 'i32') { this.ex(e.a.a); return; }
          const p2 = c > 0 && (c & (c - 1)) === 0 && c < 2 ** 30;
          this.ex(e.a);
          if (p2 && (t === 'i32' ? this.nonneg(e.a) : !sg)) { this.e([`${W}.const`, Math.log2(c)], [`${W}.shr_u`]); return; }
          this.e([`${W}.const`, c], [`${W}.div_${sg ? 's' : 'u'}`]); this.norm(t);
          return;
        }
        // legalized (loop-ir legalize.ts): the divisor is never 0 or -1 here
        this.ex(e.a); this.ex(e.b); this.e([`${W}.div_${sg ? 's' : 'u'}`]); this.norm(t);
        return;
      }
      case 'mod': {
        if (f) { this.fmath('fmod', t, [e.a, e.b]); return; }
        const c = cfold(e.b) ?? (e.b.k === 'const' && e.b.lanes === 1 ? e.b.v : undefined);
        if (c !== undefined && Number.isInteger(c)) {
          if (c === 0 || c === -1 || c === 1) { this.e([`${W}.const`, 0]); return; }
          const p2 = c > 0 && (c & (c - 1)) === 0 && c < 2 ** 30;
          this.ex(e.a);
          if (p2 && (t === 'i32' ? this.nonneg(e.a) : !sg)) { this.e([`${W}.const`, c - 1], [`${W}.and`]); return; }
          this.e([`${W}.const`, c], [`${W}.rem_${sg ? 's' : 'u'}`]);
          return;
        }
        this.ex(e.a); this.ex(e.b); this.e([`${W}.rem_${sg ? 's' : 'u'}`]);
        return;
      }
      case 'min': case 'max': {
        if (f) { this.ex(e.a); this.ex(e.b); this.e([`${W}.${e.op}`]); return; }
        const ta = this.tmp(W), tb = this.tmp(W);
        this.ex(e.a); this.e(['local.set', ta]); this.ex(e.b); this.e(['local.set', tb]);
        this.e(['local.get', ta], ['local.get', tb], ['local.get', ta], ['local.get', tb], [`${W}.${e.op === 'min' ? 'lt' : 'gt'}_${sg ? 's' : 'u'}`], ['select']);
        return;
      }
      case 'pow': {
        if (f) { this.fmath('pow', t, [e.a, e.b]); return; }
        this.toF64(e.a); this.toF64(e.b); this.e(['call', this.hostMath('pow')]);
        this.f2i('f64', t);
        return;
      }
      case 'and': case 'or': case 'xor':
        this.ex(e.a); this.ex(e.b); this.e([`${W}.${e.op}`]); return;
      case 'shl': case 'shr': {
        const bits = W === 'i64' ? 64 : 32;
        const tb = this.tmp(W);
        this.ex(e.a); this.ex(e.b); this.e(['local.tee', tb]);
        if (e.op === 'shr' && sg) {
          // amount >= width: arithmetic shift by width-1 (floor semantics)
          this.e([`${W}.const`, bits - 1], ['local.get', tb], [`${W}.const`, bits - 1], [`${W}.lt_u`], ['select'], [`${W}.shr_s`]);
          return;
        }
        this.e([`${W}.${e.op === 'shl' ? 'shl' : 'shr_u'}`]);
        if (e.op === 'shl') this.norm(t);
        this.e([`${W}.const`, 0], ['local.get', tb], [`${W}.const`, bits], [`${W}.lt_u`], ['select']);
        return;
      }
      case 'eq': case 'ne':
        this.ex(e.a); this.ex(e.b); this.e([`${W}.${e.op}`]); return;
      case 'lt': case 'le': case 'gt': case 'ge':
        this.ex(e.a); this.ex(e.b); this.e([f ? `${W}.${e.op}` : `${W}.${e.op}_${sg ? 's' : 'u'}`]); return;
    }
  }

  private un(e: Extract<Expr, { k: 'un' }>): void {
    const t = e.t, W = wtype(t);
    if (isF(t)) { this.ex(e.x); this.e([`${W}.${e.op === 'not' ? 'neg' : e.op}`]); return; }
    switch (e.op) {
      case 'neg': this.e([`${W}.const`, 0]); this.ex(e.x); this.e([`${W}.sub`]); this.norm(t); return;
      case 'not':
        this.ex(e.x);
        if (t === 'bool') { this.e(['i32.eqz']); return; }
        this.e([`${W}.const`, -1], [`${W}.xor`]); this.norm(t); return;
      case 'abs': {
        if (!isSigned(t)) { this.ex(e.x); return; }
        const tx = this.tmp(W);
        this.ex(e.x); this.e(['local.set', tx]);
        this.e([`${W}.const`, 0], ['local.get', tx], [`${W}.sub`], ['local.get', tx], ['local.get', tx], [`${W}.const`, 0], [`${W}.lt_s`], ['select']);
        this.norm(t);
        return;
      }
    }
  }

  /** value of e (any type) as f64 */
  private toF64(e: Expr): void {
    this.ex(e);
    const t = e.t;
    if (t === 'f64') return;
    if (t === 'f32') { this.e(['f64.promote_f32']); return; }
    if (is64(t)) { this.e([t === 'i64' ? 'f64.convert_i64_s' : 'f64.convert_i64_u']); return; }
    this.e([isSigned(t) ? 'f64.convert_i32_s' : 'f64.convert_i32_u']);
  }

  /** float (on the stack, type `from`) -> integer type t: non-finite -> 0, else truncate and wrap */
  private f2i(from: 'f32' | 'f64', t: ScalarType): void {
    const tx = this.tmp(from);
    this.e(['local.set', tx], ['local.get', tx]);
    if (from === 'f32') this.e(['f64.promote_f32']);
    if (is64(t)) {
      if (t === 'u64') {
        const td = this.tmp('f64');
        this.e(['local.tee', td], ['i64.trunc_sat_f64_u'], ['local.get', td], ['i64.trunc_sat_f64_s'], ['local.get', td], ['f64.const', 0], ['f64.ge'], ['select']);
      } else this.e(['i64.trunc_sat_f64_s']);
      this.e(['i64.const', 0n]);
    } else {
      this.e(['i64.trunc_sat_f64_s'], ['i32.wrap_i64']);
      if (t === 'bool') this.e(['i32.const', 0], ['i32.ne']); else this.norm(t);
      this.e(['i32.const', 0]);
    }
    this.e(['local.get', tx], [`${from}.abs`], [`${from}.const`, Infinity], [`${from}.lt`], ['select']);
  }

  /** float (on the stack, type `from`) -> integer type t, saturating (loop-ir cast.ts): trunc_sat, narrow types clamped first */
  private f2iSat(from: 'f32' | 'f64', t: ScalarType): void {
    if (from === 'f32') this.e(['f64.promote_f32']);
    if (is64(t)) { this.e([`i64.trunc_sat_f64_${t === 'i64' ? 's' : 'u'}`]); return; }
    if (t === 'i32' || t === 'u32') { this.e([`i32.trunc_sat_f64_${t === 'i32' ? 's' : 'u'}`]); return; }
    const [lo, hi] = INT_RANGE[t]!; // f64.max/min keep NaN, which trunc_sat makes 0
    this.e(['f64.const', lo], ['f64.max'], ['f64.const', hi], ['f64.min'], ['i32.trunc_sat_f64_s']);
  }

  private cast(x: Expr, t: ScalarType): void {
    const s = x.t;
    this.ex(x);
    if (s === t) return;
    if (t === 'bool') {
      if (isF(s)) this.e([`${s}.const`, 0], [`${s}.ne`]);
      else if (is64(s)) this.e(['i64.const', 0n], ['i64.ne']);
      else this.e(['i32.const', 0], ['i32.ne']);
      return;
    }
    if (isF(t)) {
      if (isF(s)) { this.e([t === 'f64' ? 'f64.promote_f32' : 'f32.demote_f64']); return; }
      if (is64(s)) { this.e([`${t}.convert_i64_${s === 'i64' ? 's' : 'u'}`]); return; }
      this.e([`${t}.convert_i32_${isSigned(s) ? 's' : 'u'}`]);
      return;
    }
    if (isF(s)) { this.f2iSat(s as 'f32' | 'f64', t); return; }
    if (is64(t)) {
      if (!is64(s)) this.e([isSigned(s) ? 'i64.extend_i32_s' : 'i64.extend_i32_u']);
      return;
    }
    if (is64(s)) this.e(['i32.wrap_i64']);
    this.norm(t);
  }

  /** f32/f64 call of a host Math function (f32 goes through f64 and back) */
  private fmath(fn: string, t: ScalarType, args: Expr[]): void {
    for (const a of args) this.toF64(a);
    this.e(['call', this.hostMath(fn)]);
    if (t === 'f32') this.e(['f32.demote_f64']);
    else if (t !== 'f64') this.f2i('f64', t);
  }

  private call(e: Extract<Expr, { k: 'call' }>): void {
    const t = e.args[0].t, W = wtype(t);
    const x = e.args[0];
    if (e.fn === 'check_index' && e.args[1].k === 'const') {
      this.ex(x);
      this.e(...checkIndexInline(this.env.mb, t, e.args[1].v, this.tmp(W)));
      return;
    }
    if (e.fn === 'dot2') {
      // lo16(p) * lo16(q) + hi16(p) * hi16(q) (loop-ir intrinsics.ts)
      const tp = this.tmp('i32'), tq = this.tmp('i32');
      this.ex(e.args[0]); this.e(['local.set', tp]); this.ex(e.args[1]); this.e(['local.set', tq]);
      const lo = (v: number): Instr[] => [['local.get', v], ['i32.const', 16], ['i32.shl'], ['i32.const', 16], ['i32.shr_s']];
      const hi = (v: number): Instr[] => [['local.get', v], ['i32.const', 16], ['i32.shr_s']];
      this.e(...lo(tp), ...lo(tq), ['i32.mul'], ...hi(tp), ...hi(tq), ['i32.mul'], ['i32.add']);
      return;
    }
    if (isCheck(e.fn)) {
      for (const a of e.args) this.ex(a);
      this.e(['call', checkFunc(this.env.mb, e.fn, t)]);
      return;
    }
    if (!isF(t)) {
      // integer arguments: compute in f64 like the interpreter, then back
      switch (e.fn) {
        case 'isnan': case 'isinf': this.e(['i32.const', 0]); return;
        case 'fabs': this.un({ k: 'un', op: 'abs', x, t, lanes: 1 }); return;
        case 'sign': {
          const tx = this.tmp(W);
          this.ex(x); this.e(['local.set', tx]);
          this.e(['local.get', tx], [`${W}.const`, 0], [`${W}.gt_s`], ['local.get', tx], [`${W}.const`, 0], [`${W}.lt_s`], ['i32.sub']);
          if (W === 'i64') this.e(['i64.extend_i32_s']);
          return;
        }
        case 'floor': case 'ceil': case 'trunc': case 'round_even': this.ex(x); return;
        default: {
          const fe: Expr = { ...e, args: e.args.map((a) => E.cast(a, 'f64')), t: 'f64' };
          this.call(fe as Extract<Expr, { k: 'call' }>);
          this.f2i('f64', t);
          return;
        }
      }
    }
    switch (e.fn) {
      case 'sqrt': case 'floor': case 'ceil': case 'trunc':
        this.ex(x); this.e([`${W}.${e.fn}`]); return;
      case 'round_even': this.ex(x); this.e([`${W}.nearest`]); return;
      case 'fabs': this.ex(x); this.e([`${W}.abs`]); return;
      case 'rsqrt': this.e([`${W}.const`, 1]); this.ex(x); this.e([`${W}.sqrt`], [`${W}.div`]); return;
      case 'isnan': { const tx = this.tmp(W); this.ex(x); this.e(['local.tee', tx], ['local.get', tx], [`${W}.ne`]); return; }
      case 'isinf': this.ex(x); this.e([`${W}.abs`], [`${W}.const`, Infinity], [`${W}.eq`]); return;
      case 'sign': {
        const tx = this.tmp(W);
        this.ex(x); this.e(['local.set', tx]);
        // x > 0 ? 1 : x < 0 ? -1 : x
        this.e([`${W}.const`, 1], [`${W}.const`, -1], ['local.get', tx], ['local.get', tx], [`${W}.const`, 0], [`${W}.lt`], ['select'],
          ['local.get', tx], [`${W}.const`, 0], [`${W}.gt`], ['select']);
        return;
      }
      case 'fma':
        if (t === 'f32') {
          this.ex(e.args[0]); this.e(['f64.promote_f32']); this.ex(e.args[1]); this.e(['f64.promote_f32'], ['f64.mul']);
          this.ex(e.args[2]); this.e(['f64.promote_f32'], ['f64.add'], ['f32.demote_f64']);
          return;
        }
        this.ex(e.args[0]); this.ex(e.args[1]); this.e(['f64.mul']); this.ex(e.args[2]); this.e(['f64.add']);
        return;
      case 'exp': case 'log': case 'tanh': case 'sigmoid':
        if (t === 'f32' || e.fn === 'exp') { this.ex(x); this.e(['call', needMath(this.env.mb, e.fn, t === 'f32' ? 'f32' : 'f64')]); return; }
        this.fmath(e.fn, t, [x]); return;
      default:
        if (HOST_MATH[e.fn]) { this.fmath(e.fn, t, e.args); return; }
        throw new Error(`wasm: unknown intrinsic ${e.fn}`);
    }
  }

  // ---- vector expressions (4 lanes in a v128) ---------------------------------------------------

  private vconst(v: number, t: ScalarType): Instr {
    if (t === 'f32') return ['v128.const', v128Of('f32', [v, v, v, v])];
    const x = t === 'bool' ? (v ? -1 : 0) : Number(BigInt.asIntN(32, BigInt(Math.trunc(Number.isFinite(v) ? v : 0))));
    return ['v128.const', v128Of('i32', [x, x, x, x])];
  }

  private vnorm(t: ScalarType): void {
    switch (t) {
      case 'i8': case 'i16': { const s = t === 'i8' ? 24 : 16; this.e(['i32.const', s], ['i32x4.shl'], ['i32.const', s], ['i32x4.shr_s']); return; }
      case 'u8': this.e(this.vconst(0xff, 'i32'), ['v128.and']); return;
      case 'u16': this.e(this.vconst(0xffff, 'i32'), ['v128.and']); return;
      default: return;
    }
  }

  vx(e: Expr): void {
    if (e.lanes === 1) { this.ex(e); this.splat(e.t); return; }
    this.memoized(e, true, () => this.vx0(e));
  }

  private vx0(e: Expr): void {
    switch (e.k) {
      case 'const': this.e(this.vconst(e.v, e.t)); return;
      case 'bcast': {
        const x = e.x;
        const b = x.k === 'load' ? this.buf(x.buf) : undefined;
        if (x.k === 'load' && b?.kind === 'mem' && !isHalfT(b.dtype) && (x.t === 'f32' || x.t === 'i32' || x.t === 'u32') && !(!this.noMemo && this.memo.has(this.key(x)))) {
          const off = this.addr(b, x.idx);
          this.e(['v128.load32_splat', 2, off]);
          return;
        }
        // f32 of a scalar integer: splat the integer, convert the vector. V8's scalar f32.convert_i32
        // (cvtsi2ss) merges into its destination register's old lanes, a false dependency on whatever
        // last wrote it: an int8 depthwise kernel whose epilogue converted its bias per output vector
        // ran 2x slower (1.43 vs 0.69 ms)
        if (x.k === 'cast' && x.x.k === 'const' && e.t === 'f32' && Math.fround(x.x.v) === x.x.v) { this.e(this.vconst(x.x.v, 'f32')); return; }
        if (x.k === 'cast' && e.t === 'f32' && e.lanes === 4 && INT32_FITS.has(x.x.t)) {
          this.ex(x.x); this.e(['i32x4.splat'], [x.x.t === 'u32' ? 'f32x4.convert_i32x4_u' : 'f32x4.convert_i32x4_s']);
          return;
        }
        this.ex(e.x); this.splat(e.t); return;
      }
      case 'ramp':
        this.ex(e.base);
        this.e(['i32x4.splat'], ['v128.const', v128Of('i32', [0, e.stride, 2 * e.stride, 3 * e.stride])], ['i32x4.add']);
        return;
      case 'load': this.vload(e); return;
      case 'bin': if (this.vbin(e)) return; break;
      case 'un': if (this.vun(e)) return; break;
      case 'call': if (this.vcall(e)) return; break;
      case 'select': {
        // select(isnan(x), k, y) where x cannot be NaN: y (a QuantizeLinear's NaN lane)
        const nan = (c: Expr) => (c.k === 'call' && c.fn === 'isnan' && this.facts.notNaN(c.args[0]))
          || (c.k === 'bin' && c.op === 'ne' && isFloatT(c.a.t) && this.key(c.a) === this.key(c.b) && this.facts.notNaN(c.a));
        if (nan(e.c)) { this.vx(e.b); return; }
        // select(v < c, c, v) is pmax(v, c) and select(v > c, c, v) is pmin(v, c), lane for lane, NaN and
        // zeros too; a clamp, select(v < lo, lo, select(v > hi, hi, v)) with constants lo <= hi (either
        // nesting: a QuantizeLinear's saturation), is pmax(pmin(v, hi), lo)
        const bound = (x: Expr, a: Expr, b: Expr) => (x.k === 'bin' && (x.op === 'lt' || x.op === 'gt') && x.a.t === 'f32' && this.key(a) === this.key(x.b) ? x : undefined);
        const c = bound(e.c, e.a, e.b);
        if (c && this.key(e.b) === this.key(c.a)) { this.vx(c.a); this.vx(c.b); this.e([c.op === 'lt' ? 'f32x4.pmax' : 'f32x4.pmin']); return; }
        // select(a > b, a, b) is pmax(b, a) = b < a ? a : b, and select(a < b, a, b) is pmin(b, a), also
        // exactly (a max pool's running maximum: one instruction where the select took four)
        const m = e.c;
        if (m.k === 'bin' && (m.op === 'gt' || m.op === 'lt') && m.a.t === 'f32' && this.key(m.a) === this.key(e.a) && this.key(m.b) === this.key(e.b)) {
          this.vx(e.b); this.vx(e.a); this.e([m.op === 'gt' ? 'f32x4.pmax' : 'f32x4.pmin']); return;
        }
        const inner = c && e.b.k === 'select' ? bound(e.b.c, e.b.a, e.b.b) : undefined;
        if (c && inner && e.b.k === 'select' && inner.op !== c.op && this.key(inner.a) === this.key(c.a) && this.key(e.b.b) === this.key(c.a)) {
          const k1 = constOperand(c.b), k2 = constOperand(inner.b);
          if (k1 !== undefined && k2 !== undefined && (c.op === 'lt' ? k1 <= k2 : k1 >= k2)) {
            this.vx(c.a); this.vx(inner.b); this.e([inner.op === 'lt' ? 'f32x4.pmax' : 'f32x4.pmin']);
            this.vx(c.b); this.e([c.op === 'lt' ? 'f32x4.pmax' : 'f32x4.pmin']);
            return;
          }
        }
        this.vx(e.a); this.vx(e.b); this.vx(e.c); this.e(['v128.bitselect']); return;
      }
      case 'cast': if (this.vcast(e)) return; break;
      default: break;
    }
    this.lanewise(e);
  }

  private splat(t: ScalarType): void {
    if (t === 'f32') this.e(['f32x4.splat']);
    else if (t === 'bool') { const l = this.tmp('i32'); this.e(['local.set', l], ['i32.const', 0], ['local.get', l], ['i32.sub'], ['i32x4.splat']); }
    else this.e(['i32x4.splat']);
  }

  private vload(e: Extract<Expr, { k: 'load' }>): void {
    const b = this.buf(e.buf);
    if (b.kind === 'reg') {
      this.e(['local.get', b.slots.get(cfold((e.idx as Extract<Expr, { k: 'ramp' }>).base)! / 4)!]);
      return;
    }
    // 16-bit float buffers: the element type in memory (converted lane by lane or in SIMD, half.ts)
    const t = b.dtype;
    const half = isHalfT(t) ? t : undefined;
    const vi0 = this.vindex(e.idx);
    if (vi0?.kind === 'uniform') {
      if (t === 'f32' || t === 'i32' || t === 'u32') {
        // one load-and-splat (vbroadcastss) instead of a scalar load + splat
        const off = this.addr(b, vi0.base);
        this.e(['v128.load32_splat', 2, off]);
        return;
      }
      this.ex({ ...e, idx: vi0.base, lanes: 1 }); this.splat(e.t); return;
    }
    if (vi0?.kind === 'offsets' && vi0.d.join() === '0,2,4,6' && (t === 'f32' || t === 'i32' || t === 'u32')) {
      // stride 2 (stride-2 depthwise conv, pooling): elements 0..3 and 3..6, their even ones
      // shuffled together (no read past element 6, the last a lane-by-lane load would touch)
      const off = this.addr(b, vi0.base);
      const ta = this.tmp('i32');
      this.e(['local.tee', ta], ['v128.load', 2, off], ['local.get', ta], ['v128.load', 2, off + 12], ['i8x16.shuffle', STRIDE2_SHUFFLE]);
      return;
    }
    if (vi0?.kind === 'offsets' && vi0.d.join() === '0,2,4,6' && (t === 'u8' || t === 'i8')) {
      // stride-2 bytes (an int8 strided depthwise conv's phase copy): bytes 0..6 in three loads (none
      // past byte 6, the last a lane-by-lane load would touch), widened to i16, the even bytes the low
      // halves of the i32 lanes: 7 instructions for 4 loads + 4 replace_lane
      const off = this.addr(b, vi0.base);
      const ta = this.tmp('i32'), tv = this.tmp('v128');
      this.e(['local.tee', ta], ['v128.load32_zero', 0, off], ['local.set', tv],
        ['local.get', ta], ['local.get', tv], ['v128.load16_lane', 0, off + 4, 2], ['local.set', tv],
        ['local.get', ta], ['local.get', tv], ['v128.load8_lane', 0, off + 6, 6]);
      if (t === 'u8') this.e(['i16x8.extend_low_i8x16_u'], this.vconst(0xffff, 'i32'), ['v128.and']);
      else this.e(['i16x8.extend_low_i8x16_s'], ['i32.const', 16], ['i32x4.shl'], ['i32.const', 16], ['i32x4.shr_s']);
      return;
    }
    if (vi0?.kind === 'offsets' && vi0.d.every((x) => x < 4096)) {
      const w = WIDTH[t];
      const off = this.addr(b, vi0.base);
      const ta = this.tmp('i32');
      this.e(['local.set', ta], this.vconst(0, 'i32'));
      for (let l = 0; l < 4; l++) {
        this.e(['local.get', ta], [LOAD[t], LOG2[w], off + vi0.d[l] * w]);
        if (half) this.e(...halfLoad(this.env.mb, half));
        if (t === 'bool') { const l2 = this.tmp('i32'); this.e(['local.set', l2], ['i32.const', 0], ['local.get', l2], ['i32.sub']); }
        this.e([e.t === 'f32' ? 'f32x4.replace_lane' : 'i32x4.replace_lane', l]);
      }
      return;
    }
    if (vi0?.kind === 'contig') {
      const off = this.addr(b, vi0.base);
      switch (t) {
        case 'f32': case 'i32': case 'u32': this.e(['v128.load', 2, off]); return;
        case 'i16': this.e(['v128.load16x4_s', 1, off]); return;
        case 'u16': this.e(['v128.load16x4_u', 1, off]); return;
        case 'f16': case 'bf16': this.e(['v128.load16x4_u', 1, off], ...halfToF32x4(this.fn, t)); return;
        case 'i8': this.e(['v128.load8x8_s', 0, off], ['i32x4.extend_low_i16x8_s']); return;
        default: this.e(['v128.load8x8_u', 0, off], ['i32x4.extend_low_i16x8_u']); if (t === 'bool') this.e(['i32x4.neg']); return;
      }
    }
    // gather
    const vi = this.tmp('v128'), ta = this.tmp('i32');
    const w = WIDTH[t];
    this.vx(e.idx); this.e(['local.set', vi]);
    this.e(this.vconst(0, 'i32'));
    for (let l = 0; l < 4; l++) {
      if ('local' in b.base) this.e(['local.get', b.base.local]); else this.e(['i32.const', b.base.addr]);
      this.e(['local.get', vi], ['i32x4.extract_lane', l]);
      if (LOG2[w]) this.e(['i32.const', LOG2[w]], ['i32.shl']);
      this.e(['i32.add']);
      // lanes a select will discard may hold any index: keep the address inside memory
      const lim: Instr = ['i32.const', 0];
      this.env.memLimits.push(lim);
      this.e(['local.tee', ta], ['i32.const', 0], ['local.get', ta], lim, ['i32.lt_u'], ['select']);
      this.e([LOAD[t], LOG2[w], 0]);
      if (half) this.e(...halfLoad(this.env.mb, half));
      if (t === 'bool') { const l2 = this.tmp('i32'); this.e(['local.set', l2], ['i32.const', 0], ['local.get', l2], ['i32.sub']); }
      this.e([e.t === 'f32' ? 'f32x4.replace_lane' : 'i32x4.replace_lane', l]);
    }
  }

  private vbin(e: Extract<Expr, { k: 'bin' }>): boolean {
    const t = e.a.t;
    const two = (op: string) => { this.vx(e.a); this.vx(e.b); this.e([op]); return true; };
    if (t === 'f32') {
      // x - (+0) is x, every x (a zero point of 0 subtracted)
      if (e.op === 'sub' && Object.is(constOperand(e.b), 0)) { this.vx(e.a); return true; }
      // max / min against a constant bound of a value that cannot be NaN: one pmax / pmin (f32x4.max /
      // min propagate NaN and order zeros in several instructions); operands ordered so a zero bound
      // gives IEEE's signed zero (max(-0, +0) = +0: pmax(+0, v); min(+0, -0) = -0: pmin(v, +0))
      if (e.op === 'max' || e.op === 'min') {
        const [v, c] = constOperand(e.b) !== undefined ? [e.a, e.b] : [e.b, e.a];
        const cv = constOperand(c);
        if (cv !== undefined && !Number.isNaN(cv) && this.facts.notNaN(v)) {
          const first = e.op === 'max' ? Object.is(cv, 0) : Object.is(cv, -0);
          if (first) { this.vx(c); this.vx(v); } else { this.vx(v); this.vx(c); }
          this.e([`f32x4.p${e.op}`]);
          return true;
        }
        // v may be NaN: pmax(v, c) = v < c ? c : v and pmin(v, c) = c < v ? c : v keep a NaN v, and are
        // max / min exactly but for zeros of both signs: pmax(-0, +0) is -0, so max against +0 adds +0
        // after (-0 + +0 = +0, any other value unchanged); min against -0 keeps f32x4.min. Every ReLU /
        // ReLU6 / Clip epilogue: 2-3 instructions in V8 where f32x4.max / min are 7-8 each.
        if (cv !== undefined && !Number.isNaN(cv) && !(e.op === 'min' && Object.is(cv, -0))) {
          this.vx(v); this.vx(c); this.e([`f32x4.p${e.op}`]);
          if (e.op === 'max' && Object.is(cv, 0)) this.e(this.vconst(0, 'f32'), ['f32x4.add']);
          return true;
        }
      }
      if (['add', 'sub', 'mul', 'div', 'min', 'max', 'eq', 'ne', 'lt', 'gt', 'le', 'ge'].includes(e.op)) return two(`f32x4.${e.op}`);
      return false;
    }
    if (t === 'bool') {
      if (e.op === 'and' || e.op === 'or' || e.op === 'xor') return two(`v128.${e.op}`);
      if (e.op === 'eq' || e.op === 'ne') return two(`i32x4.${e.op}`);
      return false;
    }
    const sg = t !== 'u32';
    switch (e.op) {
      case 'mul': {
        // by a constant power of two: a shift (i32x4.mul is a slow pmulld on x64)
        const k = constOperand(e.b);
        const sh = k !== undefined && k > 1 && Number.isInteger(Math.log2(k)) ? Math.log2(k) : -1;
        if (sh > 0 && sh < 32) { this.vx(e.a); this.e(['i32.const', sh], ['i32x4.shl']); this.vnorm(t); return true; }
        two('i32x4.mul'); this.vnorm(t); return true;
      }
      case 'add': case 'sub': two(`i32x4.${e.op}`); this.vnorm(t); return true;
      case 'and': case 'or': case 'xor': return two(`v128.${e.op}`);
      case 'min': case 'max': return two(`i32x4.${e.op}_${sg ? 's' : 'u'}`);
      case 'eq': case 'ne': return two(`i32x4.${e.op}`);
      case 'lt': case 'le': case 'gt': case 'ge': return two(`i32x4.${e.op}_${sg ? 's' : 'u'}`);
      case 'shl': case 'shr': {
        // by a constant amount below 32: one lane-wise shift (other amounts: per lane, with the
        // scalar semantics of amounts >= 32)
        const k = constOperand(e.b);
        if (k === undefined || !Number.isInteger(k) || k < 0 || k > 31) return false;
        this.vx(e.a);
        this.e(['i32.const', k], [e.op === 'shl' ? 'i32x4.shl' : isSignedT(t) ? 'i32x4.shr_s' : 'i32x4.shr_u']);
        if (e.op === 'shl') this.vnorm(t);
        return true;
      }
      default: return false;
    }
  }

  private vun(e: Extract<Expr, { k: 'un' }>): boolean {
    const t = e.t;
    if (t === 'f32') { if (e.op === 'not') return false; this.vx(e.x); this.e([`f32x4.${e.op}`]); return true; }
    if (t === 'bool') { if (e.op !== 'not') return false; this.vx(e.x); this.e(['v128.not']); return true; }
    switch (e.op) {
      case 'neg': this.vx(e.x); this.e(['i32x4.neg']); this.vnorm(t); return true;
      case 'not': this.vx(e.x); this.e(['v128.not']); this.vnorm(t); return true;
      case 'abs': this.vx(e.x); if (t !== 'u32' && isSigned(t)) { this.e(['i32x4.abs']); this.vnorm(t); } return true;
    }
    return false;
  }

  private vcall(e: Extract<Expr, { k: 'call' }>): boolean {
    // pairs of int16 halves: one i32x4.dot_i16x8_s (exact, wrapping like dot2)
    if (e.fn === 'dot2') { this.vx(e.args[0]); this.vx(e.args[1]); this.e(['i32x4.dot_i16x8_s']); return true; }
    if (e.args[0].t !== 'f32') return false;
    const x = e.args[0];
    switch (e.fn) {
      case 'exp': case 'log': case 'tanh': case 'sigmoid':
        this.vx(x); this.e(...inlineMath(this.fn, e.fn as MathFn, 'f32x4')); return true;
      case 'sqrt': case 'floor': case 'ceil': case 'trunc': this.vx(x); this.e([`f32x4.${e.fn}`]); return true;
      case 'round_even': this.vx(x); this.e(['f32x4.nearest']); return true;
      case 'fabs': this.vx(x); this.e(['f32x4.abs']); return true;
      case 'rsqrt': this.e(this.vconst(1, 'f32')); this.vx(x); this.e(['f32x4.sqrt'], ['f32x4.div']); return true;
      case 'isnan': { const t = this.tmp('v128'); this.vx(x); this.e(['local.tee', t], ['local.get', t], ['f32x4.ne']); return true; }
      case 'isinf': this.vx(x); this.e(['f32x4.abs'], this.vconst(Infinity, 'f32'), ['f32x4.eq']); return true;
      default: return false;
    }
  }

  private vcast(e: Extract<Expr, { k: 'cast' }>): boolean {
    const s = e.x.t, t = e.t;
    if (s === t) { this.vx(e.x); return true; }
    if (t === 'bool') {
      this.vx(e.x);
      if (s === 'f32') this.e(this.vconst(0, 'f32'), ['f32x4.ne']); else this.e(this.vconst(0, 'i32'), ['i32x4.ne']);
      return true;
    }
    if (t === 'f32') {
      if (s === 'bool') { this.vx(e.x); this.e(['i32x4.neg'], ['f32x4.convert_i32x4_s']); return true; }
      this.vx(e.x); this.e([s === 'u32' ? 'f32x4.convert_i32x4_u' : 'f32x4.convert_i32x4_s']); return true;
    }
    if (s === 'f32') {
      // f2iSat per lane: i32/u32 trunc_sat; narrow types clamped first (f32x4.max/min keep NaN, trunc_sat makes it 0)
      if (is64(t)) return false;
      const r = e.x;
      const magic = t !== 'i32' && t !== 'u32' && r.k === 'call' && r.fn === 'round_even';
      // the magic number's add rounds to nearest even itself (and clamping to integer bounds commutes
      // with rounding): round_even's own f32x4.nearest is not needed
      this.vx(magic ? r.args[0]! : e.x);
      if (t === 'i32' || t === 'u32') { this.e([`i32x4.trunc_sat_f32x4_${t === 'i32' ? 's' : 'u'}`]); return true; }
      const [lo, hi] = INT_RANGE[t]!;
      if (magic) {
        // narrow(round_even(y)): the rounded value clamped, then converted by the magic number (an
        // integer v + 1.5 * 2^23 holds v in the low mantissa bits, exact for |v| < 2^22: its bits minus
        // those of 1.5 * 2^23 are v), NaN lanes masked to 0: five instructions for
        // i32x4.trunc_sat_f32x4_s, which V8 lowers to about eight; every int8 requantizing epilogue
        // (no mask where the value cannot be NaN: a requantizing epilogue's f32(acc) * finite scale)
        if (this.facts.notNaN(r.args[0])) {
          this.e(this.vconst(lo, 'f32'), ['f32x4.pmax'], this.vconst(hi, 'f32'), ['f32x4.pmin'],
            this.vconst(12582912, 'f32'), ['f32x4.add'], this.vconst(0x4b400000, 'i32'), ['i32x4.sub']);
          return true;
        }
        const y = this.tmp('v128'); // the value to round is on the stack (above)
        this.e(this.vconst(lo, 'f32'), ['f32x4.pmax'], this.vconst(hi, 'f32'), ['f32x4.pmin'], ['local.tee', y],
          this.vconst(12582912, 'f32'), ['f32x4.add'], this.vconst(0x4b400000, 'i32'), ['i32x4.sub'],
          ['local.get', y], ['local.get', y], ['f32x4.eq'], ['v128.and']);
        return true;
      }
      // pmax(x, lo) = x < lo ? lo : x and pmin(x, hi) = hi < x ? hi : x keep a NaN x too, one instruction
      // each in V8 (f32x4.min / max, IEEE NaN-propagating, are several): every int8 requantizing epilogue
      this.e(this.vconst(lo, 'f32'), ['f32x4.pmax'], this.vconst(hi, 'f32'), ['f32x4.pmin'], ['i32x4.trunc_sat_f32x4_s']);
      return true;
    }
    if (s === 'bool') { this.vx(e.x); this.e(['i32x4.neg']); return true; }
    this.vx(e.x);
    // a value clamped into the narrow type already (min(255, max(0, q)): requantizing epilogues) needs no wrap
    const r = clampRange(e.x), tr = INT_RANGE[t];
    if (!(r && tr && r[0] >= tr[0] && r[1] <= tr[1])) this.vnorm(t);
    return true;
  }

  /** Any vector operation, one lane at a time through the scalar code. */
  private lanewise(e: Expr): void {
    const kids: Expr[] = e.k === 'bin' ? [e.a, e.b] : e.k === 'un' || e.k === 'cast' ? [e.x] : e.k === 'call' ? e.args : e.k === 'select' ? [e.c, e.a, e.b] : [];
    if (!kids.length) throw new Error(`wasm: cannot vectorize ${e.k}`);
    const vl = kids.map((k) => { const l = this.tmp(k.lanes > 1 ? 'v128' : wtype(k.t)); if (k.lanes > 1) this.vx(k); else this.ex(k); this.e(['local.set', l]); return l; });
    const sl = kids.map((k) => this.tmp(wtype(k.t)));
    const names = kids.map(() => `%lw${this.tmpN++}`);
    const sub = kids.map((k, i): Expr => ({ k: 'var', name: names[i], t: k.t, lanes: 1 }));
    let scalar: Expr;
    switch (e.k) {
      case 'bin': scalar = { ...e, a: sub[0], b: sub[1], lanes: 1 }; break;
      case 'un': scalar = { ...e, x: sub[0], lanes: 1 }; break;
      case 'cast': scalar = { ...e, x: sub[0], lanes: 1 }; break;
      case 'call': scalar = { ...e, args: sub, lanes: 1 }; break;
      default: scalar = { ...(e as Extract<Expr, { k: 'select' }>), c: sub[0], a: sub[1], b: sub[2], lanes: 1 }; break;
    }
    names.forEach((n, i) => this.vars.set(n, sl[i]));
    this.e(this.vconst(0, 'i32'));
    for (let l = 0; l < 4; l++) {
      kids.forEach((k, i) => {
        this.e(['local.get', vl[i]]);
        if (k.lanes > 1) this.laneOut(k.t, l);
        this.e(['local.set', sl[i]]);
      });
      if (e.t === 'bool') this.e(['i32.const', 0]);
      this.noMemo++;
      this.ex(scalar);
      this.noMemo--;
      if (e.t === 'bool') this.e(['i32.sub']);
      this.e([e.t === 'f32' ? 'f32x4.replace_lane' : 'i32x4.replace_lane', l]);
    }
    names.forEach((n) => this.vars.delete(n));
  }
}
