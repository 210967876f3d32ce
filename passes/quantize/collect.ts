/** Activation ranges over the calibration samples, collected with the reference interpreter. */
import { Tensor, reportProgress, type Graph, type Value } from '@aic/core';
import { run } from '@aic/interp';
import { RangeStats } from './calibrate.ts';

export type Sample = Map<string, Tensor>;

/** Runs g on every sample and gathers min/max (and |x| histograms) of `values`, by value name. */
export function collectRanges(g: Graph, values: readonly Value[], samples: readonly Sample[], histogram: boolean): Map<string, RangeStats> {
  const stats = new Map<Value, RangeStats>(values.map((v) => [v, new RangeStats(histogram)]));
  samples.forEach((feeds, k) => {
    reportProgress('calibrating', k, samples.length);
    for (const v of g.inputs) { const t = feeds.get(v.name); if (t) stats.get(v)?.add(t.num); }
    run(g, feeds, {
      onNode: (n, outs) => n.outputs.forEach((o, i) => {
        const s = stats.get(o), t = outs[i];
        if (s && t instanceof Tensor) s.add(t.num);
      }),
    });
  });
  reportProgress('calibrating', samples.length, samples.length);
  return new Map([...stats].map(([v, s]) => [v.name, s]));
}
