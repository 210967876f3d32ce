/**
 * aic.ChannelShuffle(X, group) = Reshape(Transpose(Reshape(X, [N, g, C/g, D1...]), [0, 2, 1, 3...]), [N, C, D1...]):
 * ShuffleNet's channel shuffle as one copy, produced by the `fuse` pass
 * (passes/rules/fuse/channel-shuffle.ts) from the three ops exporters write (three copy kernels).
 * Output channel c reads input channel (c mod g) * (C / g) + floor(c / g).
 * The reference semantics are the three base ops' own definitions run in sequence (fused.ts's views).
 */
import { Tensor, diag, nodeLocation } from '@aic/core';
import { E } from '@aic/loop-ir';
import { defineOp } from '../registry.ts';
import type { InferCtx } from '../types.ts';
import { NUMERIC } from '../lib/infer-helpers.ts';
import { evalBase } from './fused.ts';

const OP = 'ChannelShuffle';
const i64 = (v: number[]) => Tensor.fromNumbers('int64', [v.length], v);

/** group g, checked against X's channel count when it is known */
function groupOf(ctx: Pick<InferCtx, 'attrs' | 'node'>, c: number | string | undefined): number {
  const g = ctx.attrs.int('group');
  const l = nodeLocation(ctx.node);
  if (g < 1) throw diag.verify(OP, `group must be >= 1, got ${g}`, l);
  if (typeof c === 'number' && c % g !== 0) throw diag.verify(OP, `${c} channels do not split into ${g} groups`, l);
  return g;
}

defineOp({
  name: OP, domain: 'aic', category: 'fused',
  summary: 'channel shuffle: Reshape(Transpose(Reshape(X, [N, g, C/g, ...]), [0, 2, 1, ...]), X\'s shape) as one copy',
  types: { T: NUMERIC },
  inputs: [{ name: 'X', type: 'T', doc: '[N, C, D1, ...], C divisible by group' }],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: { group: { type: 'int', required: true, doc: 'number of channel groups g' } },
  infer: (ctx) => {
    const x = ctx.type(0);
    if (x.shape && x.shape.length < 2) throw diag.verify(OP, `X must be [N, C, ...], got rank ${x.shape.length}`, nodeLocation(ctx.node));
    groupOf(ctx, x.shape?.[1]);
    return [{ dtype: x.dtype, shape: x.shape?.slice() }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    if (x.rank < 2) throw diag.verify(OP, `X must be [N, C, ...], got rank ${x.rank}`, nodeLocation(ctx.node));
    const g = groupOf(ctx, x.shape[1]);
    const [n, c, ...rest] = x.shape;
    const split = evalBase(ctx, 'Reshape', [x, i64([n, g, c / g, ...rest])]);
    const perm = [0, 2, 1, ...rest.map((_, i) => i + 3)];
    const t = evalBase(ctx, 'Transpose', [split], { perm: { type: 'ints', value: perm } });
    return [evalBase(ctx, 'Reshape', [t, i64(x.shape.slice())])];
  },
  lower: (ctx) => {
    const x = ctx.inputs[0]!;
    if (x.shape.length < 2) return ctx.unsupported('X must be [N, C, ...]');
    const g = groupOf(ctx, x.shape[1]);
    const per = x.shape[1] / g;
    ctx.compute(0, ([n, c, ...rest]) => x.at(n, E.add(E.mul(E.mod(c, E.i(g)), E.i(per)), E.div(c, E.i(g))), ...rest));
  },
  flops: () => 0,
});
