/**
 * Every registered pass alone, on every zoo model, keeps the model's numbers (interpreter vs the
 * PyTorch reference, rtol 1e-3, atol 1e-4). The default pipelines are covered by fuse-models.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { run } from '@aic/interp';
import { allPasses, parsePipeline, runPipeline } from '@aic/passes';
import { excess, zooModel, zooNames } from '../model-zoo.ts';

describe('each pass alone keeps every zoo model equal to its reference', () => {
  for (const name of zooNames()) {
    it(name, () => {
      const m = zooModel(name);
      const g = loadOnnxFile(m.onnx);
      for (const p of allPasses()) {
        const { graph } = runPipeline(g, parsePipeline(p.name), { verifyEach: 'structure' });
        const outs = run(graph, new Map(m.inputs));
        for (const [o, want] of m.outputs) {
          const got = outs.get(o) as Tensor;
          expect(got.shape, `${name} after ${p.name}`).toEqual(want.shape);
          const e = excess(got.num, want.num, 1e-3, 1e-4);
          expect(e.worst, `${name}/${o} after ${p.name} [${e.at}]`).toBeLessThanOrEqual(0);
        }
      }
    }, 600_000);
  }
});
