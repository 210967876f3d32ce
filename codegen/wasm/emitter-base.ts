/**
 * The state of one kernel's emission and the per-statement common-subexpression memo: the base of
 * the emitter's layers (emitter-base.ts -> address.ts -> scalar-expr.ts -> vector-expr.ts -> emit.ts,
 * each a subclass of the one before; KernelEmitter in emit.ts is the one render.ts builds). Every
 * field lives here (subclasses declare none), `protected` so that the layers above share it.
 */
import { childExprs, walkStmt, type Expr, type Kernel, type ScalarType, type Stmt } from '@aic/loop-ir';
import { Func, type Instr, type ModuleBuilder, type ValType } from './module.ts';
import { ValueFacts } from './value-facts.ts';
import { wtype } from './wasm-types.ts';

/** a strength-reduced address: stepped by `step` bytes per iteration, by `carry.step` after an iteration whose v % carry.c is carry.c - 1 */
export interface Ptr { local: number; step: number; carry?: { c: number; step: number } }
/** a serial loop being emitted: its variable and its local, the variables bound in it, its strength-reduced addresses */
export interface LoopCtx { v: string; iv: number; inner: Set<string>; at: number; ptrs: Map<string, Ptr>; init: Instr[] }

export type BufInfo =
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

/** Emitter state and the memo; `ex` (scalar-expr.ts) is the scalar expression emitter the address code calls. */
export abstract class EmitterBase {
  readonly fn: Func;
  protected bufs = new Map<string, BufInfo>();
  /** per expression key of the current store run: does it read a buffer a memory store may change */
  protected readonly readsMemory = new Map<string, boolean>();
  protected vars = new Map<string, number>();
  protected frameTop = 0;
  scratchBytes = 0;
  protected tmpN = 0;
  protected code: Instr[];
  /** per-statement common subexpressions: key -> local holding the value */
  protected memo = new Map<string, number>();
  /** serial loops being emitted, innermost last: their strength-reduced addresses (see loop in emit.ts, pointer in address.ts) */
  protected loopCtx: LoopCtx[] = [];
  private counts = new Map<string, number>();
  protected uncond = true;
  protected noMemo = 0;
  private keys = new WeakMap<Expr, string>();
  protected loopVars = new Set<string>();
  /** weights no statement of the kernel writes */
  private readonly readOnly: Set<string>;
  /** read-only weights whose every value is finite */
  private readonly finiteBufs: Set<string>;
  protected readonly facts: ValueFacts;

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

  /** Push the value of a scalar expression (scalar-expr.ts). */
  abstract ex(e: Expr): void;

  protected e(...ins: Instr[]) { for (const i of ins) this.code.push(i); }

  protected key(e: Expr): string {
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
  protected begin(...roots: Expr[]): void {
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
  protected memoized(e: Expr, vector: boolean, gen: () => void): void {
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

  protected costly(e: Expr): boolean {
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

  protected buf(name: string): BufInfo {
    const b = this.bufs.get(name);
    if (!b) throw new Error(`wasm: kernel ${this.k.name}: unknown buffer ${name}`);
    return b;
  }

  /**
   * A store to `buf` ends the memoized loads it may change: of that register buffer, or of any memory
   * buffer (the memory plan may place a dead input where an output goes), except the kernel's weights,
   * which nothing writes (a bias or scale broadcast, a zero point, stays in its local across the stores
   * of a tile's epilogue).
   */
  protected invalidate(buf: string): void {
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
  protected countRun(run: Extract<Stmt, { k: 'store' }>[], r: number): void {
    this.counts.clear();
    const stored = new Set<string>();
    for (let s = r; s < run.length; s++) {
      this.countUses([run[s].idx, run[s].val], stored);
      stored.add(run[s].buf);
    }
  }

  protected tmp(t: ValType): number { return this.fn.local(t); }
}
