/** passes: graph -> graph optimizations, the pass registry, pipelines and the pass manager. */
export * from './pass.ts';
export * from './graph-utils.ts';
export * from './manager.ts';
export * from './pipelines.ts';
import './all.ts';
export { foldNodesWhere } from './fold-constants.ts';
export * as autodiff from './autodiff/index.ts';
export * as quantize from './quantize/index.ts';
