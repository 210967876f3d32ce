/** Fusion provenance (Node.origin): what `aic viz` expands a fused node into. */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cloneGraph } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { pipelineFor, runPipeline } from '@aic/passes';

const MODEL = path.resolve(import.meta.dirname, '../fixtures/models/small_cnn.onnx');

describe('fusion provenance', () => {
  it('names the imported nodes each fused node replaced, and survives cloning', () => {
    const g = loadOnnxFile(MODEL);
    const byName = new Map(g.nodes.map((n) => [n.name, n]));
    const out = runPipeline(g, pipelineFor(2)).graph;
    const fused = out.nodes.filter((n) => n.domain === 'aic');
    expect(fused.map((n) => n.op)).toEqual(['FusedConv', 'FusedConv', 'FusedGemm']);
    expect(fused.map((n) => n.origin!.map((o) => byName.get(o)!.op))).toEqual([
      ['Relu', 'BatchNormalization', 'Conv'], ['Relu', 'BatchNormalization', 'Conv'], ['Relu', 'Gemm', 'Flatten'],
    ]);
    // every name is an imported node, each replaced by one node only
    const all = fused.flatMap((n) => n.origin!);
    expect(all.every((o) => byName.has(o))).toBe(true);
    expect(new Set(all).size).toBe(all.length);
    // nodes no rewrite made have none
    expect(out.nodes.filter((n) => n.domain !== 'aic').every((n) => n.origin === undefined)).toBe(true);
    expect(cloneGraph(out).nodes.map((n) => n.origin)).toEqual(out.nodes.map((n) => n.origin));
  });
});
