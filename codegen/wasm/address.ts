/**
 * Addresses of memory accesses: i32 constant folding, vector indices as a scalar base plus constant
 * lane offsets (contiguous, uniform, strided), canonical linear index forms whose constant part
 * becomes the memarg offset, and strength-reduced addresses stepped per loop iteration. The second
 * layer of the emitter (over emitter-base.ts); scalar-expr.ts, vector-expr.ts and emit.ts call
 * addr / vindex for their loads and stores.
 */
import { E, simplifyExpr, type Expr } from '@aic/loop-ir';
import { invariantAtom, linearTerms, sum } from './hoist-index.ts';
import { EmitterBase, type BufInfo } from './emitter-base.ts';
import { LOG2, WIDTH } from './wasm-types.ts';

/** an i32 expression's value when it is a compile-time constant */
export function cfold(e: Expr): number | undefined {
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

/** Index arithmetic and addressing (the emitter's second layer). */
export abstract class AddressEmitter extends EmitterBase {
  protected nonneg(e: Expr): boolean {
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
  protected vindex(idx: Expr): { kind: 'contig' | 'uniform' | 'offsets'; base: Expr; d: number[] } | undefined {
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

  /**
   * idx as sum(coef * atom) + c (atoms: variables and non-affine subexpressions), rebuilt in a
   * canonical order: unrolled rows `(o*8 + 3)*128 + r` and `(o*8 + 4)*128 + r` share the dynamic part
   * `o*1024 + r` (computed once through the memo) and differ only in the memarg offset. Exact in i32
   * (add and multiplication by constants distribute modulo 2^32).
   */
  protected linearize(idx: Expr): { dyn?: Expr; c: number } {
    const d = idx.lanes === 1 && idx.t === 'i32' ? linearTerms(idx, cfold, (e) => this.key(e)) : undefined;
    if (!d) return splitIdx(idx);
    return { dyn: d.ts.length ? sum(d.ts, 0) : undefined, c: d.c };
  }

  /** Push the dynamic part of the address of buf[idx]; returns the static memarg offset. */
  protected addr(b: Extract<BufInfo, { kind: 'mem' }>, idx: Expr): number {
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
}
