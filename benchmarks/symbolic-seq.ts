/**
 * tiny_bert with a dynamic sequence length (scripts/export-tiny-bert-dynseq.py): the artifact compiled
 * ONCE with 'S' as a run-time extent (--max-shape S=128) against the static artifact compiled for that
 * very length (--input-shape input=1xL), at the maximum and below. Both run the same input, checked
 * equal within 1e-5; then timed 1 thread, interleaved (S Y, Y S, ...): C through the generated harness
 * (REPS runs per process, start-up cancelled, see c-timing.ts), wasm-simd in this process through the
 * generated loader (runSync), wgsl in the WebGPU process (SwiftShader without a GPU: model.mjs's run()
 * including the read-back, 5 per sample). Medians and the ratio symbolic/static.
 *   npx tsx benchmarks/symbolic-seq.ts [--dir /tmp/dynseq] [--targets c,wasm-simd,wgsl] [--lengths 128,64,16] [--runs N]
 * Measurements only: never gates a test.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor, castTensor, tensorToBytes } from '@aic/core';
import { loadGraph, optimizeGraph } from '@aic/api/internal';
import { C_TARGET, WASM_SIMD_TARGET, WGSL_TARGET, buildC, compileFor, runC, type CArtifact, type Compiled } from '@aic/codegen';
import { loadWasmSync, runWasmSync, type WasmCompiled } from '../codegen/wasm/target.ts';
import { arrayClassOf } from '../codegen/wasm/loader.ts';
import { closeWgsl, runWgsl, runWgslSync, type WgslCompiled } from '../codegen/wgsl/target.ts';
import { excess } from '../tests/model-zoo.ts';
import { compileWithExtent, type ExtentTarget } from '../tests/extent-harness.ts';
import { calibrateReps, harnessFiles, median, sampleMs, timeReps } from './c-timing.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => { const i = args.indexOf(name); return i < 0 ? def : args[i + 1]!; };
const model = path.join(opt('--dir', '/tmp/dynseq'), 'tiny_bert_dynseq.onnx');
const targets = opt('--targets', 'c,wasm-simd').split(',') as ExtentTarget[];
const lengths = opt('--lengths', '128,64,16').split(',').map(Number);
const runs = Number(opt('--runs', '9'));

type Timer = () => number | Promise<number>;

/** ms per run of a C artifact (the extent harness takes the length after REPS). */
function cTimer(c: Compiled, feeds: Map<string, Tensor>, L: number): { time: Timer; dispose: () => void } {
  const art = c.art as CArtifact;
  const built = buildC(art, c.prog);
  const base = harnessFiles(art, c.prog, feeds);
  const files = c.prog.extents ? { args: (r: number) => { const a = base.args(r); return [a[0]!, a[1]!, String(L), ...a.slice(2)]; }, dispose: base.dispose } : base;
  const per = Math.max(1e-3, (timeReps(built, files, 51) - timeReps(built, files, 1)) / 50);
  const reps = Math.max(calibrateReps(built, files), Math.min(100000, Math.round(300 / per)));
  return { time: () => sampleMs(built, files, reps), dispose: files.dispose };
}

/** ms per run of a wasm artifact through its loader (inputs at their own lengths). */
function wasmTimer(c: Compiled, feeds: Map<string, Tensor>): Timer {
  const w = c.art as WasmCompiled;
  const m = loadWasmSync(w);
  const f: Record<string, ArrayBufferView> = {};
  for (const x of w.art.meta.inputs) {
    const t = feeds.get(x.name)!;
    const bytes = tensorToBytes(castTensor(t, x.dtype as Tensor['dtype']));
    f[x.name] = new (globalThis as unknown as Record<string, new (b: ArrayBufferLike, o: number, n: number) => ArrayBufferView>)[arrayClassOf(x.dtype)]!(bytes.buffer, bytes.byteOffset, t.size);
  }
  m.runSync(f);
  const t1 = performance.now(); m.runSync(f); const one = Math.max(0.01, performance.now() - t1);
  const reps = Math.max(1, Math.round(200 / one));
  return () => { const t0 = performance.now(); for (let i = 0; i < reps; i++) m.runSync(f); return (performance.now() - t0) / reps; };
}

/** ms per run of a WGSL artifact: 5 runs of model.mjs in the WebGPU process. */
const wgslTimer = (c: Compiled, feeds: Map<string, Tensor>): Timer => async () => (await runWgsl(c.art as WgslCompiled, feeds, { reps: 5 })).ms / 5;

const run1 = (c: Compiled, feeds: Map<string, Tensor>) => (c.target.name === 'c' ? runC(buildC(c.art as CArtifact, c.prog), c.art as CArtifact, c.prog, feeds).outputs
  : c.target.name === 'wgsl' ? runWgslSync(c.art as WgslCompiled, feeds) : runWasmSync(c.art as WasmCompiled, feeds));
const TARGETS = { c: C_TARGET, 'wasm-simd': WASM_SIMD_TARGET, wgsl: WGSL_TARGET } as const;

const rows: { target: string; L: number; s: number; y: number }[] = [];
for (const target of targets) {
  const sym = (await compileWithExtent(model, target, { S: 128 })).compiled;
  for (const L of lengths) {
    const x = new Tensor('int64', [1, L]);
    for (let i = 0; i < L; i++) x.num[i] = (i * 131 + 7) % 1000;
    const feeds = new Map([['input', x]]);
    const g = await loadGraph(model, { inputShapes: { input: [1, L] }, validate: true });
    const { graph } = optimizeGraph(g, { level: 2, target, out: () => {} });
    const st = compileFor(TARGETS[target] as typeof C_TARGET, graph, { version: 'bench', source: 'model', sourceHash: '-' }) as Compiled;
    const a = run1(st, feeds).get('output')!, b = run1(sym, feeds).get('output')!;
    if (excess(b.num, a.num, target === 'wgsl' ? 1e-4 : 1e-5, 1e-6).worst > 0) throw new Error(`${target} S=${L}: the symbolic artifact differs from the static one`);
    const cleanup: (() => void)[] = [];
    let ts: Timer, ty: Timer;
    if (target === 'c') { const p = cTimer(st, feeds, L), q = cTimer(sym, feeds, L); ts = p.time; ty = q.time; cleanup.push(p.dispose, q.dispose); } else if (target === 'wgsl') { ts = wgslTimer(st, feeds); ty = wgslTimer(sym, feeds); } else { ts = wasmTimer(st, feeds); ty = wasmTimer(sym, feeds); }
    const S: number[] = [], Y: number[] = [];
    for (let k = 0; k < runs; k++) { if (k % 2) { Y.push(await ty()); S.push(await ts()); } else { S.push(await ts()); Y.push(await ty()); } }
    cleanup.forEach((f) => f());
    rows.push({ target, L, s: median(S), y: median(Y) });
    process.stderr.write(`${target} S=${L}: static ${median(S).toFixed(3)} ms, symbolic ${median(Y).toFixed(3)} ms\n`);
  }
}
const lines = [`tiny_bert_dynseq, symbolic (compiled once, --max-shape S=128) vs static (compiled for S), median of ${runs} interleaved samples, 1 thread; ${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`,
  `${'target'.padEnd(10)} ${'S'.padStart(4)}  ${'static ms'.padEnd(10)} ${'symbolic ms'.padEnd(12)} sym/static`];
for (const r of rows) lines.push(`${r.target.padEnd(10)} ${String(r.L).padStart(4)}  ${r.s.toFixed(3).padEnd(10)} ${r.y.toFixed(3).padEnd(12)} ${(r.y / r.s).toFixed(3)}`);
process.stdout.write(lines.join('\n') + '\n');
closeWgsl();
