/** --tuning-log FILE (repeatable): tuned schedules for `aic compile`, `aic profile` and `aic run`, warnings for records not applied. */
import { readFileOrThrow, type Graph } from '@aic/core';
import type { Directive } from '@aic/loop-ir';
import { tuningLogSchedules } from '@aic/api/internal';
import { note } from '../ui.ts';
import { printWarning } from './tune.ts';

/** The tuned schedules with the --schedule overrides on top (undefined without logs). */
export function withTuningLogs(graph: Graph, target: string, files: string[] | undefined, overrides?: Map<string, Directive[]>): Map<string, Directive[]> | undefined {
  if (!files?.length) return overrides;
  const logs = files.map((file) => ({ file, text: new TextDecoder().decode(readFileOrThrow(file)) }));
  const r = tuningLogSchedules(graph, target, logs);
  r.warnings.forEach(printWarning);
  note(`tuning logs: ${r.kernels} kernel(s) get a tuned schedule`);
  const out = new Map(r.schedules);
  for (const [k, d] of overrides ?? []) out.set(k, d);
  return out;
}
