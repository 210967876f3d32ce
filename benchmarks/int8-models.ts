/**
 * int8 vs fp32 whole models (a measurement, never a test gate): the shared model and its `aic quantize`
 * QDQ output, both compiled at -O2 (or --level 3; fuse-qdq turns the QDQ patterns into aic.QConv / aic.QMatMul), timed
 * in one process, interleaved, 1 thread, on the model's reference input; medians and time(int8)/time(fp32).
 * The ratio is also given as the median of each interleaved pair's ratio and as the ratio of the fastest
 * runs (both steadier than the ratio of medians on a shared machine whose load changes within a run).
 * Before timing, each compiled output is compared with the interpreter running the same optimized graph
 * (int8: max |difference| of the dequantized logits; fp32: max relative error), and compile times
 * (passes + codegen + C compiler) are reported.
 *   nice npx tsx benchmarks/int8-models.ts --q resnet18=/tmp/r18q.onnx [--q mobilenet_v2=...] [--target c|wasm-simd] [--runs N] [--cpu] [--no-ort] [--level 2|3]
 * Make a quantized model with: bin/aic quantize ../shared/models/resnet18.onnx --calibrate DIR -o /tmp/r18q.onnx
 * On wasm-simd, onnxruntime-web (wasm EP, numThreads 1, SIMD, graphOptimizationLevel 'all': its own QDQ
 * fusion into integer kernels) runs the same QDQ model and the fp32 model in the same interleaved loop:
 * aic int8 / ORT-web int8 is the figure the issue asks for (--no-ort: skip).
 * wasm-simd and ORT-web run in this thread, so with --cpu their times are this process's CPU time
 * (process.cpuUsage: time the thread is descheduled on a loaded shared machine does not count).
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parseNpy, Tensor, type RValue } from '@aic/core';
import { run } from '@aic/interp';
import { C_TARGET, WASM_SIMD_TARGET, buildC, compileFor, passTargetOf, prepareForRun, runC } from '@aic/codegen';
import { pipelineFor, runPipeline } from '@aic/passes';
import { loadWasmSync } from '../codegen/wasm/target.ts';
import { calibrateReps, harnessFiles, median, sampleMs } from './c-timing.ts';
import { loadModel } from '../packages/cli/src/model-io.ts';

const args = process.argv.slice(2);
const opt = (n: string) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const all = (n: string) => args.flatMap((a, i) => (a === n && args[i + 1] ? [args[i + 1]!] : []));
const runs = Number(opt('--runs') ?? 7);
const targets = opt('--target') ? [opt('--target')!] : ['wasm-simd', 'c'];
const dir = path.resolve(import.meta.dirname, '../../shared/models');
const withOrt = !args.includes('--no-ort');
const cpu = args.includes('--cpu');
/** ms now: wall clock, or (--cpu) this process's user + system CPU time */
const clock = (): number => { if (!cpu) return performance.now(); const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };
/** -O level of both builds (-O3: channel-blocked, int8 too where the target declares blockedInt8) */
const level = Number(opt('--level') ?? 2);
const quantized = all('--q').map((s) => s.split('=') as [string, string]);
if (!quantized.length) { console.error('usage: int8-models.ts --q MODEL=QUANTIZED.onnx ... [--target T] [--runs N] [--cpu] [--no-ort] [--level 2|3]'); process.exit(2); }

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>, rel: boolean): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (rel ? 1 + Math.abs(b[i]!) : 1));
  return m;
}

/** compile one model for a target; returns a timed runner (ms per run) after checking it against the interpreter */
async function runner(target: string, file: string, feeds: Map<string, RValue>, label: string): Promise<{ once: () => number; compileMs: number; err: number }> {
  const t = target === 'c' ? C_TARGET : WASM_SIMD_TARGET;
  const t0 = performance.now();
  const g = runPipeline(await loadModel(file), pipelineFor(level), { target: passTargetOf(t), out: () => {} }).graph;
  prepareForRun(g, feeds);
  const opts = { version: 'bench', source: path.basename(file), sourceHash: '-' };
  const outName = g.outputs[0]!.name;
  const want = run(g, feeds).get(outName) as Tensor;
  const rel = label === 'fp32';
  if (target === 'c') {
    const c = compileFor(C_TARGET, g, opts);
    const built = buildC(c.art, c.prog);
    const compileMs = performance.now() - t0;
    const got = runC(built, c.art, c.prog, feeds).outputs.get(outName) as Tensor;
    const files = harnessFiles(c.art, c.prog, feeds);
    process.on('exit', () => files.dispose());
    const reps = calibrateReps(built, files, 300);
    return { once: () => sampleMs(built, files, reps), compileMs, err: maxDiff(got.num, want.num, rel) };
  }
  const m = loadWasmSync(compileFor(WASM_SIMD_TARGET, g, opts).art);
  const compileMs = performance.now() - t0;
  const x = feeds.values().next().value as Tensor;
  const feed = { [g.inputs[0]!.name]: Float32Array.from(x.num) };
  const got = m.runSync(feed)[outName] as unknown as ArrayLike<number>;
  m.runSync(feed);
  return {
    once: () => { const s = clock(); m.runSync(feed); return clock() - s; },
    compileMs, err: maxDiff(got, want.num, rel),
  };
}

/** onnxruntime-web on one model: a timed runner (ms per run), its output checked against the interpreter's */
async function ortRunner(file: string, feeds: Map<string, RValue>, want: Tensor, outName: string): Promise<{ once: () => Promise<number>; err: number }> {
  const require = createRequire(import.meta.url);
  const ort = await import(pathToFileURL(require.resolve('onnxruntime-web')).href) as typeof import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  ort.env.logLevel = 'error';
  const session = await ort.InferenceSession.create(fs.readFileSync(file), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const [name, x] = feeds.entries().next().value as [string, Tensor];
  const of = { [name]: new ort.Tensor('float32', Float32Array.from(x.num), x.shape) };
  const got = (await session.run(of))[outName]!.data as Float32Array;
  await session.run(of);
  return { once: async () => { const s = clock(); await session.run(of); return clock() - s; }, err: maxDiff(got, want.num, false) };
}

for (const target of targets) {
  for (const [model, qfile] of quantized) {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, `${model}.json`), 'utf8'));
    const feeds = new Map<string, RValue>();
    for (const i of meta.inputs) feeds.set(i.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, i.file)))));
    const f = await runner(target, path.join(dir, meta.model ?? `${model}.onnx`), feeds, 'fp32');
    const q = await runner(target, qfile, feeds, 'int8');
    const ort = withOrt && target === 'wasm-simd';
    const want = run(runPipeline(await loadModel(qfile), pipelineFor(0), { out: () => {} }).graph, feeds);
    const outName = meta.outputs[0].name as string;
    const oq = ort ? await ortRunner(qfile, feeds, want.get(outName) as Tensor, outName) : undefined;
    const of = ort ? await ortRunner(path.join(dir, meta.model ?? `${model}.onnx`), feeds, want.get(outName) as Tensor, outName) : undefined;
    const tf: number[] = [], tq: number[] = [], toq: number[] = [], tof: number[] = [];
    for (let r = 0; r < runs; r++) {
      tf.push(f.once()); tq.push(q.once());
      if (oq && of) { toq.push(await oq.once()); tof.push(await of.once()); }
    }
    const mf = median(tf), mq = median(tq);
    if (oq && of) {
      console.log(`${target.padEnd(9)} ${model.padEnd(13)} ORT-web fp32 ${median(tof).toFixed(2)} ms  int8 ${median(toq).toFixed(2)} ms`
        + `  | aic int8 / ORT-web int8 x${(mq / median(toq)).toFixed(3)}, aic fp32 / ORT-web fp32 x${(mf / median(tof)).toFixed(3)}`
        + `  | ORT-web int8 vs interp QDQ max |d| ${oq.err.toExponential(2)}`);
    }
    // the ratio of each interleaved pair of runs, then their median: a load change that lasts a few runs
    // moves both times of a pair (the ratio of medians mixes runs from different moments); and the
    // ratio of the fastest runs, the least disturbed
    const paired = median(tq.map((t, i) => t / tf[i]!)), fastest = Math.min(...tq) / Math.min(...tf);
    console.log(`${target.padEnd(9)} ${model.padEnd(13)} fp32 ${mf.toFixed(2)} ms  int8 ${mq.toFixed(2)} ms  int8/fp32 x${(mq / mf).toFixed(3)}`
      + ` (median of paired ratios x${paired.toFixed(3)}, fastest runs x${fastest.toFixed(3)})`
      + `  | vs interp -O${level}: fp32 max rel ${f.err.toExponential(1)}, int8 max |d| ${q.err.toExponential(2)}`
      + `  | compile fp32 ${(f.compileMs / 1e3).toFixed(1)} s, int8 ${(q.compileMs / 1e3).toFixed(1)} s`);
  }
}
