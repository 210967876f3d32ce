/**
 * -O3 (NC4HW4 blocked kernels) against -O2 (row-major), side by side in one process, per model and
 * target (c, wasm-simd), on the same input, 1 thread:
 *   npx tsx benchmarks/o3-vs-o2.ts [--targets c,wasm-simd] [--runs N] [--budget SECONDS] [--dir DIR] [--int8] [NAME...]
 * --int8: -O3 with layout-nc4hw4{int8=on} (quantized models' int8 regions blocked too); the
 * last column then also says whether -O3's output equals -O2's exactly (int8 kernels are exact).
 * Both builds are checked against NAME.output.npy (rtol 1e-3, atol 1e-4) before timing. C: the
 * generated harness (c-timing.ts: per-run time from REPS-run processes, start-up cancelled); wasm-simd:
 * the generated model.mjs's runSync. Samples alternate -O2 / -O3; medians and the ratio
 * time(-O3) / time(-O2) are printed, with the geomean over the models whose -O2 time is >= 1 ms, and
 * the same from the fastest sample of each (less sensitive to a loaded machine: a sample can only be
 * slowed down by other work).
 * Measurements only: never gates a test.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseNpy, type RValue, type Tensor } from '@aic/core';
import { buildC, compileC, passTarget, prepareForRun, runC } from '@aic/codegen';
import { compileWasm, writeWasmArtifact } from '../codegen/wasm/target.ts';
import { calibrateReps, harnessFiles, median, sampleMs } from './c-timing.ts';
import { loadModel } from '../packages/cli/src/model-io.ts';
import { optimize } from '../packages/cli/src/pipeline-options.ts';
import { PIPELINES } from '../passes/pipelines.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const args0 = process.argv.slice(2);
const dirAt = args0.indexOf('--dir');
// models (NAME.json + NAME.onnx + its .npy files) from ../shared/models, or --dir (scripts/export-mobilenet-v3.py writes such a folder)
const SHARED = dirAt >= 0 ? path.resolve(args0[dirAt + 1]) : path.resolve(ROOT, '../shared/models');
const CNNS = ['small_cnn', 'squeezenet1_1', 'mobilenet_v2', 'resnet18', 'shufflenet_v2_x1_0', 'efficientnet_b0'];

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const targets = (opt('--targets') ?? 'c,wasm-simd').split(',');
const runs = Number(opt('--runs') ?? 7);
const budget = Number(opt('--budget') ?? 4);
const names = args.filter((a, i) => !a.startsWith('--') && !['--targets', '--runs', '--budget', '--dir'].includes(args[i - 1] ?? ''));
const int8 = args.includes('--int8');
const O3_INT8 = PIPELINES[3].map((p) => (p === 'layout-nc4hw4' ? 'layout-nc4hw4{int8=on}' : p)).join(',');
const models = names.length ? names : CNNS;

function ok(got: Tensor, want: Tensor): boolean {
  const a = got.num, b = want.num;
  if (a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (!(Math.abs(a[i] - b[i]) <= 1e-4 + 1e-3 * Math.abs(b[i]))) return false;
  return true;
}

/** A timed build: `sample()` is one per-run time in ms; `check` its output against the reference. */
interface Timed { sample: () => number; check: boolean; dispose: () => void; out: ArrayLike<number> }

async function buildFor(target: string, file: string, level: number, feeds: Map<string, RValue>, want: Tensor, outName: string): Promise<Timed> {
  const g = await loadModel(file);
  const { graph } = optimize(g, level === 3 && int8 ? { pipeline: O3_INT8 } : {}, level, () => {}, passTarget(target));
  prepareForRun(graph, feeds);
  if (target === 'c') {
    const compiled = compileC(graph, { version: 'bench', source: path.basename(file), sourceHash: '-' });
    const built = buildC(compiled.art, compiled.prog);
    const r = runC(built, compiled.art, compiled.prog, feeds);
    const files = harnessFiles(compiled.art, compiled.prog, feeds);
    const reps = calibrateReps(built, files, 200);
    return { sample: () => sampleMs(built, files, reps), check: ok(r.outputs.get(outName) as Tensor, want), dispose: files.dispose, out: (r.outputs.get(outName) as Tensor).num };
  }
  const compiled = compileWasm(graph, { simd: true, version: 'bench', source: path.basename(file), sourceHash: '-' });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-o3-'));
  writeWasmArtifact(tmp, compiled);
  const { load } = await import(pathToFileURL(path.join(tmp, 'model.mjs')).href);
  const m = await load();
  const inputs: Record<string, Float32Array> = {};
  for (const [k, v] of feeds) inputs[k] = Float32Array.from((v as Tensor).num);
  const out = (await m.run(inputs))[outName] as Float32Array;
  for (let w = 0; w < 2; w++) m.runSync(inputs);
  // one sample: the median of the runs that fit in a slice of the budget
  const sample = () => {
    const ts: number[] = [];
    const t0 = performance.now();
    while (ts.length < 3 || (performance.now() - t0 < budget * 1000 / runs && ts.length < 50)) {
      const s = performance.now(); m.runSync(inputs); ts.push(performance.now() - s);
    }
    return median(ts);
  };
  const got = { num: out } as unknown as Tensor;
  return { sample, check: ok(got, want), dispose: () => fs.rmSync(tmp, { recursive: true, force: true }), out };
}

interface Row { target: string; model: string; o2: number; o3: number; min2: number; min3: number; ok: string }
const rows: Row[] = [];
for (const target of targets) {
  for (const name of models) {
    const meta = JSON.parse(fs.readFileSync(path.join(SHARED, `${name}.json`), 'utf8'));
    const file = path.join(SHARED, meta.model);
    const feeds = new Map<string, RValue>();
    for (const i of meta.inputs) feeds.set(i.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(SHARED, i.file)))));
    const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(SHARED, meta.outputs[0].file))));
    try {
      const b2 = await buildFor(target, file, 2, feeds, want, meta.outputs[0].name);
      const b3 = await buildFor(target, file, 3, feeds, want, meta.outputs[0].name);
      const t2: number[] = [], t3: number[] = [];
      for (let k = 0; k < runs; k++) { t2.push(b2.sample()); t3.push(b3.sample()); }
      b2.dispose(); b3.dispose();
      const row = { target, model: name, o2: median(t2), o3: median(t3), min2: Math.min(...t2), min3: Math.min(...t3), ok: `${b2.check ? 'yes' : 'NO'} / ${b3.check ? 'yes' : 'NO'}${int8 ? `; -O3 == -O2: ${Array.from(b3.out).every((v, i) => v === b2.out[i]) ? 'yes' : 'NO'}` : ''}` };
      rows.push(row);
      console.log(`${target} ${name}: -O2 ${row.o2.toFixed(2)} ms, -O3 ${row.o3.toFixed(2)} ms, ratio ${(row.o3 / row.o2).toFixed(3)} (fastest: ${(row.min3 / row.min2).toFixed(3)}; match -O2/-O3: ${row.ok})`);
    } catch (e) {
      console.log(`${target} ${name}: failed: ${(e as Error).message.split('\n')[0].slice(0, 200)}`);
    }
  }
}
console.log('\n| target | model | -O2 ms | -O3 ms | -O3/-O2 (medians) | -O3/-O2 (fastest) | matches (-O2 / -O3) |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | --- |');
for (const r of rows) console.log(`| ${r.target} | ${r.model} | ${r.o2.toFixed(2)} | ${r.o3.toFixed(2)} | ${(r.o3 / r.o2).toFixed(3)} | ${(r.min3 / r.min2).toFixed(3)} | ${r.ok} |`);
for (const target of targets) {
  const rs = rows.filter((r) => r.target === target && r.o2 >= 1);
  if (!rs.length) continue;
  const g = Math.exp(rs.reduce((a, r) => a + Math.log(r.o3 / r.o2), 0) / rs.length);
  const gm = Math.exp(rs.reduce((a, r) => a + Math.log(r.min3 / r.min2), 0) / rs.length);
  const small = rows.filter((r) => r.target === target && r.o2 < 1).map((r) => r.model);
  console.log(`geomean -O3/-O2 on ${target}: ${g.toFixed(3)} (medians), ${gm.toFixed(3)} (fastest samples) over ${rs.length} models${small.length ? ` (under 1 ms, left out: ${small.join(', ')})` : ''}`);
}
