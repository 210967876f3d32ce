/**
 * eliminate-redundant: rewrite rules (passes/rules/redundant/*) that remove nodes computing nothing
 * new, run by the rewrite engine to a fixpoint:
 * - meaningless-op: Identity, inference Dropout, single-input Concat/Sum/Max/Min/Mean, one-output Split;
 * - noop-params: Cast to the same type, Reshape/Expand/Slice/Pad/Tile/Squeeze/Unsqueeze that change
 *   nothing, identity Transpose, 1x1 stride-1 unpadded pooling, same-layout aic.LayoutConvert;
 * - chains: Reshape/Flatten chains -> one Reshape, lossless Cast round trips;
 * - inverse-pairs: Transpose pairs (cancel or compose), Squeeze/Unsqueeze of the same axes, inverse
 *   aic.LayoutConvert pairs, DequantizeLinear -> QuantizeLinear with identical constant parameters;
 * - algebraic: x+0, x-0, x*1, x/1, Neg(Neg x), Reciprocal(Reciprocal x), Pow(x, 1), Pow(x, 2) -> x*x,
 *   x / 2^k -> x * 2^-k, a / Sqrt(c) -> a * rsqrt(c) (see rules/redundant/algebraic.ts for tolerances);
 * - canonicalize: constants to the right of commutative binary ops.
 * Graph output names survive (a replacement takes the output's name). Nodes the rewrites leave
 * without consumers are removed. Only the top-level graph is rewritten (not If/Loop/Scan bodies).
 */
import { cloneGraph } from '@aic/core';
import { definePass } from './pass.ts';
import { applyRules } from './rewrite/engine.ts';
import { redundantRules } from './rules/redundant/index.ts';

export default definePass({
  name: 'eliminate-redundant',
  summary: 'remove no-op nodes, inverse pairs and algebraic identities (rewrite rules, per-rule counters)',
  options: {
    'max-iterations': { type: 'number', default: 32, doc: 'cap on rewrite sweeps over the graph' },
  },
  statistics: redundantRules.map((r) => r.name),
  run(g0, ctx) {
    const g = cloneGraph(g0);
    applyRules(g, redundantRules, {
      passName: 'eliminate-redundant',
      stats: ctx.stats,
      explain: ctx.explain,
      target: ctx.target,
      maxIterations: Number(ctx.options['max-iterations']),
    });
    return g;
  },
});
