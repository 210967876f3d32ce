/**
 * aic profile: per-kernel median times of the compiled model on c and wasm-simd, as a table and as the
 * JSON aic viz --profile reads; the figures are checked for consistency (one row per kernel call of
 * the compiled plan, shares summing to 1, rates = FLOPs or bytes / time), not for values.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileC, passTarget, prepareForRun } from '@aic/codegen';
import { randomFeeds } from '@aic/passes';
import { loadModel } from '../packages/cli/src/model-io.ts';
import { optimize } from '../packages/cli/src/pipeline-options.ts';
import { nodeFlops } from '../packages/cli/src/stats.ts';
import { finishKernels, MIN_RATE_MS, PROFILE_FORMAT, type ProfileReport } from '../packages/cli/src/profile/report.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const MODEL = path.join(ROOT, 'tests/fixtures/models/small_cnn.onnx');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aic-profile-'));

function aic(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function plan() {
  const g = await loadModel(MODEL);
  const { graph } = optimize(g, {}, 2, () => {}, passTarget('c'));
  prepareForRun(graph, randomFeeds(g, 1));
  return { graph, prog: compileC(graph, { version: 't', source: 'm', sourceHash: '-' }).prog };
}

describe('aic profile', () => {
  for (const target of ['c', 'wasm-simd']) {
    it(`times every kernel call of small_cnn on ${target}`, async () => {
      const dir = tmp();
      const json = path.join(dir, 'p.json');
      const r = aic(['profile', MODEL, '--target', target, '--runs', '5', '--json', json]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const p = JSON.parse(fs.readFileSync(json, 'utf8')) as ProfileReport;
      expect(p.format).toBe(PROFILE_FORMAT);
      expect(p.target).toBe(target);
      expect(p.pipeline).toBe('-O2');
      expect(p.runs).toBe(5);
      expect(p.peak.gflops).toBeGreaterThan(0);
      expect(p.peak.gbps).toBeGreaterThan(0);
      const { graph, prog } = await plan();
      expect(p.kernels.map((k) => k.kernel)).toEqual(prog.steps.map((s) => s.kernel));
      expect(p.kernels.map((k) => k.node)).toEqual(prog.steps.map((s) => s.node));
      for (const k of p.kernels) {
        expect(k.ms).toBeGreaterThanOrEqual(0);
        const n = graph.nodes.find((x) => x.label === k.node);
        if (n && nodeFlops(n)) {
          expect(k.flops).toBe(nodeFlops(n));
          if (k.ms >= MIN_RATE_MS) expect(k.gflops).toBeCloseTo(k.flops! / k.ms / 1e6, 6);
          else expect(k.gflops).toBeUndefined(); // timer resolution: no rate
        }
      }
      expect(p.kernels.reduce((a, k) => a + k.share, 0)).toBeCloseTo(1, 6);
      expect(p.totalMs).toBeCloseTo(p.kernels.reduce((a, k) => a + k.ms, 0), 9);
      // the conv kernels do the model's work: most of the FLOPs, and a real rate
      const convs = p.kernels.filter((k) => k.op === 'FusedConv');
      expect(convs.length).toBe(2);
      // (a rate only where the kernel is long enough to time: a fast machine runs these in under 2 µs)
      for (const k of convs) {
        expect(k.flops).toBeGreaterThan(0.25 * p.kernels.reduce((a, x) => a + (x.flops ?? 0), 0));
        if (k.ms >= MIN_RATE_MS) expect(k.gflops).toBeGreaterThan(0.01);
      }
      // the table: one row per kernel call, slowest first
      const rows = r.out.split('\n').filter((l) => /^\s+\d+\.\d{4}\s/.test(l));
      expect(rows.length).toBe(prog.steps.length);
      const ms = rows.map((l) => Number(l.trim().split(/\s+/)[0]));
      expect(ms).toEqual(ms.slice().sort((a, b) => b - a));
      expect(r.out).toContain(`wrote ${json}`);
    }, 180_000);
  }

  it('--schedule: a hand-edited schedule is profiled; unknown kernels and bad directives are usage errors', () => {
    const dir = tmp();
    const sched = path.join(dir, 's.txt');
    const list = aic(['compile', MODEL, '--target', 'wasm-simd', '--emit', 'schedule']);
    const first = /kernel (\w+) \{\n  \w/.exec(list.out)![1];
    fs.writeFileSync(sched, `kernel ${first} {\n}\n`); // plain loops for that kernel
    const json = path.join(dir, 'p.json');
    const r = aic(['profile', MODEL, '--target', 'wasm-simd', '--runs', '2', '--schedule', sched, '--json', json]);
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(fs.readFileSync(json, 'utf8')) as ProfileReport).kernels.map((k) => k.kernel)).toContain(first);
    fs.writeFileSync(sched, 'kernel k99_nothing {\n}\n');
    const bad = aic(['profile', MODEL, '--target', 'wasm-simd', '--schedule', sched]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/no kernel 'k99_nothing'/);
    fs.writeFileSync(sched, `kernel ${first} {\n  frobnicate i0\n}\n`);
    const nonsense = aic(['profile', MODEL, '--target', 'c', '--schedule', sched]);
    expect(nonsense.code).toBe(2);
    expect(nonsense.err).toMatch(/cannot parse schedule directive 'frobnicate i0'/);
  });

  it('refuses what it cannot profile', () => {
    expect(aic(['profile', MODEL, '--target', 'wgsl']).code).toBe(3);
    expect(aic(['profile', MODEL, '--target', 'nope']).code).toBe(2);
    expect(aic(['profile', MODEL, '--runs', '0']).code).toBe(2);
    expect(aic(['profile', MODEL, '-O', '2', '--pipeline', 'fuse']).code).toBe(2);
    const r = aic(['profile', path.join(tmp(), 'missing.onnx')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('AIC0001');
  });

  it('aic viz --profile refuses a file aic profile did not write', () => {
    const dir = tmp();
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"kernels": 3}');
    const r = aic(['viz', MODEL, '--profile', bad, '-o', path.join(dir, 'x.html')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('AIC0350');
    fs.writeFileSync(bad, 'not json');
    expect(aic(['viz', MODEL, '--profile', bad, '-o', path.join(dir, 'x.html')]).err).toContain('AIC0350');
    expect(fs.existsSync(path.join(dir, 'x.html'))).toBe(false);
    expect(aic(['viz', MODEL]).code).toBe(2); // no -o
  });
});

describe('profile report', () => {
  it('derives share, rates and % of peak', () => {
    const peak = { gflops: 100, gbps: 10, how: 'test' };
    const { kernels, totalMs } = finishKernels([
      { step: 0, kernel: 'a', node: 'A', ms: 3, flops: 6e6, bytes: 3e6 },
      { step: 1, kernel: 'b', node: 'B', ms: 1, bytes: 5e6 },
    ], peak);
    expect(totalMs).toBe(4);
    expect(kernels[0].share).toBe(0.75);
    expect(kernels[0].gflops).toBeCloseTo(2, 12); // 6e6 FLOP in 3 ms
    expect(kernels[0].gbps).toBeCloseTo(1, 12);
    expect(kernels[0].pctPeak).toBeCloseTo(2, 12); // FLOP-rate against the FLOP peak
    expect(kernels[1].gflops).toBeUndefined();
    expect(kernels[1].pctPeak).toBeCloseTo(50, 12); // 5 GB/s against 10
    const tiny = finishKernels([{ step: 0, kernel: 'c', node: 'C', ms: MIN_RATE_MS / 2, flops: 10, bytes: 10 }], peak).kernels[0];
    expect([tiny.gflops, tiny.gbps, tiny.pctPeak, tiny.share]).toEqual([undefined, undefined, undefined, 1]);
  });
});
