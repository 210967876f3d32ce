/** The fuse-qdq rules: QDQ compute patterns and imported QLinear ops -> aic.QConv / aic.QMatMul; Q/DQ around data movement. */
import type { Rule } from '../../rewrite/pattern.ts';
import { qdqComputeRules } from './compute.ts';
import { qlinearRules } from './qlinear.ts';
import { qdqShapeRules } from './shape.ts';

export const QDQ_RULES: Rule[] = [...qdqShapeRules, ...qdqComputeRules, ...qlinearRules];
export const QDQ_RULE_NAMES: string[] = [...new Set(QDQ_RULES.map((r) => r.name))];
