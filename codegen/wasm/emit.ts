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
import { E, isHalfT, simplifyStmt, substituteStmt, vectorizeLoop, walkExprs as exprsOf, legalizeStmt, type Buffer, type Expr, type Stmt } from '@aic/loop-ir';
import { type Func } from './module.ts';
import { WASM_LEGAL } from '../caps.ts';
import { bound, hoistIndices } from './hoist-index.ts';
import { halfStore } from './half.ts';
import { saturatedByNarrow } from './value-facts.ts';
import { prepare, vecSupported } from './prepare.ts';
import { type BufInfo, type LoopCtx } from './emitter-base.ts';
import { cfold } from './address.ts';
import { VectorEmitter } from './vector-expr.ts';
import { LOG2, STORE, VEC_OK, WIDTH, wtype } from './wasm-types.ts';

/**
 * One kernel -> one wasm function: its statements (loops with their strength-reduced addresses,
 * scratch buffers in locals or frames, store runs sharing subexpressions), over the expression layers
 * emitter-base.ts -> address.ts -> scalar-expr.ts -> vector-expr.ts. render.ts builds one per kernel.
 */
export class KernelEmitter extends VectorEmitter {
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
}
