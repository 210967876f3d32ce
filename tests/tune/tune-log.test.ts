/**
 * Tuning logs applied at compile time: the fastest matching record per workload gives its kernels a
 * schedule (outputs unchanged), garbage, foreign-machine, other-version and non-applying records are
 * warned about and never applied; kernels without a record keep the default.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor } from '@aic/core';
import { WASM_SIMD_TARGET, compileFor, lowerGraph, prepareForRun, thisMachine, workloadsOf, scheduleText, type TuneRecord } from '@aic/codegen';
import { loadGraph, optimizeGraph, tuningLogSchedules, VERSION } from '@aic/api/internal';
import { randomFeeds } from '@aic/passes';
import type { Directive } from '@aic/loop-ir';

const MODEL = path.resolve(import.meta.dirname, '../fixtures/models/small_cnn.onnx');

async function setup() {
  const g = await loadGraph(MODEL, { validate: true });
  const { graph } = optimizeGraph(g, { target: 'wasm-simd' });
  const feeds = randomFeeds(graph, 3);
  prepareForRun(graph, feeds);
  const def = compileFor(WASM_SIMD_TARGET, graph, { version: 't', source: 't', sourceHash: '-' });
  const w = workloadsOf(lowerGraph(graph, WASM_SIMD_TARGET.caps!)).find((x) => x.op.includes('Conv') && x.kernels[0] !== 'k0_fusedconv')!;
  const k = w.kernels[0];
  const dirs = def.prog.schedules.get(k)!;
  // the register tile's rows halved (or one more): another schedule, the same summation order
  const u = dirs.find((d) => d.d === 'unroll') as { axis: string };
  const tuned: Directive[] = dirs.map((d) => (d.d === 'split' && `${d.axis}_i` === u.axis ? { ...d, factor: d.factor % 2 === 0 ? d.factor / 2 : d.factor + 1 } : d));
  return { graph, feeds, def, w, k, dirs, tuned };
}

const rec = (over: Partial<TuneRecord>): TuneRecord => ({ workload: '', op: 'FusedConv', target: 'wasm-simd', machine: thisMachine(), schedule: [], median_us: 10, aic_version: VERSION, trial: 1, ...over });
const line = (r: unknown) => JSON.stringify(r);

describe('tuning logs', () => {
  it('apply the fastest record per workload and keep the outputs', async () => {
    const { graph, feeds, def, w, k, dirs, tuned } = await setup();
    const text = [
      line(rec({ workload: w.key, schedule: scheduleText(dirs), median_us: 20, trial: 0 })),
      line(rec({ workload: w.key, schedule: scheduleText(tuned), median_us: 12 })),
    ].join('\n');
    const r = tuningLogSchedules(graph, 'wasm-simd', [{ file: 'a.jsonl', text }]);
    expect(r.warnings).toEqual([]);
    expect(r.kernels).toBe(w.kernels.length);
    expect(r.schedules.get(k)).toEqual(tuned);
    const c = compileFor(WASM_SIMD_TARGET, graph, { version: 't', source: 't', sourceHash: '-', schedules: r.schedules });
    expect(c.prog.schedules.get(k)).toEqual(tuned);
    expect(c.prog.schedules.get(k)).not.toEqual(def.prog.schedules.get(k));
    const a = WASM_SIMD_TARGET.runCompiledSync!(def, feeds), b = WASM_SIMD_TARGET.runCompiledSync!(c, feeds);
    for (const [name, t] of a) expect(Array.from((b.get(name) as Tensor).num)).toEqual(Array.from(t.num));
  });

  it('warn about and never apply garbage, foreign, other-version and non-applying records', async () => {
    const { graph, w, k, tuned } = await setup();
    const text = [
      'this is not json',
      line({ workload: w.key, target: 'wasm-simd' }),
      line(rec({ workload: w.key, schedule: scheduleText(tuned), median_us: 1, machine: { cpu: 'Some Other CPU', simd: ['neon'] } })),
      line(rec({ workload: w.key, schedule: scheduleText(tuned), median_us: 1, aic_version: '0.0.1' })),
      line(rec({ workload: w.key, schedule: ['split nosuchloop by 4'], median_us: 2 })),
      line(rec({ workload: w.key, schedule: ['algorithm winograd(4,3)'], median_us: 3, target: 'c' })), // another target's: silent
    ].join('\n');
    const r = tuningLogSchedules(graph, 'wasm-simd', [{ file: 'b.jsonl', text }]);
    expect(r.warnings.map((e) => [e.code, e.loc?.line])).toEqual([['AIC0400', 1], ['AIC0400', 2], ['AIC0401', 3], ['AIC0402', 4], ['AIC0402', 5]]);
    expect(r.warnings[4].message).toMatch(/does not apply to kernel/);
    expect(r.schedules.has(k)).toBe(false);
    expect(r.kernels).toBe(0);
  });
});
