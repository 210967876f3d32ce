/**
 * aic.GlobalAveragePoolFlatten(X) = Flatten(GlobalAveragePool(X)): a CNN's classifier head, [N, C, ...]
 * -> [N, C], as one kernel, produced by the `fuse` pass (passes/rules/fuse/pool-flatten.ts). The
 * Flatten only renames the [N, C, 1, ...] result, so the kernel is GlobalAveragePool's own compute
 * definition writing [N, C] (the same mean, same accumulator and order), without the Flatten's copy.
 * Semantics and inference are the two base ops' own, in sequence (fused.ts's views).
 */
import { E } from '@aic/loop-ir';
import { nodeLocation } from '@aic/core';
import { makeAttrReader } from '../attrs.ts';
import { defineOp, getOp } from '../registry.ts';
import type { LowerCtx } from '../types.ts';
import { FLOATS } from '../lib/infer-helpers.ts';
import { evalBase, inferBase } from './fused.ts';

const OP = 'GlobalAveragePoolFlatten';

defineOp({
  name: OP, domain: 'aic', category: 'fused',
  summary: 'Flatten(GlobalAveragePool(X)): the spatial mean of [N, C, ...] as [N, C], one kernel',
  types: { T: FLOATS },
  inputs: [{ name: 'X', type: 'T', doc: '[N, C, D1, ...]' }],
  outputs: [{ name: 'Y', type: 'T', doc: '[N, C]' }],
  attrs: {},
  infer: (ctx) => [inferBase(ctx, 'Flatten', [inferBase(ctx, 'GlobalAveragePool', [ctx.type(0)])])],
  eval: (ctx) => [evalBase(ctx, 'Flatten', [evalBase(ctx, 'GlobalAveragePool', [ctx.input(0)])])],
  lower: (ctx) => {
    const def = getOp('GlobalAveragePool')!;
    const x = ctx.inputs[0]!, y = ctx.outputs[0];
    const rest = x.shape.slice(2).map(() => E.i(0));
    // GlobalAveragePool's definition with its [N, C, 1, ...] output index mapped onto [N, C]
    const view: LowerCtx = {
      ...ctx,
      attrs: makeAttrReader(def, {}, nodeLocation(ctx.node)),
      outputs: [{ ...y, shape: [y.shape[0], y.shape[1], ...x.shape.slice(2).map(() => 1)], at: (n, c) => y.at(n, c) }],
      compute: (o, f) => ctx.compute(o, ([n, c]) => f([n, c, ...rest])),
      extern: () => ctx.unsupported('GlobalAveragePool inside it is not a compute'),
    };
    def.lower!(view);
  },
  flops: (ctx) => (ctx.inputTypes[0]?.shape ?? []).reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1),
});
