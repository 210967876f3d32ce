/**
 * Applying tuning logs when compiling (`aic compile --tuning-log FILE`): the graph is lowered once to
 * find its workloads; each workload with a record for this target, machine and aic version gets the
 * fastest record's schedule on every kernel of that workload. A record whose schedule does not apply
 * to the kernel (an algorithm that does not fit, a loop it names is not there) is an issue and is left
 * out; kernels without a record keep the default schedule.
 */
import type { Graph } from '@aic/core';
import { ScheduleError, type Directive } from '@aic/loop-ir';
import { lowerGraph, realizeKernel } from '../lower/program.ts';
import { chooseAlgorithms } from '../schedule/algorithms/choose.ts';
import type { Target } from '../target.ts';
import { workloadsOf } from './workload.ts';
import { algoOf, algoText, kernelSpace } from './space.ts';
import { bestRecords, parseLog, scheduleOf, thisMachine, type LogIssue, type Machine, type TuneRecord } from './log.ts';

export interface TuningApplied {
  /** kernel -> schedule (pass as CompileOptions.schedules) */
  schedules: Map<string, Directive[]>;
  /** kernels given a tuned schedule */
  kernels: number;
  issues: LogIssue[];
}

export function tuningSchedules(g: Graph, target: Target, logs: readonly { file: string; text: string }[], version: string, machine: Machine = thisMachine()): TuningApplied {
  const records: TuneRecord[] = [], issues: LogIssue[] = [];
  const where = new Map<TuneRecord, { file: string; line: number }>();
  for (const { file, text } of logs) {
    const p = parseLog(text, file);
    issues.push(...p.issues);
    const lines = text.split('\n');
    let li = 0;
    for (const r of p.records) { // each record's line, for messages
      while (li < lines.length && (!lines[li].trim() || p.issues.some((x) => x.file === file && x.line === li + 1))) li++;
      where.set(r, { file, line: ++li });
      records.push(r);
    }
  }
  const { best, issues: sel } = bestRecords(records, target.name, machine, version, (r) => where.get(r)!);
  issues.push(...sel);
  const schedules = new Map<string, Directive[]>();
  if (!target.caps || !best.size) return { schedules, kernels: 0, issues };
  const prog = lowerGraph(g, target.caps);
  const gpu = !!target.caps.gpu; // GPU schedules have no kernel algorithms
  const chosen = new Map<string, { dirs: Directive[]; r: TuneRecord }>();
  for (const w of workloadsOf(prog)) {
    const r = best.get(w.key);
    if (!r || r.trial === 0) continue; // none, or the default was fastest: it applies anyway
    const dirs = scheduleOf(r);
    const space = kernelSpace(prog, w.kernels[0], gpu, target.caps);
    if (!space.algorithms.some((a) => algoText(a) === algoText(algoOf(dirs)))) {
      issues.push({ ...where.get(r)!, kind: 'mismatched', why: `algorithm ${algoText(algoOf(dirs))} does not apply to kernel ${w.kernels[0]}` });
      continue;
    }
    const panel = dirs.find((d) => d.d === 'panel');
    if (panel?.d === 'panel' && !space.panels?.includes(panel.lanes)) {
      issues.push({ ...where.get(r)!, kind: 'mismatched', why: `panel ${panel.lanes} does not apply to kernel ${w.kernels[0]} (${space.panels?.length ? `its panels: ${space.panels.join(', ')} lanes` : 'it packs no column panels'})` });
      continue;
    }
    for (const k of w.kernels) chosen.set(k, { dirs, r });
  }
  // realize every chosen schedule on the sources as the driver will see them (algorithms applied)
  if (!gpu) chooseAlgorithms(prog, target.caps, new Map([...chosen].map(([k, v]) => [k, v.dirs])));
  for (const [k, { dirs, r }] of chosen) {
    try {
      realizeKernel(prog.sources.get(k)!, dirs);
      schedules.set(k, dirs);
    } catch (e) {
      if (!(e instanceof ScheduleError)) throw e;
      if (!issues.some((x) => x.file === where.get(r)!.file && x.line === where.get(r)!.line)) issues.push({ ...where.get(r)!, kind: 'mismatched', why: `its schedule does not apply to kernel ${k}: ${e.message}` });
    }
  }
  return { schedules, kernels: schedules.size, issues };
}
