/**
 * aic tune MODEL --target c|wasm-simd|wgsl [--runner node|browser] [--budget 10m] [--trials N] [--seed S] -o tuning.jsonl [--resume]
 * Measures schedule candidates of every kernel on this machine and writes every measurement as a
 * JSON line (codegen/tune/log.ts); `aic compile --tuning-log FILE` applies the fastest per kernel.
 * The work is the library API's (packages/api/src/tune.ts); this file parses options and prints.
 */
import * as fs from 'node:fs';
import { diag, readFileOrThrow, writeFileAtomic, type AicError } from '@aic/core';
import { parseLog, passTarget, recordLine, type ModelCheck, type TuneRecord, type WorkloadResult } from '@aic/codegen';
import { tuneGraph, tuningIssue, VERSION } from '@aic/api/internal';
import { Option, type Command } from 'commander';
import { loadModel, parseShapeOptions } from '../model-io.ts';
import { addPipelineOptions, optimize, type PipelineCliOptions } from '../pipeline-options.ts';
import { c } from '../ui.ts';

export interface TuneOptions extends PipelineCliOptions {
  target?: string; budget?: string; trials?: string; seed?: string; output?: string; resume?: boolean; runner?: string; reps?: string; inputShape?: string[];
}

/** 10m, 90s, 1h, 500ms, or plain seconds -> ms */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw diag.usage(`--budget '${s}': expected a duration such as 10m, 90s, 1h`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms']!;
}

export function printWarning(e: AicError): void {
  const where = e.loc?.file ? `${e.loc.file}${e.loc.line ? `:${e.loc.line}` : ''}: ` : '';
  process.stderr.write(`aic: ${where}${c.warn('warning')} ${e.code}: ${e.message}\n`);
}

export function resultTable(res: WorkloadResult[]): string {
  const rows = res.filter((r) => r.trials > 0 || r.bestUs < r.defaultUs).sort((a, b) => b.share - a.share);
  const name = (r: WorkloadResult) => `${r.workload.kernels[0]}${r.workload.kernels.length > 1 ? ` (+${r.workload.kernels.length - 1})` : ''}${r.dropped ? ' [dropped]' : ''}`;
  const w = Math.max(6, ...rows.map((r) => name(r).length));
  const L = [`${'kernel'.padEnd(w)}  ${'default µs'.padStart(10)}  ${'best µs'.padStart(10)}  speedup  trials  rejected`];
  for (const r of rows) L.push(`${name(r).padEnd(w)}  ${r.defaultUs.toFixed(1).padStart(10)}  ${r.bestUs.toFixed(1).padStart(10)}  ${(r.defaultUs / r.bestUs).toFixed(2).padStart(6)}x  ${String(r.trials).padStart(6)}  ${String(r.rejected).padStart(8)}`);
  const def = res.reduce((a, r) => a + r.defaultUs * r.workload.kernels.length, 0), best = res.reduce((a, r) => a + r.bestUs * r.workload.kernels.length, 0);
  const alone = res.filter((r) => !r.alone).length;
  L.push(`model (sum of kernels): default ${(def / 1000).toFixed(3)} ms, tuned ${(best / 1000).toFixed(3)} ms, ${(def / best).toFixed(2)}x; `
    + `${res.length - rows.length} of ${res.length} workloads untuned (too small a share or budget${alone ? `; ${alone} cannot run alone` : ''})`);
  return L.join('\n') + '\n';
}

/** What the whole-model check timed and dropped (codegen/tune/model-check.ts). */
export function modelCheckText(m: ModelCheck, res: WorkloadResult[]): string {
  const name = (key: string) => res.find((r) => r.workload.key === key)?.workload.kernels[0] ?? key;
  const tries = m.tries.map((t) => `${t.ratio.toFixed(3)} with ${t.winners} winner${t.winners === 1 ? '' : 's'} (spread ${t.spread.toFixed(2)})`).join(', ');
  const L = [`whole model, tuned/default (median of interleaved pairs): ${tries || 'not timed'}`];
  if (m.dropped.length) L.push(`dropped (the model was slower with them${m.error ? `: ${m.error}` : ''}): ${m.dropped.map((w) => `${name(w.key)} (share ${(100 * w.share).toFixed(1)}%, kernel ratio ${w.ratio.toFixed(3)})`).join(', ')}`);
  L.push(`kept: ${m.kept.length} of ${m.kept.length + m.dropped.length} confirmed winners`);
  return L.join('\n') + '\n';
}

export async function tuneCommand(model: string, o: TuneOptions): Promise<number> {
  const target = o.target;
  if (!target) throw diag.usage('tune needs --target (c, wasm-simd or wgsl)');
  const where = o.runner ?? 'node';
  if (where !== 'node' && where !== 'browser') throw diag.usage(`--runner '${o.runner}': node or browser`);
  if (where === 'browser' && target === 'c') throw diag.tuneUnsupported('aic tune --runner browser --target c (the browser runner measures wasm-simd and wgsl)');
  if (!o.output) throw diag.usage('tune needs -o FILE (the tuning log, JSON lines)');
  const budgetMs = parseDuration(o.budget ?? '10m');
  const trials = Number(o.trials ?? 1000), seed = Number(o.seed ?? 1), reps = Number(o.reps ?? 10);
  if (!Number.isInteger(trials) || trials < 0) throw diag.usage(`--trials '${o.trials}': expected a non-negative integer`);
  if (!Number.isInteger(seed)) throw diag.usage(`--seed '${o.seed}': expected an integer`);
  if (!Number.isInteger(reps) || reps < 1) throw diag.usage(`--reps '${o.reps}': expected a positive integer`);
  const previous: TuneRecord[] = [];
  if (o.resume && fs.existsSync(o.output)) {
    const p = parseLog(new TextDecoder().decode(readFileOrThrow(o.output)), o.output);
    p.issues.forEach((i) => printWarning(tuningIssue(i)));
    previous.push(...p.records);
  }
  const g = await loadModel(model, parseShapeOptions(o.inputShape), true);
  const { graph } = optimize(g, o, undefined, undefined, passTarget(target));
  const fresh: TuneRecord[] = [];
  const out = o.output;
  const save = () => writeFileAtomic(out, previous.map(recordLine).join('') + fresh.map(recordLine).join(''));
  let check: ModelCheck | undefined;
  const res = tuneGraph(graph, {
    target, trials, budgetMs, seed, reps, previous, where,
    onRecord: (r) => { fresh.push(r); },
    onBatch: () => save(),
    onModelCheck: (m) => { check = m; },
  });
  // this run's confirmation is the last word on its workloads: earlier confirmed records of them no longer win
  const decided = new Set(res.map((r) => r.workload.key));
  previous.forEach((r, i) => { if (r.confirmed && r.target === target && decided.has(r.workload)) previous[i] = { ...r, confirmed: undefined }; });
  save();
  if (check?.error) printWarning(diag.tuneModelCheckFailed(model, check.error));
  process.stdout.write(resultTable(res));
  if (check) process.stdout.write(modelCheckText(check, res));
  process.stdout.write(`wrote ${out} (${fresh.length} records${previous.length ? `, ${previous.length} kept from before` : ''}; aic ${VERSION})\n`);
  return 0;
}

const collect = (v: string, prev: string[] = []) => prev.concat([v]);
type WithPipeline = <O extends { listPasses?: boolean }>(name: string, fn: (m: string, o: O) => Promise<number>) => (m: string | undefined, o: O) => Promise<void>;

export function registerTuneCommand(program: Command, withPipeline: WithPipeline): void {
  const cmd = program.command('tune')
    .description('search kernel schedules on this machine and log every measurement (aic compile --tuning-log applies the best)')
    .argument('[model]', 'an .onnx model or .aic DSL file')
    .option('--target <target>', 'c, wasm-simd or wgsl (on this process\'s WebGPU adapter: the GPU driver, else SwiftShader)')
    .option('--budget <duration>', 'stop starting measurements after this long (10m, 90s, 1h)', '10m')
    .option('--trials <n>', 'candidates to measure over all kernels, shared out by each kernel\'s share of the model\'s time', '1000')
    .option('--seed <n>', 'seed of the search and of the random inputs', '1')
    .option('--reps <n>', 'timed runs per measurement (after a warm-up); the median counts', '10')
    .option('-o, --output <file>', 'the tuning log to write (JSON lines)')
    .option('--resume', 'continue the log given by -o: its records are kept and not measured again')
    .option('--runner <runner>', 'node (this process: cc builds for c, V8 for wasm-simd, Dawn for wgsl) or browser (wasm-simd / wgsl timed in the browser that opens the printed URL)', 'node')
    .addOption(new Option('--input-shape <NAME=DIMS>', 'bind symbolic input dims, e.g. input=1x3x224x224 (repeatable)').argParser(collect))
    .addHelpText('after', `
Every candidate's outputs are checked against the default schedule's on random inputs before it may win.
Examples:
  aic tune model.onnx --target c --budget 5m -o tuning.jsonl
  aic tune model.onnx --target wasm-simd --runner browser -o tuning.jsonl   (then open the printed URL)
  aic compile model.onnx --target c --tuning-log tuning.jsonl -o out/`);
  addPipelineOptions(cmd).action(withPipeline('tune', (m, o: TuneOptions) => tuneCommand(m, o)));
}
