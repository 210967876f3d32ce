/**
 * fuse: operator fusion as rewrite rules (passes/rules/fuse/*): BatchNormalization and bias folding
 * into Conv / Gemm / MatMul weights, residual-add and activation epilogues (aic.FusedConv /
 * aic.FusedGemm / aic.FusedMatMul), decomposed LayerNorm / GELU / attention / global pooling
 * recognition, Slices -> Split, squeeze-excite blocks (aic.SqueezeExcite) and elementwise chains
 * (aic.FusedElementwise). --explain reports
 * every candidate with the reason it was rejected (consumers, dtype, unknown dim, target kernels).
 *
 * The rules need static shapes and constant shape arithmetic, so the pass first refreshes shape
 * inference and folds what became constant (Reshape targets folded by an earlier pass leave stale
 * `[*]` types behind otherwise), to a fixpoint with a cap.
 */
import { cloneGraph, type Graph } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { definePass, type PassContext } from './pass.ts';
import foldConstants from './fold-constants.ts';
import { applyRules } from './rewrite/engine.ts';
import { FUSE_PHASES, FUSE_RULE_NAMES, NOT_NC4HW4_RULES, ONLY_NC4HW4_RULES } from './rules/fuse/index.ts';

/** Re-infer types and fold newly constant shape arithmetic until nothing changes. */
function refresh(g: Graph, ctx: PassContext): Graph {
  let cur = g;
  for (let i = 0; i < 8; i++) {
    inferGraph(cur);
    const stats: Record<string, number> = {};
    const next = foldConstants.run(cur, { options: { 'max-elements': foldConstants.options['max-elements'].default }, stats });
    if (!stats['nodes-folded']) return cur;
    ctx.stats['shape-nodes-folded'] = (ctx.stats['shape-nodes-folded'] ?? 0) + stats['nodes-folded'];
    cur = next;
  }
  inferGraph(cur);
  return cur;
}

export default definePass({
  name: 'fuse',
  summary: 'fold BatchNorm/bias into weights, fuse epilogues and elementwise chains, recognize LayerNorm/GELU/attention',
  options: {
    'max-iterations': { type: 'number', default: 32, doc: 'rewrite sweeps per phase before giving up on a fixpoint' },
    skip: { type: 'string', default: '', doc: "rules to leave out, names joined with '+' (e.g. squeeze-excite+channel-shuffle): to measure what a rule does" },
    'for-nc4hw4': { type: 'boolean', default: false, doc: `the graph is headed for layout-nc4hw4: skip rules into ops it has no NC4HW4 kernel for (${[...NOT_NC4HW4_RULES].join(', ')}), apply those that only pay on blocked buffers (${[...ONLY_NC4HW4_RULES].join(', ')})` },
  },
  statistics: ['shape-nodes-folded', ...FUSE_RULE_NAMES],
  run(g0, ctx) {
    const g = refresh(cloneGraph(g0), ctx);
    for (const phase of FUSE_PHASES) {
      const skip = new Set(String(ctx.options.skip).split('+').filter(Boolean));
      if (ctx.options['for-nc4hw4']) for (const r of NOT_NC4HW4_RULES) skip.add(r);
      else for (const r of ONLY_NC4HW4_RULES) skip.add(r);
      const rules = phase.rules.filter((r) => !skip.has(r.name));
      applyRules(g, rules, {
        passName: 'fuse', stats: ctx.stats, explain: ctx.explain, target: ctx.target,
        maxIterations: Number(ctx.options['max-iterations']),
      });
    }
    if (g.nodes.some((n) => n.domain === 'aic') && g.opsets.aic === undefined) g.opsets.aic = 1;
    return g;
  },
});
