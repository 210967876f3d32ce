/** Conformance runner for the WGSL target: compile (after -O1, as `aic run` does), then run on a WebGPU device (blocking). */
import type { Graph, RValue } from '@aic/core';
import { pipelineFor, runPipeline } from '@aic/passes';
import { prepareForRun } from '../compile-graph.ts';
import { compileWgsl, runWgslSync } from './target.ts';

export function wgslRunner(g0: Graph, feeds: Map<string, RValue>): Map<string, RValue> {
  const g = runPipeline(g0, pipelineFor(1)).graph;
  prepareForRun(g, feeds);
  const c = compileWgsl(g, { version: 'test', source: g.name, sourceHash: '-' });
  return runWgslSync(c, feeds) as Map<string, RValue>;
}
