/** ONNX's pytorch-converted (82 models) and pytorch-operator (35) sets on the interpreter, C and wasm-simd. */
import { conformanceSuite } from './target-suite.ts';

for (const set of ['pytorch-converted', 'pytorch-operator']) {
  for (const target of ['interp', 'c', 'wasm-simd']) conformanceSuite(target, set);
}
