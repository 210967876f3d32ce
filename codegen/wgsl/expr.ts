/**
 * Loop IR expressions and statements -> WGSL function bodies. Storage buffers are arrays of 32-bit
 * words (`array<u32>`) that several program buffers share at constant element offsets, so loads and
 * stores bitcast. Loops bound to GPU axes become invocation ids with a bounds guard; vectorized loops
 * of up to 4 lanes become vec2/3/4 arithmetic (scalar loops otherwise). NaN tests use bit patterns
 * (WGSL compilers may assume finite math otherwise). Integer division by zero, NaN-propagating
 * min/max, erf and sigmoid come legalized (loop-ir legalize.ts): the builtins are printed as they are.
 */
import { E, ExprKeys, INT_RANGE, isCheck, isHalfT, sharedSubexprs, vectorizeLoop, walkStmt, unrollCopies, type Buffer, type Expr, type ScalarType, type Stmt } from '@aic/loop-ir';
import { narrowBits, wConst, wscalar, wtype } from './types.ts';
import { wgslCheck } from './checks.ts';
import { wgslHalfLoad, wgslHalfStore } from './half.ts';
import { wgslDot4 } from './dot4.ts';
import { alignedLane, vec4Buffers, vec4Index } from './vec4.ts';

/** Where a buffer lives in a dispatch: a storage binding at an element offset, or a function-local array. */
export type View =
  /** packed: two 16-bit elements per word (float16/bfloat16 weights, wgsl/half.ts) */
  /** vec4: the binding is an array of vec4<u32> (vec4.ts) */
  | { k: 'storage'; v: string; off: number; t: ScalarType; packed?: boolean; vec4?: boolean }
  | { k: 'register'; t: ScalarType; vec4?: boolean }
  /** a module-scope var<workgroup> array */
  | { k: 'workgroup'; v: string; t: ScalarType };

/** WGSL helper functions, generated on demand per (scalar or vector) type. */
export class WHelpers {
  private defs = new Map<string, string>();
  need(name: string, def: () => string): string {
    if (!this.defs.has(name)) this.defs.set(name, def());
    return name;
  }
  text(): string { return [...this.defs.values()].join('\n'); }
}

class NotVec extends Error {}

const isFl = (t: ScalarType) => t === 'f32' || t === 'f64';
/** mangled suffix for helper names */
const suf = (t: ScalarType, lanes: number) => (lanes === 1 ? wscalar(t) : `v${lanes}${wscalar(t)}`);
const vt = (s: string, lanes: number) => (lanes === 1 ? s : `vec${lanes}<${s}>`);

export class WgslEmitter {
  /**
   * shared: declares a `shared`-scope buffer as a module-scope `var<workgroup>` array and returns its
   * name (the renderer gives one per entry point); without it shared buffers are refused.
   */
  /** the program step this entry point runs (runtime checks record it) */
  step = 0;
  /** subexpressions bound to a `let` before the current statement (cse.ts) */
  private keys = new ExprKeys();
  private bound = new Map<number, string>();
  private nLets = 0;
  constructor(private h: WHelpers, private views: Map<string, View>, private shared?: (b: Buffer) => string) {}

  // ---- helpers ----------------------------------------------------------------------------------
  private isnan(t: ScalarType, lanes: number): string {
    const T = wtype(t, lanes), U = vt('u32', lanes), B = vt('bool', lanes);
    return this.h.need(`aic_isnan_${suf(t, lanes)}`, () =>
      `fn aic_isnan_${suf(t, lanes)}(x: ${T}) -> ${B} { return (bitcast<${U}>(x) & ${U}(0x7fffffffu)) > ${U}(0x7f800000u); }`);
  }
  private isinf(t: ScalarType, lanes: number): string {
    const T = wtype(t, lanes), U = vt('u32', lanes), B = vt('bool', lanes);
    return this.h.need(`aic_isinf_${suf(t, lanes)}`, () =>
      `fn aic_isinf_${suf(t, lanes)}(x: ${T}) -> ${B} { return (bitcast<${U}>(x) & ${U}(0x7fffffffu)) == ${U}(0x7f800000u); }`);
  }
  private pow(lanes: number): string {
    const T = vt('f32', lanes), B = vt('bool', lanes);
    const name = `aic_pow_${suf('f32', lanes)}`;
    this.h.need('aic_f32_bits', () => 'fn aic_f32_bits(x: u32) -> f32 { return bitcast<f32>(x); }');
    return this.h.need(name, () => [
      `fn ${name}(a: ${T}, b: ${T}) -> ${T} {`,
      `  let r = pow(abs(a), b);`,
      `  let bi: ${B} = trunc(b) == b;`,
      `  let odd: ${B} = bi & (abs(b % ${T}(2.0)) == ${T}(1.0));`,
      `  var res = select(r, select(${T}(aic_f32_bits(0x7fc00000u)), select(r, -r, odd), bi), a < ${T}(0.0));`,
      `  res = select(res, a * a, b == ${T}(2.0));`,
      `  res = select(res, a, b == ${T}(1.0));`,
      `  return select(res, ${T}(1.0), b == ${T}(0.0));`,
      `}`].join('\n'));
  }
  /**
   * sin/cos with f32 accuracy (~1 ulp for |x| < 1e4): WGSL only promises 2^-11 absolute error for
   * its builtins, which sums to visible errors in DFTs. Cody-Waite reduction by pi/2, then minimax
   * polynomials on [-pi/4, pi/4], the quadrant picking sine or cosine and the sign.
   */
  private sincos(fn: 'sin' | 'cos', lanes: number): string {
    const T = vt('f32', lanes), I = vt('i32', lanes);
    const name = `aic_${fn}_${suf('f32', lanes)}`;
    return this.h.need(name, () => [
      `fn ${name}(x: ${T}) -> ${T} {`,
      `  let k = round(x * 0.63661977236758134f);`,
      `  let r = ((x - k * 1.5707963705062866f) - k * -4.3711388286737929e-8f);`,
      `  let r2 = r * r;`,
      `  let sp = r + r * r2 * (-0.16666666641626524f + r2 * (0.0083333293858894632f + r2 * (-0.00019840874255215609f + r2 * 2.7183114939898219e-6f)));`,
      `  let cp = 1.0f + r2 * (-0.5f + r2 * (0.041666663879882816f + r2 * (-0.0013888378338442767f + r2 * 2.4390448796384116e-5f)));`,
      `  let q = ${I}(k)${fn === 'cos' ? ` + ${I}(1)` : ''};`,
      `  let v = select(sp, cp, (q & ${I}(1)) != ${I}(0));`,
      `  return select(v, -v, (q & ${I}(2)) != ${I}(0));`,
      `}`].join('\n'));
  }
  private wrapNarrow(x: string, t: ScalarType): string {
    const nb = narrowBits(t);
    if (!nb) return x;
    const [bits, signed] = nb;
    return signed ? `((${x} << ${32 - bits}u) >> ${32 - bits}u)` : `(${x} & ${(2 ** bits - 1)}u)`;
  }

  // ---- scalar expressions ----------------------------------------------------------------------
  expr(e: Expr): string {
    if (e.lanes > 1) throw new Error(`WGSL: unexpected vector ${e.k} in scalar context`);
    if (this.bound.size) { const n = this.bound.get(this.keys.key(e)); if (n) return n; }
    switch (e.k) {
      case 'const': {
        const s = wConst(e.v, e.t);
        if (s.startsWith('aic_f32_bits')) this.h.need('aic_f32_bits', () => 'fn aic_f32_bits(x: u32) -> f32 { return bitcast<f32>(x); }');
        return s.startsWith('-') ? `(${s})` : s;
      }
      case 'var': return e.name;
      case 'load': return this.load(e.buf, e.idx, e.t);
      case 'bin': return this.bin(e.op, e.a.t, this.expr(e.a), this.expr(e.b), 1, e.t);
      case 'un': return this.un(e.op, e.t, this.expr(e.x), 1);
      case 'call': return this.call(e.fn, e.args[0].t, e.args.map((a) => this.expr(a)), 1);
      case 'select': return `select(${this.expr(e.b)}, ${this.expr(e.a)}, ${this.expr(e.c)})`;
      case 'cast': return this.cast(this.expr(e.x), e.x.t, e.t, 1);
      case 'bcast': case 'ramp': case 'reduce':
        throw new Error(`WGSL: unexpected scalar ${e.k}`);
    }
  }

  private view(buf: string): View {
    const v = this.views.get(buf);
    if (!v) throw new Error(`WGSL: unknown buffer '${buf}'`);
    return v;
  }

  /**
   * The element idx of a register or storage view: on an array of vec4, `a[i >> 2][i & 3]`, or
   * `a[q][l]` when idx is 4q + l provably (vec4.ts).
   */
  private element(arr: string, off: number, vec4: boolean | undefined, idx: string | Expr): string {
    if (vec4 && typeof idx !== 'string') {
      const a = alignedLane(idx);
      if (a) return `${arr}[${this.expr(off ? E.add(E.i(off / 4), a.q) : a.q)}][${a.lane}]`;
    }
    const i = typeof idx === 'string' ? idx : this.expr(idx);
    const at = off ? `${off} + ${i}` : i;
    return vec4 ? `${arr}[(${at}) >> 2u][(${at}) & 3i]` : `${arr}[${at}]`;
  }

  private load(buf: string, idxE: string | Expr, t: ScalarType): string {
    const v = this.view(buf);
    if (v.k === 'register') return this.element(buf, 0, v.vec4, idxE);
    const idx = typeof idxE === 'string' ? idxE : this.expr(idxE);
    if (v.k === 'workgroup') return `${v.v}[${idx}]`;
    if (isHalfT(v.t)) return wgslHalfLoad(this.h, v.t, v.v, v.off, idx, v.packed === true);
    const word = this.element(v.v, v.off, v.vec4, idxE);
    switch (wscalar(t)) {
      case 'f32': return `bitcast<f32>(${word})`;
      case 'i32': return `bitcast<i32>(${word})`;
      case 'u32': return word;
      case 'bool': return `(${word} != 0u)`;
    }
  }

  private storeText(buf: string, idxE: string | Expr, val: string, t: ScalarType): string {
    const v = this.view(buf);
    if (v.k === 'register') return `${this.element(buf, 0, v.vec4, idxE)} = ${val};`;
    const idx = typeof idxE === 'string' ? idxE : this.expr(idxE);
    if (v.k === 'workgroup') return `${v.v}[${idx}] = ${val};`;
    const word = this.element(v.v, v.off, v.vec4, idxE);
    if (isHalfT(v.t)) return `${word} = ${wgslHalfStore(this.h, v.t, val)};`;
    switch (wscalar(t)) {
      case 'f32': case 'i32': return `${word} = bitcast<u32>(${val});`;
      case 'u32': return `${word} = ${val};`;
      case 'bool': return `${word} = select(0u, 1u, ${val});`;
    }
  }

  private bin(op: string, at: ScalarType, a: string, b: string, lanes: number, rt: ScalarType): string {
    const T = wtype(at, lanes);
    const ws = wscalar(at);
    switch (op) {
      case 'add': case 'sub': case 'mul': {
        if (ws === 'bool') throw new NotVec();
        const sym = op === 'add' ? '+' : op === 'sub' ? '-' : '*';
        return this.wrapNarrow(`(${a} ${sym} ${b})`, at);
      }
      case 'div': return ws === 'f32' ? `(${a} / ${b})` : this.wrapNarrow(`(${a} / ${b})`, at);
      case 'mod': return `(${a} % ${b})`;
      case 'min': case 'max':
        if (ws === 'bool') return op === 'min' ? `(${a} & ${b})` : `(${a} | ${b})`;
        return `${op}(${a}, ${b})`;
      case 'pow':
        if (ws === 'f32') return `${this.pow(lanes)}(${a}, ${b})`;
        // integer powers are integers: round away the exp2/log2 error before converting
        return this.wrapNarrow(`${T}(round(${this.pow(lanes)}(${vt('f32', lanes)}(${a}), ${vt('f32', lanes)}(${b}))))`, at);
      case 'and': return `(${a} & ${b})`;
      case 'or': return `(${a} | ${b})`;
      case 'xor': return ws === 'bool' ? `(${a} != ${b})` : `(${a} ^ ${b})`;
      // WGSL masks shift amounts to 5 bits; C-style results for amounts >= 32 (64-bit ints run as 32-bit)
      case 'shl': return this.wrapNarrow(`select(${a} << ${vt('u32', lanes)}(${b}), ${T}(0), ${vt('u32', lanes)}(${b}) >= ${vt('u32', lanes)}(32u))`, at);
      case 'shr': return ws === 'i32'
        ? `(${a} >> min(${vt('u32', lanes)}(${b}), ${vt('u32', lanes)}(31u)))`
        : `select(${a} >> ${vt('u32', lanes)}(${b}), ${T}(0), ${vt('u32', lanes)}(${b}) >= ${vt('u32', lanes)}(32u))`;
      case 'eq': case 'ne': case 'lt': case 'le': case 'gt': case 'ge': {
        const sym = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' }[op];
        if (ws === 'bool' && op !== 'eq' && op !== 'ne') {
          const U = vt('u32', lanes);
          return `(select(${U}(0u), ${U}(1u), ${a}) ${sym} select(${U}(0u), ${U}(1u), ${b}))`;
        }
        void rt;
        return `(${a} ${sym} ${b})`;
      }
      default: throw new Error(`WGSL: unknown binary op ${op}`);
    }
  }

  private un(op: string, t: ScalarType, x: string, lanes: number): string {
    const ws = wscalar(t);
    if (op === 'neg') return ws === 'u32' ? this.wrapNarrow(`(${vt('u32', lanes)}(0u) - ${x})`, t) : this.wrapNarrow(`(-${x})`, t);
    if (op === 'not') return ws === 'bool' ? `(!${x})` : this.wrapNarrow(`(~${x})`, t);
    // abs
    if (ws === 'u32' || ws === 'bool') return x;
    return this.wrapNarrow(`abs(${x})`, t);
  }

  private call(fn: string, t: ScalarType, a: string[], lanes: number): string {
    const ws = wscalar(t);
    const F = vt('f32', lanes), T = wtype(t, lanes);
    const x = a[0];
    if (isCheck(fn)) {
      if (lanes !== 1 || ws === 'f32' || ws === 'bool') throw new NotVec();
      return `${wgslCheck(this.h, fn, ws)}(${a.join(', ')}, ${this.step}u)`;
    }
    if (ws !== 'f32') {
      // integer arguments: compute in f32 and convert back (as C does through double)
      switch (fn) {
        case 'isnan': case 'isinf': return lanes === 1 ? 'false' : `${vt('bool', lanes)}(false)`;
        case 'fabs': return this.un('abs', t, x, lanes);
        case 'sign': return ws === 'u32' ? `select(${T}(0), ${T}(1), ${x} > ${T}(0))` : `select(select(${T}(0), ${T}(-1), ${x} < ${T}(0)), ${T}(1), ${x} > ${T}(0))`;
        case 'fma': return this.wrapNarrow(`(${a[0]} * ${a[1]} + ${a[2]})`, t);
        case 'dot4': { // bytes of a unsigned times bytes of b signed (dot4.ts)
          if (lanes !== 1) throw new NotVec();
          return `${wgslDot4(this.h)}(${a[0]}, ${a[1]})`;
        }
        case 'dot2': { // int16 halves of two i32 words, multiplied pairwise and added (loop-ir intrinsics.ts)
          if (lanes !== 1) throw new NotVec();
          return `(((${a[0]} << 16u) >> 16u) * ((${a[1]} << 16u) >> 16u) + (${a[0]} >> 16u) * (${a[1]} >> 16u))`;
        }
        case 'floor': case 'ceil': case 'trunc': case 'round_even': return x;
        default: {
          if (ws === 'bool') throw new NotVec();
          return this.wrapNarrow(`${T}(${this.call(fn, 'f32', a.map((y) => `${F}(${y})`), lanes)})`, t);
        }
      }
    }
    switch (fn) {
      case 'sin': case 'cos': return `${this.sincos(fn, lanes)}(${x})`;
      case 'exp': case 'log': case 'sqrt': case 'floor': case 'ceil': case 'trunc':
      case 'tan': case 'asin': case 'acos': case 'atan': case 'sinh': case 'cosh':
      case 'asinh': case 'acosh': case 'atanh':
        return `${fn}(${x})`;
      case 'tanh': return `tanh(clamp(${x}, ${F}(-20.0f), ${F}(20.0f)))`;
      case 'rsqrt': return `inverseSqrt(${x})`;
      case 'round_even': return `round(${x})`;
      case 'fabs': return `abs(${x})`;
      case 'isnan': return `${this.isnan('f32', lanes)}(${x})`;
      case 'isinf': return `${this.isinf('f32', lanes)}(${x})`;
      case 'sign': return `sign(${x})`;
      case 'fma': return `fma(${a[0]}, ${a[1]}, ${a[2]})`;
      case 'atan2': return `atan2(${a[0]}, ${a[1]})`;
      default: throw new Error(`WGSL: unknown intrinsic ${fn}`);
    }
  }

  private cast(x: string, from: ScalarType, to: ScalarType, lanes: number): string {
    const wf = wscalar(from), wt = wscalar(to);
    const T = wtype(to, lanes), Fr = wtype(from, lanes);
    if (from === to) return x;
    if (wt === 'bool') return wf === 'bool' ? x : wf === 'f32' ? `((${x} != ${Fr}(0)) | ${this.isnan('f32', lanes)}(${x}))` : `(${x} != ${Fr}(0))`; // NaN -> true
    if (wf === 'bool') return `select(${T}(0), ${T}(1), ${x})`;
    if (wt === 'f32') return wf === 'f32' ? x : `${T}(${x})`;
    if (wf === 'f32') {
      // saturating (loop-ir cast.ts): NaN -> 0, clamp to the range (of the 32-bit type for 64-bit
      // ones, WGSL's representation), truncate; explicit so no driver's conversion is relied upon
      const [lo, hi] = INT_RANGE[to === 'i64' ? 'i32' : to === 'u64' ? 'u32' : to]!;
      const inRange = `${T}(max(${x}, ${Fr}(${lo}.0)))`, top = `select(${inRange}, ${T}(${hi}${wt === 'u32' ? 'u' : ''}), ${x} >= ${Fr}(${hi + 1}.0))`;
      return `select(${top}, ${T}(0), ${this.isnan('f32', lanes)}(${x}))`;
    }
    // integer -> integer: 32-bit reinterpretation, then wrap to the narrow width
    const inner = wf === wt ? x : `${T}(${x})`;
    return this.wrapNarrow(inner, to);
  }

  // ---- vector expressions (vec2/3/4 of f32, i32, u32, bool) -------------------------------------
  private vexpr(e: Expr): string {
    const L = e.lanes;
    if (L === 1) return this.expr(e);
    if (L > 4 || narrowBits(e.t)) throw new NotVec();
    if (this.bound.size) { const n = this.bound.get(this.keys.key(e)); if (n) return n; }
    const T = wtype(e.t, L);
    switch (e.k) {
      case 'const': return `${T}(${this.expr({ ...e, lanes: 1 })})`;
      case 'var': throw new NotVec();
      case 'bcast': return `${T}(${this.expr(e.x)})`;
      case 'ramp': {
        const b = this.expr(e.base);
        return `(${T}(${b}) + ${T}(${Array.from({ length: L }, (_, l) => this.expr({ k: 'const', v: l * e.stride, t: e.t, lanes: 1 })).join(', ')}))`;
      }
      case 'load': {
        const q = this.vec4At(e.buf, e.idx);
        if (q) {
          const v = this.view(e.buf);
          if (v.k === 'register') return q;
          switch (wscalar(e.t)) {
            case 'f32': return `bitcast<vec4<f32>>(${q})`;
            case 'i32': return `bitcast<vec4<i32>>(${q})`;
            case 'u32': return q;
            case 'bool': return `(${q} != vec4<u32>(0u))`;
          }
        }
        if (e.idx.k === 'ramp') {
          const base = this.expr(e.idx.base);
          const s = e.idx.stride;
          return `${T}(${Array.from({ length: L }, (_, l) => this.load(e.buf, l * s === 0 ? base : `${base} + ${l * s}`, e.t)).join(', ')})`;
        }
        const iv = this.vexpr(e.idx);
        return `${T}(${Array.from({ length: L }, (_, l) => this.load(e.buf, `(${iv})[${l}]`, e.t)).join(', ')})`;
      }
      case 'bin': {
        if (narrowBits(e.a.t)) throw new NotVec();
        const a = this.vexpr(e.a.lanes === 1 ? { k: 'bcast', x: e.a, t: e.a.t, lanes: L } : e.a);
        const b = this.vexpr(e.b.lanes === 1 ? { k: 'bcast', x: e.b, t: e.b.t, lanes: L } : e.b);
        return this.bin(e.op, e.a.t, a, b, L, e.t);
      }
      case 'un': return this.un(e.op, e.t, this.vexpr(e.x), L);
      case 'call': {
        if (narrowBits(e.args[0].t)) throw new NotVec();
        return this.call(e.fn, e.args[0].t, e.args.map((a) => this.vexpr(a.lanes === 1 ? { k: 'bcast', x: a, t: a.t, lanes: L } : a)), L);
      }
      case 'select': {
        const w = (x: Expr) => this.vexpr(x.lanes === 1 ? { k: 'bcast', x, t: x.t, lanes: L } : x);
        return `select(${w(e.b)}, ${w(e.a)}, ${e.c.lanes === 1 ? this.expr(e.c) : w(e.c)})`;
      }
      case 'cast': {
        if (narrowBits(e.x.t)) throw new NotVec();
        return this.cast(this.vexpr(e.x), e.x.t, e.t, L);
      }
      case 'reduce': throw new NotVec();
    }
  }

  /** `arr[q]`: the vec4 element an aligned 4-lane access of buf reads or writes, when buf is declared as vec4 */
  private vec4At(buf: string, idx: Expr): string | undefined {
    const v = this.views.get(buf);
    if (!v || v.k === 'workgroup' || !v.vec4) return undefined;
    const q = vec4Index(idx);
    if (!q) return undefined;
    const i = this.expr(q);
    if (v.k === 'register') return `${buf}[${i}]`;
    return `${v.v}[${v.off ? `${v.off / 4} + ${i}` : i}]`;
  }

  // ---- statements ------------------------------------------------------------------------------
  /** gpuId(axis, dim): WGSL expression (u32) for a bound loop */
  gpuId: (axis: 'workgroup' | 'local', dim: 'x' | 'y' | 'z') => string = (axis, dim) => `${axis === 'workgroup' ? 'aic_wid' : 'aic_lid'}.${dim}`;

  private store(s: Extract<Stmt, { k: 'store' }>, ind: string, out: string[]): void {
    const inner = ind + '  ';
    if (s.val.lanes > 1 || s.idx.lanes > 1) {
      const L = Math.max(s.val.lanes, s.idx.lanes);
      const val = this.vexpr(s.val.lanes === 1 ? { k: 'bcast', x: s.val, t: s.val.t, lanes: L } : s.val);
      const q = this.vec4At(s.buf, s.idx);
      if (q) {
        const v = this.view(s.buf);
        const ws = wscalar(s.val.t);
        out.push(`${ind}${q} = ${v.k === 'register' || ws === 'u32' ? val : ws === 'bool' ? `select(vec4<u32>(0u), vec4<u32>(1u), ${val})` : `bitcast<vec4<u32>>(${val})`};`);
        return;
      }
      out.push(`${ind}{`);
      out.push(`${inner}let aic_v = ${val};`);
      if (s.idx.k === 'ramp') {
        const base = this.expr(s.idx.base);
        out.push(`${inner}let aic_i = ${base};`);
        for (let l = 0; l < L; l++) out.push(`${inner}${this.storeText(s.buf, `aic_i + ${l * s.idx.stride}`, `aic_v[${l}]`, s.val.t)}`);
      } else {
        out.push(`${inner}let aic_iv = ${this.vexpr(s.idx)};`);
        for (let l = 0; l < L; l++) out.push(`${inner}${this.storeText(s.buf, `aic_iv[${l}]`, `aic_v[${l}]`, s.val.t)}`);
      }
      out.push(`${ind}}`);
      return;
    }
    out.push(`${ind}${this.storeText(s.buf, s.idx, this.expr(s.val), s.val.t)}`);
  }

  stmt(s: Stmt, ind: string, out: string[]): void {
    const inner = ind + '  ';
    switch (s.k) {
      case 'seq': for (const b of s.body) this.stmt(b, ind, out); return;
      case 'store': {
        try {
          // repeated subexpressions once, as lets before the store (cse.ts)
          for (const x of sharedSubexprs([s.idx, s.val], this.keys)) {
            const name = `aic_s${this.nLets++}`;
            out.push(`${ind}let ${name} = ${x.lanes > 1 ? this.vexpr(x) : this.expr(x)};`);
            this.bound.set(this.keys.key(x), name);
          }
          this.store(s, ind, out);
        } finally {
          this.bound.clear();
        }
        return;
      }
      case 'for': {
        if (s.kind.k === 'gpu' && s.kind.axis === 'local' && hasBarrier(s.body)) {
          // the extent is the workgroup size (one loop per local axis): no guard, so that barriers
          // inside stay in uniform control flow
          out.push(`${ind}{`);
          out.push(`${inner}let ${s.v} = i32(${this.gpuId(s.kind.axis, s.kind.dim)});`);
          this.stmt(s.body, inner, out);
          out.push(`${ind}}`);
          return;
        }
        if (s.kind.k === 'gpu') {
          out.push(`${ind}{`);
          out.push(`${inner}let ${s.v} = i32(${this.gpuId(s.kind.axis, s.kind.dim)});`);
          out.push(`${inner}if (${s.v} < ${this.expr(s.ext)}) {`);
          this.stmt(s.body, inner + '  ', out);
          out.push(`${inner}}`);
          out.push(`${ind}}`);
          return;
        }
        if (s.kind.k === 'vectorized' && s.kind.lanes <= 4 && s.kind.lanes > 1) {
          const v = vectorizeLoop(s);
          if (v) {
            const buf: string[] = [];
            try {
              buf.push(`${ind}{ // vectorized ${s.v} x${s.kind.lanes}`);
              this.stmt(v, inner, buf);
              buf.push(`${ind}}`);
              out.push(...buf);
              return;
            } catch (err) {
              if (!(err instanceof NotVec)) throw err;
            }
          }
        }
        const copies = unrollCopies(s); // loop-ir's one unroll budget
        if (copies) {
          for (const c of copies) { out.push(`${ind}{`); this.stmt(c, inner, out); out.push(`${ind}}`); }
          return;
        }
        out.push(`${ind}for (var ${s.v}: i32 = 0; ${s.v} < ${this.expr(s.ext)}; ${s.v} += 1) {`);
        this.stmt(s.body, inner, out);
        out.push(`${ind}}`);
        return;
      }
      case 'if':
        out.push(`${ind}if (${this.expr(s.c)}) {`);
        this.stmt(s.then, inner, out);
        if (s.else) { out.push(`${ind}} else {`); this.stmt(s.else, inner, out); }
        out.push(`${ind}}`);
        return;
      case 'alloc': {
        const n = Math.max(1, s.buf.shape.reduce((a, b) => a * b, 1));
        const prev = this.views.get(s.buf.name);
        if (s.buf.scope === 'shared') {
          if (!this.shared) throw new Error(`WGSL: shared buffer '${s.buf.name}' outside an entry point`);
          this.views.set(s.buf.name, { k: 'workgroup', v: this.shared(s.buf), t: s.buf.dtype });
          try {
            this.stmt(s.body, ind, out);
          } finally {
            if (prev) this.views.set(s.buf.name, prev); else this.views.delete(s.buf.name);
          }
          return;
        }
        // accumulators read and written as whole vec4 (widened by a vectorized loop): an array of vec4
        const ws = wscalar(s.buf.dtype);
        const v4 = n % 4 === 0 && ws !== 'bool' && !narrowBits(s.buf.dtype) && vec4Buffers(s.body).has(s.buf.name);
        this.views.set(s.buf.name, { k: 'register', t: s.buf.dtype, vec4: v4 });
        out.push(`${ind}{`);
        out.push(`${inner}var ${s.buf.name}: array<${v4 ? `vec4<${ws}>` : wtype(s.buf.dtype)}, ${v4 ? n / 4 : n}>;`);
        try {
          this.stmt(s.body, inner, out);
        } finally {
          if (prev) this.views.set(s.buf.name, prev); else this.views.delete(s.buf.name);
        }
        out.push(`${ind}}`);
        return;
      }
      case 'let':
        out.push(`${ind}{`);
        out.push(`${inner}let ${s.v}: ${wtype(s.t)} = ${this.expr(s.val)};`);
        this.stmt(s.body, inner, out);
        out.push(`${ind}}`);
        return;
      case 'barrier':
        out.push(`${ind}workgroupBarrier();`);
        return;
    }
  }
}

export function hasBarrier(s: Stmt): boolean {
  let b = false;
  walkStmt(s, (x) => { if (x.k === 'barrier') b = true; });
  return b;
}
