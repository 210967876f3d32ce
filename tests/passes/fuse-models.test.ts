/**
 * The -O2 pipeline (with `fuse`) on real models: fewer top-level nodes than ONNX Runtime's
 * "extended" optimizer leaves, and the interpreter still matches PyTorch (rtol 1e-3, atol 1e-4).
 * Bundled fixtures always run; the other models run when ../shared/models exists.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, parseNpy } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { run } from '@aic/interp';
import { parseGraph } from '@aic/dsl';
import { parsePipeline, pipelineFor, runPipeline, tensorDiff, type ExplainRecord } from '@aic/passes';

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
    .toBeLessThan(ORT_EXTENDED[name]);
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

describe('fuse: --explain records', () => {
  const text = `graph g(x: f32[1, 2, 2, 2], h: f64[1, 2, 2, 2], u: f32[1, 2, d, 2]) -> (y: f32[1, 3, 2, 2], z: f32[1, 3, 2, 2], k: f64[1, 3, 2, 2], q: f32[1, 2, d, 2]) {
  w: f32[3, 2, 1, 1] = [0.5, -1.0, 0.25, 2.0, -0.75, 1.5]
  wd: f64[3, 2, 1, 1] = [0.5, -1.0, 0.25, 2.0, -0.75, 1.5]
  c = Conv(x, w)
  y = Relu(c)
  z = Neg(c)
  k = Relu(Conv(h, wd))
  q = Tanh(Neg(u))
}`;
  const explain = (target?: { name: string; hasKernel: (op: string, domain: string) => boolean }) => {
    const recs: ExplainRecord[] = [];
    const { graph } = runPipeline(parseGraph(text, { file: 'explain.aic' }), parsePipeline('fuse'), { explain: (r) => recs.push(r), target, out: () => {} });
    return { recs, graph };
  };
  it('reports several consumers and unknown dims, applies the rest', () => {
    const { recs } = explain();
    expect(recs.some((r) => r.rule === 'relu-epilogue' && r.outcome === 'rejected' && /several consumers/.test(r.reason ?? ''))).toBe(true);
    expect(recs.some((r) => r.rule === 'relu-epilogue' && r.outcome === 'applied')).toBe(true);
    expect(recs.some((r) => r.rule === 'elementwise-chain' && /unknown dim/.test(r.reason ?? ''))).toBe(true);
  });
  it('reports a missing kernel on the target and leaves the graph alone', () => {
    const { recs, graph } = explain({ name: 'tiny', hasKernel: (op, domain) => domain !== 'aic' });
    expect(recs.some((r) => r.outcome === 'rejected' && /no kernel for aic.FusedConv on target tiny/.test(r.reason ?? ''))).toBe(true);
    expect(graph.nodes.some((n) => n.domain === 'aic')).toBe(false);
  });
  it('reports dtypes the weight folding does not handle', () => {
    const t = `graph g(x: f16[1, 2, 2, 2]) -> (y: f16[1, 3, 2, 2]) {
  w: f16[3, 2, 1, 1] = [0.5, -1.0, 0.25, 2.0, -0.75, 1.5]
  c: f16[3, 1, 1] = [1.0, 2.0, 3.0]
  y = Add(Conv(x, w), c)
}`;
    const recs: ExplainRecord[] = [];
    runPipeline(parseGraph(t, { file: 'dtype.aic' }), parsePipeline('fuse'), { explain: (r) => recs.push(r), out: () => {} });
    expect(recs.some((r) => r.rule === 'bias-into-conv' && /dtype float16/.test(r.reason ?? ''))).toBe(true);
  });
});
