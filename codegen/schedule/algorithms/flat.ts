/**
 * Depthwise convolution over the flattened padded plane ("direct-flat"): a stride-1 conv in which
 * each output channel reads one input channel (depthwise), on a map too narrow for the target's
 * vectors (7 or 14 columns on 16 lanes), reads its padded input plane [Hp, Wp] at
 * (oh + kh*d) * Wp + (ow + kw*d) = q + kh*d*Wp + kw*d with q = oh*Wp + ow: affine in q alone. The
 * sum is computed over q in [0, Q), Q = (OH - 1) * Wp + OW, into a scratch [N, M, Q] (the columns
 * ow >= OW of a row are computed and never read: they stay inside the plane), so the default
 * schedule vectorizes a long contiguous axis (a 7x7 map with 5x5 taps: 73 positions, 5 vectors of
 * 16, instead of 4-lane vectors over 7 columns), with the epilogue (bias, activation) when it reads
 * nothing per output position; the conv's own stage then copies the valid positions oh*Wp + ow (or
 * reads the sum there and applies an epilogue that does: a residual). Same terms in the same order,
 * the same epilogue per value: results are identical to direct.
 */
import { E, flatIndex, linearize, mapExpr, substitute, walkExpr, type Buffer, type ComputeStage, type Expr } from '@aic/loop-ir';
import type { Program } from '../../lower/program.ts';
import { peelIndex } from '../pack.ts';
import { convInputLoad, usesVar as uses, type ConvInfo, type Reduce } from './conv-info.ts';

/** Can direct-flat compute this conv? (stride 1, one input channel per output channel) */
export function flatApplies(c: ConvInfo): boolean {
  return !c.blocked && c.strides.every((s) => s === 1) && c.C / c.group === 1 && c.OW >= 2 && c.OH >= 2;
}

/** positions the flat sum computes per plane: (OH - 1) * Wp + OW, Wp the padded width */
export const flatPositions = (c: ConvInfo): number => (c.OH - 1) * (c.W + c.pads[1] + c.pads[3]) + c.OW;

/**
 * Rewrite kernel `kernel` (a conv with `flatApplies`) as a flat sum + the conv's epilogue. Returns
 * false (nothing changed) when the input is not one unguarded load whose flat index moves by Wp per
 * output row and 1 per output column over a plane [Hp, Wp] of its buffer.
 */
export function applyFlat(prog: Program, kernel: string, c: ConvInfo): boolean {
  const src = prog.sources.get(kernel)!;
  const st = src.stages[c.stage] as ComputeStage;
  const [n, o, oh, ow] = st.axes;
  const input = convInputLoad(src, c);
  if (!input) return false;
  const { load, buf: B } = input;
  const idx = peelIndex(load.idx, B.shape);
  if (!idx || [idx[0], idx[1]].some((e) => uses(e, oh) || uses(e, ow)) || uses(idx[2], ow) || uses(idx[3], oh)) return false;
  const [, , Hp, Wp] = B.shape;
  const ext = new Map([[oh, c.OH], [ow, c.OW], ...c.reduce.axes.map((a) => [a.name, a.extent] as [string, number])]);
  const lh = linearize(idx[2], ext), lw = linearize(idx[3], ext);
  if (!lh || !lw || lh.coef.get(oh) !== 1 || lw.coef.get(ow) !== 1) return false;
  // every row's last computed column stays in the plane: the flat index of (oh, OW - 1 + extra) for
  // extra < Wp - OW is that of the next row's first columns, read only when oh < OH - 1
  if (c.OH + (c.KH - 1) * c.dilations[0] > Hp || c.OW + (c.KW - 1) * c.dilations[1] > Wp) return false;
  const Q = (c.OH - 1) * Wp + c.OW;
  const q = src.fresh('q');
  const flat = flatIndex(idx, B.shape);
  const zero = { [oh]: E.i(0), [ow]: E.i(0) };
  const moved = { ...load, idx: E.add(substitute(flat, zero), E.v(q)) };
  const key = JSON.stringify(load);
  const red: Reduce = { ...c.reduce, body: mapExpr(c.reduce.body, (x) => (x.k === 'load' && JSON.stringify(x) === key ? moved : x)) };
  // nothing else in the sum may depend on the output position (the weights depend on o, kh, kw)
  let stray = false;
  walkExpr(red.body, (x) => { if (x.k === 'var' && (x.name === oh || x.name === ow)) stray = true; });
  if (stray) return false;
  // an epilogue that reads nothing per position (bias, activation) runs in the flat stage too, over
  // whole vectors; one that does (a residual) stays in the conv's stage at the valid positions
  const rkey = JSON.stringify(c.reduce);
  let perPos = false;
  walkExpr(st.body, (x) => { if (x.k === 'load' && (uses(x.idx, oh) || uses(x.idx, ow)) && !rkey.includes(JSON.stringify(x))) perPos = true; });
  const flatBody = perPos ? red : mapExpr(st.body, (x) => (x.k === 'reduce' && JSON.stringify(x) === rkey ? red : x));
  const Yf: Buffer = { name: src.fresh('yflat'), dtype: perPos ? 'f32' : st.out.dtype, shape: [c.N, c.M, Q], scope: 'local', role: 'scratch' };
  const [fn, fo] = [src.fresh('fn'), src.fresh('fo')];
  const sum: ComputeStage = { kind: 'compute', out: Yf, axes: [fn, fo, q], body: substitute(flatBody, { [n]: E.v(fn), [o]: E.v(fo) }) };
  const at = E.load(Yf.name, flatIndex([E.v(n), E.v(o), E.add(E.mul(E.v(oh), E.i(Wp)), E.v(ow))], Yf.shape), Yf.dtype);
  const body = perPos ? mapExpr(st.body, (x) => (x.k === 'reduce' && JSON.stringify(x) === rkey ? at : x)) : at;
  src.stages = [...src.stages.slice(0, c.stage), sum, { ...st, body }, ...src.stages.slice(c.stage + 1)];
  src.temps = [...src.temps, Yf];
  return true;
}
