/**
 * Tuning logs: JSON lines, one measured candidate each:
 *   {"workload": KEY, "op": OP, "target": "c", "machine": {"cpu": MODEL, "simd": [...]} (wgsl: and "gpu": ADAPTER),
 *    "schedule": ["split i3 by 8", ...], "median_us": 12.5, "aic_version": "0.1.0", "trial": 3}
 * (`trial` 0 is the default schedule). After the search the defaults and the winners are measured again,
 * interleaved (confirm.ts), and logged with `"confirmed": true`, `"ratio"` (median over the rounds of
 * winner / default; 1 for the default) and `"spread"` ((max - min) / median of the rounds' ratios: the
 * noise); both optional, older logs lack them. Logs merge by concatenation; the best record of a
 * workload is the confirmed one with the lowest ratio (lowest median_us when either has none; the
 * fastest of any when none is confirmed) measured on this machine, for this target and aic version.
 * Records that do not parse, name another machine or another aic version are reported (never applied).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parseDirective, printDirective, type Directive } from '@aic/loop-ir';

/** cpu and simd: this host; gpu: the WebGPU adapter (wgsl records), which alone decides when present */
export interface Machine { cpu: string; simd: string[]; gpu?: string }
export interface TuneRecord {
  workload: string;
  op?: string;
  target: string;
  machine: Machine;
  schedule: string[];
  median_us: number;
  aic_version: string;
  trial?: number;
  /** measured again after the search, interleaved with the default (confirm.ts) */
  confirmed?: boolean;
  /** confirmed records: median over the confirmation rounds of this schedule's time / the default's (1: the default) */
  ratio?: number;
  /** confirmed records: (max - min) / median of the rounds' ratios (the default: of its own times) */
  spread?: number;
}
export type IssueKind = 'corrupt' | 'foreign' | 'mismatched';
export interface LogIssue { file: string; line: number; kind: IssueKind; why: string }

const SIMD = ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'asimd', 'sve', 'simd128'];

let cached: Machine | undefined;
/** This CPU: its model name and the SIMD features that decide code speed (Linux /proc/cpuinfo). */
export function thisMachine(): Machine {
  if (cached) return cached;
  let flags: string[] = [];
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const m = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(info);
    if (m) flags = m[1].split(/\s+/);
  } catch { /* not Linux: the model name alone */ }
  cached = { cpu: os.cpus()[0]?.model?.trim() || os.arch(), simd: SIMD.filter((f) => flags.includes(f)) };
  return cached;
}
export const sameMachine = (a: Machine, b: Machine) => (a.gpu !== undefined || b.gpu !== undefined ? a.gpu === b.gpu : a.cpu === b.cpu && a.simd.join(',') === b.simd.join(','));

export const scheduleText = (dirs: readonly Directive[]) => dirs.map(printDirective);
export const scheduleOf = (r: TuneRecord): Directive[] => r.schedule.map(parseDirective);

/** One line of a log as a record, or why it is not one. */
function parseLine(text: string): TuneRecord | string {
  let o: unknown;
  try { o = JSON.parse(text); } catch { return 'not JSON'; }
  if (!o || typeof o !== 'object' || Array.isArray(o)) return 'not a JSON object';
  const r = o as Record<string, unknown>;
  const m = r.machine as Record<string, unknown> | undefined;
  if (typeof r.workload !== 'string' || !r.workload) return 'no workload';
  if (typeof r.target !== 'string') return 'no target';
  if (!m || typeof m.cpu !== 'string' || !Array.isArray(m.simd) || !m.simd.every((s) => typeof s === 'string')) return 'no machine {cpu, simd}';
  if (m.gpu !== undefined && typeof m.gpu !== 'string') return 'machine.gpu is not a string';
  if (!Array.isArray(r.schedule) || !r.schedule.every((s) => typeof s === 'string')) return 'no schedule (a list of directives)';
  if (typeof r.median_us !== 'number' || !(r.median_us > 0) || !Number.isFinite(r.median_us)) return 'median_us is not a positive number';
  if (typeof r.aic_version !== 'string') return 'no aic_version';
  for (const k of ['ratio', 'spread'] as const) if (r[k] !== undefined && !(typeof r[k] === 'number' && Number.isFinite(r[k]) && r[k] >= 0)) return `${k} is not a non-negative number`;
  try { (r.schedule as string[]).forEach(parseDirective); } catch (e) { return `schedule: ${(e as Error).message}`; }
  return r as unknown as TuneRecord;
}

/** Every well-formed record of a log's text, and an issue per line that is not one. */
export function parseLog(text: string, file: string): { records: TuneRecord[]; issues: LogIssue[] } {
  const records: TuneRecord[] = [], issues: LogIssue[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const r = parseLine(line);
    if (typeof r === 'string') issues.push({ file, line: i + 1, kind: 'corrupt', why: r });
    else records.push(r);
  });
  return { records, issues };
}

/**
 * The fastest applicable record per workload for `target` on `machine` and aic `version`; records of
 * another machine or version are issues (records of other targets are simply for them).
 */
export function bestRecords(records: readonly TuneRecord[], target: string, machine: Machine, version: string, where: (r: TuneRecord) => { file: string; line: number }):
  { best: Map<string, TuneRecord>; issues: LogIssue[] } {
  const best = new Map<string, TuneRecord>(), issues: LogIssue[] = [];
  for (const r of records) {
    if (r.target !== target) continue;
    if (!sameMachine(r.machine, machine)) { issues.push({ ...where(r), kind: 'foreign', why: `measured on another machine (${r.machine.gpu ?? `${r.machine.cpu}; ${r.machine.simd.join(' ') || 'no SIMD'}`})` }); continue; }
    if (r.aic_version !== version) { issues.push({ ...where(r), kind: 'mismatched', why: `written by aic ${r.aic_version} (this is ${version})` }); continue; }
    const b = best.get(r.workload);
    if (!b || better(r, b)) best.set(r.workload, r);
  }
  return { best, issues };
}

/** Confirmed before unconfirmed; two confirmed ones by ratio (measured next to their own run's default) when both have it; else by median_us. */
function better(r: TuneRecord, b: TuneRecord): boolean {
  if (!!r.confirmed !== !!b.confirmed) return !!r.confirmed;
  if (r.confirmed && r.ratio !== undefined && b.ratio !== undefined && r.ratio !== b.ratio) return r.ratio < b.ratio;
  return r.median_us < b.median_us;
}

export const recordLine = (r: TuneRecord) => JSON.stringify(r) + '\n';
