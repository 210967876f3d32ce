/**
 * A symbolic-batch artifact at batch 1 against the static one (issue 13 item 6: within 10%). Each
 * model is compiled twice at -O2 for the target: static ([1, ...] as the model declares) and with
 * --input-shape input=Nx... (one program for one sample, run per sample by aic_model_run_batch /
 * the loader). Both run the same input at batch 1, checked equal; then timed 1 thread, interleaved
 * (S Y, Y S, ...): C through the generated harness (REPS runs per process, start-up cancelled, see
 * c-timing.ts), wasm-simd in this process through the generated loader (runSync). Medians and the
 * ratio symbolic/static; the geomean leaves out models under 1 ms.
 *   npx tsx benchmarks/symbolic-batch.ts [--targets c,wasm-simd] [--runs N] [MODEL...]
 * Measurements only: never gates a test.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as os from 'node:os';
import type { Tensor } from '@aic/core';
import { castTensor, tensorToBytes } from '@aic/core';
import type { BuildResult, CArtifact, Program } from '@aic/codegen';
import { buildC } from '@aic/codegen';
import { loadWasmSync, type WasmCompiled } from '../codegen/wasm/target.ts';
import { arrayClassOf } from '../codegen/wasm/loader.ts';
import { HAVE_SHARED, LARGE, zooModel, excess } from '../tests/model-zoo.ts';
import { compileSymbolic, type SymTarget } from '../tests/symbolic-harness.ts';
import { calibrateReps, harnessFiles, median, sampleMs, timeReps, type HarnessFiles } from './c-timing.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => { const i = args.indexOf(name); if (i < 0) return def; const v = args[i + 1]!; args.splice(i, 2); return v; };
const targets = opt('--targets', 'c,wasm-simd').split(',') as SymTarget[];
const runs = Number(opt('--runs', '9'));
const names = args.length ? args : ['small_cnn', 'squeezenet1_1', 'tiny_bert', ...(HAVE_SHARED ? LARGE : [])];

/** A timer for one artifact at batch 1: ms per run. */
type Timer = () => number;

function cTimer(art: CArtifact, prog: Program, feeds: Map<string, Tensor>): { time: Timer; dispose: () => void; built: BuildResult } {
  const built = buildC(art, prog);
  const base = harnessFiles(art, prog, feeds);
  // the batch harness takes the batch after REPS
  const files: HarnessFiles = prog.batch ? { args: (r) => { const a = base.args(r); return [a[0]!, a[1]!, '1', ...a.slice(2)]; }, dispose: base.dispose } : base;
  // runs per sample for about 300 ms (200 runs measure one run's time where process start-up would hide it)
  const per = Math.max(1e-3, (timeReps(built, files, 201) - timeReps(built, files, 1)) / 200);
  const reps = Math.max(calibrateReps(built, files), Math.min(100000, Math.round(300 / per)));
  return { time: () => sampleMs(built, files, reps), dispose: files.dispose, built };
}

function wasmTimer(c: WasmCompiled, feeds: Map<string, Tensor>): Timer {
  const m = loadWasmSync(c);
  const f: Record<string, ArrayBufferView> = {};
  for (const x of c.art.meta.inputs) {
    const bytes = tensorToBytes(castTensor(feeds.get(x.name)!, x.dtype as Tensor['dtype']));
    const C = (globalThis as unknown as Record<string, new (b: ArrayBufferLike, o: number, n: number) => ArrayBufferView>)[arrayClassOf(x.dtype)]!;
    f[x.name] = new C(bytes.buffer, bytes.byteOffset, x.length);
  }
  m.runSync(f);
  const t1 = performance.now(); m.runSync(f); const one = Math.max(0.01, performance.now() - t1);
  const reps = Math.max(1, Math.round(200 / one));
  return () => { const t0 = performance.now(); for (let i = 0; i < reps; i++) m.runSync(f); return (performance.now() - t0) / reps; };
}

const rows: { model: string; target: string; s: number; y: number }[] = [];
for (const name of names) {
  const z = zooModel(name);
  const [inName, x] = [...z.inputs][0]!;
  const outName = [...z.outputs.keys()][0]!;
  const feeds = new Map([[inName, x]]);
  for (const target of targets) {
    const st = await compileSymbolic(z.onnx, target, {});
    const sy = await compileSymbolic(z.onnx, target, { [inName]: ['N', ...x.shape.slice(1)] });
    const a = st.run(feeds).get(outName)!, b = sy.run(feeds).get(outName)!;
    if (excess(b.num, a.num, 1e-5, 1e-6).worst > 0) throw new Error(`${name} ${target}: the symbolic artifact differs from the static one at batch 1`);
    let ts: Timer, ty: Timer;
    const cleanup: (() => void)[] = [];
    if (target === 'c') {
      const p = cTimer(st.compiled.art as CArtifact, st.compiled.prog, feeds), q = cTimer(sy.compiled.art as CArtifact, sy.compiled.prog, feeds);
      ts = p.time; ty = q.time; cleanup.push(p.dispose, q.dispose);
    } else {
      ts = wasmTimer(st.compiled.art as WasmCompiled, feeds); ty = wasmTimer(sy.compiled.art as WasmCompiled, feeds);
    }
    const S: number[] = [], Y: number[] = [];
    // interleaved, the order alternating per round (S Y, Y S, ...)
    for (let k = 0; k < runs; k++) { if (k % 2) { Y.push(ty()); S.push(ts()); } else { S.push(ts()); Y.push(ty()); } }
    cleanup.forEach((f) => f());
    const row = { model: name, target, s: median(S), y: median(Y) };
    rows.push(row);
    process.stderr.write(`${name} ${target}: static ${row.s.toFixed(3)} ms, symbolic ${row.y.toFixed(3)} ms, ratio ${(row.y / row.s).toFixed(3)}\n`);
  }
}
const lines = [`batch 1, median of ${runs} interleaved samples, 1 thread; ${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`,
  `${'model'.padEnd(20)} ${'target'.padEnd(10)} ${'static ms'.padEnd(10)} ${'symbolic ms'.padEnd(12)} sym/static`];
for (const r of rows) lines.push(`${r.model.padEnd(20)} ${r.target.padEnd(10)} ${r.s.toFixed(3).padEnd(10)} ${r.y.toFixed(3).padEnd(12)} ${(r.y / r.s).toFixed(3)}${r.s < 1 ? '  (under 1 ms: not in the geomean)' : ''}`);
for (const t of targets) {
  const big = rows.filter((r) => r.target === t && r.s >= 1);
  if (big.length) lines.push(`geomean sym/static on ${t} over ${big.length} model(s) of >= 1 ms: ${Math.exp(big.reduce((a, r) => a + Math.log(r.y / r.s), 0) / big.length).toFixed(3)}`);
}
process.stdout.write(lines.join('\n') + '\n');
