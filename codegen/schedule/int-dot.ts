/**
 * Integer dot products in pairs (int8 kernels on vector targets). A compute stage whose reduction is
 * an int32 sum of P * Q with P and Q small integers (int8 / uint8 values, zero points subtracted: each
 * within int16) is rewritten to sum dot2(P2, Q2) over half the reduction: P2 and Q2 hold the operand
 * pairs (k = 2i, 2i + 1) as the two int16 halves of one int32 word, and dot2 multiplies the halves and
 * adds both products (wasm-simd: i32x4.dot_i16x8_s; C: pmaddwd), so one vector instruction does twice
 * the multiply-adds of the i32 form and the pair comes with one 32-bit load.
 *
 * Which reduction axis r is paired: one that indexes exactly one dimension d of the one load P (and Q)
 * reads with r, as a bare variable, with extent == that dimension (Conv's input channel, MatMul's k).
 * Each operand becomes a load of a packed copy of its source with dimension d halved (an odd tail
 * pairs with 0): a constant weight is packed here at compile time (a new weight), anything else by a
 * compute stage of the kernel placed before it. Exact: integer sums do not depend on their order,
 * every int16 product fits, and so does the sum of two (|P|, |Q| <= 32767).
 * Group convs (channel index g*Cg + ci) and depthwise convs (no channel reduction) keep the i32 form.
 */
import { Tensor } from '@aic/core';
import type { TargetCaps } from '@aic/ir-spec';
import { E, LoopInterpreter, flatIndex, lowerCompute, mapExpr, walkExpr, walkExprs, walkStmt, type Buffer, type ComputeStage, type Expr, type ScalarType } from '@aic/loop-ir';
import type { KernelSource, Program, ProgramBuffer } from '../lower/program.ts';
import { peelIndex, simplifyDivMod } from './pack.ts';
import { quadReduce } from './int-dot4.ts';

type Load = Extract<Expr, { k: 'load' }>;
type Reduce = Extract<Expr, { k: 'reduce' }>;

const SMALL: Partial<Record<ScalarType, [number, number]>> = { i8: [-128, 127], u8: [0, 255], i16: [-32768, 32767], u16: [0, 65535] };

/** Value range of an integer operand expression, when the bounds of its loads' types settle it. */
export function valueRange(e: Expr, temps: Map<string, [number, number]>): [number, number] | undefined {
  switch (e.k) {
    case 'const': return [e.v, e.v];
    case 'load': return temps.get(e.buf) ?? SMALL[e.t];
    case 'cast': {
      const r = valueRange(e.x, temps);
      return r && (e.t === 'i32' || e.t === 'i64') ? r : undefined;
    }
    case 'select': {
      const a = valueRange(e.a, temps), b = valueRange(e.b, temps);
      return a && b && [Math.min(a[0], b[0]), Math.max(a[1], b[1])];
    }
    case 'bin': {
      const a = valueRange(e.a, temps), b = valueRange(e.b, temps);
      if (!a || !b) return undefined;
      if (e.op === 'add') return [a[0] + b[0], a[1] + b[1]];
      if (e.op === 'sub') return [a[0] - b[1], a[1] - b[0]];
      return undefined;
    }
    default: return undefined;
  }
}

const varsOf = (e: Expr) => { const s = new Set<string>(); walkExpr(e, (x) => { if (x.k === 'var') s.add(x.name); }); return s; };
export const loadsIn = (e: Expr) => { const out: Load[] = []; walkExpr(e, (x) => { if (x.k === 'load') out.push(x); }); return out; };
const isVar = (e: Expr, v: string) => e.k === 'var' && e.name === v;

/** An operand of the product, analysed for pairing along r. */
export interface Operand { expr: Expr; load: Load; buf: Buffer; dims: Expr[]; d: number; signed?: boolean }

function operandFor(x: Expr, r: string, extent: number, bufs: Map<string, Buffer>): Operand | undefined {
  const using = loadsIn(x).filter((l) => varsOf(l.idx).has(r));
  if (using.length !== 1) return undefined;
  const load = using[0], buf = bufs.get(load.buf);
  if (!buf || loadsIn(x).filter((l) => l.buf === load.buf).length !== 1) return undefined;
  // read as stored, or with its last two dims as one (a 1x1 conv flattened over OH*OW: gemm1x1.ts)
  const merged = buf.shape.length >= 3 ? [...buf.shape.slice(0, -2), buf.shape[buf.shape.length - 2] * buf.shape[buf.shape.length - 1]] : undefined;
  let dims = peelIndex(load.idx, buf.shape), view = buf;
  if (!dims && merged) { dims = peelIndex(load.idx, merged); view = { ...buf, shape: merged }; }
  if (!dims) return undefined;
  const ds = dims.map((e, i) => (varsOf(e).has(r) ? i : -1)).filter((i) => i >= 0);
  // the dim may be longer than the reduction (a blocked weight's padding lanes): see applyIntDot
  if (ds.length !== 1 || !isVar(dims[ds[0]], r) || view.shape[ds[0]] < extent) return undefined;
  // every variable the operand uses outside its main load is a bare dimension of that load
  const bare = new Set(dims.filter((e) => e.k === 'var').map((e) => (e as { name: string }).name));
  for (const l of loadsIn(x)) if (l !== load && [...varsOf(l.idx)].some((v) => !bare.has(v))) return undefined;
  return { expr: x, load, buf: view, dims, d: ds[0] };
}

/**
 * The operand as a function of its source's index `at` (the packed copy's stage body): the main load
 * reads `at`, other variables are renamed to the axes of the dimensions they index.
 */
export function operandAt(o: Operand, at: Expr[]): Expr {
  const rename = new Map<string, Expr>();
  o.dims.forEach((e, i) => { if (e.k === 'var') rename.set(e.name, at[i]); });
  return mapExpr(o.expr, (x) => {
    if (x.k === 'load' && x.buf === o.load.buf) return { ...x, idx: flatIndex(at, o.buf.shape) };
    if (x.k === 'var' && rename.has(x.name)) return rename.get(x.name)!;
    return x;
  });
}

/** A pair word from its two elements (lo16(lo) | hi << 16). */
const pairWord = (o: Operand, lo: Expr, hi: Expr) => E.add(o.signed ? E.and(lo, E.c(0xffff, 'i32')) : lo, E.mul(hi, E.c(65536, 'i32')));

/** Stage body of the packed copy: word [.., i, ..] = lo16(op at 2i) | op at 2i + 1 (0 past the end) << 16. */
function packBody(o: Operand, axes: string[]): Expr {
  const D = o.buf.shape[o.d];
  const at = (j: Expr) => axes.map((a, i) => (i === o.d ? j : E.v(a)));
  const i32 = (e: Expr) => E.cast(e, 'i32'), c = (v: number) => E.c(v, 'i32');
  const two = E.mul(E.v(axes[o.d]), E.i(2));
  const lo = i32(operandAt(o, at(two)));
  const hiIdx = E.add(two, E.i(1));
  const hi = D % 2 ? E.select(E.lt(hiIdx, E.i(D)), i32(operandAt(o, at(E.min(hiIdx, E.i(D - 1))))), c(0)) : i32(operandAt(o, at(hiIdx)));
  // the low half as 16 bits (a negative value's sign bits would spill into the high half): one and
  return pairWord(o, lo, hi);
}

/**
 * The packed copy as one flat stage over its words, when the packed dim is the source's last and a
 * whole number of words (a channel-blocked buffer's lanes): word f holds source elements m*f ..
 * m*f + m - 1, so its loads run at stride m along one long axis, which targets load as vectors (wasm-simd:
 * stride-2 bytes), instead of a loop over a block's m / 2 or x / 4 words per pixel that stays scalar.
 * `word` builds the word from its m elements. Undefined when anything else the operand reads varies.
 */
export function flatPack(o: Operand, m: number, out: Buffer, fresh: (p: string) => string, word: (elem: (j: number) => Expr) => Expr): ComputeStage | undefined {
  if (o.d !== o.buf.shape.length - 1 || o.buf.shape[o.d] % m !== 0) return undefined;
  const f = fresh('f');
  const elem = (j: number) => mapExpr(o.expr, (x) => (x.k === 'load' && x.buf === o.load.buf ? { ...x, idx: E.add(E.mul(E.v(f), E.i(m)), E.i(j)) } : x));
  const body = word(elem);
  let other = false;
  walkExpr(body, (x) => { if (x.k === 'var' && x.name !== f) other = true; });
  if (other) return undefined;
  return { kind: 'compute', out: { ...out, shape: [out.shape.reduce((a, b) => a * b, 1)] }, axes: [f], body };
}

/** Is every load of the operand a constant weight of the program (so it can be packed now)? */
export function constantOperand(prog: Program, src: KernelSource, args: string[], o: Operand): boolean {
  return loadsIn(o.expr).every((l) => {
    const p = src.params.findIndex((q) => q.name === l.buf);
    return p >= 0 && src.params[p].role === 'weight' && !!prog.weights.find((w) => w.name === args[p])?.data;
  });
}

/** Evaluate a compute stage over constant weights now (the kernel's params bound to the program's weights). */
export function evalConstant(prog: Program, src: KernelSource, args: string[], st: ComputeStage): Tensor {
  const data = new Tensor('int32', st.out.shape);
  const mem: Record<string, { [i: number]: number; length: number }> = { [st.out.name]: data.num };
  src.params.forEach((p, i) => { const w = prog.weights.find((x) => x.name === args[i]); if (w?.data) mem[p.name] = w.data.num; });
  new LoopInterpreter(mem).runKernel({ name: st.out.name, params: [...src.params, st.out], body: lowerCompute(st, src.fresh) });
  return data;
}

/** A new int32 (or `dtype`) weight of the program, bound to a new param of the kernel (named `param`, or a fresh name; `like`: the weight it derives from). */
export function addWeight(prog: Program, src: KernelSource, args: string[], like: Buffer, suffix: string, data: Tensor, dtype: ScalarType = 'i32', param?: string): Buffer {
  const out: Buffer = { name: param ?? src.fresh('pk'), dtype, shape: data.shape.slice(), scope: 'global', role: 'weight' };
  let name = `${like.name}_${suffix}`;
  while (prog.weights.some((w) => w.name === name)) name += '_';
  const orig = prog.weights.find((w) => w.name === args[src.params.findIndex((p) => p.name === like.name)])!;
  const pb: ProgramBuffer = { ...orig, name, shape: out.shape, data, dtype };
  prog.weights.push(pb);
  src.params.push(out);
  args.push(name);
  return out;
}

/** Pack a constant operand at compile time into a new int32 weight param of the kernel. */
function packConstant(prog: Program, src: KernelSource, args: string[], o: Operand, shape: number[]): Buffer {
  const axes = shape.map((_, i) => `a${i}`);
  const out: Buffer = { name: src.fresh('pk'), dtype: 'i32', shape, scope: 'global', role: 'weight' };
  return addWeight(prog, src, args, o.buf, 'dot2', evalConstant(prog, src, args, { kind: 'compute', out, axes, body: packBody(o, axes) }));
}

/** Packed source of an operand (a weight packed now, or a temp a new stage fills) and its load. */
function packOperand(prog: Program, src: KernelSource, args: string[], o: Operand, rp: string, before: number): Expr {
  const shape = o.buf.shape.map((n, i) => (i === o.d ? Math.ceil(n / 2) : n));
  let buf: Buffer;
  if (constantOperand(prog, src, args, o)) buf = packConstant(prog, src, args, o, shape);
  else {
    buf = { name: src.fresh('pk'), dtype: 'i32', shape, scope: 'local', role: 'scratch' };
    src.temps.push(buf);
    const axes = shape.map(() => src.fresh('i'));
    const flat = flatPack(o, 2, buf, src.fresh, (el) => pairWord(o, E.cast(el(0), 'i32'), E.cast(el(1), 'i32')));
    src.stages.splice(before, 0, flat ?? { kind: 'compute', out: buf, axes, body: packBody(o, axes) });
  }
  return E.load(buf.name, flatIndex(o.dims.map((e, i) => (i === o.d ? E.v(rp) : e)), shape), 'i32');
}

/** Drop params no stage reads any more (the int8 weights a packed copy replaced), with their args. */
export function dropUnread(prog: Program, src: KernelSource, args: string[]): void {
  const read = new Set<string>();
  for (const st of src.stages) {
    const see = (x: Expr) => { if (x.k === 'load') read.add(x.buf); };
    if (st.kind === 'compute') walkExpr(st.body, see);
    else walkExprs(st.body, see);
  }
  for (let i = src.params.length - 1; i >= 0; i--) {
    const p = src.params[i];
    if (p.role !== 'weight' || read.has(p.name)) continue;
    const name = args[i];
    src.params.splice(i, 1);
    args.splice(i, 1);
    if (!prog.steps.some((s) => s.args.includes(name)) && !prog.outputs.some((o) => o.name === name)) {
      const w = prog.weights.findIndex((x) => x.name === name);
      if (w >= 0) prog.weights.splice(w, 1);
    }
  }
}

/** Ranges of the values the stages before `upto` store into each temp (a stage storing an unknown range: none). */
export function tempRanges(src: KernelSource, upto: number, consts: Map<string, [number, number]>): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>(consts);
  const bad = new Set<string>();
  const add = (buf: string, r: [number, number] | undefined) => {
    if (!r) { bad.add(buf); return; }
    const o = out.get(buf);
    out.set(buf, o ? [Math.min(o[0], r[0]), Math.max(o[1], r[1])] : r);
  };
  for (const st of src.stages.slice(0, upto)) {
    if (st.kind === 'compute') add(st.out.name, valueRange(st.body, out));
    else walkStmt(st.body, (s) => { if (s.k === 'store') add(s.buf, valueRange(s.val, out)); });
  }
  for (const b of bad) out.delete(b);
  return new Map([...out].filter(([b]) => (consts.has(b) || src.temps.some((t) => t.name === b)) && !bad.has(b)));
}

/** The value of every one-element constant weight param (zero points), as a range [v, v]. */
export function scalarConstants(prog: Program, src: KernelSource, args: string[]): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  src.params.forEach((p, i) => {
    const w = p.role === 'weight' && p.shape.reduce((a, b) => a * b, 1) === 1 ? prog.weights.find((x) => x.name === args[i]) : undefined;
    if (w?.data) out.set(p.name, [w.data.num[0], w.data.num[0]]);
  });
  return out;
}

/**
 * A reduction over channel-blocked operands (NCxHWx activations, packed OIHWxixo weights) reads
 * channel r at (r / x, r % x): split r into r_o (extent C / x, where r stood) and r_i (x, innermost),
 * so the div / mod fold away and r_i indexes the blocks' lane dim as a bare variable, the dim the
 * pair / quad forms pack (consecutive channels of one pixel). Channels that are not whole blocks
 * (C % x != 0) run to the padded extent only when `padded` says the products of the padding lanes
 * are 0 (one factor a blocked constant weight, zero-filled past C by the layout pass).
 */
export function splitBlockedReduce(R: Reduce, fresh: (p: string) => string, padded = false): Reduce {
  let out = R;
  for (const a of R.axes) {
    let B = 0;
    walkExpr(out.body, (q) => {
      if (q.k === 'bin' && q.op === 'div' && q.a.k === 'var' && q.a.name === a.name && q.b.k === 'const' && q.b.v > 1) B = q.b.v;
    });
    if (!B) continue;
    const others = out.axes.filter((x) => x !== a).map((x) => [x.name, x.extent] as [string, number]);
    if (a.extent <= B) {
      // one block: r / x is 0 and r % x is r (exact, nothing read past C)
      out = { ...out, body: foldDivMod(out.body, new Map([[a.name, a.extent], ...others])) };
      continue;
    }
    // past C (padding lanes) only where every read of r is blocked, (r / x, r % x): inside its buffer
    if (a.extent % B !== 0 && (!padded || !onlyBlocked(out.body, a.name, B))) continue;
    const ao = fresh(`${a.name}_o`), ai = fresh(`${a.name}_i`), blocks = Math.ceil(a.extent / B);
    const sub = mapExpr(out.body, (q) => (q.k === 'var' && q.name === a.name ? E.add(E.mul(E.v(ao), E.i(B)), E.v(ai)) : q));
    const folded = foldDivMod(sub, new Map([[ao, blocks], [ai, B], ...others]));
    // every use of the blocked channel must fold (else a load reads it otherwise: no split)
    let left = false;
    walkExpr(folded, (q) => { if (q.k === 'bin' && (q.op === 'div' || q.op === 'mod') && [ao, ai].some((v) => varsOf(q.a).has(v))) left = true; });
    if (left) continue;
    out = { ...out, body: folded, axes: [...out.axes.map((x) => (x === a ? { name: ao, extent: blocks } : x)), { name: ai, extent: B }] };
  }
  return out;
}

/** simplifyDivMod on one expression, loop variables of the given extents */
const foldDivMod = (e: Expr, ext: Map<string, number>): Expr => (simplifyDivMod({ k: 'store', buf: '_', idx: E.i(0), val: e }, ext) as { val: Expr }).val;

/** Does e use loop variable v only as v / x and v % x (a blocked buffer's channel)? */
function onlyBlocked(e: Expr, v: string, x: number): boolean {
  let all = 0, blocked = 0;
  walkExpr(e, (q) => {
    if (q.k === 'var' && q.name === v) all++;
    if (q.k === 'bin' && (q.op === 'div' || q.op === 'mod') && q.a.k === 'var' && q.a.name === v && q.b.k === 'const' && q.b.v === x) blocked++;
  });
  return all === blocked;
}

/** Is e a blocked constant weight's element as stored (zero past its channels: padding lanes give 0)? */
function blockedWeight(e: Expr, src: KernelSource): boolean {
  const l = e.k === 'cast' ? e.x : e;
  if (l.k !== 'load') return false;
  const b = src.params.find((p) => p.name === l.buf);
  return !!b && b.role === 'weight' && !!b.layout?.dims.some((d) => d.part === 'inner');
}

export function theReduce(e: Expr): Reduce | undefined {
  const rs: Reduce[] = [];
  walkExpr(e, (x) => { if (x.k === 'reduce') rs.push(x); });
  return rs.length === 1 ? rs[0] : undefined;
}

/** Rewrite every pairable int32 reduction of a kernel (see the file comment); true when one was. */
/** opts.quadsOnly: no pair form where the quad form does not apply (GPUs, whose scalar lanes gain nothing from pairs) */
export function applyIntDot(prog: Program, name: string, caps: TargetCaps, opts: { quadsOnly?: boolean } = {}): boolean {
  const src = prog.sources.get(name);
  const step = prog.steps.find((s) => s.kernel === name);
  if (!src || !step || caps.vectorLanes <= 1 || prog.steps.filter((s) => s.kernel === name).length !== 1) return false;
  let changed = false;
  for (let si = 0; si < src.stages.length; si++) {
    const st = src.stages[si];
    if (st.kind !== 'compute') continue;
    const R0 = theReduce(st.body);
    if (!R0 || R0.op !== 'sum' || R0.t !== 'i32' || R0.body.k !== 'bin' || R0.body.op !== 'mul') continue;
    const ranges = tempRanges(src, si, scalarConstants(prog, src, step.args));
    const ok = (x: Expr) => { const r = valueRange(x, ranges); return r && r[0] >= -32767 && r[1] <= 32767; };
    if (!ok(R0.body.a) || !ok(R0.body.b)) continue;
    // channel-blocked operands: the lanes of a block as their own reduction axis
    const R = splitBlockedReduce(R0, src.fresh, [R0.body.a, R0.body.b].some((x) => blockedWeight(x, src)));
    if (R.body.k !== 'bin' || R.body.op !== 'mul') continue;
    const [P, Q] = [R.body.a, R.body.b];
    const bufs = new Map([...src.params, ...src.temps].map((b) => [b.name, b]));
    // the blocks' lanes first (split above: the pack reads one pixel's consecutive channels)
    const order = R === R0 ? R.axes : [...R.axes.filter((a) => !R0.axes.some((b) => b.name === a.name)).reverse(), ...R.axes];
    const ax = order.find((a) => a.extent >= 2 && operandFor(P, a.name, a.extent, bufs) && operandFor(Q, a.name, a.extent, bufs));
    if (!ax) continue;
    const op = operandFor(P, ax.name, ax.extent, bufs)!, oq = operandFor(Q, ax.name, ax.extent, bufs)!;
    // a dim longer than the reduction (packed, summed for the quad form's S past its end) only for a
    // blocked weight, zero past its channels (row-major operands end with the reduction)
    const fits = (o: Operand, x: Expr) => o.buf.shape[o.d] === ax.extent || blockedWeight(x, src);
    if (!fits(op, P) || !fits(oq, Q)) continue;
    op.signed = valueRange(P, ranges)![0] < 0;
    oq.signed = valueRange(Q, ranges)![0] < 0;
    const i4 = caps.intDot === 4 ? quadReduce(prog, src, step.args, R, ax, op, oq, ranges, src.stages.indexOf(st)) : undefined;
    if (i4) {
      const i = src.stages.indexOf(st);
      src.stages[i] = { ...st, body: mapExpr(st.body, (x) => (x.k === 'reduce' ? i4 : x)) };
      si = i;
      changed = true;
      continue;
    }
    if (opts.quadsOnly) continue;
    const rp = src.fresh(`${ax.name}p`);
    const before = src.stages.indexOf(st);
    const lp = packOperand(prog, src, step.args, op, rp, before);
    const lq = packOperand(prog, src, step.args, oq, rp, src.stages.indexOf(st));
    const body: Expr = { k: 'call', fn: 'dot2', args: [lp, lq], t: 'i32', lanes: 1 };
    const red: Reduce = { ...R, axes: R.axes.map((a) => (a === ax ? { name: rp, extent: Math.ceil(ax.extent / 2) } : a)), body };
    const i = src.stages.indexOf(st);
    src.stages[i] = { ...st, body: mapExpr(st.body, (x) => (x.k === 'reduce' ? red : x)) };
    si = i;
    changed = true;
  }
  if (changed) dropUnread(prog, src, step.args);
  return changed;
}
