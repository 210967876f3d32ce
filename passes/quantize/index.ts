/**
 * Post-training int8 quantization: calibrate activation ranges with the interpreter over samples,
 * then write the model in QDQ form (QuantizeLinear/DequantizeLinear around Conv, MatMul and Gemm;
 * int8 weights, int32 biases). Per-channel weights by default: depthwise convolutions' channels
 * differ by orders of magnitude after BatchNorm folding, and one scale for all of them loses them.
 */
import { BYTE_SIZE, cloneGraph, diag, type Graph } from '@aic/core';
import { CALIB_METHODS, DEFAULT_PERCENTILE, chooseRange, type CalibMethod } from './calibrate.ts';
import { collectRanges, type Sample } from './collect.ts';
import { activationParams, type ActType, type QParams } from './params.ts';
import { planQuantization } from './plan.ts';
import { prepareForQuantization } from './prepare.ts';
import { insertQdq, type LayerInfo } from './qdq.ts';
import { sqnrReport, type LayerReport } from './report.ts';

export { CALIB_METHODS, DEFAULT_PERCENTILE, RangeStats, chooseRange, entropyThreshold, percentileThreshold, type CalibMethod } from './calibrate.ts';
export { activationParams, quantizeWeight, quantizeBias, sqnrDb, type ActType, type QParams } from './params.ts';
export { planQuantization, QUANTIZABLE_OPS } from './plan.ts';
export { prepareForQuantization, quantPipeline } from './prepare.ts';
export { formatReport, type LayerReport } from './report.ts';
export type { LayerInfo } from './qdq.ts';
export type { Sample } from './collect.ts';

export interface QuantizeOptions {
  method?: CalibMethod;
  /** percentile method: the percentile of |x| kept (default 99.999) */
  percentile?: number;
  /** per output channel weight scales (default true) */
  perChannel?: boolean;
  /** activation type (default uint8) */
  activations?: ActType;
  /** node names left in float */
  exclude?: readonly string[];
  /** measure per-layer SQNR on the samples */
  report?: boolean;
  /** model name for messages */
  model?: string;
}

export interface QuantizeResult {
  /** the QDQ model */
  graph: Graph;
  /** the float graph that was calibrated (after the weight folds) */
  prepared: Graph;
  layers: LayerInfo[];
  report?: LayerReport[];
}

export function quantizeGraph(g: Graph, samples: readonly Sample[], opts: QuantizeOptions = {}): QuantizeResult {
  const method = opts.method ?? 'minmax';
  if (!CALIB_METHODS.includes(method)) throw diag.usage(`--method '${method}': expected ${CALIB_METHODS.join(', ')}`);
  const actType = opts.activations ?? 'uint8';
  const prepared = prepareForQuantization(g);
  const plan = planQuantization(prepared, opts.exclude);
  if (!plan.layers.length) throw diag.quantNothing(opts.model ?? g.name);
  const stats = collectRanges(prepared, plan.values, samples, method !== 'minmax');
  const params = new Map<string, QParams>();
  for (const [name, s] of stats) params.set(name, activationParams(chooseRange(s, method, opts.percentile ?? DEFAULT_PERCENTILE), actType));
  const out = cloneGraph(prepared);
  const layers = insertQdq(out, planQuantization(out, opts.exclude), params, { perChannel: opts.perChannel ?? true, actType });
  const res: QuantizeResult = { graph: out, prepared, layers };
  if (opts.report) res.report = sqnrReport(prepared, out, layers, samples, actType);
  return res;
}

/** Bytes of a graph's constants (weights), to compare a model before and after quantization. */
export function weightBytes(g: Graph): number {
  return g.constants.reduce((a, v) => a + (v.const ? v.const.size * BYTE_SIZE[v.const.dtype] : 0), 0);
}
