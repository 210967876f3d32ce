/**
 * npx tsx benchmarks/wasm-bench.ts [MODEL...] [--budget SECONDS] [--dir DIR] [--target wasm-simd|wasm] [--no-simd] [--profile [N]] [--direct] [-O 2|3] [--tuning-log DIR]
 *
 * aic's WebAssembly module (through its generated model.mjs) vs onnxruntime-web (wasm EP,
 * numThreads=1, SIMD) on each model of ../shared/models that compiles, in one Node process:
 * interleaved runs, medians and their ratio (aic / ORT; < 1 = aic faster), compile time, .wasm size
 * next to ORT-web's runtime .wasm, GFLOP/s (the optimized graph's FLOPs, from the ops' definitions), and max error vs PyTorch.
 * --profile: also time every step of the plan (kernel functions exported and called one by one from
 * JS, medians of N runs, default 20) and print the N slowest kernels with their share of the run.
 * --direct: every conv computed directly (`algorithm direct`: no Winograd), to compare with the default.
 * --tuning-log DIR: compile MODEL with DIR/MODEL.wasm-simd.jsonl when it exists (`aic compile --tuning-log`;
 *   benchmarks/tune-bench.ts --log DIR writes them), else the default schedules.
 * Informational only: never gates a test.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { AicError, parseNpy, tensorFromBytes, type RValue, type Tensor } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { compileFor, getTarget, passTargetOf, type Target } from '@aic/codegen';
import { pipelineFor, runPipeline } from '@aic/passes';
import { writeWasmArtifact, type WasmCompiled } from '../codegen/wasm/target.ts';
import { timeWasmSteps } from '../codegen/wasm/profile.ts';
import { logSchedules } from './tuning-log.ts';
import { modelStats } from '../packages/cli/src/stats.ts';

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const budget = Number(opt('--budget') ?? 6);
const dir = path.resolve(opt('--dir') ?? path.join(import.meta.dirname, '../../shared/models'));
// the target, from the registry (--no-simd: the scalar `wasm` target)
const target = getTarget(opt('--target') ?? (args.includes('--no-simd') ? 'wasm' : 'wasm-simd')) as Target<WasmCompiled>;
if (!target?.forms.includes('wat')) throw new Error('--target: a WebAssembly target (wasm-simd, wasm)');
const profile = args.includes('--profile');
const direct = args.includes('--direct');
// -O 3: aic's channel-blocked pipeline (default -O2, the CLI's default)
const level = Number(opt('-O') ?? 2);
if (level !== 2 && level !== 3) throw new Error('-O: 2 or 3');
const profileTop = /^\d+$/.test(opt('--profile') ?? '') ? Number(opt('--profile')) : 20;
const logDir = opt('--tuning-log');
const names = args.filter((a, i) => !a.startsWith('-') && !/^\d+$/.test(a) && !['--budget', '--dir', '--target', '-O', '--tuning-log'].includes(args[i - 1] ?? ''));

const median = (xs: number[]) => { const s = xs.slice().sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1e-4 + Math.abs(want[i])));
  return worst;
}

interface Row { model: string; status: string; aicMs?: number; ortMs?: number; ratio?: number; compileMs?: number; wasmBytes?: number; gflops?: number; err?: string }

/** Per-kernel times: each step of the plan called from JS (kernels exported), medians over runs. */
function profileSteps(compiled: WasmCompiled, feeds: Record<string, ArrayBufferView>, top: number): void {
  const { art } = compiled;
  const tensors = new Map<string, RValue>();
  for (const i of art.meta.inputs) {
    const v = feeds[i.name];
    tensors.set(i.name, tensorFromBytes(i.dtype as Tensor['dtype'], i.shape, new Uint8Array(v.buffer, v.byteOffset, v.byteLength)));
  }
  const med = timeWasmSteps(compiled, tensors, 12);
  const byKernel = new Map<string, { ms: number; calls: number }>();
  art.steps.forEach((s, i) => {
    const k = byKernel.get(s.kernel) ?? { ms: 0, calls: 0 };
    k.ms += med[i]; k.calls++;
    byKernel.set(s.kernel, k);
  });
  const total = [...byKernel.values()].reduce((a, b) => a + b.ms, 0);
  console.log(`  profile: ${art.steps.length} steps, ${byKernel.size} kernels, sum of step medians ${total.toFixed(2)} ms`);
  for (const [k, v] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
    const src = compiled.prog.sources.get(k);
    const shape = src?.stages.find((st) => st.kind === 'compute')?.out.shape.join('x') ?? '';
    console.log(`  ${v.ms.toFixed(3).padStart(9)} ms ${(100 * v.ms / total).toFixed(1).padStart(5)}%  x${v.calls}  ${k}  [${shape}]`);
  }
}

async function main(): Promise<void> {
  const require = createRequire(import.meta.url);
  const ortPath = require.resolve('onnxruntime-web');
  const ort = await import(pathToFileURL(ortPath).href) as typeof import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  ort.env.logLevel = 'error';
  const ortDist = path.dirname(ortPath);
  const ortWasm = fs.readdirSync(ortDist).filter((f) => /^ort-wasm-simd-threaded\.wasm$/.test(f)).map((f) => fs.statSync(path.join(ortDist, f)).size)[0];
  const models = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).filter((m) => !names.length || names.includes(m)).sort();
  const rows: Row[] = [];
  for (const model of models) {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, `${model}.json`), 'utf8'));
    const row: Row = { model, status: 'ok' };
    rows.push(row);
    const g0 = loadOnnxFile(path.join(dir, meta.model));
    let flops = 0;
    let compiled;
    const t0 = performance.now();
    try {
      const g = runPipeline(g0, pipelineFor(level), { target: passTargetOf(target), out: () => {} }).graph;
      flops = modelStats(g).flops; // the ops' own FLOP counts, as benchmarks/c-bench.ts reports them
      // --direct: every kernel 'algorithm direct' (no Winograd), the baseline before kernel algorithms
      const schedules = direct ? new Map(g.nodes.map((n, i) => [`k${i}_${n.op.toLowerCase()}`, [{ d: 'algorithm' as const, name: 'direct' }]])) : logSchedules(logDir, model, target.name, g);
      compiled = compileFor(target, g, { version: 'bench', source: meta.model, sourceHash: '-', exportKernels: profile, schedules }).art;
    } catch (e) {
      row.status = e instanceof AicError ? `not compiled: ${e.message.split('\n')[0].slice(0, 100)}` : `crash: ${(e as Error).message.slice(0, 100)}`;
      console.log(`${model}: ${row.status}`);
      continue;
    }
    row.compileMs = performance.now() - t0;
    row.wasmBytes = compiled.art.wasm.length;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-wasm-bench-'));
    try {
      writeWasmArtifact(tmp, compiled);
      const { load } = await import(pathToFileURL(path.join(tmp, 'model.mjs')).href);
      const m = await load();
      const feeds: Record<string, ArrayBufferView> = {};
      const ortFeeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const i of meta.inputs) {
        const t = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, i.file)))) as Tensor;
        const arr = i.dtype === 'int64' ? BigInt64Array.from(Array.from(t.num, (x) => BigInt(x))) : Float32Array.from(t.num);
        feeds[i.name] = arr;
        ortFeeds[i.name] = new ort.Tensor(i.dtype === 'int64' ? 'int64' : 'float32', arr as Float32Array, i.shape);
      }
      const session = await ort.InferenceSession.create(fs.readFileSync(path.join(dir, meta.model)), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, meta.outputs[0].file)))) as Tensor;
      const outName = meta.outputs[0].name;
      const aicOut = (await m.run(feeds))[outName] as Float32Array;
      const ortOut = (await session.run(ortFeeds))[outName].data as Float32Array;
      row.err = `aic ${maxRelErr(aicOut, want.num).toExponential(1)} / ort ${maxRelErr(ortOut, want.num).toExponential(1)}`;
      // warm-up (V8 tiers kernels up to optimized code after their first calls), then interleaved timed runs
      for (let w = 0; w < 2; w++) { m.runSync(feeds); await session.run(ortFeeds); }
      const ta: number[] = [], to: number[] = [];
      const start = performance.now();
      while ((performance.now() - start < budget * 1000 && ta.length < 200) || ta.length < 3) {
        let s = performance.now(); m.runSync(feeds); ta.push(performance.now() - s);
        s = performance.now(); await session.run(ortFeeds); to.push(performance.now() - s);
      }
      row.aicMs = median(ta.slice(1));
      row.ortMs = median(to.slice(1));
      row.ratio = row.aicMs / row.ortMs;
      row.gflops = flops / (row.aicMs * 1e6);
      await session.release();
      if (profile) profileSteps(compiled, feeds, profileTop);
      console.log(`${model}: aic ${row.aicMs.toFixed(2)} ms, ort-web ${row.ortMs.toFixed(2)} ms, ratio ${row.ratio.toFixed(2)} (${ta.length} runs each)`);
    } catch (e) {
      row.status = `failed: ${(e as Error).message.slice(0, 120)}`;
      console.log(`${model}: ${row.status}`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  console.log(`\n| model | aic ms | ORT-web ms | aic/ORT | compile s | aic .wasm | ORT .wasm | aic GFLOP/s | max rel err (aic / ORT) |`);
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    if (r.aicMs === undefined) { console.log(`| ${r.model} | ${r.status} | | | | | | | |`); continue; }
    console.log(`| ${r.model} | ${r.aicMs.toFixed(2)} | ${r.ortMs!.toFixed(2)} | ${r.ratio!.toFixed(2)} | ${(r.compileMs! / 1000).toFixed(2)} | ${(r.wasmBytes! / 1024).toFixed(0)} KiB | ${(ortWasm / 1024 / 1024).toFixed(1)} MiB | ${r.gflops!.toFixed(2)} | ${r.err} |`);
  }
  const ratios = rows.filter((r) => r.ratio !== undefined).map((r) => r.ratio!);
  if (ratios.length) console.log(`\ngeomean aic/ORT-web: ${Math.exp(ratios.reduce((a, b) => a + Math.log(b), 0) / ratios.length).toFixed(2)} over ${ratios.length} models (${target.name} -O${level})`);
}

await main();
