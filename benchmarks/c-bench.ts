/**
 * C target latency against ONNX Runtime, per model.
 *   npm run bench:c [-- [--runs N] [-O N] [--cpu] [--plain] [--profile [K]] [--no-ort] [--dir DIR] [--tuning-log DIR] NAME...]
 * --cpu: time CPU (user + system) instead of wall time, for a machine shared with other jobs: aic's
 *   harness under GNU time (samples of >= 1 s), ORT by process.cpuUsage() around session.run.
 * -O N: aic's optimization level (default 2; -O3 adds the channel-blocked NC16HW16 layout on C).
 * --profile K: also build with -DAIC_PROFILE and print the K slowest kernels per model (default 15);
 * --no-ort: skip ONNX Runtime (aic times only).
 * --tuning-log DIR: compile NAME with DIR/NAME.c.jsonl when it exists (`aic compile --tuning-log`;
 *   benchmarks/tune-bench.ts --log DIR writes them), else the default schedules.
 * For every NAME.onnx in ../shared/models (tests/fixtures/models when that folder is missing):
 *  - aic: load, optimize (-O2 unless -O says otherwise) for target c, compile (default schedules; --plain: none), build with
 *    the default flags (defaultCFlags, codegen/c/build.ts), check the output against NAME.output.npy
 *    (rtol 1e-3, atol 1e-4), then time: the generated harness runs the model REPS times per process
 *    (after one warm-up run) and the per-run time is (t(REPS+1) - t(1)) / REPS, so process start,
 *    weight loading and file I/O cancel out;
 *  - ORT: onnxruntime-node, CPU, intraOpNumThreads = interOpNumThreads = 1, graphOptimizationLevel
 *    'all', on the same input; per-run wall time of session.run.
 * aic and ORT are measured interleaved (N rounds of one aic sample, one ORT sample); medians are
 * reported with the ratio aic / ORT, the achieved GFLOP/s (FLOPs of the -O2 graph, from the ops'
 * `flops`) and the geomean ratio over the CNNs.
 * Measurements only: never gates tests.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import { Tensor, parseNpy, type RValue } from '@aic/core';
import { C_TARGET, buildC, compileFor, defaultCFlags, passTargetOf, prepareForRun, runC } from '@aic/codegen';
import { calibrateReps, harnessFiles, median, sampleMs } from './c-timing.ts';
import { loadModel } from '../packages/cli/src/model-io.ts';
import { optimize } from '../packages/cli/src/pipeline-options.ts';
import { logSchedules } from './tuning-log.ts';
import { modelStats } from '../packages/cli/src/stats.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const SHARED = path.resolve(ROOT, '../shared/models');
const FIXTURES = path.join(ROOT, 'tests/fixtures/models');
const dirAt = process.argv.indexOf('--dir'); // --dir DIR: NAME.onnx + NAME.input.npy + NAME.output.npy from elsewhere
const dir = dirAt > 0 ? path.resolve(process.argv[dirAt + 1]) : fs.existsSync(SHARED) ? SHARED : FIXTURES;
const CNNS = ['small_cnn', 'squeezenet1_1', 'mobilenet_v2', 'resnet18', 'shufflenet_v2_x1_0', 'efficientnet_b0'];

const args = process.argv.slice(2);
let runs = 7;
let plain = false;
let level = 2;
let cpu = false;
let profile = 0;
let noOrt = false;
let logDir = '';
const only: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--plain') plain = true;
  else if (args[i] === '-O') level = Number(args[++i]);
  else if (args[i] === '--cpu') cpu = true;
  else if (args[i] === '--profile') profile = /^\d+$/.test(args[i + 1] ?? '') ? Number(args[++i]) : 15;
  else if (args[i] === '--no-ort') noOrt = true;
  else if (args[i] === '--dir') i++;
  else if (args[i] === '--tuning-log') logDir = args[++i];
  else only.push(args[i]);
}
const models = fs.readdirSync(dir).filter((f) => f.endsWith('.onnx')).map((f) => f.slice(0, -5))
  .filter((n) => only.length === 0 || only.includes(n))
  .sort((a, b) => (CNNS.indexOf(a) < 0 ? 99 : CNNS.indexOf(a)) - (CNNS.indexOf(b) < 0 ? 99 : CNNS.indexOf(b)));


function matches(got: Tensor, want: Tensor, rtol = 1e-3, atol = 1e-4): { ok: boolean; worst: number } {
  const a = got.num, b = want.num;
  let ok = got.size === want.size, worst = 0;
  for (let i = 0; i < b.length; i++) {
    const err = Math.abs(a[i] - b[i]) - (atol + rtol * Math.abs(b[i]));
    if (!(err <= 0)) ok = false;
    if (err > worst || Number.isNaN(err)) worst = err;
  }
  return { ok, worst };
}

interface Row { model: string; aicMs: number; ortMs: number; gflop: number; ok: string; note?: string }

async function benchModel(name: string): Promise<Row> {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  const file = path.join(dir, meta.model ?? `${name}.onnx`);
  const feeds = new Map<string, RValue>();
  for (const i of meta.inputs) feeds.set(i.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, i.file)))));
  const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, meta.outputs[0].file))));

  // aic
  const g = await loadModel(file);
  const { graph } = optimize(g, {}, level, () => {}, passTargetOf(C_TARGET));
  prepareForRun(graph, feeds);
  const flops = modelStats(graph).flops;
  const tuned = logSchedules(logDir, name, 'c', graph);
  const compiled = compileFor(C_TARGET, graph, { version: 'bench', source: path.basename(file), sourceHash: '-', noSchedule: plain, schedules: tuned });
  const built = buildC(compiled.art, compiled.prog);
  const r = runC(built, compiled.art, compiled.prog, feeds);
  const got = r.outputs.get(meta.outputs[0].name)!;
  const m = matches(got, want);
  const files = harnessFiles(compiled.art, compiled.prog, feeds);
  if (profile) {
    const pb = buildC(compiled.art, compiled.prog, { cflags: [...defaultCFlags(), '-DAIC_PROFILE'] });
    const p = spawnSync(pb.exe, files.args(20), { encoding: 'utf8' });
    process.stderr.write(`${name}:\n${p.stderr.split('\n').slice(0, profile + 2).join('\n')}\n`);
  }
  const reps = calibrateReps(built, files, cpu ? 1000 : 300, cpu);

  // ORT
  const sess = await ort.InferenceSession.create(file, {
    intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const i of meta.inputs) {
    const t = feeds.get(i.name) as Tensor;
    ortFeeds[i.name] = new ort.Tensor(t.dtype === 'int64' ? 'int64' : 'float32',
      t.dtype === 'int64' ? BigInt64Array.from(Array.from(t.num as ArrayLike<number>, (x) => BigInt(x))) : Float32Array.from(t.num as ArrayLike<number>), t.shape);
  }
  if (!noOrt) await sess.run(ortFeeds);
  const ortOnce = async () => {
    if (noOrt) return NaN;
    if (cpu) { const c0 = process.cpuUsage(); await sess.run(ortFeeds); const c = process.cpuUsage(c0); return (c.user + c.system) / 1e3; }
    const t0 = performance.now(); await sess.run(ortFeeds); return performance.now() - t0;
  };
  const ortReps = Math.max(1, Math.min(200, Math.round(300 / Math.max(0.01, noOrt ? 300 : await ortOnce()))));

  const aicT: number[] = [], ortT: number[] = [];
  for (let k = 0; k < runs; k++) {
    aicT.push(sampleMs(built, files, reps, cpu));
    const o: number[] = [];
    for (let j = 0; j < ortReps; j++) o.push(await ortOnce());
    ortT.push(median(o));
  }
  files.dispose();
  return { model: name, aicMs: median(aicT), ortMs: median(ortT), gflop: flops / 1e9, ok: m.ok ? 'yes' : `NO (worst excess ${m.worst.toExponential(2)})` };
}

const rows: Row[] = [];
for (const name of models) {
  try {
    const row = await benchModel(name);
    rows.push(row);
    process.stderr.write(`${name}: aic ${row.aicMs.toFixed(2)} ms, ORT ${row.ortMs.toFixed(2)} ms\n`);
  } catch (e) {
    rows.push({ model: name, aicMs: NaN, ortMs: NaN, gflop: NaN, ok: 'error', note: (e as Error).message.split('\n')[0] });
    process.stderr.write(`${name}: ${(e as Error).message}\n`);
  }
}
const pad = (s: string, n: number) => s.padEnd(n);
const lines = [
  `C target vs ONNX Runtime (1 thread), median of ${runs} interleaved samples; ${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores; aic -O${level}${cpu ? '; CPU time' : ''}${plain ? '; --plain (no schedules)' : ''}`,
  `${pad('model', 20)} ${pad('aic ms', 10)} ${pad('ORT ms', 10)} ${pad('aic/ORT', 8)} ${pad('GFLOP', 7)} ${pad('aic GFLOP/s', 12)} ${pad('ORT GFLOP/s', 12)} matches`,
];
for (const r of rows) {
  lines.push(`${pad(r.model, 20)} ${pad(r.aicMs.toFixed(2), 10)} ${pad(r.ortMs.toFixed(2), 10)} ${pad((r.aicMs / r.ortMs).toFixed(2), 8)} ${pad(r.gflop.toFixed(3), 7)} ${pad((r.gflop / r.aicMs * 1e3).toFixed(1), 12)} ${pad((r.gflop / r.ortMs * 1e3).toFixed(1), 12)} ${r.ok}${r.note ? ` ${r.note}` : ''}`);
}
// models under 1 ms (small_cnn) are reported but kept out of the geomean: their times are mostly overhead
const cnn = rows.filter((r) => CNNS.includes(r.model) && Number.isFinite(r.aicMs / r.ortMs) && r.ortMs >= 1 && r.aicMs > 0);
if (cnn.length) {
  const geo = Math.exp(cnn.reduce((a, r) => a + Math.log(r.aicMs / r.ortMs), 0) / cnn.length);
  const worst = Math.max(...cnn.map((r) => r.aicMs / r.ortMs));
  lines.push(`geomean aic/ORT over ${cnn.length} CNN(s) of >= 1 ms (${cnn.map((r) => r.model).join(', ')}): ${geo.toFixed(2)}, worst ${worst.toFixed(2)} (target: geomean <= 1.25, none above 1.6)`);
}
process.stdout.write(lines.join('\n') + '\n');
process.exitCode = rows.some((r) => r.ok === 'error') ? 1 : 0;
