/**
 * Lowering helpers for inputs stored in a channel-blocked layout (NCxHWx, packages/loop-ir/src/layout.ts).
 * Compute definitions index logically and need nothing from here; only the imperative helpers that
 * address memory directly (the padded-copy stage of Conv and MaxPool) have a blocked variant.
 */
import { E, S, blockedChannels, channelBlock, physicalShapeOf, type Expr, type ScalarType, type Stmt, type TensorRef } from '@aic/loop-ir';
import type { LowerCtx } from '../types.ts';
import type { WinAxis } from './nn.ts';

/**
 * A padded copy [N, C, P0, P1] of a 4-D blocked X in X's own layout: in NCxHWx one image row of a
 * channel block is W*x contiguous elements, so each row is a fill, a contiguous copy and a fill.
 */
export function padCopyBlocked(ctx: LowerCtx, X: TensorRef, ax: WinAxis[], P: number[], prepX: (x: Expr) => Expr, xT: ScalarType, fill: number): TensorRef {
  const B = channelBlock(X.buf.layout);
  if (!B) ctx.unsupported(`a padded window over an input stored as ${X.buf.layout?.name}`);
  const [N, C] = X.shape;
  const xp = ctx.temp('xpad', xT, [N, C, ...P]);
  const layout = blockedChannels([N, C, ...P], B, X.buf.layout!.name);
  xp.buf.layout = layout;
  xp.buf.shape = physicalShapeOf(layout);
  ctx.extern([], blockedPadRows({
    dst: xp.buf.name, planes: N * Math.ceil(C / B), block: B, input: [ax[0].I, ax[1].I], padded: [P[0], P[1]], begin: [ax[0].pb, ax[1].pb],
    fill: E.c(fill, xT), read: (at) => prepX(X.flat(at)), fresh: ctx.fresh,
  }));
  return xp;
}

/**
 * The loop nest of a zero-padded copy between two channel-blocked buffers ([planes, H, W, x] in, [planes,
 * Hp, Wp, x] out, a plane one block of x channels of one image): each padded row is a fill, a contiguous
 * copy of W*x elements and a fill, in vectors of x lanes; rows outside the input are fills. `read(at)`
 * gives the value at flat input offset `at`. Used by Conv / MaxPool's padded copy (padCopyBlocked) and
 * by the blocked Winograd stages (codegen/schedule/algorithms/winograd.ts), whose padded extent may
 * exceed the input plus its pads.
 */
export function blockedPadRows(o: {
  dst: string; planes: number; block: number; input: [number, number]; padded: [number, number]; begin: [number, number];
  fill: Expr; read: (at: Expr) => Expr; fresh: (p: string) => string;
}): Stmt {
  const B = o.block, [I0, I1] = o.input, [P0, P1] = o.padded, [pb0, pb1] = o.begin, tail = P1 - pb1 - I1;
  const nc = o.fresh('nc'), ph = o.fresh('ph'), j = o.fresh('j'), l = o.fresh('l');
  const ncv = E.v(nc), phv = E.v(ph), jv = E.add(E.mul(E.v(j), E.i(B)), E.v(l));
  const ih = E.sub(phv, E.i(pb0));
  const row = E.mul(E.add(E.mul(ncv, E.i(P0)), phv), E.i(P1 * B));
  const src = E.mul(E.add(E.mul(ncv, E.i(I0)), ih), E.i(I1 * B));
  // pixels of x lanes each: the innermost loop is one vector
  const px = (n: number, body: Stmt) => S.for(j, n, S.for(l, B, body, { k: 'vectorized', lanes: B }));
  const pad = (from: number, n: number) => (n > 0 ? [px(n, S.store(o.dst, E.add(row, E.add(jv, E.i(from * B))), o.fill))] : []);
  const copy = px(I1, S.store(o.dst, E.add(row, E.add(jv, E.i(pb1 * B))), o.read(E.add(src, jv))));
  return S.for(nc, o.planes, S.for(ph, P0, S.if(E.and(E.ge(ih, E.i(0)), E.lt(ih, E.i(I0))),
    S.seq(...pad(0, pb1), copy, ...pad(pb1 + I1, tail)),
    S.seq(...pad(0, P1)))));
}

/**
 * Concat / Split on the channel axis of blocked tensors (both sides NCxHWx, same x): per image and
 * block of a part, the part's lanes land in at most two blocks of the whole (a run of x - s lanes at
 * lane s, then the rest at lane 0 of the next block, s = off % x), so the op is a copy of lane runs
 * over whole block planes: contiguous x-lane spans when every part starts and ends on whole blocks,
 * else short contiguous runs per pixel. Padding lanes of a part's last block are neither read nor
 * written. Undefined when the layouts do not allow it.
 */
export function channelSpanCopy(ctx: LowerCtx, whole: TensorRef, parts: { t: TensorRef; off: number }[], into: 'whole' | 'parts'): Stmt | undefined {
  const B = channelBlock(whole.buf.layout);
  if (!B || whole.shape.length !== 4) return undefined;
  if (parts.some((p) => channelBlock(p.t.buf.layout) !== B)) return undefined;
  const [N, C, H, W] = whole.shape;
  const plane = H * W * B;
  const aligned = parts.every((p) => p.off % B === 0 && p.t.shape[1] % B === 0);
  const n = ctx.fresh('n'), j = ctx.fresh('j'), l = ctx.fresh('l');
  const wBase = E.mul(E.v(n), E.i(Math.ceil(C / B) * plane));
  const copy = (dst: TensorRef, di: Expr, src: TensorRef, si: Expr) => S.store(dst.buf.name, di, src.flat(si));
  if (aligned) {
    const lane = E.add(E.mul(E.v(j), E.i(B)), E.v(l));
    return S.seq(...parts.map(({ t, off }) => {
      const span = (t.shape[1] / B) * plane;
      const wIdx = E.add(E.add(wBase, E.i((off / B) * plane)), lane);
      const pIdx = E.add(E.mul(E.v(n), E.i(span)), lane);
      const st = into === 'whole' ? copy(whole, wIdx, t, pIdx) : copy(t, pIdx, whole, wIdx);
      return S.for(n, N, S.for(j, span / B, S.for(l, B, st, { k: 'vectorized', lanes: B })));
    }));
  }
  // per part block k and pixel j: lanes [0, len) of the part's block k are channels off + k*x + lane
  const px = E.mul(E.v(j), E.i(B));
  const runs: Stmt[] = [];
  for (const { t, off } of parts) {
    const Cp = t.shape[1], PB = Math.ceil(Cp / B), s = off % B;
    const pBase = E.mul(E.v(n), E.i(PB * plane));
    for (let k = 0; k < PB; k++) {
      const len = Math.min(B, Cp - k * B);
      const wb = Math.floor(off / B) + k;
      // lanes [a, b) of part block k go to whole block wb + hi at lane (lane + s) - hi * x
      const run = (a: number, b: number, hi: number) => {
        if (b <= a) return;
        const lane = E.add(E.v(l), E.i(a));
        const pIdx = E.add(E.add(pBase, E.i(k * plane)), E.add(px, lane));
        const wIdx = E.add(E.add(wBase, E.i((wb + hi) * plane)), E.add(px, E.add(lane, E.i(s - hi * B))));
        const st = into === 'whole' ? copy(whole, wIdx, t, pIdx) : copy(t, pIdx, whole, wIdx);
        runs.push(S.for(n, N, S.for(j, H * W, b - a === B ? S.for(l, B, st, { k: 'vectorized', lanes: B }) : S.for(l, b - a, st))));
      };
      run(0, Math.min(len, B - s), 0);
      run(B - s, len, 1);
    }
  }
  return S.seq(...runs);
}
