/**
 * The graph quantization sees: -O1's cleanups plus the weight folds of `fuse` (BatchNormalization and
 * bias Adds folded into Conv / Gemm), so the int8 weights are the ones deployed and BN never runs on
 * dequantized values. Activation epilogues, elementwise chains and pattern rules stay unfused: their
 * results are aic-domain ops ONNX cannot express, and a Relu/Clip after a layer is treated as its
 * epilogue by the plan instead (plan.ts). MatMul + Add stays apart (its higher-rank form is aic's).
 */
import type { Graph } from '@aic/core';
import { runPipeline } from '../manager.ts';
import { parsePipeline } from '../pass.ts';
import { FUSE_RULE_NAMES } from '../rules/fuse/index.ts';

export const QUANT_FOLD_RULES: readonly string[] = ['bn-into-conv', 'bn-into-gemm', 'bias-into-conv', 'bias-into-gemm'];

export function quantPipeline(): string {
  const skip = FUSE_RULE_NAMES.filter((r) => !QUANT_FOLD_RULES.includes(r)).join('+');
  return `fold-constants,eliminate-redundant,eliminate-common-subexpressions,fuse{skip=${skip}},fold-constants,eliminate-redundant,eliminate-dead-nodes`;
}

export function prepareForQuantization(g: Graph): Graph {
  return runPipeline(g, parsePipeline(quantPipeline())).graph;
}
