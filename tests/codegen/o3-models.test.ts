/**
 * The shared CNNs at -O3 (NCxHWx blocked kernels) on C and WebAssembly SIMD match their PyTorch
 * reference (rtol 1e-3, atol 1e-4), with at most two layout conversions (the input and the output).
 * Runs when ../shared/models exists.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, parseNpy, type RValue } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { buildC, compileC, compileWasm, passTarget, prepareForRun, runC, runWasm } from '@aic/codegen';
import { optimize } from '../../packages/cli/src/pipeline-options.ts';

const SHARED = path.resolve(import.meta.dirname, '../../../shared/models');
const CNNS = ['squeezenet1_1', 'mobilenet_v2', 'resnet18', 'shufflenet_v2_x1_0', 'efficientnet_b0'];

function worst(got: Tensor, want: Tensor): string | undefined {
  for (let i = 0; i < want.size; i++) {
    const err = Math.abs(got.num[i] - want.num[i]) - (1e-4 + 1e-3 * Math.abs(want.num[i]));
    if (!(err <= 0)) return `[${i}] got ${got.num[i]} want ${want.num[i]}`;
  }
  return undefined;
}

async function check(name: string, target: 'c' | 'wasm-simd'): Promise<void> {
  const meta = JSON.parse(fs.readFileSync(path.join(SHARED, `${name}.json`), 'utf8'));
  const feeds = new Map<string, RValue>();
  for (const i of meta.inputs) feeds.set(i.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(SHARED, i.file)))));
  const { graph } = optimize(loadOnnxFile(path.join(SHARED, meta.model)), {}, 3, () => {}, passTarget(target));
  expect(graph.nodes.filter((n) => n.op === 'LayoutConvert' && n.domain === 'aic').length, `${name}: layout conversions`).toBeLessThanOrEqual(2);
  prepareForRun(graph, feeds);
  const info = { version: 'test', source: `${name}.onnx`, sourceHash: '-' };
  let outs: Map<string, RValue>;
  if (target === 'c') { const c = compileC(graph, info); outs = runC(buildC(c.art, c.prog), c.art, c.prog, feeds).outputs as Map<string, RValue>; }
  else outs = await runWasm(compileWasm(graph, { ...info, simd: true }), feeds) as Map<string, RValue>;
  for (const o of meta.outputs) {
    const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(SHARED, o.file))));
    const got = outs.get(o.name) as Tensor;
    expect(got.shape).toEqual(want.shape);
    expect(worst(got, want), `${name}/${o.name} on ${target}`).toBeUndefined();
  }
}

const have = fs.existsSync(SHARED);
if (!have) console.log(`skipped: -O3 shared models (${SHARED} not found)`);
describe.skipIf(!have)('shared CNNs match PyTorch at -O3', () => {
  for (const target of ['c', 'wasm-simd'] as const) {
    for (const m of CNNS) it(`${m} on ${target}`, () => check(m, target), 600_000);
  }
});
