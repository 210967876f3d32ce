/**
 * Loop IR expressions and statements -> C99. Vector expressions (after vectorizeLoop) use GCC/Clang
 * vector extensions through helpers generated on demand; every vectorized loop is also emitted as a
 * plain scalar loop under `#else`, so a compiler without the extensions still builds the file.
 */
import { vecExpF32 } from './vexp.ts';
import { CHECK_DIV_ZERO, CHECK_INDEX, E, ExprKeys, isHalfT, repeatedSubexprs, isSignedT, mapExpr, simplifyStmt, substituteStmt, vectorizeLoop, walkStmt, unrollCopies, type Buffer, type Expr, type ScalarType, type Stmt } from '@aic/loop-ir';
import { CTYPE, cConst, vecType } from './types.ts';
import { cHalfLoad, cHalfStore, cHalfVLoad, cHalfVStore } from './half.ts';
import { laneWidth, vecBlend, vecMask, vecMinMax, vecSelect } from './blend.ts';
import { LIMITS, NARROW, convertSteps, exactVectorConvert, vecSaturate, vecSaturateI32, vecSaturateRound, vecWidenI32 } from './vcast.ts';

/** float `x` -> integer type t, saturating (loop-ir cast.ts): NaN -> 0, clamp to the range, truncate */
function saturate(x: string, t: ScalarType): string {
  const [min, max, lo, hi] = LIMITS[t]!;
  return `${x} != ${x} ? 0 : ${x} < ${lo} ? (${CTYPE[t]})${min} : ${x} >= ${hi} ? (${CTYPE[t]})${max} : (${CTYPE[t]})${x}`;
}

const OPS: Record<string, string> = {
  add: '+', sub: '-', mul: '*', and: '&', or: '|', xor: '^', shl: '<<', shr: '>>',
  eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=',
};
const isF = (t: ScalarType) => t === 'f32' || t === 'f64';

/** Collects the helper functions a translation unit needs. */
export class Helpers {
  private defs = new Map<string, string>();
  need(name: string, def: () => string): string {
    if (!this.defs.has(name)) this.defs.set(name, def());
    return name;
  }
  /**
   * Scalar helpers, then the vector ones (types and functions mentioning a vector type) under
   * `#if AIC_VECTOR`, so a compiler without vector extensions never sees them. Vector helpers are
   * always inlined: they never exist as functions, so no vector ever crosses a call (and GCC has no
   * ABI to warn about when the file is built without -mavx).
   */
  text(): string {
    const isVec = (name: string, def: string) => name.startsWith('T:') || /\baic_[a-z0-9]+x\d+\b/.test(def);
    const all = [...this.defs.entries()];
    const scalar = all.filter(([n, d]) => !isVec(n, d)).map(([, d]) => d);
    const vector = all.filter(([n, d]) => isVec(n, d)).map(([, d]) => d.replace(/^static inline /, 'static inline __attribute__((always_inline)) '));
    const psabi = ['#if !defined(__clang__)', '#pragma GCC diagnostic ignored "-Wpsabi"', '#endif'];
    return [...scalar, ...(vector.length ? ['#if AIC_VECTOR', ...psabi, ...vector, '#endif'] : [])].join('\n');
  }
  vecTypedef(t: ScalarType, lanes: number): string {
    const name = vecType(t, lanes);
    return this.need(`T:${name}`, () => `typedef ${CTYPE[t]} ${name} __attribute__((vector_size(${lanes * bytes(t)})));`) && name;
  }
}

function bytes(t: ScalarType): number {
  return t === 'f64' || t === 'i64' || t === 'u64' ? 8 : t === 'f32' || t === 'i32' || t === 'u32' ? 4 : t === 'i16' || t === 'u16' || t === 'f16' || t === 'bf16' ? 2 : 1;
}

function fsuf(t: ScalarType): string { return t === 'f32' ? 'f' : ''; }

/**
 * expf without a libm call: branch-free, so GCC/Clang vectorize the per-lane helper loops (SiLU,
 * Sigmoid, Softmax epilogues) instead of calling expf once per lane. Cody-Waite range reduction and
 * the Cephes degree-6 polynomial: within 2 ulp of expf on [-86.6, 88.7]; +inf above, 0 below
 * (|error| < 2.6e-38), NaN stays NaN.
 */
export const EXPF = `static inline float aic_expf(float x) {
  float xc = x > 88.7228391117f ? 88.7228391117f : (x < -86.6f ? -86.6f : x);
  float t = xc * 1.44269504088896341f;
  float n = (t + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693359375f;
  float p, sc;
  union { int32_t i; float f; } u;
  r = r - n * -2.12194440e-4f;
  p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * r * r + r + 1.0f;
  u.i = ((int32_t)n + 126) << 23;
  sc = (p * 2.0f) * u.f;
  return x != x ? x : (x > 88.7228391117f ? INFINITY : (x < -86.6f ? 0.0f : sc));
}`;

/** dot2 (loop-ir intrinsics.ts): two int16 halves per int32 word, multiplied pairwise and added (wrapping). */
const DOT2 = `static inline int32_t aic_dot2(int32_t p, int32_t q) {
  int32_t lo = (int32_t)(int16_t)p * (int32_t)(int16_t)q, hi = (int32_t)(int16_t)(p >> 16) * (int32_t)(int16_t)(q >> 16);
  return (int32_t)((uint32_t)lo + (uint32_t)hi);
}`;

/**
 * Vector dot2 on L int32 lanes: pmaddwd where the compiler targets it (AVX-512BW: 16 lanes, AVX2: 8,
 * SSE2: 4; exact, it wraps like dot2), else lane by lane.
 */
function vecDot2(h: Helpers, L: number): string {
  const vt = h.vecTypedef('i32', L);
  const isa = L === 16 ? ['__AVX512BW__', '_mm512_madd_epi16', '__m512i'] : L === 8 ? ['__AVX2__', '_mm256_madd_epi16', '__m256i'] : L === 4 ? ['__SSE2__', '_mm_madd_epi16', '__m128i'] : undefined;
  h.need('aic_dot2', () => DOT2);
  return h.need(`aic_vdot2_${vt}`, () => [
    ...(isa ? [`#if defined(${isa[0]}) && !defined(AIC_NO_INTRINSICS)`, '#include <immintrin.h>',
      `static inline __attribute__((always_inline)) ${vt} aic_vdot2_${vt}(${vt} a, ${vt} b) { return (${vt})${isa[1]}((${isa[2]})a, (${isa[2]})b); }`, '#else'] : []),
    `static inline __attribute__((always_inline)) ${vt} aic_vdot2_${vt}(${vt} a, ${vt} b) { ${vt} r; int l; for (l = 0; l < ${L}; l++) r[l] = aic_dot2(a[l], b[l]); return r; }`,
    ...(isa ? ['#endif'] : []),
  ].join('\n'));
}

/** dot4 (loop-ir intrinsics.ts): the bytes of p unsigned times those of q signed, summed. */
const DOT4 = `static inline int32_t aic_dot4(int32_t p, int32_t q) {
  uint32_t u = (uint32_t)p, v = (uint32_t)q;
  int32_t s = 0;
  int i;
  for (i = 0; i < 4; i++) s += (int32_t)((u >> (8 * i)) & 255u) * (int32_t)(int8_t)(uint8_t)((v >> (8 * i)) & 255u);
  return s;
}`;

/**
 * acc + dot2(a, b) / acc + dot4(a, b) on 16 int32 lanes: one vpdpwssd / vpdpbusd with AVX-512 VNNI
 * (neither saturates: exact as the scalar forms), else the add of the plain dot.
 */
function vecDotAcc(h: Helpers, fn: 'dot2' | 'dot4', L: number): string {
  const vt = h.vecTypedef('i32', L);
  const name = `aic_v${fn}acc_${vt}`;
  if (fn === 'dot4') h.need('aic_dot4', () => DOT4);
  const plain = fn === 'dot2' ? `return acc + ${vecDot2(h, L)}(a, b);`
    : `${vt} r; int l; for (l = 0; l < ${L}; l++) r[l] = (int32_t)((uint32_t)acc[l] + (uint32_t)aic_dot4(a[l], b[l])); return r;`;
  const vnni = fn === 'dot2' ? '_mm512_dpwssd_epi32' : '_mm512_dpbusd_epi32';
  // 8 / 4 lanes (narrow maps): the VL forms of the same instructions
  const isa = L === 16 ? ['defined(__AVX512VNNI__)', vnni, '__m512i'] : L === 8 ? ['defined(__AVX512VNNI__) && defined(__AVX512VL__)', vnni.replace('_mm512', '_mm256'), '__m256i']
    : L === 4 ? ['defined(__AVX512VNNI__) && defined(__AVX512VL__)', vnni.replace('_mm512', '_mm'), '__m128i'] : undefined;
  return h.need(name, () => [
    ...(isa ? [`#if ${isa[0]} && !defined(AIC_NO_INTRINSICS)`, '#include <immintrin.h>',
      `static inline __attribute__((always_inline)) ${vt} ${name}(${vt} acc, ${vt} a, ${vt} b) { return (${vt})${isa[1]}((${isa[2]})acc, (${isa[2]})a, (${isa[2]})b); }`, '#else'] : []),
    `static inline __attribute__((always_inline)) ${vt} ${name}(${vt} acc, ${vt} a, ${vt} b) { ${plain} }`,
    ...(isa ? ['#endif'] : []),
  ].join('\n'));
}

/** Scalar C for an intrinsic. */
function scalarCall(h: Helpers, fn: string, t: ScalarType, a: string[]): string {
  const f = fsuf(t);
  const x = a[0];
  if (t === 'f32' && fn === 'exp') return h.need('aic_expf', () => EXPF) + `(${x})`;
  switch (fn) {
    case 'exp': case 'log': case 'sqrt': case 'tanh': case 'erf': case 'floor': case 'ceil': case 'trunc':
    case 'sin': case 'cos': case 'tan': case 'asin': case 'acos': case 'atan': case 'sinh': case 'cosh':
    case 'asinh': case 'acosh': case 'atanh':
      return isF(t) ? `${fn}${f}(${x})` : `(${CTYPE[t]})${fn}((double)${x})`;
    case 'fabs': return isF(t) ? `fabs${f}(${x})` : `aic_abs_${t}(${x})`;
    case 'round_even': return `nearbyint${f}(${x})`;
    case 'rsqrt': return `(1.0${f} / sqrt${f}(${x}))`;
    case 'isnan': return isF(t) ? `(uint8_t)(isnan(${x}) != 0)` : '0';
    case 'isinf': return isF(t) ? `(uint8_t)(isinf(${x}) != 0)` : '0';
    case 'sign': return `(${CTYPE[t]})((${x} > 0) - (${x} < 0))`;
    case 'fma': return isF(t) ? `fma${f}(${a[0]}, ${a[1]}, ${a[2]})` : `(${a[0]} * ${a[1]} + ${a[2]})`;
    case 'atan2': return `atan2${f}(${a[0]}, ${a[1]})`;
    case 'check_index': case 'check_nonzero': case 'check_range': return checkCall(h, fn, t, a);
    case 'dot2': return h.need('aic_dot2', () => DOT2) + `(${a[0]}, ${a[1]})`;
    case 'dot4': return h.need('aic_dot4', () => DOT4) + `(${a[0]}, ${a[1]})`;
    default: throw new Error(`C: unknown intrinsic ${fn}`);
  }
}

/**
 * Runtime checks (loop-ir checks.ts): a failure is recorded once in aic_err_* (declared by render.ts)
 * and aic_model_run returns AIC_ERR_CHECK after the kernel.
 */
function checkCall(h: Helpers, fn: 'check_index' | 'check_nonzero' | 'check_range', t: ScalarType, a: string[]): string {
  h.need('aic_fail', () => 'static void aic_fail(int code, int64_t value, int64_t bound) { if (!aic_err_code) { aic_err_code = code; aic_err_value = value; aic_err_bound = bound; } }');
  const ct = CTYPE[t];
  if (fn === 'check_nonzero') {
    return h.need(`aic_check_nonzero_${t}`, () => `static inline ${ct} aic_check_nonzero_${t}(${ct} b) { if (b == 0) aic_fail(${CHECK_DIV_ZERO}, 0, 0); return b; }`) + `(${a[0]})`;
  }
  const signed = isSignedT(t) && !isF(t);
  if (fn === 'check_range') {
    const test = signed ? `(int64_t)v < 0 || (int64_t)v >= (int64_t)n` : `v >= (${ct})n`;
    return h.need(`aic_check_range_${t}`, () => `static inline int32_t aic_check_range_${t}(${ct} v, int32_t n, int32_t code) { if (${test}) { aic_fail(code, (int64_t)v, n); return 0; } return (int32_t)v; }`)
      + `(${a[0]}, ${a[1]}, ${a[2]})`;
  }
  const body = signed
    ? `int64_t j = (int64_t)i; if (j < -(int64_t)n || j >= (int64_t)n) { aic_fail(${CHECK_INDEX}, j, n); return 0; } return (int32_t)(j < 0 ? j + n : j);`
    : `if (i >= (${ct})n) { aic_fail(${CHECK_INDEX}, (int64_t)i, n); return 0; } return (int32_t)i;`;
  return h.need(`aic_check_index_${t}`, () => `static inline int32_t aic_check_index_${t}(${ct} i, int32_t n) { ${body} }`) + `(${a[0]}, ${a[1]})`;
}

function scalarBin(h: Helpers, op: string, t: ScalarType, a: string, b: string): string {
  const ct = CTYPE[t];
  switch (op) {
    // integer division: legalized (loop-ir legalize.ts), the divisor is never 0 or -1 here
    case 'div': return isF(t) || bytes(t) >= 4 ? `(${a} / ${b})` : `(${ct})(${a} / ${b})`;
    case 'mod':
      if (isF(t)) return `fmod${fsuf(t)}(${a}, ${b})`;
      return bytes(t) >= 4 ? `(${a} % ${b})` : `(${ct})(${a} % ${b})`;
    // float min/max: legalized, NaN operands never reach here
    case 'min': case 'max': {
      const cmp = op === 'min' ? (isF(t) ? '<=' : '<') : (isF(t) ? '>=' : '>');
      return h.need(`aic_${op}_${t}`, () => `static inline ${ct} aic_${op}_${t}(${ct} a, ${ct} b) { return a ${cmp} b ? a : b; }`) + `(${a}, ${b})`;
    }
    case 'pow': return isF(t) ? `pow${fsuf(t)}(${a}, ${b})` : `(${ct})pow((double)${a}, (double)${b})`;
    case 'and': case 'or': case 'xor':
      if (t === 'bool') return `(uint8_t)(${a} ${OPS[op]} ${b})`;
      return `(${ct})(${a} ${OPS[op]} ${b})`;
    case 'shl': case 'shr': return `(${ct})(${a} ${OPS[op]} ${b})`;
    case 'eq': case 'ne': case 'lt': case 'le': case 'gt': case 'ge': return `(uint8_t)(${a} ${OPS[op]} ${b})`;
    default:
      // + - * on narrow ints promote to int: cast back so wrapping matches the interpreter
      if (t === 'i32' && op === 'mul') return `(int32_t)((uint32_t)${a} * (uint32_t)${b})`;
      if (t === 'i32' && (op === 'add' || op === 'sub')) return `(int32_t)((uint32_t)${a} ${OPS[op]} (uint32_t)${b})`;
      if (t === 'i64' && (op === 'add' || op === 'sub' || op === 'mul')) return `(int64_t)((uint64_t)${a} ${OPS[op]} (uint64_t)${b})`;
      if (!isF(t) && bytes(t) < 4) return `(${ct})(${a} ${OPS[op]} ${b})`;
      return `(${a} ${OPS[op]} ${b})`;
  }
}

/**
 * Vector form of a kernel body, resolved ahead of rendering: unrolled loops (within loop-ir's one
 * budget, unrollCopies) become copies with the index substituted and folded, vectorized loops become vector statements
 * (scalar loops where they cannot). Register tiles then have constant indices (see CEmitter's
 * register allocation of accumulators).
 */
export function prelower(s: Stmt): Stmt {
  switch (s.k) {
    case 'for': {
      const copies = unrollCopies(s);
      if (copies) return { k: 'seq', body: copies.map(prelower) };
      if (s.kind.k === 'vectorized') {
        const v = vectorizeLoop(s);
        if (v) return prelower(simplifyStmt(v));
        return { ...s, kind: { k: 'serial' }, body: prelower(s.body) };
      }
      return { ...s, body: prelower(s.body) };
    }
    case 'seq': return { k: 'seq', body: s.body.map(prelower) };
    case 'if': return { ...s, then: prelower(s.then), ...(s.else ? { else: prelower(s.else) } : {}) };
    case 'alloc': case 'let': return { ...s, body: prelower(s.body) };
    default: return s;
  }
}

/** Lanes of every access to register buffer `buf` when all are at constant slots of one width, else undefined. */
function registerSlots(body: Stmt, buf: string): number | undefined {
  let lanes: number | undefined;
  let ok = true;
  const check = (idx: Expr) => {
    let L: number;
    if (idx.k === 'const' && idx.lanes === 1) L = 1;
    else if (idx.k === 'ramp' && idx.stride === 1 && idx.base.k === 'const') L = idx.lanes;
    else { ok = false; return; }
    const base = idx.k === 'const' ? idx.v : (idx.base as { v: number }).v;
    if (lanes === undefined) lanes = L;
    if (lanes !== L || base % L !== 0) ok = false;
  };
  const visitE = (e: Expr) => mapExpr(e, (x) => { if (x.k === 'load' && x.buf === buf) check(x.idx); return x; });
  walkStmt(body, (x) => {
    if (x.k === 'store') { if (x.buf === buf) check(x.idx); visitE(x.idx); visitE(x.val); }
    else if (x.k === 'for') visitE(x.ext);
    else if (x.k === 'if') visitE(x.c);
    else if (x.k === 'let') visitE(x.val);
    else if (x.k === 'alloc' && x.buf.name === buf) ok = false;
  });
  return ok ? lanes : undefined;
}

/** An index expression as plain int arithmetic (indices of valid accesses never overflow). */
function plainIndex(e: Expr): string | undefined {
  switch (e.k) {
    case 'const': return e.t === 'i32' ? String(e.v < 0 ? `(${e.v})` : e.v) : undefined;
    case 'var': return e.t === 'i32' ? e.name : undefined;
    case 'bin': {
      if (e.t !== 'i32' || !['add', 'sub', 'mul'].includes(e.op) || e.lanes !== 1) return undefined;
      const a = plainIndex(e.a), b = plainIndex(e.b);
      return a !== undefined && b !== undefined ? `(${a} ${OPS[e.op]} ${b})` : undefined;
    }
    default: return undefined;
  }
}

/**
 * Index arithmetic: an i32 expression of loop variables and small constants only (no loads, so no
 * tensor data). Rendered as plain signed int (+ - *) so the C compiler may assume no overflow,
 * strength-reduce and vectorize; data arithmetic keeps the wrapping casts the interpreter's semantics need.
 */
function pureIndex(e: Expr): boolean {
  switch (e.k) {
    case 'const': return e.t === 'i32' && Math.abs(e.v) < 2 ** 24;
    case 'var': return e.t === 'i32';
    case 'bin': return e.t === 'i32' && e.lanes === 1 && ['add', 'sub', 'mul', 'min', 'max', 'div', 'mod'].includes(e.op) && pureIndex(e.a) && pureIndex(e.b);
    case 'select': return e.t === 'i32' && e.lanes === 1 && pureIndex(e.a) && pureIndex(e.b) && pureCond(e.c);
    case 'un': return e.op === 'neg' && e.t === 'i32' && e.lanes === 1 && pureIndex(e.x);
    default: return false;
  }
}
function pureCond(e: Expr): boolean {
  if (e.k !== 'bin' || e.lanes !== 1) return false;
  if (['lt', 'le', 'gt', 'ge', 'eq', 'ne'].includes(e.op)) return pureIndex(e.a) && pureIndex(e.b);
  if (e.op === 'and' || e.op === 'or') return pureCond(e.a) && pureCond(e.b);
  return false;
}

export class CEmitter {
  /** register buffers held in variables: name -> lanes of each slot variable */
  private regs = new Map<string, number>();
  /** subexpressions bound to a const before the current store (repeatedSubexprs), by structural key */
  private keys = new ExprKeys();
  private bound = new Map<number, string>();
  private nLets = 0;
  constructor(readonly h: Helpers, readonly bufs: Map<string, Buffer>, readonly vector: boolean) {}
  private need = (name: string, def: () => string) => this.h.need(name, def);
  private vec = (t: ScalarType, lanes: number) => this.h.vecTypedef(t, lanes);

  /** an address: plain int arithmetic where the whole index is add/sub/mul of vars and constants */
  index(e: Expr): string {
    return plainIndex(e) ?? this.expr(e);
  }

  private regName(buf: string, idx: Expr): string | undefined {
    const L = this.regs.get(buf);
    if (L === undefined) return undefined;
    const base = idx.k === 'const' ? idx.v : idx.k === 'ramp' && idx.base.k === 'const' ? idx.base.v : NaN;
    return `${buf}_${base / L}`;
  }

  expr(e: Expr): string {
    if (this.bound.size) { const n = this.bound.get(this.keys.key(e)); if (n) return n; }
    if (e.lanes > 1) return this.vexpr(e);
    switch (e.k) {
      case 'const': return cConst(e.v, e.t);
      case 'var': return e.name;
      case 'load': {
        const ht = this.bufs.get(e.buf)?.dtype;
        if (ht && isHalfT(ht)) return cHalfLoad(this.h, ht, `${e.buf}[${this.index(e.idx)}]`);
        return this.regName(e.buf, e.idx) ?? `${e.buf}[${this.index(e.idx)}]`;
      }
      case 'bin':
        if (e.a.t === 'i32' && ['add', 'sub', 'mul'].includes(e.op) && pureIndex(e)) return `(${this.expr(e.a)} ${OPS[e.op]} ${this.expr(e.b)})`;
        if (e.t === 'bool' && ['lt', 'le', 'gt', 'ge', 'eq', 'ne'].includes(e.op) && pureCond(e)) return `(${this.expr(e.a)} ${OPS[e.op]} ${this.expr(e.b)})`;
        if (e.t === 'bool' && (e.op === 'and' || e.op === 'or') && pureCond(e)) return `(${this.expr(e.a)} ${e.op === 'and' ? '&&' : '||'} ${this.expr(e.b)})`;
        if (e.a.t === 'i32' && (e.op === 'min' || e.op === 'max') && pureIndex(e)) {
          const a = this.expr(e.a), b = this.expr(e.b);
          return e.b.k === 'const' || e.b.k === 'var' ? `(${a} ${e.op === 'min' ? '<' : '>'} ${b} ? ${a} : ${b})` : scalarBin(this.h, e.op, e.a.t, a, b);
        }
        return scalarBin(this.h, e.op, e.a.t, this.expr(e.a), this.expr(e.b));
      case 'un':
        if (e.op === 'neg') return isF(e.t) ? `(-${this.expr(e.x)})` : `(${CTYPE[e.t]})(0 - ${this.expr(e.x)})`;
        if (e.op === 'not') return e.t === 'bool' ? `(uint8_t)!${this.expr(e.x)}` : `(${CTYPE[e.t]})~${this.expr(e.x)}`;
        return isF(e.t) ? `fabs${fsuf(e.t)}(${this.expr(e.x)})` : `(${CTYPE[e.t]})(${this.expr(e.x)} < 0 ? 0 - ${this.expr(e.x)} : ${this.expr(e.x)})`;
      case 'call': return scalarCall(this.h, e.fn, e.args[0].t, e.args.map((a) => this.expr(a)));
      case 'select': return `(${this.expr(e.c)} ? ${this.expr(e.a)} : ${this.expr(e.b)})`;
      case 'cast':
        if (e.t === 'bool') return `(uint8_t)(${this.expr(e.x)} != 0)`;
        if (!isF(e.t) && isF(e.x.t)) {
          return this.h.need(`aic_cvt_${e.x.t}_${e.t}`, () => `static inline ${CTYPE[e.t]} aic_cvt_${e.x.t}_${e.t}(${CTYPE[e.x.t]} x) { return ${saturate('x', e.t)}; }`) + `(${this.expr(e.x)})`;
        }
        return `(${CTYPE[e.t]})(${this.expr(e.x)})`;
      case 'bcast': case 'ramp': case 'reduce':
        throw new Error(`C: unexpected scalar ${e.k}`);
    }
  }

  /** A vector expression: every non-trivial operation goes through a per-lane helper the compiler vectorizes. */
  private vexpr(e: Expr): string {
    if (this.bound.size) { const n = this.bound.get(this.keys.key(e)); if (n) return n; }
    const L = e.lanes;
    const vt = this.h.vecTypedef(e.t, L);
    switch (e.k) {
      case 'bcast': return this.h.need(`aic_splat_${vt}`, () => `static inline ${vt} aic_splat_${vt}(${CTYPE[e.t]} x) { ${vt} r = { ${Array(L).fill('x').join(', ')} }; return r; }`) + `(${this.expr(e.x)})`;
      case 'ramp': return this.h.need(`aic_ramp_${vt}`, () => `static inline ${vt} aic_ramp_${vt}(${CTYPE[e.t]} b, ${CTYPE[e.t]} s) { ${vt} r; int l; for (l = 0; l < ${L}; l++) r[l] = b + s * l; return r; }`) + `(${this.expr(e.base)}, ${e.stride})`;
      case 'load': {
        const reg = this.regName(e.buf, e.idx);
        if (reg) return reg;
        const hb = this.bufs.get(e.buf)?.dtype;
        if (hb && isHalfT(hb)) {
          if (e.idx.k === 'ramp' && e.idx.stride > 0) return `${cHalfVLoad(this.h, hb, vt, L, e.idx.stride)}(&${e.buf}[${this.index(e.idx.base)}])`;
          const it = this.h.vecTypedef('i32', L);
          return `${cHalfVLoad(this.h, hb, vt, L, undefined, it)}(${e.buf}, ${this.vexpr(e.idx)})`;
        }
        if (e.idx.k === 'ramp' && e.idx.stride === 1) {
          return this.h.need(`aic_vload_${vt}`, () => `static inline ${vt} aic_vload_${vt}(const ${CTYPE[e.t]} *p) { ${vt} r; memcpy(&r, p, sizeof r); return r; }`) + `(&${e.buf}[${this.index(e.idx.base)}])`;
        }
        if (e.idx.k === 'ramp' && e.idx.stride === 0) return this.vexpr({ k: 'bcast', x: { ...e, idx: e.idx.base, lanes: 1 }, t: e.t, lanes: L });
        if (e.idx.k === 'ramp' && e.idx.stride === 2 && L >= 4) {
          // stride 2: two overlapping contiguous loads (p[0..L-1], p[L-1..2L-2]: nothing past the last lane)
          // and one two-source shuffle, which the compiler can keep in registers and share between rows
          const vl = this.h.need(`aic_vload_${vt}`, () => `static inline ${vt} aic_vload_${vt}(const ${CTYPE[e.t]} *p) { ${vt} r; memcpy(&r, p, sizeof r); return r; }`);
          // GCC's mask lanes have the element's width (u8 vectors from int8 pooling need an i8 mask)
          const it = this.h.vecTypedef(({ 8: 'i64', 4: 'i32', 2: 'i16', 1: 'i8' } as const)[bytes(e.t) as 1 | 2 | 4 | 8], L);
          const idx = Array.from({ length: L }, (_, l) => (l < L / 2 ? 2 * l : 2 * l + 1));
          return this.h.need(`aic_vload2_${vt}`, () => [
            `static inline ${vt} aic_vload2_${vt}(const ${CTYPE[e.t]} *p) {`,
            `  ${vt} a = ${vl}(p), b = ${vl}(p + ${L - 1});`,
            '#if defined(__clang__)',
            `  return __builtin_shufflevector(a, b, ${idx.join(', ')});`,
            '#else',
            `  const ${it} m = { ${idx.join(', ')} };`,
            '  return __builtin_shuffle(a, b, m);',
            '#endif',
            '}',
          ].join('\n')) + `(&${e.buf}[${this.index(e.idx.base)}])`;
        }
        if (e.idx.k === 'ramp' && e.idx.stride > 1 && e.idx.stride <= 8) {
          // a constant stride (strided conv / pooling): the compiler turns this loop into loads + permutes
          const S = e.idx.stride;
          return this.h.need(`aic_vload${S}_${vt}`, () => `static inline ${vt} aic_vload${S}_${vt}(const ${CTYPE[e.t]} *p) { ${vt} r; int l; for (l = 0; l < ${L}; l++) r[l] = p[l * ${S}]; return r; }`) + `(&${e.buf}[${this.index(e.idx.base)}])`;
        }
        const it = this.h.vecTypedef('i32', L);
        return this.h.need(`aic_gather_${vt}`, () => `static inline ${vt} aic_gather_${vt}(const ${CTYPE[e.t]} *p, ${it} i) { ${vt} r; int l; for (l = 0; l < ${L}; l++) r[l] = p[i[l]]; return r; }`) + `(${e.buf}, ${this.vexpr(e.idx)})`;
      }
      case 'bin': {
        // acc + dot2 / dot4: one multiply-accumulate instruction where there is one (VNNI)
        const dot = e.op === 'add' && e.b.k === 'call' && (e.b.fn === 'dot2' || e.b.fn === 'dot4') ? e.b : undefined;
        if (dot) return `${vecDotAcc(this.h, dot.fn as 'dot2' | 'dot4', L)}(${this.vexpr(e.a)}, ${dot.args.map((x) => this.vexpr(x)).join(', ')})`;
        const a = this.vexpr(e.a), b = this.vexpr(e.b);
        const at = e.a.t;
        if (['add', 'sub', 'mul'].includes(e.op) && (isF(at) || bytes(at) >= 4) || (e.op === 'div' && isF(at))) {
          return `(${a} ${e.op === 'div' ? '/' : OPS[e.op]} ${b})`;
        }
        const avt = this.h.vecTypedef(at, L);
        const blend = e.op === 'min' || e.op === 'max' ? vecMinMax(this.need, this.vec, e.op, at, L) : undefined;
        if (blend) return `${blend}(${a}, ${b})`;
        const name = `aic_v${e.op}_${avt}`;
        return this.h.need(name, () => {
          const inner = scalarBin(this.h, e.op, at, 'a[l]', 'b[l]');
          return `static inline ${vt} ${name}(${avt} a, ${avt} b) { ${vt} r; int l; for (l = 0; l < ${L}; l++) r[l] = ${inner}; return r; }`;
        }) + `(${a}, ${b})`;
      }
      case 'un': {
        const name = `aic_v${e.op}_${vt}`;
        const inner = e.op === 'neg' ? '-x[l]' : e.op === 'not' ? (e.t === 'bool' ? '!x[l]' : '~x[l]') : isF(e.t) ? `fabs${fsuf(e.t)}(x[l])` : '(x[l] < 0 ? -x[l] : x[l])';
        return this.h.need(name, () => `static inline ${vt} ${name}(${vt} x) { ${vt} r; int l; for (l = 0; l < ${L}; l++) r[l] = ${inner}; return r; }`) + `(${this.vexpr(e.x)})`;
      }
      case 'call': {
        if (e.fn === 'dot2') return vecDot2(this.h, L) + `(${e.args.map((a) => this.vexpr(a)).join(', ')})`;
        if (e.fn === 'dot4') return `${vecDotAcc(this.h, 'dot4', L)}(${this.vexpr({ k: 'const', t: 'i32', v: 0, lanes: L })}, ${e.args.map((a) => this.vexpr(a)).join(', ')})`;
        if (e.fn === 'exp' && e.t === 'f32' && e.args[0].t === 'f32') return `${vecExpF32(this.need, this.vec, L)}(${this.vexpr(e.args[0])})`;
        const ats = e.args.map((a) => this.h.vecTypedef(a.t, L));
        const name = `aic_v${e.fn}_${ats.join('_')}`;
        return this.h.need(name, () => {
          const params = ats.map((t, i) => `${t} a${i}`).join(', ');
          const inner = scalarCall(this.h, e.fn, e.args[0].t, e.args.map((_, i) => `a${i}[l]`));
          return `static inline ${vt} ${name}(${params}) { ${vt} r; int l; for (l = 0; l < ${L}; l++) r[l] = ${inner}; return r; }`;
        }) + `(${e.args.map((a) => this.vexpr(a)).join(', ')})`;
      }
      case 'select': {
        const ct = this.h.vecTypedef(e.c.t, L);
        const w = laneWidth(e.t);
        const mask = w ? vecMask(e.c, w, (x) => this.vexpr(x.lanes === L ? x : { k: 'bcast', x, t: x.t, lanes: L })) : undefined;
        const vb = mask && vecBlend(this.need, this.vec, e.t, L);
        if (vb) return `${vb}(${mask}, ${this.vexpr(e.a)}, ${this.vexpr(e.b)})`;
        const blend = vecSelect(this.need, this.vec, e.c.t, e.t, L);
        if (blend) return `${blend}(${this.vexpr(e.c)}, ${this.vexpr(e.a)}, ${this.vexpr(e.b)})`;
        const name = `aic_vselect_${ct}_${vt}`;
        return this.h.need(name, () => `static inline ${vt} ${name}(${ct} c, ${vt} a, ${vt} b) { ${vt} r; int l; for (l = 0; l < ${L}; l++) r[l] = c[l] ? a[l] : b[l]; return r; }`)
          + `(${this.vexpr(e.c)}, ${this.vexpr(e.a)}, ${this.vexpr(e.b)})`;
      }
      case 'cast': {
        const xt = this.h.vecTypedef(e.x.t, L);
        const name = `aic_vcast_${xt}_${vt}`;
        // i32 of a float saturated to a narrow type (int8 requantizing epilogues: cast<i32>(cast<i16>(x))):
        // the clamp in float lanes, then one conversion (not to i16 and back, a pack and two unpacks)
        if (e.t === 'i32' && e.x.k === 'cast' && NARROW.has(e.x.t) && isF(e.x.x.t)) {
          const inner = e.x, sat = `aic_vsat_${this.h.vecTypedef(inner.x.t, L)}_${inner.t}_${vt}`;
          const satFn = this.h.need(sat, () => vecSaturate(this.h, sat, inner.x.t, inner.t, L, 'i32')), r = inner.x;
          // ... of round_even(x): the rounding in the conversion (vecSaturateRound)
          const rne = r.k === 'call' && r.fn === 'round_even' && r.t === 'f32' ? vecSaturateRound(this.h, `aic_vsatrne_${this.h.vecTypedef('f32', L)}_${inner.t}`, inner.t, L, sat) : undefined;
          return rne && r.k === 'call' ? this.h.need(rne.name, () => rne.def) + `(${this.vexpr(r.args[0])})` : satFn + `(${this.vexpr(inner.x)})`;
        }
        if (isF(e.x.t) && NARROW.has(e.t)) return this.h.need(name, () => vecSaturate(this.h, name, e.x.t, e.t, L)) + `(${this.vexpr(e.x)})`;
        if (e.x.t === 'f32' && e.t === 'i32') return this.h.need(name, () => vecSaturateI32(this.h, name, L)) + `(${this.vexpr(e.x)})`;
        // integer -> integer (extend, or truncate as C's cast does), integer -> float, f32 <-> f64: the C
        // cast lane by lane is what __builtin_convertvector does (u8 -> f32 as a per-lane loop went
        // through the stack: mobilenet_v2's requantizing int8 adds ran 4x slower)
        const widen = vecWidenI32(this.h, name, e.x.t, e.t, L);
        if (widen || exactVectorConvert(e.x.t, e.t)) return this.h.need(name, () => widen ?? `static inline __attribute__((always_inline)) ${vt} ${name}(${xt} x) { return ${convertSteps(this.h, e.x.t, e.t, L, 'x')}; }`) + `(${this.vexpr(e.x)})`;
        const inner = e.t === 'bool' ? '(uint8_t)(x[l] != 0)' : !isF(e.t) && isF(e.x.t) ? `(${saturate('x[l]', e.t)})` : `(${CTYPE[e.t]})x[l]`;
        return this.h.need(name, () => `static inline ${vt} ${name}(${xt} x) { ${vt} r; int l; for (l = 0; l < ${L}; l++) r[l] = ${inner}; return r; }`) + `(${this.vexpr(e.x)})`;
      }
      case 'const': return this.vexpr({ k: 'bcast', x: { ...e, lanes: 1 }, t: e.t, lanes: L });
      case 'var': return e.name;
      case 'reduce': throw new Error('C: unexpected reduce');
    }
  }

  stmt(s: Stmt, ind: string, out: string[]): void {
    const inner = ind + '  ';
    switch (s.k) {
      case 'seq': for (const b of s.body) this.stmt(b, ind, out); return;
      case 'store': {
        const shared = this.bound.size ? [] : repeatedSubexprs(s, this.keys);
        if (shared.length) {
          // an expression tree that repeats whole subtrees (an inlined elementwise chain whose ops read
          // their input several times: QuantizeLinear's saturation, HardSwish) computes each once
          try {
            for (const x of shared) {
              const name = `aic_s${this.nLets++}`;
              out.push(`${ind}const ${x.lanes > 1 ? this.vec(x.t, x.lanes) : CTYPE[x.t]} ${name} = ${x.lanes > 1 ? this.vexpr(x) : this.expr(x)};`);
              // a form that renders its operands its own way (an address, a register slot) may not read it
              out.push(`${ind}(void)${name};`);
              this.bound.set(this.keys.key(x), name);
            }
            this.stmt(s, ind, out);
          } finally {
            this.bound.clear();
          }
          return;
        }
        const reg = this.regName(s.buf, s.idx);
        if (reg) {
          out.push(`${ind}${reg} = ${s.val.lanes > 1 ? this.vexpr(s.val) : s.idx.lanes > 1 ? this.vexpr({ k: 'bcast', x: s.val, t: s.val.t, lanes: s.idx.lanes }) : this.expr(s.val)};`);
          return;
        }
        const ht = this.bufs.get(s.buf)?.dtype;
        if (ht && isHalfT(ht) && (s.val.lanes > 1 || s.idx.lanes > 1)) {
          const L = Math.max(s.val.lanes, s.idx.lanes);
          const val = this.vexpr(s.val.lanes > 1 ? s.val : { k: 'bcast', x: s.val, t: s.val.t, lanes: L });
          const vt = this.h.vecTypedef(s.val.t, L);
          if (s.idx.k === 'ramp' && s.idx.stride > 0) out.push(`${ind}${cHalfVStore(this.h, ht, vt, s.val.t, L, s.idx.stride)}(&${s.buf}[${this.index(s.idx.base)}], ${val});`);
          else out.push(`${ind}${cHalfVStore(this.h, ht, vt, s.val.t, L, undefined, this.h.vecTypedef('i32', L))}(${s.buf}, ${this.vexpr(s.idx.lanes > 1 ? s.idx : { k: 'bcast', x: s.idx, t: s.idx.t, lanes: L })}, ${val});`);
          return;
        }
        if (ht && isHalfT(ht)) {
          out.push(`${ind}${s.buf}[${this.index(s.idx)}] = ${cHalfStore(this.h, ht, this.expr(s.val), s.val.t)};`);
          return;
        }
        if (s.val.lanes > 1 || s.idx.lanes > 1) {
          const vt = this.h.vecTypedef(s.val.t, s.val.lanes);
          const t = CTYPE[s.val.t];
          if (s.idx.k === 'ramp' && s.idx.stride === 1) {
            this.h.need(`aic_vstore_${vt}`, () => `static inline void aic_vstore_${vt}(${t} *p, ${vt} v) { memcpy(p, &v, sizeof v); }`);
            out.push(`${ind}aic_vstore_${vt}(&${s.buf}[${this.index(s.idx.base)}], ${this.vexpr(s.val)});`);
          } else {
            const it = this.h.vecTypedef('i32', s.idx.lanes);
            this.h.need(`aic_scatter_${vt}`, () => `static inline void aic_scatter_${vt}(${t} *p, ${it} i, ${vt} v) { int l; for (l = 0; l < ${s.idx.lanes}; l++) p[i[l]] = v[l]; }`);
            out.push(`${ind}aic_scatter_${vt}(${s.buf}, ${this.vexpr(s.idx)}, ${this.vexpr(s.val)});`);
          }
          return;
        }
        out.push(`${ind}${s.buf}[${this.index(s.idx)}] = ${this.expr(s.val)};`);
        return;
      }
      case 'for': {
        if (s.kind.k === 'vectorized' && this.vector) {
          const v = vectorizeLoop(s);
          if (v) {
            out.push('#if AIC_VECTOR');
            out.push(`${ind}{`);
            this.stmt(v, inner, out);
            out.push(`${ind}}`);
            out.push('#else');
            this.scalarFor(s, ind, out);
            out.push('#endif');
            return;
          }
        }
        const copies = unrollCopies(s);
        if (copies) {
          for (const c of copies) this.stmt(c, ind, out);
          return;
        }
        this.scalarFor(s, ind, out);
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
        this.bufs.set(s.buf.name, s.buf);
        out.push(`${ind}{`);
        const slots = s.buf.scope === 'register' && n <= 512 ? registerSlots(s.body, s.buf.name) : undefined;
        if (slots !== undefined && n % slots === 0 && (slots === 1 || this.vector)) {
          // accumulators in variables (registers), one per slot
          const vt = slots === 1 ? CTYPE[s.buf.dtype] : this.h.vecTypedef(s.buf.dtype, slots);
          const init = slots === 1 ? '0' : '{0}';
          for (let k = 0; k < n / slots; k++) out.push(`${inner}${vt} ${s.buf.name}_${k} = ${init};`);
          this.regs.set(s.buf.name, slots);
          this.stmt(s.body, inner, out);
          this.regs.delete(s.buf.name);
          out.push(`${ind}}`);
          return;
        }
        const big = n * bytes(s.buf.dtype) > 65536;
        out.push(`${inner}${big ? 'static ' : ''}${CTYPE[s.buf.dtype]} ${s.buf.name}[${n}];`);
        this.stmt(s.body, inner, out);
        out.push(`${ind}}`);
        return;
      }
      case 'let':
        out.push(`${ind}{`);
        out.push(`${inner}const ${CTYPE[s.t]} ${s.v} = ${this.expr(s.val)};`);
        this.stmt(s.body, inner, out);
        out.push(`${ind}}`);
        return;
      case 'barrier':
        throw new Error('C: barrier has no meaning on a CPU target');
    }
  }

  private scalarFor(s: Extract<Stmt, { k: 'for' }>, ind: string, out: string[]): void {
    if (s.kind.k === 'parallel') out.push('#ifdef _OPENMP', '#pragma omp parallel for', '#endif');
    out.push(`${ind}for (int32_t ${s.v} = 0; ${s.v} < ${this.expr(s.ext)}; ${s.v}++) {`);
    this.stmt(s.body, ind + '  ', out);
    out.push(`${ind}}`);
  }
}

/** Names of buffers a statement reads / writes (to emit const-correct parameters). */
export function writtenBuffers(s: Stmt): Set<string> {
  const w = new Set<string>();
  const visit = (x: Stmt) => {
    switch (x.k) {
      case 'store': w.add(x.buf); break;
      case 'for': case 'alloc': case 'let': visit(x.body); break;
      case 'if': visit(x.then); if (x.else) visit(x.else); break;
      case 'seq': x.body.forEach(visit); break;
      default: break;
    }
  };
  visit(s);
  return w;
}

export { mapExpr };
