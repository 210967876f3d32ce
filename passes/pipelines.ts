/**
 * The default pipelines for -O0..-O3, in one place. Each step says why it sits where it does.
 */
import { parsePipeline, type PipelineStep } from './pass.ts';

export const PIPELINES: Record<number, string[]> = {
  // -O0: the graph exactly as imported.
  0: [],
  // -O1: cheap cleanups that never change numerics.
  1: [
    'fold-constants',                  // first: turns Constant nodes and shape arithmetic into constants, which everything below matches on
    'eliminate-dead-nodes',            // folding strands the nodes that only fed folded values
  ],
  // -O2 (default): cleanups plus common-subexpression elimination.
  2: [
    'fold-constants',                  // constants first, so later passes see literal shapes and weights
    'eliminate-common-subexpressions', // after folding: equal constants are now comparable and merge
    'eliminate-dead-nodes',            // last: sweep what the passes above disconnected
  ],
  3: [
    'fold-constants',
    'eliminate-common-subexpressions',
    'eliminate-dead-nodes',
  ],
};

export const DEFAULT_OPT_LEVEL = 2;

export function pipelineFor(level: number): PipelineStep[] {
  const p = PIPELINES[level];
  if (!p) throw new Error(`no pipeline for -O${level}`);
  return parsePipeline(p.join(','));
}
