/**
 * The tuner's search with a fake clock and a fake timer (each schedule's "time" is a hash of its
 * text): the same seed and measurements give the same log twice, another seed another log; trials
 * follow the kernels' shares; a failing candidate is rejected alone (its batch split in halves).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { C_TARGET, type TuneRecord } from '@aic/codegen';
import { loadGraph, optimizeGraph, tuneGraph } from '@aic/api/internal';
import type { Directive } from '@aic/loop-ir';
import { fakeRunner } from './fake-runner.ts';

const MODEL = path.resolve(import.meta.dirname, '../fixtures/models/small_cnn.onnx');

async function run(seed: number, fail?: (k: string, d: Directive[]) => boolean) {
  const g = await loadGraph(MODEL, { validate: true });
  const { graph } = optimizeGraph(g, { target: 'c' });
  let now = 0;
  const log: TuneRecord[] = [];
  const res = tuneGraph(graph, { target: 'c', trials: 12, budgetMs: 1e9, seed, clock: () => (now += 1000), runner: (gr) => fakeRunner(C_TARGET, gr, fail), onRecord: (r) => log.push(r) });
  return { res, log: log.map((r) => JSON.stringify(r)).join('\n') };
}

describe('aic tune search', () => {
  it('gives the identical log twice for a seed and a fake timer', async () => {
    const a = await run(7), b = await run(7), c = await run(8);
    expect(a.log).toBe(b.log);
    expect(a.log).not.toBe(c.log);
    const trials = a.res.reduce((s, r) => s + r.trials, 0);
    expect(trials).toBe(12);
    // trials follow the shares of the (fake) profile: the convs hold most of the time
    const convs = a.res.filter((r) => r.workload.op.includes('Conv'));
    const share = convs.reduce((s, r) => s + r.share, 0);
    expect(share).toBeGreaterThan(0.4);
    expect(convs.reduce((s, r) => s + r.trials, 0)).toBeGreaterThanOrEqual(Math.floor(12 * share));
    for (const r of a.res) expect(r.bestUs).toBeLessThanOrEqual(r.defaultUs);
    // every logged schedule is a full directive list; defaults are trial 0
    const recs = a.log.split('\n').map((l) => JSON.parse(l));
    expect(recs.filter((r) => r.trial === 0 && !r.confirmed)).toHaveLength(a.res.length);
    // after the search: every default measured again, and every winner
    expect(recs.filter((r) => r.trial === 0 && r.confirmed)).toHaveLength(a.res.length);
    expect(recs.filter((r) => r.trial > 0 && r.confirmed)).toHaveLength(a.res.filter((r) => r.bestUs < r.defaultUs).length);
  });

  it('rejects failing candidates one by one and keeps the others', async () => {
    // every conv candidate without an unrolled loop "fails" (as a schedule that does not apply would)
    const bad = (k: string, d: Directive[]) => k.includes('conv') && !d.some((x) => x.d === 'unroll');
    const { res, log } = await run(7, bad);
    expect(res.reduce((s, r) => s + r.trials, 0)).toBe(12);
    expect(res.reduce((s, r) => s + r.rejected, 0)).toBeGreaterThan(0);
    for (const r of res) if (r.workload.op.includes('Conv')) expect(r.best.some((x) => x.d === 'unroll')).toBe(true);
    // rejected candidates are not logged
    for (const l of log.split('\n').map((x) => JSON.parse(x))) if (l.op.includes('Conv')) expect(l.schedule.some((x: string) => x.startsWith('unroll'))).toBe(true);
  });
});
