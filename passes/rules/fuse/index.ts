/** The fusion rules, in the phases the `fuse` pass runs them (each phase to a fixpoint). */
import type { Rule } from '../../rewrite/pattern.ts';
import { activationRules } from './activations.ts';
import { channelShuffleRules } from './channel-shuffle.ts';
import { convTransposeRules } from './conv-transpose.ts';
import { elementwiseRules } from './elementwise.ts';
import { epilogueRules } from './epilogue.ts';
import { flattenGemmRules } from './flatten-gemm.ts';
import { foldRules } from './fold.ts';
import { patternRules } from './patterns.ts';
import { poolFlattenRules } from './pool-flatten.ts';
import { squeezeExciteRules } from './squeeze-excite.ts';

export const FUSE_PHASES: { name: string; rules: Rule[] }[] = [
  // decomposed standard patterns first, before their pieces are taken by epilogues or chains
  { name: 'patterns', rules: [...patternRules, ...activationRules, ...channelShuffleRules, ...poolFlattenRules] },
  // weights: BN / bias folding, MatMul + Add
  { name: 'fold', rules: foldRules },
  // ConvTranspose -> stride-phase Conv once BN/bias are in its weights; before epilogues, which fuse its activation into that Conv
  { name: 'conv-transpose', rules: convTransposeRules },
  // residual Add, then activation, into the producer
  { name: 'epilogue', rules: [...epilogueRules, ...flattenGemmRules] },
  // squeeze-excite blocks over the fused convolutions the epilogue phase left
  { name: 'squeeze-excite', rules: squeezeExciteRules },
  // whatever elementwise chains are left
  { name: 'elementwise', rules: elementwiseRules },
];

export const FUSE_RULE_NAMES: string[] = [...new Set(FUSE_PHASES.flatMap((p) => p.rules.map((r) => r.name)))];

/**
 * Rules whose result replaces ops layout-nc4hw4 runs blocked (GlobalAveragePool, Conv, Mul) by ops it
 * has no NC4HW4 kernel for yet (aic.SqueezeExcite, aic.GlobalAveragePoolFlatten);
 * `fuse{for-nc4hw4=true}` (-O3) skips them, or they would split regions.
 */
export const NOT_NC4HW4_RULES: ReadonlySet<string> = new Set(['squeeze-excite', 'global-pool-flatten']);

/**
 * Rules only `fuse{for-nc4hw4=true}` (-O3) applies: a channel shuffle reading its Concat's inputs and
 * writing its Split's parts (rules/fuse/channel-shuffle.ts). On channel-blocked buffers that Concat and
 * Split are lane copies when the parts are not whole blocks (shufflenet_v2's 58 / 116 channels);
 * row-major the Concat is a free view and the shuffle's plane copies vectorize, which a select between
 * inputs would not.
 */
export const ONLY_NC4HW4_RULES: ReadonlySet<string> = new Set(['shuffle-concat', 'split-shuffle']);
