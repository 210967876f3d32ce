/**
 * aic run --tuning-log FILE (repeatable): the compiled targets run with the log's schedules (the
 * outputs stay the same: a schedule never changes results), bad records are warned about, and the
 * interpreter, which has no schedules, refuses the option (exit 2).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, parseNpy, serializeNpy } from '@aic/core';
import { WASM_SIMD_TARGET, compileFor, lowerGraph, scheduleText, thisMachine, workloadsOf } from '@aic/codegen';
import { loadGraph, optimizeGraph, VERSION } from '@aic/api/internal';
import { randomFeeds } from '@aic/passes';
import type { Directive } from '@aic/loop-ir';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MODEL = path.join(ROOT, 'tests/fixtures/models/small_cnn.onnx');
const aic = (args: string[]) => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('aic run --tuning-log', () => {
  it('runs wasm-simd with the tuned schedule, same outputs; warns about bad records; interp refuses it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-run-tuned-'));
    const { graph } = optimizeGraph(await loadGraph(MODEL, { validate: true }), { target: 'wasm-simd' });
    const feeds = randomFeeds(graph, 5);
    const input = path.join(dir, 'x.npy');
    fs.writeFileSync(input, serializeNpy(feeds.get(graph.inputs[0].name) as Tensor));
    // a Conv workload's register tile rows halved (or one more): another schedule, the same sums
    const def = compileFor(WASM_SIMD_TARGET, graph, { version: 't', source: 't', sourceHash: '-' });
    const w = workloadsOf(lowerGraph(graph, WASM_SIMD_TARGET.caps!)).find((x) => x.op.includes('Conv') && x.kernels[0] !== 'k0_fusedconv')!;
    const dirs = def.prog.schedules.get(w.kernels[0])!;
    const u = dirs.find((d) => d.d === 'unroll') as { axis: string };
    const tuned: Directive[] = dirs.map((d) => (d.d === 'split' && `${d.axis}_i` === u.axis ? { ...d, factor: d.factor % 2 === 0 ? d.factor / 2 : d.factor + 1 } : d));
    const rec = { workload: w.key, op: w.op, target: 'wasm-simd', machine: thisMachine(), aic_version: VERSION };
    const log = path.join(dir, 'tuning.jsonl'), bad = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(log, [{ ...rec, schedule: scheduleText(dirs), median_us: 20, trial: 0 }, { ...rec, schedule: scheduleText(tuned), median_us: 12, trial: 1 }].map((r) => JSON.stringify(r) + '\n').join(''));
    fs.writeFileSync(bad, '{"garbage": true}\n');

    const plain = aic(['run', MODEL, '--target', 'wasm-simd', '--input', input, '--output-dir', path.join(dir, 'a')]);
    expect(plain.code).toBe(0);
    const t = aic(['--verbose', 'run', MODEL, '--target', 'wasm-simd', '--input', input, '--output-dir', path.join(dir, 'b'), '--tuning-log', log, '--tuning-log', bad]);
    expect(t.code).toBe(0);
    expect(t.err).toMatch(new RegExp(`tuning logs: ${w.kernels.length} kernel\\(s\\) get a tuned schedule`));
    expect(t.err).toMatch(/bad\.jsonl:1: warning AIC0400: tuning log record ignored \(corrupt\)/);
    const outs = fs.readdirSync(path.join(dir, 'a')).filter((f) => f.endsWith('.npy'));
    expect(outs.length).toBe(graph.outputs.length);
    for (const f of outs) {
      const a = parseNpy(fs.readFileSync(path.join(dir, 'a', f))), b = parseNpy(fs.readFileSync(path.join(dir, 'b', f)));
      expect(Array.from(b.num)).toEqual(Array.from(a.num));
    }
    const i = aic(['run', MODEL, '--input', input, '--output-dir', path.join(dir, 'c'), '--tuning-log', log]);
    expect(i.code).toBe(2);
    expect(i.err).toMatch(/--tuning-log: target 'interp' has no kernel schedules/);
  }, 60_000);
});
