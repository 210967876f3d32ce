/**
 * Tuned vs default schedules, 1 thread: each model is tuned with a budget (aic tune's search, this
 * machine), its log applied (as `aic compile --tuning-log` does), then the default and tuned builds
 * are timed in this process, interleaved, on the same input; ratio = median tuned / median default.
 * c: the generated harness, (t(reps+1) - t(1)) / reps per sample (c-timing.ts); wasm-simd: the sum
 * of the per-step medians of every kernel called from JavaScript (codegen/wasm/profile.ts), V8.
 *   npx tsx benchmarks/tune-bench.ts --target c|wasm-simd [-O 2|3] [--budget 3m] [--trials N] [--runs N] [--log DIR] [--from-log DIR] NAME...
 * -O 3: the channel-blocked pipeline (tuned and default both at that level; default 2).
 * --log DIR writes DIR/NAME.TARGET.jsonl; --from-log DIR times with that log instead of tuning again.
 * NAME: a model of ../shared/models (squeezenet1_1, resnet18...). Measurements only: never gates tests.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseNpy, type RValue } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { C_TARGET, WASM_SIMD_TARGET, buildC, compileFor, outputsAgree, passTarget, prepareForRun, recordLine, runC, timeWasmSteps, type ModelCheck, type TuneRecord, type WasmCompiled } from '@aic/codegen';
import { tuneGraph, tuningLogSchedules } from '@aic/api/internal';
import type { Directive } from '@aic/loop-ir';
import { optimize } from '../packages/cli/src/pipeline-options.ts';
import { modelCheckText, parseDuration } from '../packages/cli/src/commands/tune.ts';
import { calibrateReps, harnessFiles, median, sampleMs } from './c-timing.ts';

const DIR = process.env.AIC_SHARED_MODELS ?? path.resolve(import.meta.dirname, '../../shared/models');
const args = process.argv.slice(2);
const opt = (k: string, d: string) => { const i = args.indexOf(k); if (i < 0) return d; const v = args[i + 1]; args.splice(i, 2); return v; };
const target = opt('--target', 'c'), budgetMs = parseDuration(opt('--budget', '3m')), trials = Number(opt('--trials', '1000')), runs = Number(opt('--runs', '7')), logDir = opt('--log', ''), fromLog = opt('--from-log', ''), level = Number(opt('-O', '2'));
if (level !== 2 && level !== 3) throw new Error('-O 2 or 3');
if (target !== 'c' && target !== 'wasm-simd') throw new Error('--target c or wasm-simd');

function timer(schedules: Map<string, Directive[]> | undefined, graph: ReturnType<typeof loadOnnxFile>, feeds: Map<string, RValue>) {
  const opts = { version: 'bench', source: 'bench', sourceHash: '-', schedules };
  if (target === 'c') {
    const c = compileFor(C_TARGET, graph, opts);
    const built = buildC(c.art, c.prog);
    const files = harnessFiles(c.art, c.prog, feeds);
    const reps = calibrateReps(built, files, 200);
    return { outputs: runC(built, c.art, c.prog, feeds).outputs, sample: () => sampleMs(built, files, reps), dispose: files.dispose };
  }
  const c = compileFor(WASM_SIMD_TARGET, graph, { ...opts, exportKernels: true });
  const w = c.art as WasmCompiled;
  return { outputs: WASM_SIMD_TARGET.runCompiledSync!(c, feeds), sample: () => timeWasmSteps(w, feeds, 5).reduce((a, b) => a + b, 0), dispose: () => {} };
}

const rows: string[] = [];
const ratios: { name: string; ratio: number; ms: number }[] = [];
for (const name of args) {
  const meta = JSON.parse(fs.readFileSync(path.join(DIR, `${name}.json`), 'utf8'));
  const feeds = new Map<string, RValue>();
  for (const i of meta.inputs) feeds.set(i.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(DIR, i.file)))));
  const { graph } = optimize(loadOnnxFile(path.join(DIR, meta.model)), {}, level, () => {}, passTarget(target));
  prepareForRun(graph, feeds);
  const recs: TuneRecord[] = [];
  const t0 = performance.now();
  let check: ModelCheck | undefined;
  const res = fromLog ? [] : tuneGraph(graph, { target, trials, budgetMs, seed: 1, onRecord: (r) => recs.push(r), onModelCheck: (m) => { check = m; } });
  const tuneS = (performance.now() - t0) / 1000;
  const text = fromLog ? fs.readFileSync(path.join(fromLog, `${name}.${target}.jsonl`), 'utf8') : recs.map(recordLine).join('');
  if (logDir) { fs.mkdirSync(logDir, { recursive: true }); fs.writeFileSync(path.join(logDir, `${name}.${target}.jsonl`), text); }
  const applied = tuningLogSchedules(graph, target, [{ file: `${name}.jsonl`, text }]);
  const def = timer(undefined, graph, feeds), tuned = timer(applied.schedules, graph, feeds);
  const same = outputsAgree(tuned.outputs, def.outputs);
  const a: number[] = [], b: number[] = [];
  for (let r = 0; r < runs; r++) { a.push(def.sample()); b.push(tuned.sample()); }
  def.dispose(); tuned.dispose();
  const ratio = median(b) / median(a);
  const nTrials = res.reduce((s, r) => s + r.trials, 0), nRej = res.reduce((s, r) => s + r.rejected, 0);
  const line = `${name.padEnd(20)} ${target.padEnd(9)} default ${median(a).toFixed(3)} ms  tuned ${median(b).toFixed(3)} ms  tuned/default ${ratio.toFixed(3)}  `
    + `(${applied.kernels} kernels tuned, ${nTrials} trials, ${nRej} rejected, tuning ${tuneS.toFixed(0)} s, outputs ${same ? 'agree' : 'DIFFER'})`;
  console.log(line);
  if (check) console.log(modelCheckText(check, res).trimEnd().replace(/^/gm, '    '));
  rows.push(line);
  ratios.push({ name, ratio, ms: median(a) });
}
// geomean over the models whose default takes >= 1 ms (smaller ones are reported, not averaged)
const kept = ratios.filter((r) => r.ms >= 1);
if (kept.length) console.log(`geomean tuned/default (${target}, ${kept.map((r) => r.name).join(', ')}): ${Math.exp(kept.reduce((s, r) => s + Math.log(r.ratio), 0) / kept.length).toFixed(3)}`);
