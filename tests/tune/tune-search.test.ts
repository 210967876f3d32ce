/**
 * The tuner's search with a fake clock and a fake timer (each schedule's "time" is a hash of its
 * text): the same seed and measurements give the same log twice, another seed another log; trials
 * follow the kernels' shares; a failing candidate is rejected alone (its batch split in halves).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { C_TARGET, batchGraph, compileFor, type TuneRecord, type TuneRunner } from '@aic/codegen';
import { loadGraph, optimizeGraph, tuneGraph } from '@aic/api/internal';
import type { Graph } from '@aic/core';
import { printDirective, type Directive } from '@aic/loop-ir';

const MODEL = path.resolve(import.meta.dirname, '../fixtures/models/small_cnn.onnx');

/** Compiles for real (so schedules must realize), times by hash: deterministic, machine-independent. */
function fakeRunner(graph: Graph, fail?: (k: string, d: Directive[]) => boolean): TuneRunner {
  const fakeUs = (op: string, d: Directive[]) => 10 + createHash('sha256').update(op + d.map(printDirective).join(';')).digest()[0] / 8 + (op.includes('Conv') ? 50 : 0);
  const compile = (g: Graph, s: Map<string, Directive[]>) => compileFor(C_TARGET, g, { version: 't', source: 't', sourceHash: '-', schedules: s }).prog;
  return {
    target: 'c',
    profile() {
      const prog = compile(graph, new Map());
      const kernelUs = new Map([...prog.schedules].map(([k, d]) => [k, fakeUs(prog.sources.get(k)?.op ?? k, d)]));
      return { kernelUs, dirs: new Map(prog.schedules) };
    },
    alone: (src) => !!batchGraph(src, 2, C_TARGET.caps!),
    measure(src, cands) {
      for (const d of cands) if (fail?.(src.name, d)) throw new Error('fake failure');
      const b = batchGraph(src, cands.length + 1, C_TARGET.caps!)!;
      const prog = compile(b.graph, new Map(cands.map((d, i) => [b.kernels[i + 1], d])));
      const dirs = b.kernels.map((k) => prog.schedules.get(k) ?? []);
      return { defaultUs: fakeUs(src.op, dirs[0]), us: dirs.slice(1).map((d) => fakeUs(src.op, d)), agree: cands.map(() => true), defaultDirs: dirs[0], realized: dirs.slice(1) };
    },
  };
}

async function run(seed: number, fail?: (k: string, d: Directive[]) => boolean) {
  const g = await loadGraph(MODEL, { validate: true });
  const { graph } = optimizeGraph(g, { target: 'c' });
  let now = 0;
  const log: TuneRecord[] = [];
  const res = tuneGraph(graph, { target: 'c', trials: 12, budgetMs: 1e9, seed, clock: () => (now += 1000), runner: (gr) => fakeRunner(gr, fail), onRecord: (r) => log.push(r) });
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
