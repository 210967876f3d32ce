/**
 * int8 reductions in quads, for targets whose vectors multiply unsigned by signed bytes four at a time
 * (caps.intDot 4: C, AVX-512 VNNI vpdpbusd). The int32 sum of P * Q over k becomes
 *   sum over k/4 of dot4(P4, Q4) - c * S
 * where P4 holds four values of P + c (c shifts P into [0, 255]; P's range comes from its loads' types
 * and the known zero points), Q4 four values of Q, which must be a constant in [-128, 127] (int8
 * weights with a zero weight zero point), packed here, and S = sum over the reduction of Q (per output
 * element of Q's other dims), computed here. Exact: every partial sum is an int32 of the same value.
 * Where it does not apply the pair form (int-dot.ts) is used.
 */
import { Tensor } from '@aic/core';
import { E, flatIndex, walkExpr, type Buffer, type Expr } from '@aic/loop-ir';
import type { KernelSource, Program } from '../lower/program.ts';
import { addWeight, constantOperand, evalConstant, flatPack, operandAt, valueRange, type Operand } from './int-dot.ts';

type Reduce = Extract<Expr, { k: 'reduce' }>;

/** Stage body of P's packed copy: word [.., i, ..] = sum over j < 4 of (P at 4i + j, plus c) << 8j (0 past the end). */
function quadBody(o: Operand, axes: string[], c: number): Expr {
  const D = o.buf.shape[o.d];
  const at = (j: Expr) => axes.map((a, i) => (i === o.d ? j : E.v(a)));
  return quadWord((j) => {
    const pos = E.add(E.mul(E.v(axes[o.d]), E.i(4)), E.i(j));
    const v = E.add(E.cast(operandAt(o, at(D % 4 ? E.min(pos, E.i(D - 1)) : pos)), 'i32'), E.c(c, 'i32'));
    return D % 4 ? E.select(E.lt(pos, E.i(D)), v, E.c(0, 'i32')) : v;
  });
}

/** A quad word from its four bytes (each already shifted into [0, 255]): sum of byte j << 8j. */
function quadWord(byte: (j: number) => Expr): Expr {
  return [0, 1, 2, 3].map((j) => (j === 0 ? byte(0) : E.mul(byte(j), E.c(2 ** (8 * j), 'i32')))).reduce((a, b) => E.add(a, b));
}

/** The quad form of reduction R along axis `ax` (P: operand op, Q: operand oq), or undefined. */
export function quadReduce(prog: Program, src: KernelSource, args: string[], R: Reduce, ax: { name: string; extent: number },
  op: Operand, oq: Operand, ranges: Map<string, [number, number]>, before: number): Expr | undefined {
  const pr = valueRange(op.expr, ranges);
  if (!pr || pr[1] - pr[0] > 255) return undefined;
  const c = pr[0] < 0 ? -pr[0] : pr[1] > 255 ? 255 - pr[1] : 0;
  const red = new Set(R.axes.map((a) => a.name));
  // Q's dims: bare variables, or expressions of no reduction variable (a blocked weight's o / x, o % x)
  const usesRed = (e: Expr) => { let u = false; walkExpr(e, (q) => { if (q.k === 'var' && red.has(q.name)) u = true; }); return u; };
  if (!constantOperand(prog, src, args, oq) || !oq.dims.every((e) => e.k === 'var' || !usesRed(e))) return undefined;
  const names = oq.dims.map((e) => (e as { name: string }).name);
  // Q over its source's index space
  const shape = oq.buf.shape;
  const qAxes = shape.map((_, i) => `q${i}`);
  const qOut: Buffer = { name: src.fresh('q'), dtype: 'i32', shape, scope: 'local', role: 'scratch' };
  const qv = evalConstant(prog, src, args, { kind: 'compute', out: qOut, axes: qAxes, body: E.cast(operandAt(oq, qAxes.map((a) => E.v(a))), 'i32') }).num;
  for (let i = 0; i < qv.length; i++) if (qv[i] < -128 || qv[i] > 127) return undefined;
  // S over Q's dims that are not reduction axes; Q4 with dim d in quads
  const keep = names.map((n, i) => (red.has(n) ? -1 : i)).filter((i) => i >= 0);
  const sShape = keep.map((i) => shape[i]);
  const S = new Tensor('int32', sShape.length ? sShape : [1]);
  const D = shape[oq.d], q4Shape = shape.map((n, i) => (i === oq.d ? Math.ceil(n / 4) : n));
  const Q4 = new Tensor('int32', q4Shape);
  const q4Strides = q4Shape.map((_, i) => q4Shape.slice(i + 1).reduce((a, b) => a * b, 1));
  // the multi-index of element f, advanced as an odometer (millions of weights: no arrays per element)
  const idx = new Array<number>(shape.length).fill(0);
  for (let f = 0; f < qv.length; f++) {
    let si = 0, w = 0;
    for (const i of keep) si = si * shape[i] + idx[i];
    for (let i = 0; i < idx.length; i++) w += (i === oq.d ? Math.floor(idx[i] / 4) : idx[i]) * q4Strides[i];
    S.num[si] += qv[f];
    Q4.num[w] = (Q4.num[w] + ((qv[f] & 255) << (8 * (idx[oq.d] % 4)))) | 0;
    for (let i = idx.length - 1; i >= 0; i--) { if (++idx[i] < shape[i]) break; idx[i] = 0; }
  }
  void D;
  const q4 = addWeight(prog, src, args, oq.buf, 'dot4', Q4);
  const sBuf = addWeight(prog, src, args, oq.buf, 'sum', S);
  // P4: a stage of the kernel
  const p4Shape = op.buf.shape.map((n, i) => (i === op.d ? Math.ceil(n / 4) : n));
  const p4: Buffer = { name: src.fresh('pk'), dtype: 'i32', shape: p4Shape, scope: 'local', role: 'scratch' };
  src.temps.push(p4);
  const pAxes = p4Shape.map(() => src.fresh('i'));
  const flat = flatPack(op, 4, p4, src.fresh, (el) => quadWord((j) => E.add(E.cast(el(j), 'i32'), E.c(c, 'i32'))));
  src.stages.splice(before, 0, flat ?? { kind: 'compute', out: p4, axes: pAxes, body: quadBody(op, pAxes, c) });
  const rq = src.fresh(`${ax.name}q`);
  const at = (o: Operand, s: number[]) => flatIndex(o.dims.map((e, i) => (i === o.d ? E.v(rq) : e)), s);
  const body: Expr = { k: 'call', fn: 'dot4', args: [E.load(p4.name, at(op, p4Shape), 'i32'), E.load(q4.name, at(oq, q4Shape), 'i32')], t: 'i32', lanes: 1 };
  const sum: Reduce = { ...R, axes: R.axes.map((a) => (a.name === ax.name ? { name: rq, extent: Math.ceil(ax.extent / 4) } : a)), body };
  if (c === 0) return sum;
  const sIdx = keep.length ? flatIndex(keep.map((i) => oq.dims[i]), sShape) : E.i(0);
  return E.sub(sum, E.mul(E.c(c, 'i32'), E.load(sBuf.name, sIdx, 'i32')));
}
