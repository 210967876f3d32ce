/** eliminate-dead-nodes: drop nodes and constants that no graph output depends on. */
import { cloneGraph } from '@aic/core';
import { definePass } from './pass.ts';
import { removeDead } from './graph-utils.ts';

export default definePass({
  name: 'eliminate-dead-nodes',
  summary: 'remove nodes and constants no graph output depends on',
  options: {},
  statistics: ['nodes-removed', 'constants-removed'],
  run(g0, ctx) {
    const g = cloneGraph(g0);
    const r = removeDead(g);
    ctx.stats['nodes-removed'] = r.nodes;
    ctx.stats['constants-removed'] = r.constants;
    return g;
  },
});
