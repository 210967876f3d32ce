/** The reduction over a (grouped) convolution window at one output index, for compute definitions. */
import { E, type Expr } from '@aic/loop-ir';
import type { LowerCtx } from '../types.ts';
import { allOf, inBounds, reduceAxes, tapPos, type WinAxis } from './nn.ts';

export interface ConvTaps {
  axes: { name: string; extent: number }[];
  /** input channel, weight's channel and kernel tap indices, input spatial positions, in-bounds test */
  cin: Expr; ci: Expr; k: Expr[]; pos: Expr[]; inb: Expr | undefined;
}

/** idx = [n, co, ...out spatial]; Cg input channels per group, Mg output channels per group */
export function convTaps(ctx: LowerCtx, ax: readonly WinAxis[], kernel: readonly number[], Cg: number, Mg: number, group: number, idx: readonly Expr[]): ConvTaps {
  const co = idx[1]!, os = idx.slice(2);
  const r = reduceAxes(ctx, [Cg, ...kernel], 'r');
  const ci = r.vars[0]!, k = r.vars.slice(1);
  const cin = group === 1 ? ci : E.add(E.mul(E.div(co, E.i(Mg)), E.i(Cg)), ci);
  const pos = os.map((o, a) => tapPos(ax[a]!, o, k[a]!));
  const inb = allOf(pos.flatMap((p, a) => inBounds(ax[a]!, p) ?? []));
  return { axes: r.axes, cin, ci, k, pos, inb };
}
