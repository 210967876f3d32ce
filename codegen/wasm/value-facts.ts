/**
 * What the wasm emitter may assume of a value: its constant, its integer clamp range, whether it is
 * finite or never NaN (so NaN-propagating float ops and NaN lane masks can be dropped), a bound on its
 * magnitude. Pure analyses of loop-IR expressions; the emitter (vector-expr.ts, emit.ts) decides what
 * to do with them.
 */
import { INT_RANGE, isFloatT, isHalfT, type Expr, type ScalarType } from '@aic/loop-ir';

/** The range of an integer expression that min / max with constants bound (undefined: unbounded or not integer). */
export function clampRange(e: Expr): readonly [number, number] | undefined {
  if (e.k === 'const') return [e.v, e.v];
  if (e.k === 'bcast') return clampRange(e.x);
  if (e.k === 'load') return INT_RANGE[e.t] && e.t !== 'i32' && e.t !== 'u32' ? INT_RANGE[e.t] : undefined;
  if (e.k !== 'bin' || (e.op !== 'min' && e.op !== 'max') || e.t === 'f32' || e.t === 'f64') return undefined;
  const a = clampRange(e.a), b = clampRange(e.b);
  if (e.op === 'min') return a && b ? [Math.min(a[0], b[0]), Math.min(a[1], b[1])] : a ? [-Infinity, a[1]] : b ? [-Infinity, b[1]] : undefined;
  return a && b ? [Math.max(a[0], b[0]), Math.max(a[1], b[1])] : a ? [a[0], Infinity] : b ? [b[0], Infinity] : undefined;
}

/**
 * `cast<u8>(min(255, max(0, v)))` (either nesting; i8 with -128 / 127) of an i32 vector v: v itself, when
 * the clamp is exactly the byte type's range, so a store can narrow v with saturating narrows
 * (i16x8.narrow_i32x4_s, then i8x16.narrow_i16x8_u / _s clamp to that range); every requantizing epilogue.
 */
export function saturatedByNarrow(e: Expr, t: ScalarType): Expr | undefined {
  if ((t !== 'u8' && t !== 'i8') || e.k !== 'cast' || e.t !== t || e.x.t !== 'i32') return undefined;
  const [lo, hi] = INT_RANGE[t]!;
  const c = e.x;
  const bound = (x: Expr, v: number) => (x.k === 'const' && x.v === v) || (x.k === 'bcast' && x.x.k === 'const' && x.x.v === v);
  const peel = (x: Expr, op: 'min' | 'max', v: number): Expr | undefined =>
    x.k === 'bin' && x.op === op ? (bound(x.a, v) ? x.b : bound(x.b, v) ? x.a : undefined) : undefined;
  const inner = peel(c, 'min', hi);
  if (inner) { const v = peel(inner, 'max', lo); return v?.t === 'i32' ? v : undefined; }
  const inner2 = peel(c, 'max', lo);
  if (inner2) { const v = peel(inner2, 'min', hi); return v?.t === 'i32' ? v : undefined; }
  return undefined;
}

/** The value of a constant operand: a constant, broadcast, or converted from a constant whose value the conversion keeps */
export function constOperand(e: Expr): number | undefined {
  if (e.k === 'const') return e.v;
  if (e.k === 'bcast') return constOperand(e.x);
  if (e.k !== 'cast') return undefined;
  const v = constOperand(e.x), r = INT_RANGE[e.t];
  if (v === undefined) return undefined;
  return (isFloatT(e.t) ? Math.fround(v) === v || Number.isNaN(v) : !!r && Number.isInteger(v) && v >= r[0] && v <= r[1]) ? v : undefined;
}

/** Facts about values in one kernel: `finiteBufs` are buffers whose every value is finite. */
export class ValueFacts {
  constructor(private readonly finiteBufs: Set<string>) {}

  /** e is a finite number in every lane (an integer converted, a finite constant, a finite weight's value) */
  finite(e: Expr): boolean {
    switch (e.k) {
      case 'const': return Number.isFinite(e.v);
      case 'cast': return !isFloatT(e.x.t) && e.x.t !== 'f16' && e.x.t !== 'bf16';
      case 'load': return (!isFloatT(e.t) && !isHalfT(e.t)) || this.finiteBufs.has(e.buf);
      case 'bcast': return this.finite(e.x);
      default: return !isFloatT(e.t) && e.t !== 'f16' && e.t !== 'bf16';
    }
  }

  /**
   * An upper bound on |e| from integer ranges and constants (Infinity: none known): an integer
   * converted, times / plus / over constants, rounded, clamped (a quantized elementwise chain).
   */
  mag(e: Expr): number {
    switch (e.k) {
      case 'const': return Number.isNaN(e.v) ? Infinity : Math.abs(e.v);
      case 'bcast': return this.mag(e.x);
      case 'load': { const r = INT_RANGE[e.t]; return r ? Math.max(-r[0], r[1]) : Infinity; }
      case 'cast': {
        const v = constOperand(e);
        if (v !== undefined) return Number.isNaN(v) ? Infinity : Math.abs(v);
        if (!isFloatT(e.t)) return Infinity;
        const r = INT_RANGE[e.x.t];
        return r ? Math.max(-r[0], r[1]) : isFloatT(e.x.t) ? this.mag(e.x) : Infinity;
      }
      case 'bin': {
        const a = this.mag(e.a), b = this.mag(e.b);
        if (e.op === 'add' || e.op === 'sub') return a + b;
        if (e.op === 'mul') return a * b;
        if (e.op === 'min' || e.op === 'max') return Math.max(a, b);
        const d = e.op === 'div' ? constOperand(e.b) : undefined;
        if (d !== undefined && d !== 0 && !Number.isNaN(d)) return a / Math.abs(d);
        return Infinity;
      }
      case 'un': return e.op === 'neg' || e.op === 'abs' ? this.mag(e.x) : Infinity;
      case 'call': return e.fn === 'round_even' || e.fn === 'floor' || e.fn === 'ceil' || e.fn === 'trunc' ? this.mag(e.args[0]) + 1 : e.fn === 'fabs' ? this.mag(e.args[0]) : Infinity;
      case 'select': return Math.max(this.mag(e.a), this.mag(e.b));
      default: return Infinity;
    }
  }

  /** e is never NaN: finite, a sum / difference / product of finite values (at worst infinite), or such a value rounded, or bounded (mag) */
  notNaN(e: Expr): boolean {
    if (this.finite(e)) return true;
    if (this.mag(e) < 3e38) return true;
    if (e.k === 'bin' && (e.op === 'mul' || e.op === 'add' || e.op === 'sub')) return this.finite(e.a) && this.finite(e.b);
    if (e.k === 'call' && (e.fn === 'round_even' || e.fn === 'floor' || e.fn === 'ceil' || e.fn === 'trunc')) return this.notNaN(e.args[0]);
    if (e.k === 'bcast') return this.notNaN(e.x);
    return false;
  }

}
