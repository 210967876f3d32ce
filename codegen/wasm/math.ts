/**
 * Transcendental functions WebAssembly has no instruction for, written once over a small op
 * vocabulary that emits either scalar f32 or f32x4 code (the SIMD and scalar paths share the same
 * polynomials, so a vectorized loop and its scalar tail agree bit for bit).
 * exp/log: Cephes range reduction + minimax polynomials (~1 ulp); tanh: Cephes small-argument
 * polynomial, else 1 - 2/(e^2|x| + 1); f64 exp (Cephes Pade); f32 sigmoid (below). erf and f64 sigmoid
 * come as IR arithmetic (loop-ir legalize.ts). Other f64 and the rarer f32 functions (trig, inverse hyperbolics, pow, fmod)
 * are imported from the host's Math by the loader.
 */
import { Func, ModuleBuilder, v128Of, type Instr, type ValType } from './module.ts';

export type MathMode = 'f32' | 'f32x4' | 'f64';
type Code = Instr[];

class Ops {
  constructor(readonly m: MathMode, readonly fn: Func) {}
  get vt(): ValType { return this.m === 'f32x4' ? 'v128' : this.m; }
  private p(op: string): string { return this.m === 'f32x4' ? `f32x4.${op}` : `${this.m}.${op}`; }
  c(v: number): Code {
    if (this.m === 'f32x4') return [['v128.const', v128Of('f32', [v, v, v, v])]];
    return [[`${this.m}.const`, v]];
  }
  ci(v: number): Code {
    if (this.m === 'f32x4') return [['v128.const', v128Of('i32', [v, v, v, v])]];
    return [[this.m === 'f64' ? 'i64.const' : 'i32.const', v]];
  }
  get(l: number): Code { return [['local.get', l]]; }
  set(l: number, x: Code): Code { return [...x, ['local.set', l]]; }
  tmp(): number { return this.fn.local(this.vt); }
  itmp(): number { return this.fn.local(this.m === 'f32x4' ? 'v128' : this.m === 'f64' ? 'i64' : 'i32'); }
  bin(op: string, a: Code, b: Code): Code { return [...a, ...b, [this.p(op)]]; }
  add(a: Code, b: Code) { return this.bin('add', a, b); }
  sub(a: Code, b: Code) { return this.bin('sub', a, b); }
  mul(a: Code, b: Code) { return this.bin('mul', a, b); }
  div(a: Code, b: Code) { return this.bin('div', a, b); }
  min(a: Code, b: Code) { return this.bin('min', a, b); }
  max(a: Code, b: Code) { return this.bin('max', a, b); }
  /** mask (vector) or i32 (scalar) */
  lt(a: Code, b: Code) { return this.bin('lt', a, b); }
  eq(a: Code, b: Code) { return this.bin('eq', a, b); }
  un(op: string, a: Code): Code { return [...a, [this.p(op)]]; }
  /** c ? a : b */
  select(a: Code, b: Code, c: Code): Code {
    return this.m === 'f32x4' ? [...a, ...b, ...c, ['v128.bitselect']] : [...a, ...b, ...c, ['select']];
  }
  copysign(mag: Code, sgn: Code): Code {
    if (this.m !== 'f32x4') return [...mag, ...sgn, [`${this.m}.copysign`]];
    // (mag & 0x7fffffff) | (sgn & 0x80000000)
    return [...this.iand(mag, this.ci(0x7fffffff)), ...this.iand(sgn, this.ci(-0x80000000)), ['v128.or']];
  }
  iand(a: Code, b: Code): Code { return [...a, ...b, [this.m === 'f32x4' ? 'v128.and' : this.m === 'f64' ? 'i64.and' : 'i32.and']]; }
  /** Horner: coefficients highest degree first */
  horner(x: Code, cs: number[]): Code {
    let acc = this.c(cs[0]);
    for (let i = 1; i < cs.length; i++) acc = this.add(this.mul(acc, x), this.c(cs[i]));
    return acc;
  }
}

const EXP_P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
const LOG_P = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1];
const TANH_P = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1];

export type MathFn = 'exp' | 'log' | 'tanh' | 'sigmoid';

export function mathName(fn: MathFn, m: MathMode): string { return `aic_${fn}_${m}`; }

/** Make sure the function exists in the module; returns its name. */
export function needMath(mb: ModuleBuilder, fn: MathFn, m: MathMode): string {
  const name = mathName(fn, m);
  if (mb.hasFunc(name)) return name;
  if (m === 'f64' && fn !== 'exp') throw new Error(`wasm: no own f64 ${fn}`);
  const vt: ValType = m === 'f32x4' ? 'v128' : m;
  const f = new Func(name, [vt], [vt]);
  mb.addFunc(f);
  const o = new Ops(m, f);
  f.emit(...mathBody(o, fn, o.get(0), (y) => [...y, ['call', needMath(mb, 'exp', m)]]));
  return name;
}

/** Each function's reusable temporaries per inlined math function: an inlined body reads its argument
 * into its first temporary before writing any other, so a nested use (exp(exp(x))) finishes first. */
const inlineTemps = new WeakMap<Func, Map<string, number[]>>();

class PooledOps extends Ops {
  private next = 0;
  constructor(m: MathMode, fn: Func, private readonly pool: number[]) { super(m, fn); }
  override tmp(): number { return this.take(this.vt); }
  override itmp(): number { return this.take(this.m === 'f32x4' ? 'v128' : this.m === 'f64' ? 'i64' : 'i32'); }
  private take(t: ValType): number {
    while (this.next < this.pool.length && this.fn.typeOf(this.pool[this.next]) !== t) this.next++;
    if (this.next < this.pool.length) return this.pool[this.next++];
    const l = this.fn.local(t);
    this.pool.push(l); this.next = this.pool.length;
    return l;
  }
}

/**
 * The f32x4 function's body inlined into `fn` (its argument on the stack, its result left there):
 * V8 keeps no v128 register across a call, so a call per vector in an unrolled epilogue spilled every
 * live accumulator and serialized the polynomials; inlined, independent vectors overlap. The same
 * instructions as the out-of-line function, so results are bit-identical.
 */
export function inlineMath(fn: Func, fnName: MathFn, m: MathMode): Code {
  let pools = inlineTemps.get(fn);
  if (!pools) inlineTemps.set(fn, pools = new Map());
  const key = `${fnName}:${m}`;
  let pool = pools.get(key);
  if (!pool) pools.set(key, pool = []);
  const o = new PooledOps(m, fn, pool);
  const x = o.tmp();
  return [['local.set', x], ...mathBody(o, fnName, o.get(x), (y) => [...y, ...inlineMath(fn, 'exp', m)])];
}

function mathBody(o: Ops, fn: MathFn, x: Code, exp: (y: Code) => Code): Code {
  const code: Code = [];
  switch (fn) {
    case 'exp': code.push(...(o.m === 'f64' ? expBody64(o, x) : expBody(o, x))); break;
    case 'log': code.push(...logBody(o, x)); break;
    case 'sigmoid': code.push(...sigmoidBody(o, x)); break;
    case 'tanh': {
      const a = o.tmp(), z = o.tmp();
      code.push(...o.set(a, o.un('abs', x)), ...o.set(z, o.mul(x, x)));
      const small = o.add(o.mul(o.mul(o.horner(o.get(z), TANH_P), o.get(z)), x), x);
      const e = exp(o.add(o.get(a), o.get(a)));
      const large = o.copysign(o.sub(o.c(1), o.div(o.c(2), o.add(e, o.c(1)))), x);
      code.push(...o.select(small, large, o.lt(o.get(a), o.c(0.625))));
      break;
    }
  }
  return code;
}

/**
 * f32 sigmoid without exp's clamps and two-factor 2^n: with z = |x|, e = exp(-z) (n = round(-z log2 e)
 * by adding a magic number whose low bits are n + 127, so a shift makes 2^n; r = z + n ln2 in two
 * parts; a degree-5 polynomial), f = e / (1 + e) is sigmoid(-z), 0 once exp(-z) would be subnormal
 * (z > 87.34), and sigmoid(x) = x < 0 ? f : 1 - f. ~24 instructions where 1 / (1 + exp(-x)) took ~40;
 * the constants are the rr2-p5 ones XNNPACK publishes (a few ulp). NaN stays NaN.
 */
const SIG = {
  magic: 0x18000fe / 2, minusLog2e: -0x1715476 / 2 ** 24, ln2Hi: 0x162e400 / 2 ** 25, ln2Lo: 0x17f7d1c / 2 ** 44,
  c: [-0x10f9f9c / 2 ** 31, 0x1573a1a / 2 ** 29, -0x1555a80 / 2 ** 27, 0x1fffdc6 / 2 ** 26, -0x1fffff6 / 2 ** 25],
  cutoff: 0x15d589e / 2 ** 18,
};

function sigmoidBody(o: Ops, x: Code): Code {
  const v = o.m === 'f32x4';
  const z = o.tmp(), n = o.tmp(), s = o.tmp(), t = o.tmp(), e = o.tmp(), f = o.tmp();
  const code: Code = [];
  code.push(...o.set(z, o.un('abs', x)));
  code.push(...o.set(n, o.add(o.mul(o.get(z), o.c(SIG.minusLog2e)), o.c(SIG.magic))));
  // 2^n: the sum's bits shifted into the exponent field
  code.push(...o.get(n), ...(v ? [] : [['i32.reinterpret_f32'] as Instr]), ['i32.const', 23], [v ? 'i32x4.shl' : 'i32.shl'], ...(v ? [] : [['f32.reinterpret_i32'] as Instr]), ['local.set', s]);
  code.push(...o.set(n, o.sub(o.get(n), o.c(SIG.magic))));
  code.push(...o.set(t, o.add(o.mul(o.get(n), o.c(SIG.ln2Hi)), o.get(z))));
  code.push(...o.set(t, o.add(o.mul(o.get(n), o.c(SIG.ln2Lo)), o.get(t))));
  let p = o.add(o.mul(o.get(t), o.c(SIG.c[0])), o.c(SIG.c[1]));
  for (const c of SIG.c.slice(2)) p = o.add(o.mul(o.get(t), p), o.c(c));
  code.push(...o.set(e, p));
  code.push(...o.set(t, o.mul(o.get(t), o.get(s))));
  code.push(...o.set(e, o.add(o.mul(o.get(t), o.get(e)), o.get(s))));
  code.push(...o.set(f, o.div(o.get(e), o.add(o.get(e), o.c(1)))));
  code.push(...o.set(f, o.select(o.c(0), o.get(f), o.lt(o.c(SIG.cutoff), o.get(z)))));
  const negative: Code = v ? [...x, ['i32.const', 31], ['i32x4.shr_s']] : [...x, ['i32.reinterpret_f32'], ['i32.const', 0], ['i32.lt_s']];
  code.push(...o.select(o.get(f), o.sub(o.c(1), o.get(f)), negative));
  return code;
}

function expBody(o: Ops, x: Code): Code {
  const v = o.m === 'f32x4';
  const xc = o.tmp(), n = o.tmp(), r = o.tmp(), p = o.tmp(), ni = o.itmp(), h = o.itmp();
  const code: Code = [];
  if (v) {
    // pmin / pmax are one instruction each on x64 (min / max are several, for NaN and -0 rules that the
    // clamp does not need: pmin(NaN, c) is NaN, as min's). Rounding by adding 1.5 * 2^23 is
    // round-half-even like `nearest` (|x log2 e| < 2^22), and the sum's low bits are n itself.
    code.push(...o.set(xc, [...o.bin('pmax', [...o.bin('pmin', x, o.c(89))], o.c(-104))]));
    code.push(...o.set(n, o.add(o.mul(o.get(xc), o.c(1.44269504088896341)), o.c(12582912))));
    code.push(...o.get(n), ...o.ci(0x4b400000), ['i32x4.sub'], ['local.set', ni]);
    code.push(...o.set(n, o.sub(o.get(n), o.c(12582912))));
  } else {
    code.push(...o.set(xc, o.max(o.min(x, o.c(89)), o.c(-104))));
    code.push(...o.set(n, o.un('nearest', o.mul(o.get(xc), o.c(1.44269504088896341)))));
    code.push(...o.get(n), ['i32.trunc_sat_f32_s'], ['local.set', ni]);
  }
  code.push(...o.set(r, o.sub(o.sub(o.get(xc), o.mul(o.get(n), o.c(0.693359375))), o.mul(o.get(n), o.c(-2.12194440e-4)))));
  const z = o.mul(o.get(r), o.get(r));
  code.push(...o.set(p, o.add(o.add(o.mul(o.horner(o.get(r), EXP_P), z), o.get(r)), o.c(1))));
  // 2^n as two factors 2^h * 2^(n-h) so that subnormal results and n = 128 stay exact
  code.push(['local.get', ni], v ? ['i32.const', 1] : ['i32.const', 1], [v ? 'i32x4.shr_s' : 'i32.shr_s'], ['local.set', h]);
  const pow2 = (e: Code): Code => [...e, ...o.ci(127), [v ? 'i32x4.add' : 'i32.add'], ['i32.const', 23], [v ? 'i32x4.shl' : 'i32.shl'], ...(v ? [] : [['f32.reinterpret_i32'] as Instr])];
  code.push(...o.get(p), ...pow2([['local.get', h]]), [v ? 'f32x4.mul' : 'f32.mul']);
  code.push(...pow2([['local.get', ni], ['local.get', h], [v ? 'i32x4.sub' : 'i32.sub']]), [v ? 'f32x4.mul' : 'f32.mul']);
  return code;
}

const EXP64_P = [1.26177193074810590878e-4, 3.02994407707441961300e-2, 9.99999999999999999910e-1];
const EXP64_Q = [3.00198505138664455042e-6, 2.52448340349684104192e-3, 2.27265548208155028766e-1, 2.00000000000000000009e0];

/** f64 exp (Cephes: n = round(x/ln2), r = x - n ln2 in two parts, Pade form 1 + 2 r P / (Q - r P), times 2^n in two factors) */
function expBody64(o: Ops, x: Code): Code {
  const xc = o.tmp(), n = o.tmp(), r = o.tmp(), z = o.tmp(), px = o.tmp(), ni = o.itmp(), h = o.itmp();
  const code: Code = [];
  code.push(...o.set(xc, o.max(o.min(x, o.c(710)), o.c(-746))));
  code.push(...o.set(n, o.un('nearest', o.mul(o.get(xc), o.c(1.4426950408889634074)))));
  code.push(...o.set(r, o.sub(o.sub(o.get(xc), o.mul(o.get(n), o.c(6.93145751953125e-1))), o.mul(o.get(n), o.c(1.42860682030941723212e-6)))));
  code.push(...o.set(z, o.mul(o.get(r), o.get(r))));
  code.push(...o.set(px, o.mul(o.get(r), o.horner(o.get(z), EXP64_P))));
  const p = o.add(o.c(1), o.mul(o.c(2), o.div(o.get(px), o.sub(o.horner(o.get(z), EXP64_Q), o.get(px)))));
  code.push(...o.get(n), ['i64.trunc_sat_f64_s'], ['local.set', ni]);
  code.push(['local.get', ni], ['i64.const', 1n], ['i64.shr_s'], ['local.set', h]);
  const pow2 = (e: Code): Code => [...e, ['i64.const', 1023n], ['i64.add'], ['i64.const', 52n], ['i64.shl'], ['f64.reinterpret_i64']];
  code.push(...p, ...pow2([['local.get', h]]), ['f64.mul']);
  code.push(...pow2([['local.get', ni], ['local.get', h], ['i64.sub']]), ['f64.mul']);
  return code;
}

function logBody(o: Ops, x: Code): Code {
  const v = o.m === 'f32x4';
  const xs = o.tmp(), small = o.itmp(), bits = o.itmp(), e = o.tmp(), m = o.tmp(), lt = o.itmp(), z = o.tmp(), y = o.tmp(), r = o.tmp();
  const I = (op: string) => [v ? `i32x4.${op}` : `i32.${op}`] as Instr;
  const code: Code = [];
  // subnormals: scale by 2^23 first
  code.push(...o.lt(x, o.c(1.17549435e-38)), ['local.set', small]);
  code.push(...o.select(o.mul(x, o.c(8388608)), x, [['local.get', small]]), ['local.set', xs]);
  code.push(...o.get(xs), ...(v ? [] : [['i32.reinterpret_f32'] as Instr]), ['local.set', bits]);
  // e = (bits >> 23) - 126 - (small ? 23 : 0)
  code.push(['local.get', bits], ['i32.const', 23], I('shr_u'), ...o.ci(126), I('sub'));
  code.push(['local.get', small], ...o.ci(v ? 23 : -23), v ? ['v128.and'] : I('mul'), v ? I('sub') : I('add'));
  code.push([v ? 'f32x4.convert_i32x4_s' : 'f32.convert_i32_s'], ['local.set', e]);
  // m in [0.5, 1)
  code.push(['local.get', bits], ...o.ci(0x807fffff | 0), v ? ['v128.and'] : ['i32.and'], ...o.ci(0x3f000000), v ? ['v128.or'] : ['i32.or']);
  if (!v) code.push(['f32.reinterpret_i32']);
  code.push(['local.set', m]);
  code.push(...o.lt(o.get(m), o.c(0.707106781186547524)), ['local.set', lt]);
  // if m < sqrt(1/2): e -= 1, m = 2m - 1 else m = m - 1
  code.push(...o.select(o.sub(o.get(e), o.c(1)), o.get(e), [['local.get', lt]]), ['local.set', e]);
  code.push(...o.select(o.sub(o.add(o.get(m), o.get(m)), o.c(1)), o.sub(o.get(m), o.c(1)), [['local.get', lt]]), ['local.set', m]);
  code.push(...o.set(z, o.mul(o.get(m), o.get(m))));
  code.push(...o.set(y, o.mul(o.mul(o.horner(o.get(m), LOG_P), o.get(m)), o.get(z))));
  code.push(...o.set(y, o.add(o.get(y), o.mul(o.get(e), o.c(-2.12194440e-4)))));
  code.push(...o.set(y, o.add(o.get(y), o.mul(o.get(z), o.c(-0.5)))));
  code.push(...o.set(r, o.add(o.add(o.get(m), o.get(y)), o.mul(o.get(e), o.c(0.693359375)))));
  // specials: 0 -> -inf, x < 0 -> NaN, inf/NaN -> x
  code.push(...o.set(r, o.select(o.c(-Infinity), o.get(r), o.eq(x, o.c(0)))));
  code.push(...o.set(r, o.select(o.c(NaN), o.get(r), o.lt(x, o.c(0)))));
  const notFinite = v ? [...o.lt(x, o.c(Infinity)), ['v128.not'] as Instr] : [...o.lt(x, o.c(Infinity)), ['i32.eqz'] as Instr];
  code.push(...o.select(x, o.get(r), notFinite));
  return code;
}
