/**
 * The -O2 pipeline (with `fuse`) on real models: no more top-level nodes than ONNX Runtime's
 * "extended" optimizer leaves, and the interpreter still matches PyTorch (rtol 1e-3, atol 1e-4).
 * Bundled fixtures always run; the other models run when ../shared/models exists.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, parseNpy } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline, tensorDiff } from '@aic/passes';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/models');
const SHARED = path.resolve(import.meta.dirname, '../../../shared/models');
/** node counts after onnxruntime's ORT_ENABLE_EXTENDED optimizations */
const ORT_EXTENDED: Record<string, number> = {
  small_cnn: 8, squeezenet1_1: 39, mobilenet_v2: 65, resnet18: 40, shufflenet_v2_x1_0: 136, efficientnet_b0: 174, tiny_bert: 55,
};
const BUNDLED = ['small_cnn', 'tiny_bert', 'squeezenet1_1'];
const LARGE = ['mobilenet_v2', 'resnet18', 'shufflenet_v2_x1_0', 'efficientnet_b0'];

function checkModel(dir: string, name: string): void {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  const g = loadOnnxFile(path.join(dir, meta.model));
  const { graph, reports } = runPipeline(g, pipelineFor(2), { out: () => {} });
  const fuse = reports.find((r) => r.pass === 'fuse');
  expect(fuse, 'the -O2 pipeline runs fuse').toBeDefined();
  expect(graph.nodes.length, `${name}: ${graph.nodes.length} nodes after -O2, ORT extended leaves ${ORT_EXTENDED[name]}`)
    .toBeLessThanOrEqual(ORT_EXTENDED[name]);
  expect(graph.nodes.some((n) => n.domain === 'aic' || n.op === 'LayerNormalization'), `${name}: nothing was fused`).toBe(true);
  const feeds: Record<string, Tensor> = {};
  for (const i of meta.inputs) feeds[i.name] = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, i.file))));
  const outs = run(graph, feeds);
  for (const o of meta.outputs) {
    const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, o.file))));
    const got = outs.get(o.name) as Tensor;
    expect(tensorDiff(got, want, 1e-3, 1e-4), `${name}/${o.name}`).toBeUndefined();
  }
}

describe('fuse: bundled models after -O2', () => {
  for (const m of BUNDLED) it(m, () => checkModel(FIXTURES, m), 300_000);
});

const haveShared = fs.existsSync(SHARED);
if (!haveShared) console.log(`fuse-models: skipped ${LARGE.join(', ')} (${SHARED} not found)`);
describe.skipIf(!haveShared)('fuse: shared models after -O2', () => {
  for (const m of LARGE) it(m, () => checkModel(SHARED, m), 600_000);
});
