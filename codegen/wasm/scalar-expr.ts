/**
 * Scalar expressions -> wasm instructions: integer semantics as the interpreter's (narrow types wrap),
 * casts, host Math calls and inlined math.ts functions. The third layer of the emitter (over
 * address.ts); vector-expr.ts falls back to it lane by lane, emit.ts emits statements with it.
 */
import { E, INT_RANGE, isCheck, isHalfT, type Expr, type ScalarType } from '@aic/loop-ir';
import type { Instr, ValType } from './module.ts';
import { needMath } from './math.ts';
import { checkFunc, checkIndexInline } from './checks.ts';
import { halfLoad } from './half.ts';
import { AddressEmitter, cfold } from './address.ts';
import { HOST_MATH, LOAD, LOG2, WIDTH, is64, isF, isSigned, wtype } from './wasm-types.ts';

/** Scalar expression emission (the emitter's third layer). */
export abstract class ScalarEmitter extends AddressEmitter {
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

  override ex(e: Expr): void {
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
}
