/**
 * Lowering helpers for inputs stored in a channel-blocked layout (NCxHWx, packages/loop-ir/src/layout.ts).
 * Compute definitions index logically and need nothing from here; only the imperative helpers that
 * address memory directly (the padded-copy stage of Conv and MaxPool) have a blocked variant.
 */
import { E, S, blockedChannels, channelBlock, physicalShapeOf, type Expr, type ScalarType, type TensorRef } from '@aic/loop-ir';
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
  const CB = Math.ceil(C / B);
  const [I0, I1] = [ax[0].I, ax[1].I], [P0, P1] = P, pb0 = ax[0].pb, pb1 = ax[1].pb, tail = P1 - pb1 - I1;
  const nc = ctx.fresh('nc'), ph = ctx.fresh('ph'), j = ctx.fresh('j');
  const ncv = E.v(nc), phv = E.v(ph), jv = E.v(j);
  const ih = E.sub(phv, E.i(pb0));
  const row = E.mul(E.add(E.mul(ncv, E.i(P0)), phv), E.i(P1 * B));
  const src = E.mul(E.add(E.mul(ncv, E.i(I0)), ih), E.i(I1 * B));
  const pad = (from: number, n: number) => (n > 0 ? [S.for(j, n * B, S.store(xp.buf.name, E.add(row, E.add(jv, E.i(from * B))), E.c(fill, xT)))] : []);
  const copy = S.for(j, I1 * B, S.store(xp.buf.name, E.add(row, E.add(jv, E.i(pb1 * B))), prepX(X.flat(E.add(src, jv)))));
  ctx.extern([], S.for(nc, N * CB, S.for(ph, P0, S.if(E.and(E.ge(ih, E.i(0)), E.lt(ih, E.i(I0))),
    S.seq(...pad(0, pb1), copy, ...pad(pb1 + I1, tail)),
    S.seq(...pad(0, P1))))));
  return xp;
}
