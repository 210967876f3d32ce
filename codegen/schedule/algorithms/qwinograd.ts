/**
 * Winograd F(2x2, 3x3) for int8 convolutions (aic.QConv: 3x3, stride 1, dilation 1, one group), in
 * integer arithmetic, exact: results equal direct convolution's bit for bit.
 *
 * With d = x - x_zp (the QConv's padded copy, int32) and G' = 2G (entries 0, +-1, +-2: Lavin & Gray's
 * G has halves), U' = G' g G'^T = 4 U is an integer, V = Bt d B (entries of Bt: 0, +-1) too, and
 * At (U' . V) A = 4 * (the direct sum), exactly, in integers: the output transform ends with an exact
 * division by 4. |V| <= 4 max|d| <= 1020 and |U'| <= 9 * 127 fit int16, so the batched GEMM over the
 * 16 transform positions multiplies channel pairs with dot2 (wasm-simd i32x4.dot_i16x8_s, C pmaddwd):
 * V and U' are stored as int16 pairs of consecutive channels (like int-dot.ts's packed operands), U'
 * at compile time. The GEMM does 16 / 36 of direct's multiply-adds.
 *   1. the conv's padded copy Xp (x - x_zp, int32), widened with zeros to whole tiles when the output
 *      has an odd side
 *   2. input transform  V2[e, c2, t] = pair(V[e, 2c2, t], V[e, 2c2 + 1, t])
 *   3. batched GEMM     Mo[e, o, t] = sum_c2 dot2(U2[o, e, c2], V2[e, c2, t])  (a compute stage)
 *   4. output transform Z[n, o, 2ty + i, 2tx + j] = (At Mo A)[i, j] / 4
 *   5. the conv's epilogue (bias, requantization) with its sum replaced by Z.
 * Applied only where no partial sum can leave int32 (bounded from the weights themselves), so the
 * arithmetic never wraps on any target. On channel-blocked buffers (layout-nc4hw4{int8=true}) the
 * padded copy is read through its index map into a row-major widened copy, the packed weight is
 * unpacked, and Z takes the output's layout (the epilogue reads channel vectors).
 */
import { E, S, bufferIndex, flatIndex, linearize, logicalShape, mapExpr, simplifyExpr, substituteStmt, walkExpr, type Buffer, type ComputeStage, type Expr, type Stage, type Stmt } from '@aic/loop-ir';
import { clampedBlocks } from '../copy-vectors.ts';
import { Tensor } from '@aic/core';
import type { Program } from '../../lower/program.ts';
import { scalarConstants, tempRanges } from '../int-dot.ts';
import { convInputLoad, logicalIndexOf, type ConvInfo } from './conv-info.ts';
import { WINOGRAD, blockLikeOutput, lets, lin, logicalData, swapWeight, winogradApplies, winogradTiles, zeroPadLanes } from './winograd.ts';

const G2 = WINOGRAD[2].G.map((r) => r.map((v) => 2 * v));
const BT = WINOGRAD[2].BT, AT = WINOGRAD[2].AT;

/** Can the int8 Winograd compute this QConv's geometry (qconvInfo)? */
export const qWinogradApplies = (c: ConvInfo) => winogradApplies(c) && c.C >= 8 && c.M >= 8;

/** U'[o, e, c] = (G' g[o, c] G'^T)[e] (integers), as int16 pairs along c: [M, 16, ceil(C / 2)] int32 words. */
export function qWinogradWeights(w: ArrayLike<number>, M: number, C: number): { packed: Tensor; rowSums: number[][] } {
  const C2 = Math.ceil(C / 2);
  const packed = new Tensor('int32', [M, 16, C2]);
  const rowSums = Array.from({ length: M }, () => new Array<number>(16).fill(0));
  const u = new Array<number>(16);
  for (let o = 0; o < M; o++) {
    for (let c = 0; c < C; c++) {
      const k = (r: number, s: number) => w[((o * C + c) * 3 + r) * 3 + s];
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
        let v = 0;
        for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) v += G2[i][r] * k(r, s) * G2[j][s];
        u[i * 4 + j] = v;
        rowSums[o][i * 4 + j] += Math.abs(v);
      }
      for (let e = 0; e < 16; e++) {
        const at = (o * 16 + e) * C2 + (c >> 1);
        // low half as 16 bits, high half signed: lo16(u) | u << 16 for the odd channel
        packed.num[at] = c % 2 === 0 ? (u[e] & 0xffff) : (packed.num[at] | (u[e] << 16));
      }
    }
  }
  return { packed, rowSums };
}

interface Plan { Xq: Buffer; Wp: Buffer; packed: Tensor }

/**
 * What the rewrite of QConv kernel `kernel` needs (its padded copy, int8 weight and the packed U'),
 * or undefined when its sum is not (padded copy) x (int8 weight) as lowered by ir-spec, or a partial
 * sum could pass int32. Changes nothing.
 */
function plan(prog: Program, kernel: string, c: ConvInfo): Plan | undefined {
  const src = prog.sources.get(kernel)!;
  const step = prog.steps.find((s) => s.kernel === kernel)!;
  const final = src.stages[c.stage] as ComputeStage;
  const R = c.reduce;
  if (!qWinogradApplies(c) || R.op !== 'sum' || R.t !== 'i32' || R.body.k !== 'bin' || R.body.op !== 'mul' || R.axes.length !== 3) return undefined;
  const [rc, rh, rw] = R.axes.map((a) => a.name);
  const [, o, oh, ow] = final.axes;
  // the input operand: the padded copy [N, C, OH + 2, OW + 2] read at [n, rc, oh + rh, ow + rw]
  // (logically: a channel-blocked copy reads (rc / x, rc % x))
  const xin = convInputLoad(src, c, true);
  const Xq = xin?.buf;
  if (!xin || !Xq || src.params.includes(Xq) || Xq.dtype !== 'i32' || logicalShape(Xq).join() !== [c.N, c.C, c.OH + 2, c.OW + 2].join()) return undefined;
  const xi = logicalIndexOf(xin.load.idx, Xq);
  const ext = new Map([[oh, c.OH], [ow, c.OW], [rh, 3], [rw, 3]]);
  const isZero = (e: Expr) => e.k === 'const' && e.v === 0;
  const unit = (e: Expr, a: string, b: string) => { const l = linearize(e, ext); return !!l && l.coef.get(a) === 1 && l.coef.get(b) === 1 && l.coef.size === 2 && isZero(simplifyExpr(l.base)); };
  if (!xi || xi[1].k !== 'var' || xi[1].name !== rc || !unit(xi[2], oh, rh) || !unit(xi[3], ow, rw)) return undefined;
  // the weight operand: the int8 weight param [M, C, 3, 3] read at [o, rc, rh, rw] (cast to int32)
  const other = R.body.a.k === 'load' && R.body.a.buf === Xq.name ? R.body.b : R.body.a;
  const wl = other.k === 'cast' && other.t === 'i32' ? other.x : other;
  const Wp = src.params[1];
  if (wl.k !== 'load' || wl.buf !== Wp?.name || Wp.dtype !== 'i8' || Wp.role !== 'weight') return undefined;
  const wi = logicalIndexOf(wl.idx, Wp);
  const isV = (e: Expr, v: string) => e.k === 'var' && e.name === v;
  if (!wi || !isV(wi[0], o) || !isV(wi[1], rc) || !isV(wi[2], rh) || !isV(wi[3], rw)) return undefined;
  const stored = prog.weights.find((w) => w.name === step.args[1])?.data;
  if (!(stored instanceof Tensor)) return undefined;
  // a packed weight (OIHWxixo) in its logical order
  const wdata = logicalData(stored, Wp.layout);
  // bounds: d from what the padded copy stores, then every partial sum
  const dr = tempRanges(src, src.stages.indexOf(final), scalarConstants(prog, src, step.args)).get(Xq.name);
  if (!dr) return undefined;
  const maxD = Math.max(Math.abs(dr[0]), Math.abs(dr[1])), maxV = 4 * maxD;
  const { packed, rowSums } = qWinogradWeights(wdata.num, c.M, c.C);
  const LIM = 2 ** 31 - 1;
  // the GEMM's sums (<= sum_c |U'| maxV), then the output transform's (9 of them): within int32
  if (maxV > 32767 || rowSums.some((r) => 9 * Math.max(...r) * maxV > LIM)) return undefined;
  return { Xq, Wp, packed };
}

/** Can the rewrite apply to QConv kernel `kernel` (qconvInfo `c`)? (the tuner's space asks) */
export const qWinogradFits = (prog: Program, kernel: string, c: ConvInfo) => !!plan(prog, kernel, c);

/** Rewrite QConv kernel `kernel` into the int8 Winograd stages; false (nothing changed) where plan() says no. */
export function applyQWinograd(prog: Program, kernel: string, c: ConvInfo, lanes = 1): boolean {
  const p = plan(prog, kernel, c);
  if (!p) return false;
  const { Xq, Wp, packed } = p;
  const src = prog.sources.get(kernel)!;
  const step = prog.steps.find((s) => s.kernel === kernel)!;
  const final = src.stages[c.stage] as ComputeStage;
  const R = c.reduce;
  const { th, tw, T } = winogradTiles(c, 2);
  const Hp = th * 2 + 2, Wp2 = tw * 2 + 2, Zh = th * 2, Zw = tw * 2;
  const C2 = Math.ceil(c.C / 2), N = c.N, M = c.M, C = c.C;
  const fresh = src.fresh;
  // both transforms run over a row of tiles in vectors (clamped blocks: a last block overlapping the
  // one before recomputes the same values); a row narrower than 4 tiles stays scalar
  let L = 1;
  while (L * 2 <= Math.min(lanes, tw)) L *= 2;
  const overTiles = (v: string, body: Stmt) => (L >= 4 ? clampedBlocks(tw, L, { block: fresh(`${v}b`), lane: fresh(`${v}l`) }, (x) => substituteStmt(body, { [v]: x })) : S.for(v, tw, body));
  const temp = (p: string, shape: number[]): Buffer => ({ name: fresh(p), dtype: 'i32', shape, scope: 'local', role: 'scratch' });
  const V2 = temp('qwv', [16, C2, T]), Mo = temp('qwm', [16, M, T]), Z = temp('qwz', [N, M, Zh, Zw]);
  // a channel-blocked output: Z takes its layout, so the epilogue reads whole channel vectors
  blockLikeOutput(Z, (src.stages[c.stage] as ComputeStage).out);
  const stages: Stage[] = [];
  // 1. tiles cover the padded copy, or a row-major copy widened with zeros to whole tiles (always
  // for a channel-blocked padded copy: the transform reads a channel's rows)
  let Xp = Xq;
  if (Hp !== Xq.shape[2] || Wp2 !== Xq.shape[3] || Xq.layout) {
    Xp = temp('qwxp', [N, C, Hp, Wp2]);
    const vn = fresh('qn'), vc = fresh('qc'), p = fresh('qp'), q = fresh('qq');
    const [, , H2, W2] = logicalShape(Xq);
    const at = E.add(E.mul(E.add(E.mul(E.add(E.mul(E.v(vn), E.i(C)), E.v(vc)), E.i(Hp)), E.v(p)), E.i(Wp2)), E.v(q));
    // past the copy's edge: 0 (the load's index clamped so it stays in the buffer)
    const inside = E.and(E.lt(E.v(p), E.i(H2)), E.lt(E.v(q), E.i(W2)));
    const from = bufferIndex(Xq, [E.v(vn), E.v(vc), E.min(E.v(p), E.i(H2 - 1)), E.min(E.v(q), E.i(W2 - 1))]);
    const val = E.select(inside, E.load(Xq.name, from, 'i32'), E.c(0, 'i32'));
    stages.push({ kind: 'extern', outs: [], body: S.for(vn, N, S.for(vc, C, S.for(p, Hp, S.for(q, Wp2, S.store(Xp.name, at, val))))) });
  }
  // 2. input transform of a channel pair, packed
  const vc = fresh('qc'), vn = fresh('qn'), vy = fresh('qy'), vx = fresh('qx');
  const t = E.add(E.mul(E.add(E.mul(E.v(vn), E.i(th)), E.v(vy)), E.i(tw)), E.v(vx));
  const tile = (ch: Expr) => {
    const base = E.add(E.mul(E.add(E.mul(E.add(E.mul(E.v(vn), E.i(C)), ch), E.i(Hp)), E.mul(E.v(vy), E.i(2))), E.i(Wp2)), E.mul(E.v(vx), E.i(2)));
    return Array.from({ length: 16 }, (_, k) => E.load(Xp.name, E.add(base, E.i(Math.floor(k / 4) * Wp2 + (k % 4))), 'i32'));
  };
  const rowsOf = (dv: Expr[]) => Array.from({ length: 16 }, (_, k) => lin(BT[Math.floor(k / 4)], Array.from({ length: 4 }, (_, kk) => dv[kk * 4 + (k % 4)])));
  const colsOf = (rv: Expr[]) => Array.from({ length: 16 }, (_, e) => lin(BT[e % 4], Array.from({ length: 4 }, (_, kk) => rv[Math.floor(e / 4) * 4 + kk])));
  const c0 = E.mul(E.v(vc), E.i(2)), c1 = E.add(c0, E.i(1));
  const odd = C % 2 === 1;
  const i32 = (v: number) => E.c(v, 'i32');
  const inTx = lets(tile(c0), fresh, (d0) => lets(rowsOf(d0), fresh, (r0) => lets(colsOf(r0), fresh, (v0) =>
    lets(tile(odd ? E.min(c1, E.i(C - 1)) : c1), fresh, (d1) => lets(rowsOf(d1), fresh, (r1) => lets(colsOf(r1), fresh, (v1) =>
      S.seq(...v0.map((lo, e) => {
        const hi = odd ? E.select(E.lt(c1, E.i(C)), v1[e], i32(0)) : v1[e];
        const word = E.bin('or', E.and(lo, i32(0xffff)), E.bin('shl', hi, i32(16)));
        return S.store(V2.name, flatIndex([E.i(e), E.v(vc), t], V2.shape), word);
      })), 'i32'), 'i32'), 'i32'), 'i32'), 'i32'), 'i32');
  stages.push({ kind: 'extern', outs: [], body: S.for(vc, C2, S.for(vn, N, S.for(vy, th, overTiles(vx, inTx)))) });

  // 3. batched GEMM over the 16 transform positions, channel pairs by dot2
  const Ub: Buffer = { name: fresh('qwino'), dtype: 'i32', shape: [M, 16, C2], scope: 'global', role: 'weight' };
  const ge = fresh('ge'), go = fresh('go'), gt = fresh('gt'), gc = fresh('gc');
  const gemm: ComputeStage = {
    kind: 'compute', out: Mo, axes: [ge, go, gt],
    body: E.reduce('sum', [{ name: gc, extent: C2 }], { k: 'call', fn: 'dot2', t: 'i32', lanes: 1, args: [
      E.load(Ub.name, flatIndex([E.v(go), E.v(ge), E.v(gc)], Ub.shape), 'i32'),
      E.load(V2.name, flatIndex([E.v(ge), E.v(gc), E.v(gt)], V2.shape), 'i32')] }),
  };
  stages.push(gemm);

  // 4. output transform, / 4 (exact)
  const oo = fresh('qo'), on = fresh('qn'), oy = fresh('qy'), ox = fresh('qx');
  const ot = E.add(E.mul(E.add(E.mul(E.v(on), E.i(th)), E.v(oy)), E.i(tw)), E.v(ox));
  const mv = Array.from({ length: 16 }, (_, e) => E.load(Mo.name, flatIndex([E.i(e), E.v(oo), ot], Mo.shape), 'i32'));
  const outTx = lets(mv, fresh, (qv) => {
    const s = Array.from({ length: 8 }, (_, k) => lin(AT[Math.floor(k / 4)], Array.from({ length: 4 }, (_, kk) => qv[kk * 4 + (k % 4)])));
    return lets(s, fresh, (sv) => S.seq(...Array.from({ length: 4 }, (_, k) => {
      const i = Math.floor(k / 2), j = k % 2;
      const val = E.bin('shr', lin(AT[j], Array.from({ length: 4 }, (_, kk) => sv[i * 4 + kk])), i32(2));
      return S.store(Z.name, bufferIndex(Z, [E.v(on), E.v(oo), E.add(E.mul(E.v(oy), E.i(2)), E.i(i)), E.add(E.mul(E.v(ox), E.i(2)), E.i(j))]), val);
    })), 'i32');
  }, 'i32');
  stages.push({ kind: 'extern', outs: [], body: S.for(oo, M, S.for(on, N, S.for(oy, th, overTiles(ox, outTx)))) });
  stages.push(...zeroPadLanes(Z, fresh, E.c(0, 'i32')));

  // 5. the epilogue reads Z for the sum
  const key = JSON.stringify(R);
  const zAt = E.load(Z.name, bufferIndex(Z, final.axes.map((v) => E.v(v))), 'i32');
  const body = mapExpr(final.body, (x) => (x.k === 'reduce' && JSON.stringify(x) === key ? zAt : x));
  let still = false;
  walkExpr(body, (x) => { if (x.k === 'load' && (x.buf === Xq.name || x.buf === Wp.name)) still = true; });
  if (still) return false;

  const before = src.stages.slice(0, c.stage);
  src.stages = [...before, ...stages, { ...final, body }, ...src.stages.slice(c.stage + 1)];
  src.temps = [...src.temps, ...(Xp !== Xq ? [Xp] : []), V2, Mo, Z];
  swapWeight(prog, src, step, Ub, { ...prog.weights.find((w) => w.name === step.args[1])!, name: `${step.args[1]}_qwino2`, dtype: 'i32', shape: Ub.shape, data: packed });
  return true;
}
