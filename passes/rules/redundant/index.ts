/** The eliminate-redundant rule families, in the order the rewrite engine tries them per root op. */
import type { Rule } from '../../rewrite/pattern.ts';
import { canonicalizeRules } from './canonicalize.ts';
import { meaninglessOpRules } from './meaningless-ops.ts';
import { noopParamRules } from './noop-params.ts';
import { chainRules } from './chains.ts';
import { inversePairRules } from './inverse-pairs.ts';
import { algebraicRules } from './algebraic.ts';
import { deadTapRules } from './dead-taps.ts';

export const redundantRules: Rule[] = [
  ...canonicalizeRules,
  ...meaninglessOpRules,
  ...noopParamRules,
  ...chainRules,
  ...inversePairRules,
  ...algebraicRules,
  ...deadTapRules,
];

{
  const seen = new Set<string>();
  for (const r of redundantRules) {
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(r.name)) throw new Error(`rule name '${r.name}' is not kebab-case`);
    if (seen.has(r.name)) throw new Error(`rule '${r.name}' defined twice`);
    seen.add(r.name);
  }
}
