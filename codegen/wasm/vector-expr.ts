/**
 * Vector expressions (4 lanes in a v128: f32x4, i32x4 with narrow integers widened, bools as lane
 * masks) -> SIMD instructions: contiguous, splat, strided loads and gathers, v128 stores and lane
 * extraction, and the lane-by-lane fallback through scalar-expr.ts for operations without a SIMD
 * instruction. The fourth layer of the emitter (over scalar-expr.ts); emit.ts's statements use it.
 */
import { INT_RANGE, isFloatT, isHalfT, isSignedT, type Expr, type ScalarType } from '@aic/loop-ir';
import { v128Of, type Instr } from './module.ts';
import { inlineMath, type MathFn } from './math.ts';
import { f32x4ToHalf, halfLoad, halfToF32x4 } from './half.ts';
import { clampRange, constOperand } from './value-facts.ts';
import { ScalarEmitter } from './scalar-expr.ts';
import { cfold } from './address.ts';
import { INT32_FITS, LOAD, LOG2, WIDTH, is64, isSigned, wtype } from './wasm-types.ts';

/** i8x16.shuffle bytes of lanes 0, 2 of a and 1, 3 of b (b loaded 3 elements later: elements 0, 2, 4, 6) */
const STRIDE2_SHUFFLE = [0, 1, 2, 3, 8, 9, 10, 11, 20, 21, 22, 23, 28, 29, 30, 31];

/** Vector expression emission (the emitter's fourth layer). */
export abstract class VectorEmitter extends ScalarEmitter {
  // ---- v128 values out: to memory (emit.ts's stores) and to scalar lanes -----------------------

  protected vstoreContig(t: ScalarType, off: number): void {
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
  protected laneOut(t: ScalarType, l: number): void {
    if (t === 'f32') this.e(['f32x4.extract_lane', l]);
    else if (t === 'bool') this.e(['i32x4.extract_lane', l], ['i32.const', 1], ['i32.and']);
    else this.e(['i32x4.extract_lane', l]);
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
