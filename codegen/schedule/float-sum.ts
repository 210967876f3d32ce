/**
 * Integer sums computed exactly in f32 ("accumulate f32"). An int32 sum of P * Q whose operands are
 * small integers (int8 / uint8 values, zero points subtracted) and whose terms are few gives the same
 * integer in f32 arithmetic as in i32 when every partial sum stays within 2^24 (every integer up to
 * 2^24 is an f32, and so is every product here: |P * Q| <= 255 * 255): count * max|P| * max|Q| <= 2^24.
 * A fused multiply-add rounds once and is exact too. A depthwise int8 conv (9 taps of 3x3, 25 of 5x5)
 * has no channel axis to pair for the integer dot products (int-dot.ts) and would multiply in i32
 * lanes, which vector ISAs multiply slowly (x86's pmulld: 2 uops, 10 cycles; wasm's i32x4.mul); in
 * f32 lanes the same sum is one FMA (C) or mul + add (wasm-simd) per tap, like the f32 conv's kernel.
 *
 * The rewrite: the sum becomes an f32 sum of f32(P) * f32(Q), read back as i32(sum) where the i32 one
 * was (the epilogue adds the bias and requantizes as before); an operand read from a kernel-local
 * int32 copy (the conv's zero-padded x - x_zp) is stored as f32 there instead, when nothing else reads
 * that copy. Same integer result: a schedule choice, never a change of values.
 */
import { E, mapExpr, mapStmt, walkExpr, walkStmt, type Buffer, type Expr, type Stage } from '@aic/loop-ir';
import type { KernelSource, Program } from '../lower/program.ts';
import { Tensor } from '@aic/core';
import { addWeight, dropUnread, scalarConstants, tempRanges, theReduce, valueRange } from './int-dot.ts';

type Reduce = Extract<Expr, { k: 'reduce' }>;

/** the largest sum an f32 holds exactly with every integer below it */
export const F32_EXACT = 2 ** 24;

const NARROW = new Set(['i8', 'u8', 'i16', 'u16']);

/** How large the partial sums of a reduction of P * Q can get, when the operands' ranges settle it. */
export function sumBound(R: Reduce, ranges: Map<string, [number, number]>): number | undefined {
  if (R.op !== 'sum' || R.t !== 'i32' || R.body.k !== 'bin' || R.body.op !== 'mul') return undefined;
  const p = valueRange(R.body.a, ranges), q = valueRange(R.body.b, ranges);
  if (!p || !q) return undefined;
  const terms = R.axes.reduce((a, x) => a * x.extent, 1);
  return terms * Math.max(Math.abs(p[0]), Math.abs(p[1])) * Math.max(Math.abs(q[0]), Math.abs(q[1]));
}

/** Can kernel `name`'s one integer sum be computed in f32 exactly? (the stage index, or -1) */
export function floatSumStage(prog: Program, name: string): number {
  const src = prog.sources.get(name);
  const step = prog.steps.find((s) => s.kernel === name);
  if (!src || !step) return -1;
  const consts = scalarConstants(prog, src, step.args);
  return src.stages.findIndex((st, si) => {
    if (st.kind !== 'compute') return false;
    const R = theReduce(st.body);
    const b = R && sumBound(R, tempRanges(src, si, consts));
    return b !== undefined && b <= F32_EXACT;
  });
}

const readsOf = (e: Expr, buf: string) => { let n = 0; walkExpr(e, (x) => { if (x.k === 'load' && x.buf === buf) n++; }); return n; };

function stageReads(st: Stage, buf: string): number {
  if (st.kind === 'compute') return readsOf(st.body, buf);
  let n = 0;
  walkStmt(st.body, (s) => { if (s.k === 'store') n += readsOf(s.val, buf) + readsOf(s.idx, buf); });
  return n;
}

/**
 * Rewrite kernel `name`'s integer sum to f32 (see the file comment). False (nothing changed) when no
 * sum of the kernel is exact in f32.
 */
export function applyFloatSum(prog: Program, name: string): boolean {
  const si = floatSumStage(prog, name);
  if (si < 0) return false;
  const src = prog.sources.get(name)!;
  const st = src.stages[si] as Extract<Stage, { kind: 'compute' }>;
  const R = theReduce(st.body)!;
  const mul = R.body as Extract<Expr, { k: 'bin' }>;
  const step = prog.steps.find((s) => s.kernel === name)!;
  const f32 = (x: Expr) => constantF32(prog, src, step.args, x) ?? operandF32(src, si, x, R);
  const sum: Reduce = { ...R, t: 'f32', body: E.mul(f32(mul.a), f32(mul.b)) };
  const key = JSON.stringify(R);
  const bound = sumBound(R, tempRanges(src, si, scalarConstants(prog, src, step.args)))!;
  const body = mapExpr(st.body, (x) => (x.k === 'reduce' && JSON.stringify(x) === key ? E.cast(sum, 'i32') : x));
  const asF32 = (b: Expr) => (b.k === 'load' ? weightF32(prog, src, step.args, b) : undefined) ?? E.cast(b, 'f32');
  src.stages[si] = { ...st, body: mapExpr(body, (x) => floatEpilogue(x, sum, bound, (b) => weightRange(prog, src, step.args, b), asF32)) };
  dropUnread(prog, src, step.args);
  return true;
}

/**
 * i32(w) of a constant integer weight: the weight converted to f32 now (a new weight; the sum then
 * broadcasts it from memory instead of converting it per tap and per tile: a 14x14 depthwise kernel
 * spent a sixth of its time there). Undefined for anything else.
 */
function constantF32(prog: Program, src: KernelSource, args: string[], x: Expr): Expr | undefined {
  if (x.k !== 'cast' || x.t !== 'i32' || x.x.k !== 'load' || !NARROW.has(x.x.t)) return undefined;
  return weightF32(prog, src, args, x.x);
}

/** A load of a constant integer weight as a load of its f32 copy (made now, once per kernel), when every value is exact in f32. */
function weightF32(prog: Program, src: KernelSource, args: string[], load: Extract<Expr, { k: 'load' }>): Expr | undefined {
  const p = src.params.findIndex((b) => b.name === load.buf);
  const w = p >= 0 && src.params[p].role === 'weight' ? prog.weights.find((b) => b.name === args[p]) : undefined;
  if (!w?.data || w.data.size > 1 << 20 || w.data.num.some((v) => Math.abs(v) > F32_EXACT)) return undefined;
  // a name of its own, not a fresh one: the kernel's loop names stay those of the int32 form, so one
  // schedule (a tuning candidate's) names the same loops either way
  const name = `${load.buf}_f32`;
  const have = src.params.find((b) => b.name === name);
  if (have) return { ...load, buf: name, t: 'f32' };
  const data = new Tensor('float32', w.data.shape.slice());
  data.num.set(w.data.num);
  if (src.temps.some((b) => b.name === name)) return undefined;
  const buf = addWeight(prog, src, args, src.params[p], 'f32', data, 'f32', name);
  return { ...load, buf: buf.name, t: 'f32' };
}

/**
 * The epilogue reads the sum as a float anyway: F(i32(sum) + bias) with F f32 / f64 is F(sum) + F(bias)
 * when |sum| + |bias| stays within 2^24 (every value exact; the bias a constant whose range is known),
 * and F(i32(sum)) is F(sum): no float -> int -> float round trip per output.
 */
function floatEpilogue(x: Expr, sum: Reduce, bound: number, range: (buf: string) => [number, number] | undefined, asF32: (b: Expr) => Expr): Expr {
  if (x.k !== 'cast' || (x.t !== 'f32' && x.t !== 'f64')) return x;
  const key = sumKey(sum);
  const isSum = (e: Expr) => e.k === 'cast' && e.t === 'i32' && JSON.stringify(e.x) === key;
  if (isSum(x.x)) return E.cast(sum, x.t);
  if (x.x.k !== 'bin' || x.x.op !== 'add') return x;
  const [a, b] = isSum(x.x.a) ? [x.x.a, x.x.b] : isSum(x.x.b) ? [x.x.b, x.x.a] : [undefined, undefined];
  const r = b?.k === 'load' ? range(b.buf) : b?.k === 'const' ? [b.v, b.v] as [number, number] : undefined;
  if (!a || !b || !r || bound + Math.max(Math.abs(r[0]), Math.abs(r[1])) > F32_EXACT) return x;
  // the bias as a constant f32 copy where it is one (no int -> float conversion per output: on
  // wasm-simd a scalar convert + splat per vector)
  return E.add(E.cast(sum, x.t), x.t === 'f32' ? asF32(b) : E.cast(b, x.t));
}

/** JSON of the f32 sum, made once per sum (floatEpilogue visits every cast node of the stage) */
const KEYS = new WeakMap<Reduce, string>();
const sumKey = (sum: Reduce): string => { let k = KEYS.get(sum); if (k === undefined) KEYS.set(sum, (k = JSON.stringify(sum))); return k; };

/** min / max of a constant weight param of the kernel */
function weightRange(prog: Program, src: KernelSource, args: string[], buf: string): [number, number] | undefined {
  const i = src.params.findIndex((p) => p.name === buf);
  const w = i >= 0 && src.params[i].role === 'weight' ? prog.weights.find((x) => x.name === args[i]) : undefined;
  if (!w?.data) return undefined;
  let lo = Infinity, hi = -Infinity;
  for (const v of w.data.num) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return [lo, hi];
}

/**
 * An operand of the product in f32: a load of a kernel-local i32 copy that one stage writes
 * and only this sum reads becomes a load of that copy stored as f32; i32(v) of a narrow integer v is
 * f32(v); anything else is converted where it is read.
 */
function operandF32(src: KernelSource, si: number, x: Expr, R: Reduce): Expr {
  if (x.k === 'cast' && x.t === 'i32' && NARROW.has(x.x.t)) return E.cast(x.x, 'f32');
  if (x.k !== 'load' || x.t !== 'i32') return E.cast(x, 'f32');
  const t = src.temps.findIndex((b) => b.name === x.buf);
  const writers = src.stages.map((s, i) => ({ s, i })).filter(({ s }) => writes(s, x.buf));
  const w = writers[0];
  const readers = src.stages.reduce((n, s) => n + stageReads(s, x.buf), 0);
  if (t < 0 || writers.length !== 1 || w.i >= si || readers !== readsOf(R.body, x.buf)) return E.cast(x, 'f32');
  const buf: Buffer = { ...src.temps[t], dtype: 'f32' };
  src.temps = src.temps.map((b, i) => (i === t ? buf : b));
  const f32 = (v: Expr) => (v.k === 'const' ? E.c(v.v, 'f32') : E.cast(v, 'f32'));
  src.stages[w.i] = w.s.kind === 'compute' ? { ...w.s, out: buf, body: f32(w.s.body) }
    : { ...w.s, body: mapStmt(w.s.body, (e) => e, (s) => (s.k === 'store' && s.buf === x.buf ? { ...s, val: f32(s.val) } : s)) };
  return { ...x, t: 'f32' };
}

function writes(st: Stage, buf: string): boolean {
  if (st.kind === 'compute') return st.out.name === buf;
  let w = false;
  walkStmt(st.body, (s) => { if (s.k === 'store' && s.buf === buf) w = true; });
  return w;
}
