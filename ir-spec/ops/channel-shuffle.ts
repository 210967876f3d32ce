/**
 * aic.ChannelShuffle (ShuffleNet): y[n, c] = x[n, (c % g) * (C / g) + c / g], the 4-D form of
 * Reshape [N, g, C/g, H, W] -> Transpose [0, 2, 1, 3, 4] -> Reshape [N, C, H, W]. -O3 forms it
 * (passes/channel-shuffle.ts) so the shuffle runs on channel-blocked activations like any other op.
 */
import { diag, nodeLocation } from '@aic/core';
import { E } from '@aic/loop-ir';
import { defineOp } from '../registry.ts';
import { ALL } from '../lib/infer-helpers.ts';
import { transposeTensor } from '../lib/shape.ts';

defineOp({
  name: 'ChannelShuffle', domain: 'aic', category: 'shape',
  summary: 'ShuffleNet channel shuffle of a 4-D tensor: Reshape [N, g, C/g, H, W], swap axes 1 and 2, Reshape back',
  types: { T: ALL },
  inputs: [{ name: 'X', type: 'T' }],
  outputs: [{ name: 'Y', type: 'T', doc: 'same shape as X; channel c = x channel (c % group) * (C / group) + c / group' }],
  attrs: { group: { type: 'int', required: true, doc: 'number of channel groups (divides C)' } },
  infer: (ctx) => {
    const x = ctx.type(0), g = ctx.attrs.int('group'), l = nodeLocation(ctx.node);
    if (x.shape && x.shape.length !== 4) throw diag.verify('ChannelShuffle', `X must be 4-D, got [${x.shape.join(', ')}]`, l);
    const C = x.shape?.[1];
    if (!(g >= 1) || (typeof C === 'number' && C % g !== 0)) throw diag.verify('ChannelShuffle', `group ${g} does not divide the ${C} channels`, l);
    return [{ dtype: x.dtype, shape: x.shape?.slice() }];
  },
  eval: (ctx) => {
    const x = ctx.input(0), g = ctx.attrs.int('group');
    const [N, C, H, W] = x.shape;
    return [transposeTensor(x.reshape([N, g, C / g, H, W]), [0, 2, 1, 3, 4]).reshape([N, C, H, W])];
  },
  lower: (ctx) => {
    const x = ctx.inputs[0]!, g = ctx.attrs.int('group'), Cg = x.shape[1] / g;
    ctx.compute(0, ([n, c, h, w]) => x.at(n, E.add(E.mul(E.mod(c, E.i(g)), E.i(Cg)), E.div(c, E.i(g))), h, w));
  },
});
