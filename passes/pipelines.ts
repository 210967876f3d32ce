/**
 * The default pipelines for -O0..-O3, in one place. Each step says why it sits where it does.
 */
import { parsePipeline, type PipelineStep } from './pass.ts';

export const PIPELINES: Record<number, string[]> = {
  // -O0: the graph exactly as imported.
  0: [],
  // -O1: cleanups that never change numerics.
  1: [
    'fold-constants',                  // first: turns Constant nodes and shape arithmetic into constants that everything below matches on
    'eliminate-redundant',             // Identity/Dropout, no-op Reshapes and Casts, x*1...: needs folded constants to see that a shape or scale changes nothing
    'eliminate-dead-nodes',            // sweep what the two passes above disconnected
  ],
  // -O2 (default): -O1 plus CSE and fusion; leaves fewer nodes than ONNX Runtime's "extended" optimizer.
  2: [
    'fuse-qdq',                        // before fold-constants: it matches DequantizeLinear(int8 weights), which folding would turn into float weights
    'fold-constants',                  // constants first, so later passes see literal shapes and weights
    'eliminate-redundant',             // before CSE and fusion: removing Identity/no-op chains exposes producer->consumer pairs to fuse
    'eliminate-common-subexpressions', // after the cleanups, so equal subexpressions have identical operands; before fusion so fused kernels aren't duplicated
    'fuse',                            // BN/bias folding, activation epilogues, GELU/LayerNorm/attention patterns: needs the canonical, deduplicated graph
    'fold-constants',                  // fusion leaves constant arithmetic on weights (BN folded into Conv weights, reshaped biases): fold it
    'eliminate-redundant',             // fusion can leave no-op reshapes/casts between fused kernels
    'eliminate-dead-nodes',            // last: drop the weights and nodes the rewrites disconnected
  ],
  // -O3: -O2 plus channel-blocked layouts (NC4HW4; NC16HW16 on C) and blocked kernels; -O2 stays row-major so the two compare.
  3: [
    'fuse-qdq',                        // as in -O2: before fold-constants dequantizes the weights
    'fold-constants',
    'eliminate-redundant',
    'eliminate-common-subexpressions',
    'fuse{for-nc4hw4=true}',           // skips fusions into ops without NC4HW4 kernels yet (aic.SqueezeExcite...): they would split the regions below
    'fold-constants',
    'eliminate-redundant',
    'layout-nc4hw4',                   // after fusion: regions are formed over fused kernels, so conversions land only at real boundaries; compiled targets run them as blocked (NCxHWx) kernels
    'eliminate-redundant',             // cancels inverse layout conversions the region builder left back to back
    'eliminate-dead-nodes',
  ],
};

export const DEFAULT_OPT_LEVEL = 2;

export function pipelineFor(level: number): PipelineStep[] {
  const p = PIPELINES[level];
  if (!p) throw new Error(`no pipeline for -O${level}`);
  return parsePipeline(p.join(','));
}
