/** Model statistics for `aic inspect`: they live in the library API (packages/api/src/inspect.ts). */
export { humanBytes, humanCount, modelStats, nodeBytes, nodeFlops, type ModelStats } from '@aic/api/internal';
