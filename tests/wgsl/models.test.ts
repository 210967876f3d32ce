/**
 * Every model of the zoo through --target wgsl (Dawn; SwiftShader without a GPU) matches its
 * reference at ORT-web's WebGPU tolerance (atol 1e-3, rtol 1e-3). Whether it runs: tests/webgpu.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOnnxFile } from '@aic/onnx';
import { pipelineFor, runPipeline } from '@aic/passes';
import { closeWgsl, compileWgsl, passTarget, runWgsl } from '@aic/codegen';
import { BUNDLED, excess, zooModel, zooNames } from '../model-zoo.ts';

import { webgpuSkipReason } from '../webgpu.ts';

let skipWhy: string | undefined;
beforeAll(async () => { skipWhy = await webgpuSkipReason(); }, 400_000);
afterAll(() => closeWgsl());

describe('zoo models via --target wgsl', () => {
  // -O3 (NC4HW4, vec4 channel lanes: codegen/wgsl/blocked.ts) on the bundled CNNs; the shared ones
  // take minutes each on SwiftShader (benchmarks/wgsl-vec4.ts checks and counts them)
  const runs = [...zooNames().map((n) => [n, 2] as const), ...BUNDLED.filter((n) => n !== 'tiny_bert').map((n) => [n, 3] as const)];
  for (const [name, level] of runs) {
    it(level === 2 ? name : `${name} -O3`, async (ctx) => {
      if (skipWhy) return ctx.skip(skipWhy);
      const m = zooModel(name);
      const g = runPipeline(loadOnnxFile(m.onnx), pipelineFor(level), level === 3 ? { target: passTarget('wgsl'), out: () => {} } : undefined).graph;
      const c = compileWgsl(g, { version: 'test', source: name, sourceHash: '-' });
      const { outputs } = await runWgsl(c, new Map(m.inputs));
      for (const [o, want] of m.outputs) {
        const got = outputs.get(o)!;
        expect(got.shape).toEqual(want.shape);
        const e = excess(got.num, want.num, 1e-3, 1e-3);
        expect(e.worst, `${name}/${o}[${e.at}]: ${got.num[e.at]} vs ${want.num[e.at]}`).toBeLessThanOrEqual(0);
      }
    }, 600_000);
  }
});
