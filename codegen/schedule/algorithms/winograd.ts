/**
 * Winograd F(m x m, 3 x 3) convolution (m = 2 or 4; Lavin & Gray's transforms) for 3x3, stride-1,
 * dilation-1, ungrouped f32 convs, as loop-IR stages of the conv's kernel:
 *   1. padded input copy  Xp [N, C, th*m + 2, tw*m + 2]          (zeros around; th, tw: tiles per axis)
 *   2. input transform    V[e, c, t] = (Bt d Bt^T)[e]             (d: the a x a input tile t, a = m + 2)
 *   3. batched GEMM       Mo[e, o, t] = sum_c U[o, e, c] V[e, c, t] (a compute stage: default GEMM schedule)
 *   4. output transform   Z[n, o, ty*m + i, tx*m + j] = (At Mo At^T)[i, j]
 *   5. the conv's own epilogue (bias, residual, activation) with its sum replaced by Z.
 * U = G g G^T is computed at compile time (float64, stored f32) and replaces the weight. Results
 * differ from direct convolution by rounding only (the transforms are exact in real arithmetic):
 * benchmarks/winograd-error.ts reports the difference per zoo model.
 */
import { Tensor } from '@aic/core';
import { E, S, blockedChannels, bufferIndex, channelBlock, flatIndex, mapExpr, physicalShapeOf, walkExpr, type Buffer, type BufferLayout, type ComputeStage, type Expr, type ScalarType, type Stage, type Stmt } from '@aic/loop-ir';
import type { KernelSource, Program, ProgramBuffer } from '../../lower/program.ts';
import { blockedPadRows } from '@aic/ir-spec';
import { dropParam, type ConvInfo } from './conv-info.ts';

export interface WinogradMats { m: number; BT: number[][]; G: number[][]; AT: number[][] }

export const WINOGRAD: Record<2 | 4, WinogradMats> = {
  2: {
    m: 2,
    BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
    G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
    AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
  },
  4: {
    m: 4,
    BT: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
    G: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
    AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
  },
};

/** Can Winograd F(m, 3) compute this conv? (3x3, stride 1, dilation 1, one group) */
export function winogradApplies(c: ConvInfo): boolean {
  return c.KH === 3 && c.KW === 3 && c.strides.every((s) => s === 1) && c.dilations.every((d) => d === 1) && c.group === 1 && c.pads.every((p) => p >= 0);
}

/** Tiles per axis and their count. */
export function winogradTiles(c: ConvInfo, m: number): { th: number; tw: number; T: number } {
  const th = Math.ceil(c.OH / m), tw = Math.ceil(c.OW / m);
  return { th, tw, T: c.N * th * tw };
}

/** sum_k coef[k] * xs[k], skipping zero coefficients (1 and -1 as add / sub). */
export function lin(coef: number[], xs: Expr[]): Expr {
  let acc: Expr | undefined;
  coef.forEach((k, i) => {
    if (k === 0) return;
    const x = xs[i];
    if (acc === undefined) acc = k === 1 ? x : k === -1 ? E.neg(x) : E.mul(E.c(k, x.t), x);
    else acc = k === 1 ? E.add(acc, x) : k === -1 ? E.sub(acc, x) : E.add(acc, E.mul(E.c(k, x.t), x));
  });
  return acc ?? E.c(0);
}

/** Bind each value to a fresh variable of type t (nested lets around `body(vars)`). */
export function lets(vals: Expr[], fresh: (p: string) => string, body: (vars: Expr[]) => Stmt, t: ScalarType = 'f32'): Stmt {
  const names = vals.map(() => fresh('w'));
  let s = body(names.map((n) => E.v(n, t)));
  for (let i = vals.length - 1; i >= 0; i--) s = S.let(names[i], t, vals[i], s);
  return s;
}

/**
 * U[o, e = i*a + j, c] = (G g[o, c] G^T)[i, j], float64 then f32. Output channels lead, so the default
 * schedule vectorizes the GEMM over them with U packed (like a direct conv's weight).
 */
export function winogradWeights(g: Tensor, mats: WinogradMats): Tensor {
  const [M, C] = g.shape, a = mats.m + 2, G = mats.G;
  const U = new Tensor('float32', [M, a * a, C]);
  const w = g.num, u = U.num;
  // the same float64 sums in the same order as (G g G^T)[i, j] = sum_r sum_s G[i][r] g[r][s] G[j][s],
  // with the 3 x 3 kernel read once per (o, c) (this runs once per weight element at compile time)
  const k = new Float64Array(9);
  for (let o = 0; o < M; o++) {
    for (let c = 0; c < C; c++) {
      const base = (o * C + c) * 9;
      for (let t = 0; t < 9; t++) k[t] = w[base + t]!;
      for (let i = 0; i < a; i++) {
        const Gi = G[i]!;
        for (let j = 0; j < a; j++) {
          const Gj = G[j]!;
          let v = 0;
          for (let r = 0; r < 3; r++) { const gr = Gi[r]!; v += gr * k[r * 3]! * Gj[0]!; v += gr * k[r * 3 + 1]! * Gj[1]!; v += gr * k[r * 3 + 2]! * Gj[2]!; }
          u[(o * a * a + i * a + j) * C + c] = v;
        }
      }
    }
  }
  return U;
}

/** A constant's data in its logical row-major order (packed weights, OIHW4i4o..., unpacked). */
export function logicalData(data: Tensor, layout: BufferLayout | undefined): Tensor {
  if (!layout) return data;
  const shape = layout.logical, ext = physicalShapeOf(layout);
  const out = new Tensor('float32', shape);
  // the physical offset is a sum over layout dims of (part of a logical index) x (that dim's stride):
  // one table per logical dim, indexed by its index, holding the offsets its layout dims contribute
  const table = shape.map((n) => new Float64Array(n));
  let stride = 1;
  for (let k = layout.dims.length - 1; k >= 0; k--) {
    const d = layout.dims[k]!, t = table[d.dim]!;
    for (let x = 0; x < t.length; x++) t[x]! += (d.part === 'whole' ? x : d.part === 'outer' ? Math.floor(x / d.block!) : x % d.block!) * stride;
    stride *= ext[k]!;
  }
  const src = data.num, dst = out.num, rank = shape.length, last = table[rank - 1]!, n = shape[rank - 1]!;
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < dst.length; i += n) {
    let off = 0;
    for (let d = 0; d < rank - 1; d++) off += table[d]![idx[d]!]!;
    for (let x = 0; x < n; x++) dst[i + x] = src[off + last[x]!]!;
    for (let d = rank - 2; d >= 0; d--) { if (++idx[d]! < shape[d]!) break; idx[d] = 0; }
  }
  return out;
}

/**
 * Rewrite kernel `kernel` (a conv with `winogradApplies`) into the Winograd stages. Returns false
 * (and changes nothing) when the kernel's epilogue reads something other than its params and the sum.
 */
export function applyWinograd(prog: Program, kernel: string, c: ConvInfo, m: 2 | 4): boolean {
  const src = prog.sources.get(kernel)!;
  const mats = WINOGRAD[m];
  const { N, C, M } = c;
  const { th, tw } = winogradTiles(c, m);
  const Z = scratch(src, 'wz', [N, M, th * m, tw * m]);
  const X = src.params[0];
  const final = src.stages[c.stage] as ComputeStage;
  // a channel-blocked output (-O3): Z takes its layout, so the epilogue reads whole channel vectors
  const zb = blockLikeOutput(Z, final.out);
  const key = JSON.stringify(c.reduce);
  const zAt = (idx: Expr[]) => E.load(Z.name, bufferIndex(Z, idx), 'f32');
  const body = mapExpr(final.body, (x) => (x.k === 'reduce' && JSON.stringify(x) === key ? zAt(final.axes.map((v) => E.v(v))) : x));
  // the epilogue may read params (bias, residual) and Z only
  const allowed = new Set([...src.params.filter((p) => p !== src.params[1]).map((p) => p.name), Z.name]);
  let ok = true;
  walkExpr(body, (x) => { if (x.k === 'load' && !allowed.has(x.buf)) ok = false; });
  if (!ok) return false;

  // input and output blocked alike, whole blocks: every stage runs over a block's lanes
  const xb = channelBlock(X.layout);
  const Ub = xb && xb === zb && C % xb === 0 && M % xb === 0 && X.layout!.dims.length === 5
    ? blockedStages(src, c, mats, xb, Z, body, final)
    : rowMajorStages(src, c, mats, Z, body, final);
  const step = prog.steps.find((s) => s.kernel === kernel)!;
  swapWeight(prog, src, step, Ub, { name: `${c.weight.name}_wino${m}`, dtype: 'f32', shape: Ub.shape, scope: 'global', role: 'weight', value: c.weight.value, data: winogradWeights(logicalData(c.weight.data!, c.weight.layout), mats) });
  return true;
}

/**
 * Z of a conv whose output is channel-blocked takes the output's layout, so the epilogue reads whole
 * channel vectors (Z's shape becomes the physical one). The block, or 0 (Z stays row-major).
 */
export function blockLikeOutput(Z: Buffer, out: Buffer): number {
  const zb = channelBlock(out.layout);
  if (zb) { Z.layout = blockedChannels(Z.shape, zb, `NC${zb}HW${zb}`); Z.shape = physicalShapeOf(Z.layout); }
  return zb;
}

/**
 * A blocked Z whose last channel block is partial: a stage zeroing its padding lanes (the epilogue
 * computes them unguarded); none when Z is row-major or whole blocks.
 */
export function zeroPadLanes(Z: Buffer, fresh: (p: string) => string, zero: Expr): Stage[] {
  const zb = channelBlock(Z.layout);
  if (!zb) return [];
  const [N, M, Zh, Zw] = Z.layout!.logical, Mp = Math.ceil(M / zb) * zb;
  if (Mp === M) return [];
  const zn = fresh('zn'), zc = fresh('zc'), zh = fresh('zh'), zw = fresh('zw');
  return [{ kind: 'extern', outs: [], body: S.for(zn, N, S.for(zc, Mp - M, S.for(zh, Zh, S.for(zw, Zw, S.store(Z.name, bufferIndex(Z, [E.v(zn), E.add(E.v(zc), E.i(M)), E.v(zh), E.v(zw)]), zero))))) }];
}

/** A kernel-private f32 buffer of the Winograd stages. */
const scratch = (src: KernelSource, p: string, shape: number[]): Buffer => ({ name: src.fresh(p), dtype: 'f32', shape, scope: 'local', role: 'scratch' });

/** Tile geometry: a x a input tiles (a = m + 2), th x tw tiles per image, the padded input and Z extents. */
function geometry(c: ConvInfo, mats: WinogradMats) {
  const m = mats.m, a = m + 2, { th, tw, T } = winogradTiles(c, m);
  return { m, a, a2: a * a, th, tw, T, Hp: th * m + 2, Wp: tw * m + 2, Zh: th * m, Zw: tw * m };
}

/**
 * The stages on row-major (or blocked-in, row-major-transform) buffers: Xp [N, C, Hp, Wp], V [a2, C, T],
 * Mo [a2, M, T], Z (blocked like the output when it is), then the epilogue.
 */
function rowMajorStages(src: KernelSource, c: ConvInfo, mats: WinogradMats, Z: Buffer, body: Expr, final: ComputeStage): Buffer {
  const { m, a, a2, th, tw, T, Hp, Wp } = geometry(c, mats);
  const { N, C, H, W, M } = c;
  const [pt, pl] = c.pads;
  const fresh = src.fresh;
  const temp = (p: string, shape: number[]) => scratch(src, p, shape);
  const Xp = temp('wxp', [N, C, Hp, Wp]), V = temp('wv', [a2, C, T]), Mo = temp('wm', [a2, M, T]);
  const X = src.params[0];
  // 1. padded input copy
  const nc = fresh('wnc'), p = fresh('wp'), q = fresh('wq');
  const ih = E.sub(E.v(p), E.i(pt));
  const row = E.mul(E.add(E.mul(E.v(nc), E.i(Hp)), E.v(p)), E.i(Wp));
  const zeros = (from: number, n: number) => (n > 0 ? [S.for(q, n, S.store(Xp.name, E.add(row, E.add(E.v(q), E.i(from))), E.c(0)))] : []);
  const xAt = X.layout
    ? bufferIndex(X, [E.div(E.v(nc), E.i(C)), E.mod(E.v(nc), E.i(C)), ih, E.v(q)])
    : E.add(E.mul(E.add(E.mul(E.v(nc), E.i(H)), ih), E.i(W)), E.v(q));
  const copy = S.for(q, W, S.store(Xp.name, E.add(row, E.add(E.v(q), E.i(pl))), E.load(X.name, xAt, 'f32')));
  const inRow = [...(pt > 0 ? [E.ge(ih, E.i(0))] : []), E.lt(ih, E.i(H))].reduce((x, y) => E.and(x, y));
  const padStage: Stage = { kind: 'extern', outs: [], body: S.for(nc, N * C, S.for(p, Hp, S.if(inRow, S.seq(...zeros(0, pl), copy, ...zeros(pl + W, Wp - pl - W)), S.seq(...zeros(0, Wp))))) };

  // 2. input transform: V[e, c, t] = (Bt d Bt^T)[e]
  const vc = fresh('wc'), vn = fresh('wn'), vy = fresh('wy'), vx = fresh('wx');
  const t = E.add(E.mul(E.add(E.mul(E.v(vn), E.i(th)), E.v(vy)), E.i(tw)), E.v(vx));
  const base = E.add(E.mul(E.add(E.mul(E.add(E.mul(E.v(vn), E.i(C)), E.v(vc)), E.i(Hp)), E.mul(E.v(vy), E.i(m))), E.i(Wp)), E.mul(E.v(vx), E.i(m)));
  const d = Array.from({ length: a2 }, (_, k) => E.load(Xp.name, E.add(base, E.i(Math.floor(k / a) * Wp + (k % a))), 'f32'));
  const inTx = lets(d, fresh, (dv) => {
    // rows: r[i][b] = sum_k Bt[i][k] d[k][b]; then V[i][j] = sum_k Bt[j][k] r[i][k]
    const r = Array.from({ length: a2 }, (_, k) => lin(mats.BT[Math.floor(k / a)], Array.from({ length: a }, (_, kk) => dv[kk * a + (k % a)])));
    return lets(r, fresh, (rv) => S.seq(...Array.from({ length: a2 }, (_, e) => {
      const i = Math.floor(e / a), j = e % a;
      const val = lin(mats.BT[j], Array.from({ length: a }, (_, kk) => rv[i * a + kk]));
      return S.store(V.name, E.add(E.mul(E.add(E.mul(E.i(e), E.i(C)), E.v(vc)), E.i(T)), t), val);
    })));
  });
  const inStage: Stage = { kind: 'extern', outs: [], body: S.for(vc, C, S.for(vn, N, S.for(vy, th, S.for(vx, tw, inTx)))) };

  // 3. batched GEMM over the a*a transform positions
  const Ub: Buffer = { name: fresh('wino'), dtype: 'f32', shape: [M, a2, C], scope: 'global', role: 'weight' };
  const ge = fresh('ge'), go = fresh('go'), gt = fresh('gt'), gc = fresh('gc');
  const gemm: ComputeStage = {
    kind: 'compute', out: Mo, axes: [ge, go, gt],
    body: E.reduce('sum', [{ name: gc, extent: C }], E.mul(
      E.load(Ub.name, flatIndex([E.v(go), E.v(ge), E.v(gc)], Ub.shape), 'f32'),
      E.load(V.name, flatIndex([E.v(ge), E.v(gc), E.v(gt)], V.shape), 'f32'))),
  };

  // 4. output transform: Z tile = At Mo At^T
  const oo = fresh('wo'), on = fresh('wn'), oy = fresh('wy'), ox = fresh('wx');
  const ot = E.add(E.mul(E.add(E.mul(E.v(on), E.i(th)), E.v(oy)), E.i(tw)), E.v(ox));
  const mv = Array.from({ length: a2 }, (_, e) => E.load(Mo.name, E.add(E.mul(E.add(E.mul(E.i(e), E.i(M)), E.v(oo)), E.i(T)), ot), 'f32'));
  const outTx = lets(mv, fresh, (qv) => {
    const s = Array.from({ length: m * a }, (_, k) => lin(mats.AT[Math.floor(k / a)], Array.from({ length: a }, (_, kk) => qv[kk * a + (k % a)])));
    return lets(s, fresh, (sv) => S.seq(...Array.from({ length: m * m }, (_, k) => {
      const i = Math.floor(k / m), j = k % m;
      const val = lin(mats.AT[j], Array.from({ length: a }, (_, kk) => sv[i * a + kk]));
      const zi = bufferIndex(Z, [E.v(on), E.v(oo), E.add(E.mul(E.v(oy), E.i(m)), E.i(i)), E.add(E.mul(E.v(ox), E.i(m)), E.i(j))]);
      return S.store(Z.name, zi, val);
    })));
  });
  const outStage: Stage = { kind: 'extern', outs: [], body: S.for(oo, M, S.for(on, N, S.for(oy, th, S.for(ox, tw, outTx)))) };
  const zeroPad = zeroPadLanes(Z, fresh, E.c(0));

  src.stages = [padStage, inStage, gemm, outStage, ...zeroPad, { ...final, body }];
  src.temps = [Xp, V, Mo, Z];
  return Ub;
}

/**
 * The stages when input and output are channel-blocked by x (NCxHWx, C and M whole blocks): every
 * stage runs over the x lanes of a block innermost as one vector, so no access gathers or scatters.
 *   Xp [N, C/x, Hp, Wp, x] (blocked, zero-padded: each row a fill, a contiguous copy and a fill),
 *   V [a2, T, C] (channels innermost: the transform stores a vector per position), Mo [a2, T, M]
 *   (the GEMM stores output-channel vectors contiguously), Z blocked like the output.
 */
function blockedStages(src: KernelSource, c: ConvInfo, mats: WinogradMats, x: number, Z: Buffer, body: Expr, final: ComputeStage): Buffer {
  const { m, a, a2, th, tw, T, Hp, Wp, Zh, Zw } = geometry(c, mats);
  const { N, C, H, W, M } = c;
  const CB = C / x, MB = M / x;
  const [pt, pl] = c.pads;
  const fresh = src.fresh;
  const temp = (p: string, shape: number[]) => scratch(src, p, shape);
  const Xp = temp('wxp', [N, CB, Hp, Wp, x]), V = temp('wv', [a2, T, C]), Mo = temp('wm', [a2, T, M]);
  const X = src.params[0];
  const lanes = (l: string, st: Stmt) => S.for(l, x, st, { k: 'vectorized', lanes: x });

  // 1. padded input copy, a block's row at a time (the one Conv's blocked padded copy uses)
  const padStage: Stage = { kind: 'extern', outs: [], body: blockedPadRows({
    dst: Xp.name, planes: N * CB, block: x, input: [H, W], padded: [Hp, Wp], begin: [pt, pl],
    fill: E.c(0), read: (at) => E.load(X.name, at, 'f32'), fresh,
  }) };

  // 2. input transform over a block's lanes: V[e, t, c] = (Bt d Bt^T)[e]
  const vb = fresh('wc'), vn = fresh('wn'), vy = fresh('wy'), vx = fresh('wx'), vl = fresh('wl');
  const t = E.add(E.mul(E.add(E.mul(E.v(vn), E.i(th)), E.v(vy)), E.i(tw)), E.v(vx));
  const base = E.add(E.mul(E.add(E.mul(E.add(E.mul(E.add(E.mul(E.v(vn), E.i(CB)), E.v(vb)), E.i(Hp)), E.mul(E.v(vy), E.i(m))), E.i(Wp)), E.mul(E.v(vx), E.i(m))), E.i(x)), E.v(vl));
  const d = Array.from({ length: a2 }, (_, k) => E.load(Xp.name, E.add(base, E.i((Math.floor(k / a) * Wp + (k % a)) * x)), 'f32'));
  const ch = E.add(E.mul(E.v(vb), E.i(x)), E.v(vl));
  const inTx = lets(d, fresh, (dv) => {
    const r = Array.from({ length: a2 }, (_, k) => lin(mats.BT[Math.floor(k / a)], Array.from({ length: a }, (_, kk) => dv[kk * a + (k % a)])));
    return lets(r, fresh, (rv) => S.seq(...Array.from({ length: a2 }, (_, e) => {
      const i = Math.floor(e / a), jj = e % a;
      const val = lin(mats.BT[jj], Array.from({ length: a }, (_, kk) => rv[i * a + kk]));
      return S.store(V.name, E.add(E.mul(E.add(E.mul(E.i(e), E.i(T)), t), E.i(C)), ch), val);
    })));
  });
  const inStage: Stage = { kind: 'extern', outs: [], body: S.for(vb, CB, S.for(vn, N, S.for(vy, th, S.for(vx, tw, lanes(vl, inTx))))) };

  // 3. batched GEMM, output channels innermost
  const Ub: Buffer = { name: fresh('wino'), dtype: 'f32', shape: [M, a2, C], scope: 'global', role: 'weight' };
  const ge = fresh('ge'), go = fresh('go'), gt = fresh('gt'), gc = fresh('gc');
  const gemm: ComputeStage = {
    kind: 'compute', out: Mo, axes: [ge, gt, go],
    body: E.reduce('sum', [{ name: gc, extent: C }], E.mul(
      E.load(Ub.name, flatIndex([E.v(go), E.v(ge), E.v(gc)], Ub.shape), 'f32'),
      E.load(V.name, flatIndex([E.v(ge), E.v(gt), E.v(gc)], V.shape), 'f32'))),
  };

  // 4. output transform over a block's lanes into blocked Z
  const ob = fresh('wo'), on = fresh('wn'), oy = fresh('wy'), ox = fresh('wx'), ol = fresh('wl');
  const ot = E.add(E.mul(E.add(E.mul(E.v(on), E.i(th)), E.v(oy)), E.i(tw)), E.v(ox));
  const oc = E.add(E.mul(E.v(ob), E.i(x)), E.v(ol));
  const mv = Array.from({ length: a2 }, (_, e) => E.load(Mo.name, E.add(E.mul(E.add(E.mul(E.i(e), E.i(T)), ot), E.i(M)), oc), 'f32'));
  const zBase = E.add(E.mul(E.add(E.mul(E.add(E.mul(E.add(E.mul(E.v(on), E.i(MB)), E.v(ob)), E.i(Zh)), E.mul(E.v(oy), E.i(m))), E.i(Zw)), E.mul(E.v(ox), E.i(m))), E.i(x)), E.v(ol));
  const outTx = lets(mv, fresh, (qv) => {
    const s = Array.from({ length: m * a }, (_, k) => lin(mats.AT[Math.floor(k / a)], Array.from({ length: a }, (_, kk) => qv[kk * a + (k % a)])));
    return lets(s, fresh, (sv) => S.seq(...Array.from({ length: m * m }, (_, k) => {
      const i = Math.floor(k / m), jj = k % m;
      const val = lin(mats.AT[jj], Array.from({ length: a }, (_, kk) => sv[i * a + kk]));
      return S.store(Z.name, E.add(zBase, E.i((i * Zw + jj) * x)), val);
    })));
  });
  const outStage: Stage = { kind: 'extern', outs: [], body: S.for(ob, MB, S.for(on, N, S.for(oy, th, S.for(ox, tw, lanes(ol, outTx))))) };

  src.stages = [padStage, inStage, gemm, outStage, { ...final, body }];
  src.temps = [Xp, V, Mo, Z];
  return Ub;
}

/** The kernel's weight (param 1) replaced by U (a transformed copy, a new program weight) read as param Ub. */
export function swapWeight(prog: Program, src: KernelSource, step: Program['steps'][number], Ub: Buffer, U: ProgramBuffer): void {
  while (prog.weights.some((w) => w.name === U.name)) U.name += '_';
  prog.weights.push(U);
  src.params.push(Ub);
  step.args.push(U.name);
  dropParam(prog, src, 1);
}
