/**
 * @aic/dsl — the aic textual model language, which is also the printed form of the graph IR.
 *
 *   opset ai.onnx 17
 *   graph mlp(x: f32[1, 784]) -> (probs: f32[1, 10]) {
 *     w1: f32[784, 128] = weights("mlp.bin", offset = 0)
 *     c: i64[2] = [1, -1]
 *     h = Relu(Add(MatMul(x, w1), b1))
 *     vals: f32[1, 5], idx: i64[1, 5] = TopK(x, k, axis = 1) @"/topk"
 *     y = aic.FusedConv(x, w, _, activation = "relu")
 *   }
 */
export { printGraph, tensorData, DEFAULT_THRESHOLD, type PrintOptions } from './print.ts';
export { parseGraph, loadDslFile, inferAll, suggestOp, type ParseOptions } from './parse.ts';
export { parseAst, type ModuleAst } from './ast.ts';
export { saveDsl, type SaveOptions } from './sidecar.ts';
export { fmtFloat, fmtName, fmtType } from './syntax.ts';
