/**
 * --report: per-layer SQNR on the calibration samples, worst first. For each quantized layer:
 *  - sqnrDb: the float model's layer result against the QDQ model's (the error that reached it);
 *  - outputSqnrDb: the float result against its own QuantizeLinear/DequantizeLinear (its range alone);
 *  - weightSqnrDb: the weights against their int8 copy.
 */
import { Tensor, reportProgress, type Graph } from '@aic/core';
import { run } from '@aic/interp';
import type { Sample } from './collect.ts';
import { SqnrAcc, actBounds, fakeQuant, type ActType } from './params.ts';
import type { LayerInfo } from './qdq.ts';

export interface LayerReport { name: string; op: string; sqnrDb: number; outputSqnrDb?: number; weightSqnrDb?: number }

export function sqnrReport(fp: Graph, q: Graph, layers: readonly LayerInfo[], samples: readonly Sample[], actType: ActType): LayerReport[] {
  const byAnchor = new Map(layers.map((l) => [l.anchor, l]));
  const byQuant = new Map(layers.map((l) => [l.quantized, l]));
  const total = new Map(layers.map((l) => [l, new SqnrAcc()]));
  const own = new Map(layers.map((l) => [l, new SqnrAcc()]));
  const [qmin, qmax] = actBounds(actType);
  samples.forEach((feeds, k) => {
    reportProgress('measuring SQNR', k, samples.length);
    const ref = new Map<LayerInfo, Tensor>();
    run(fp, feeds, {
      onNode: (n, outs) => n.outputs.forEach((o, i) => {
        const l = byAnchor.get(o.name), t = outs[i];
        if (!l || !(t instanceof Tensor)) return;
        ref.set(l, t);
        if (l.params) own.get(l)!.add(t.num, Float32Array.from(t.num as ArrayLike<number>, (x) => fakeQuant(x, l.params!, qmin, qmax)));
      }),
    });
    run(q, feeds, {
      onNode: (n, outs) => n.outputs.forEach((o, i) => {
        const l = byQuant.get(o.name), t = outs[i];
        if (l && t instanceof Tensor && ref.has(l)) total.get(l)!.add(ref.get(l)!.num, t.num);
      }),
    });
  });
  reportProgress('measuring SQNR', samples.length, samples.length);
  return layers.map((l) => ({
    name: l.name, op: l.op, sqnrDb: total.get(l)!.db,
    ...(l.params ? { outputSqnrDb: own.get(l)!.db } : {}),
    ...(l.weightSqnrDb !== undefined ? { weightSqnrDb: l.weightSqnrDb } : {}),
  })).sort((a, b) => a.sqnrDb - b.sqnrDb);
}

const db = (x: number | undefined) => (x === undefined ? '-' : Number.isFinite(x) ? x.toFixed(1) : x > 0 ? 'inf' : '-inf');

/** The report as a text table. */
export function formatReport(rows: readonly LayerReport[]): string {
  const head = ['layer', 'op', 'SQNR dB', 'output-only dB', 'weights dB'];
  const body = rows.map((r) => [r.name, r.op, db(r.sqnrDb), db(r.outputSqnrDb), db(r.weightSqnrDb)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n') + '\n';
}
