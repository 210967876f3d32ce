/**
 * aic tune --target wgsl: the search over the GPU space with a fake timer is deterministic; a real run
 * on this machine's WebGPU adapter (SwiftShader without a GPU driver) logs the adapter, and a log's
 * schedules, applied as --tuning-log does, give the default's outputs; records of another adapter
 * are foreign (warned about, never applied).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WGSL_TARGET, compileFor, runWgsl, type TuneRecord, type WgslCompiled } from '@aic/codegen';
import { loadGraph, optimizeGraph, tuneGraph, tuningLogSchedules } from '@aic/api/internal';
import { Tensor, type Graph } from '@aic/core';
import { printDirective, type Directive } from '@aic/loop-ir';
import { buildModel } from '../onnx-builder.ts';
import { webgpuSkipReason } from '../webgpu.ts';
import { fakeRunner } from './fake-runner.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SMALL_CNN = path.join(ROOT, 'tests/fixtures/models/small_cnn.onnx');

/** Conv 8->16 3x3 (a tiled GPU schedule) + Relu, then MaxPool 2x2 (one invocation per output). */
function tinyModel(dir: string): string {
  const w = Array.from({ length: 16 * 8 * 9 }, (_, i) => Math.sin(i * 0.37) * 0.2);
  const bytes = buildModel([
    { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { op: 'Relu', inputs: ['c'], outputs: ['r'] },
    { op: 'MaxPool', inputs: ['r'], outputs: ['y'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  ], [{ name: 'x', shape: [1, 8, 12, 12] }], [{ name: 'y', shape: [1, 16, 6, 6] }], 13, [{ name: 'w', dims: [16, 8, 3, 3], floats: w }]);
  const f = path.join(dir, 'tiny.onnx');
  fs.writeFileSync(f, bytes);
  return f;
}

async function fakeTune(seed: number) {
  const { graph } = optimizeGraph(await loadGraph(SMALL_CNN, { validate: true }), { target: 'wgsl' });
  let now = 0;
  const log: TuneRecord[] = [];
  const res = tuneGraph(graph, { target: 'wgsl', trials: 16, budgetMs: 1e9, seed, clock: () => (now += 1000), runner: (g: Graph) => fakeRunner(WGSL_TARGET, g), onRecord: (r) => log.push(r) });
  return { res, log };
}

describe('aic tune --target wgsl', () => {
  it('searches the GPU space deterministically for a seed and a fake timer', async () => {
    const a = await fakeTune(3), b = await fakeTune(3);
    const text = (l: TuneRecord[]) => l.map((r) => JSON.stringify(r)).join('\n');
    expect(text(a.log)).toBe(text(b.log));
    expect(a.res.reduce((s, r) => s + r.trials, 0)).toBe(16);
    const cands = a.log.filter((r) => (r.trial ?? 0) > 0);
    expect(cands.length).toBeGreaterThan(0);
    for (const r of a.log) expect(r.target).toBe('wgsl');
    // candidates come from the GPU mutations (every one compiled for wgsl in the fake runner)
    const gpuLike = cands.filter((r) => r.schedule.some((d) => /^(bind|tile) /.test(d)));
    expect(gpuLike.length).toBe(cands.length);
    const defaults = new Map(a.log.filter((r) => r.trial === 0).map((r) => [r.workload, r.schedule.join(';')]));
    expect(cands.every((r) => r.schedule.join(';') !== defaults.get(r.workload))).toBe(true);
  }, 120_000);

  it('tunes a tiny model on the WebGPU adapter; the log applies and keeps the outputs', async (ctx) => {
    const skip = await webgpuSkipReason();
    if (skip) ctx.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-tune-wgsl-'));
    const model = tinyModel(dir), log = path.join(dir, 'tuning.jsonl');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), 'tune', model, '--target', 'wgsl', '--trials', '6', '--budget', '2m', '--reps', '2', '-o', log], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/model \(sum of kernels\): default [\d.]+ ms, tuned [\d.]+ ms/);
    const recs: TuneRecord[] = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.filter((x) => x.trial === 0 && !x.confirmed).length).toBe(2); // conv+relu, maxpool
    const adapter = recs[0].machine.gpu;
    expect(typeof adapter === 'string' && adapter.length > 0).toBe(true);
    for (const x of recs) {
      expect(x.target).toBe('wgsl');
      expect(x.machine.gpu).toBe(adapter);
      expect(x.median_us).toBeGreaterThan(0);
    }
    const cands = recs.filter((x) => (x.trial ?? 0) > 0);
    expect(cands.length).toBeGreaterThan(0);

    // every measured candidate, made the confirmed winner of its workload, applies and keeps the outputs
    const { graph } = optimizeGraph(await loadGraph(model, { validate: true }), { target: 'wgsl' });
    const x = new Tensor('float32', [1, 8, 12, 12], Float32Array.from({ length: 8 * 144 }, (_, i) => Math.cos(i * 0.11)));
    const feeds = new Map([['x', x]]);
    const run = async (schedules?: Map<string, Directive[]>) => (await runWgsl(compileFor(WGSL_TARGET, graph, { version: 't', source: 't', sourceHash: '-', schedules }).art as WgslCompiled, feeds)).outputs.get('y')!;
    const ref = await run();
    for (const cand of cands.slice(0, 3)) {
      const won = JSON.stringify({ ...cand, median_us: 0.001, confirmed: true }) + '\n';
      const applied = tuningLogSchedules(graph, 'wgsl', [{ file: log, text: fs.readFileSync(log, 'utf8') }, { file: 'won.jsonl', text: won }]);
      expect(applied.warnings).toEqual([]);
      // this candidate's schedule applies (other kernels may get a winner the run itself confirmed: timing decides)
      expect(applied.kernels).toBeGreaterThanOrEqual(1);
      expect([...applied.schedules.values()].map((d) => d.map(printDirective).join('; '))).toContain(cand.schedule.join('; '));
      const got = await run(applied.schedules);
      const a = got.num as Float32Array, b = ref.num as Float32Array;
      let worst = 0;
      for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      expect(worst).toBeLessThanOrEqual(1e-5);
    }
    // a record of another adapter: foreign, never applied
    const other = JSON.stringify({ ...cands[0], machine: { ...cands[0].machine, gpu: 'another adapter' }, median_us: 0.001, confirmed: true }) + '\n';
    const f = tuningLogSchedules(graph, 'wgsl', [{ file: 'other.jsonl', text: other }]);
    expect(f.kernels).toBe(0);
    expect(f.warnings.map((w) => w.code)).toEqual(['AIC0401']);
  }, 400_000);
});
