/**
 * A direct interpreter of the loop IR, used to check lowering and schedules against the graph
 * interpreter. Vector expressions evaluate to arrays of lanes. Integer arithmetic follows C.
 */
import type { BinOp, Expr, Intrinsic, Kernel, ScalarType, Stmt } from './ir.ts';
import { INTRINSIC_JS } from './intrinsics.ts';
import { castValue, wrapValue } from './cast.ts';
import { isHalfT, roundHalf, type HalfType } from './half.ts';
import { CHECK_DIV_ZERO, checkIndexJS, checkRangeJS, isCheck, type CheckFailure } from './checks.ts';

export type Mem = Record<string, { [i: number]: number; length: number }>;
type Val = number | number[];

const wrap = wrapValue;
const isF = (t: ScalarType) => t === 'f32' || t === 'f64';

const big = (t: ScalarType) => t === 'i64' || t === 'u64';
/** 64-bit integer results wrap modulo 2^64 (held as JS numbers: exact up to 2^53). */
function big64(t: ScalarType, v: bigint): number {
  return Number(t === 'i64' ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v));
}

function binScalar(op: BinOp, a: number, b: number, t: ScalarType): number {
  const f = isF(t);
  switch (op) {
    case 'add': return wrap(a + b, t);
    case 'sub': return wrap(a - b, t);
    case 'mul': return t === 'i32' ? Math.imul(a, b) : t === 'u32' ? Math.imul(a, b) >>> 0 : wrap(a * b, t);
    // integers: x / 0 = x % 0 = 0 (check_nonzero reports it where an op defines an error); MIN / -1 wraps
    case 'div': return f ? wrap(a / b, t) : b === 0 ? 0 : big(t) ? big64(t, BigInt(a) / BigInt(b)) : wrap(Math.trunc(a / b), t);
    case 'mod': return f ? wrap(a % b, t) : b === 0 ? 0 : big(t) ? big64(t, BigInt(a) % BigInt(b)) : wrap(a % b, t);
    case 'min': return f && (Number.isNaN(a) || Number.isNaN(b)) ? NaN : Math.min(a, b);
    case 'max': return f && (Number.isNaN(a) || Number.isNaN(b)) ? NaN : Math.max(a, b);
    case 'pow': return wrap(Math.pow(a, b), t);
    case 'and': return t === 'bool' ? (a && b ? 1 : 0) : big(t) ? big64(t, BigInt(a) & BigInt(b)) : wrap(a & b, t);
    case 'or': return t === 'bool' ? (a || b ? 1 : 0) : big(t) ? big64(t, BigInt(a) | BigInt(b)) : wrap(a | b, t);
    case 'xor': return t === 'bool' ? ((a ? 1 : 0) ^ (b ? 1 : 0)) : big(t) ? big64(t, BigInt(a) ^ BigInt(b)) : wrap(a ^ b, t);
    case 'shl': return big(t) ? big64(t, BigInt(a) << BigInt(b)) : wrap(a * 2 ** b, t);
    case 'shr': return wrap(Math.floor(a / 2 ** b), t);
    case 'eq': return a === b ? 1 : 0;
    case 'ne': return a !== b ? 1 : 0;
    case 'lt': return a < b ? 1 : 0;
    case 'le': return a <= b ? 1 : 0;
    case 'gt': return a > b ? 1 : 0;
    case 'ge': return a >= b ? 1 : 0;
  }
}

function callScalar(fn: string, a: number[], t: ScalarType): number {
  const f = INTRINSIC_JS[fn as Intrinsic];
  if (!f) throw new Error(`loop IR interpreter: unknown intrinsic ${fn}`);
  const v = f(...a);
  // predicates and |x|, sign keep their value; everything else is rounded to the operand type
  return fn === 'isnan' || fn === 'isinf' || fn === 'fabs' || fn === 'sign' ? v : wrap(v, t);
}

export class LoopInterpreter {
  private env = new Map<string, number>();
  /** the first runtime check that failed (checks.ts); the kernel runs on with the safe values */
  failure?: CheckFailure;
  constructor(private mem: Mem) {}

  private check(fn: string, a: number[]): number {
    if (fn === 'check_index' || fn === 'check_range') {
      const r = fn === 'check_index' ? checkIndexJS(a[0], a[1]) : checkRangeJS(a[0], a[1], a[2]);
      if (r.fail && !this.failure) this.failure = r.fail;
      return r.v;
    }
    if (a[0] === 0 && !this.failure) this.failure = { code: CHECK_DIV_ZERO, value: 0, bound: 0 };
    return a[0];
  }

  /** 16-bit float params: a store rounds to their format (half.ts) */
  private half = new Map<string, HalfType>();
  runKernel(k: Kernel): void {
    this.half = new Map(k.params.flatMap((p) => (isHalfT(p.dtype) ? [[p.name, p.dtype] as [string, HalfType]] : [])));
    this.exec(k.body);
  }

  private lanesOf(v: Val, lanes: number): number[] {
    return Array.isArray(v) ? v : new Array(lanes).fill(v);
  }

  eval(e: Expr): Val {
    switch (e.k) {
      case 'const': return e.lanes > 1 ? new Array(e.lanes).fill(e.v) : e.v;
      case 'var': {
        const v = this.env.get(e.name);
        if (v === undefined) throw new Error(`loop IR interpreter: unbound variable ${e.name}`);
        return v;
      }
      case 'load': {
        const buf = this.mem[e.buf];
        if (!buf) throw new Error(`loop IR interpreter: unknown buffer ${e.buf}`);
        const idx = this.eval(e.idx);
        // scalar loads (compile-time weight packing runs millions) without a closure per load
        if (!Array.isArray(idx)) {
          if (!(idx >= 0 && idx < buf.length)) throw new Error(`loop IR interpreter: ${e.buf}[${idx}] out of bounds (size ${buf.length})`);
          return buf[idx];
        }
        return idx.map((i) => {
          if (!(i >= 0 && i < buf.length)) throw new Error(`loop IR interpreter: ${e.buf}[${i}] out of bounds (size ${buf.length})`);
          return buf[i];
        });
      }
      case 'bin': {
        const a = this.eval(e.a), b = this.eval(e.b);
        const t = e.a.t;
        if (!Array.isArray(a) && !Array.isArray(b)) return binScalar(e.op, a, b, t);
        const A = this.lanesOf(a, e.lanes), B = this.lanesOf(b, e.lanes);
        return A.map((x, i) => binScalar(e.op, x, B[i], t));
      }
      case 'un': {
        const x = this.eval(e.x);
        if (!Array.isArray(x) && e.op === 'neg') return wrap(-x, e.t);
        const f = (v: number) => (e.op === 'neg' ? wrap(-v, e.t) : e.op === 'not' ? (e.t === 'bool' ? (v ? 0 : 1) : big(e.t) ? big64(e.t, ~BigInt(v)) : wrap(~v, e.t)) : wrap(Math.abs(v), e.t));
        return Array.isArray(x) ? x.map(f) : f(x);
      }
      case 'call': {
        const args = e.args.map((a) => this.eval(a));
        if (args.every((a) => !Array.isArray(a))) return isCheck(e.fn) ? this.check(e.fn, args as number[]) : callScalar(e.fn, args as number[], e.args[0].t);
        const fn = isCheck(e.fn)
          ? (a: number[]) => this.check(e.fn, a) : (a: number[]) => callScalar(e.fn, a, e.args[0].t);
        const L = args.map((a) => this.lanesOf(a, e.lanes));
        return L[0].map((_, i) => fn(L.map((l) => l[i])));
      }
      case 'select': {
        const c = this.eval(e.c);
        if (!Array.isArray(c) && e.lanes === 1) return c ? this.eval(e.a) : this.eval(e.b);
        const C = this.lanesOf(c, e.lanes), A = this.lanesOf(this.eval(e.a), e.lanes), B = this.lanesOf(this.eval(e.b), e.lanes);
        return C.map((x, i) => (x ? A[i] : B[i]));
      }
      case 'cast': {
        const x = this.eval(e.x);
        return Array.isArray(x) ? x.map((v) => castValue(v, e.x.t, e.t)) : castValue(x, e.x.t, e.t);
      }
      case 'bcast': {
        const x = this.eval(e.x);
        if (Array.isArray(x)) throw new Error('loop IR interpreter: bcast of a vector');
        return new Array(e.lanes).fill(x);
      }
      case 'ramp': {
        const b = this.eval(e.base);
        if (Array.isArray(b)) throw new Error('loop IR interpreter: ramp of a vector');
        return Array.from({ length: e.lanes }, (_, i) => b + i * e.stride);
      }
      case 'reduce': {
        let acc = e.op === 'sum' ? 0 : e.op === 'prod' ? 1 : e.op === 'max' ? -Infinity : Infinity;
        const rec = (d: number) => {
          if (d === e.axes.length) {
            const v = this.eval(e.body) as number;
            acc = e.op === 'sum' ? acc + v : e.op === 'prod' ? acc * v : e.op === 'max' ? (Number.isNaN(v) || v > acc ? v : acc) : (Number.isNaN(v) || v < acc ? v : acc);
            return;
          }
          for (let i = 0; i < e.axes[d].extent; i++) { this.env.set(e.axes[d].name, i); rec(d + 1); }
        };
        rec(0);
        return wrap(acc, e.t);
      }
    }
  }

  exec(s: Stmt): void {
    switch (s.k) {
      case 'seq': for (const b of s.body) this.exec(b); return;
      case 'for': {
        if (s.kind.k === 'gpu' && s.kind.axis === 'local' && hasBarrier(s.body)) { this.lockstep(s); return; }
        const n = this.eval(s.ext) as number;
        const prev = this.env.get(s.v);
        for (let i = 0; i < n; i++) { this.env.set(s.v, i); this.exec(s.body); }
        if (prev === undefined) this.env.delete(s.v); else this.env.set(s.v, prev);
        return;
      }
      case 'store': {
        const buf = this.mem[s.buf];
        if (!buf) throw new Error(`loop IR interpreter: unknown buffer ${s.buf}`);
        const idx = this.eval(s.idx), val = this.eval(s.val);
        const ht = this.half.get(s.buf);
        if (!Array.isArray(idx) && !Array.isArray(val)) {
          if (!(idx >= 0 && idx < buf.length)) throw new Error(`loop IR interpreter: store ${s.buf}[${idx}] out of bounds (size ${buf.length})`);
          buf[idx] = ht ? roundHalf(val, ht) : val;
          return;
        }
        const wr = (i: number, v: number) => {
          if (!(i >= 0 && i < buf.length)) throw new Error(`loop IR interpreter: store ${s.buf}[${i}] out of bounds (size ${buf.length})`);
          buf[i] = ht ? roundHalf(v, ht) : v;
        };
        if (Array.isArray(idx)) { const V = this.lanesOf(val, idx.length); idx.forEach((i, l) => wr(i, V[l])); }
        else wr(idx, val as number);
        return;
      }
      case 'if': { if (this.eval(s.c)) this.exec(s.then); else if (s.else) this.exec(s.else); return; }
      case 'alloc': {
        const n = s.buf.shape.reduce((a, b) => a * b, 1);
        const prev = this.mem[s.buf.name];
        this.mem[s.buf.name] = s.buf.dtype === 'f32' ? new Float32Array(n) : s.buf.dtype === 'i32' ? new Int32Array(n) : new Float64Array(n);
        this.exec(s.body);
        if (prev) this.mem[s.buf.name] = prev; else delete this.mem[s.buf.name];
        return;
      }
      case 'let': {
        const v = this.eval(s.val);
        if (Array.isArray(v)) throw new Error('loop IR interpreter: vector let is not supported');
        const prev = this.env.get(s.v);
        this.env.set(s.v, v);
        this.exec(s.body);
        if (prev === undefined) this.env.delete(s.v); else this.env.set(s.v, prev);
        return;
      }
      case 'barrier': return;
    }
  }

  /**
   * Loops bound to local invocation ids whose body has barriers: every invocation (each combination of
   * the directly nested local-bound loops) runs with its own variables and private buffers, all of them
   * up to the next barrier before any goes on. Every invocation must meet the same number of barriers.
   */
  private lockstep(s: Extract<Stmt, { k: 'for' }>): void {
    const chain: Extract<Stmt, { k: 'for' }>[] = [s];
    let body = s.body;
    while (body.k === 'for' && body.kind.k === 'gpu' && body.kind.axis === 'local') { chain.push(body); body = body.body; }
    const exts = chain.map((l) => this.eval(l.ext) as number);
    const env0 = this.env, mem0 = this.mem;
    const invs: { env: Map<string, number>; mem: Mem; g: Generator<void, void, void> }[] = [];
    const total = exts.reduce((a, b) => a * b, 1);
    for (let t = 0; t < total; t++) {
      const env = new Map(env0);
      let r = t;
      for (let d = chain.length - 1; d >= 0; d--) { env.set(chain[d].v, r % exts[d]); r = Math.floor(r / exts[d]); }
      const mem = Object.create(mem0) as Mem;
      invs.push({ env, mem, g: this.gexec(body) });
    }
    try {
      for (;;) {
        let running = 0;
        for (const inv of invs) {
          this.env = inv.env; this.mem = inv.mem;
          if (!inv.g.next().done) running++;
        }
        if (running === 0) break;
        if (running !== invs.length) throw new Error('loop IR interpreter: a barrier is not met by every invocation of the workgroup (non-uniform control flow)');
      }
    } finally {
      this.env = env0; this.mem = mem0;
    }
  }

  /** exec as a generator that yields at every barrier */
  private *gexec(s: Stmt): Generator<void, void, void> {
    if (!hasBarrier(s)) { this.exec(s); return; }
    switch (s.k) {
      case 'seq': for (const b of s.body) yield* this.gexec(b); return;
      case 'barrier': yield; return;
      case 'for': {
        if (s.kind.k === 'gpu' && s.kind.axis === 'local') throw new Error('loop IR interpreter: a local-bound loop with barriers inside another one\'s body');
        const n = this.eval(s.ext) as number;
        for (let i = 0; i < n; i++) { this.env.set(s.v, i); yield* this.gexec(s.body); }
        this.env.delete(s.v);
        return;
      }
      case 'if': { if (this.eval(s.c)) yield* this.gexec(s.then); else if (s.else) yield* this.gexec(s.else); return; }
      case 'alloc': {
        const n = s.buf.shape.reduce((a, b) => a * b, 1);
        this.mem[s.buf.name] = s.buf.dtype === 'f32' ? new Float32Array(n) : s.buf.dtype === 'i32' ? new Int32Array(n) : new Float64Array(n);
        yield* this.gexec(s.body);
        delete this.mem[s.buf.name];
        return;
      }
      case 'let': {
        const v = this.eval(s.val);
        if (Array.isArray(v)) throw new Error('loop IR interpreter: vector let is not supported');
        this.env.set(s.v, v);
        yield* this.gexec(s.body);
        this.env.delete(s.v);
        return;
      }
      default: this.exec(s);
    }
  }
}

const barrierCache = new WeakMap<Stmt, boolean>();
function hasBarrier(s: Stmt): boolean {
  let r = barrierCache.get(s);
  if (r === undefined) {
    switch (s.k) {
      case 'barrier': r = true; break;
      case 'seq': r = s.body.some(hasBarrier); break;
      case 'for': case 'alloc': case 'let': r = hasBarrier(s.body); break;
      case 'if': r = hasBarrier(s.then) || (s.else ? hasBarrier(s.else) : false); break;
      default: r = false;
    }
    barrierCache.set(s, r);
  }
  return r;
}

/** Run a kernel; returns the first runtime check that failed, if any. */
export function runKernel(k: Kernel, mem: Mem): CheckFailure | undefined {
  const it = new LoopInterpreter(mem);
  it.runKernel(k);
  return it.failure;
}
