/**
 * fuse-qdq: quantized graphs onto integer kernels (passes/rules/qdq/*). QDQ patterns
 * DequantizeLinear -> Conv / MatMul / Gemm (+ bias) [-> Add(DequantizeLinear residual)] [-> Relu / Clip]
 * -> QuantizeLinear become aic.QConv / aic.QMatMul (int8 operands, int32 accumulation, requantizing
 * epilogue; ir-spec/ops/qfused.ts), as do imported QLinearConv / QLinearMatMul; Q/DQ pairs around
 * MaxPool / Reshape / Flatten / Transpose / (Un)Squeeze / Concat with equal parameters vanish, so the
 * values stay int8 from layer to layer. Weight DequantizeLinear nodes must still be there, so this
 * pass runs before fold-constants would turn them into float weights; it folds only what is not a Q / DQ node.
 */
import { cloneGraph } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { definePass } from './pass.ts';
import { foldNodesWhere } from './fold-constants.ts';
import { applyRules } from './rewrite/engine.ts';
import { QDQ_RULES, QDQ_RULE_NAMES } from './rules/qdq/index.ts';

export default definePass({
  name: 'fuse-qdq',
  summary: 'QDQ Conv/MatMul/Gemm (+bias, residual, Relu/Clip) and QLinearConv/QLinearMatMul -> aic.QConv/aic.QMatMul (a float-result MatMul/Gemm -> aic.QMatMulF); drop Q/DQ around data movement',
  options: {
    'max-iterations': { type: 'number', default: 32, doc: 'rewrite sweeps before giving up on a fixpoint' },
  },
  statistics: QDQ_RULE_NAMES,
  run(g0, ctx) {
    const g = cloneGraph(g0);
    if (!g.nodes.some((n) => n.domain === '' && ['QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'QLinearMatMul'].includes(n.op))) return g;
    // constants the patterns read must be constants: Constant nodes, and what is computed from constants
    // only (PyTorch exports a bias zero point as Cast(ConstantOfShape(...))); never a Q / DQ node, whose
    // DequantizeLinear(int8 weights) the rules match
    foldNodesWhere(g, (n) => !(n.domain === '' && (n.op === 'DequantizeLinear' || n.op === 'QuantizeLinear')));
    inferGraph(g);
    applyRules(g, QDQ_RULES, {
      passName: 'fuse-qdq', stats: ctx.stats, explain: ctx.explain, target: ctx.target,
      maxIterations: Number(ctx.options['max-iterations']),
    });
    if (g.nodes.some((n) => n.domain === 'aic') && g.opsets.aic === undefined) g.opsets.aic = 1;
    return g;
  },
});
