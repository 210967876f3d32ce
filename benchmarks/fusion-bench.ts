/**
 * npx tsx benchmarks/fusion-bench.ts --skip RULE[+RULE...] [--dir DIR]... [--budget SECONDS] [--profile] [MODEL...]
 *
 * What fusion rules buy at run time: each model compiled for wasm-simd twice, with the -O2 pipeline
 * and with the same pipeline whose `fuse` step leaves out the --skip rules (fuse{skip=...}), both
 * loaded in this one Node process (one thread) and run on the same input, interleaved (A, B, A, B...)
 * for --budget seconds per model (default 6). Prints both node counts and kernel counts, the median
 * times and the ratio with/without (< 1: the rules make it faster), and that both outputs agree.
 * Models: ../shared/models and each --dir (e.g. the output of scripts/export-mobilenet-v3.py).
 * Models whose median is under 1 ms are reported but left out of the geomean.
 * --profile: also every kernel timed on its own (kernels exported, each plan step called from JS,
 * A and B alternating per round, medians of 20 rounds) and summed per op: what a fused kernel costs
 * next to the kernels it replaced (e.g. SqueezeExcite in A against GlobalAveragePool + Mul + the
 * FusedConv difference in B), less exposed to the machine's load than whole runs.
 * Informational only: never gates a test.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor, parseNpy, type RValue } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { parsePipeline, pipelineFor, runPipeline, tensorDiff } from '@aic/passes';
import { passTarget } from '../codegen/targets.ts';
import { compileWasm, loadWasmSync, type WasmCompiled } from '../codegen/wasm/target.ts';

const args = process.argv.slice(2);
const valuesOf = (flag: string) => args.flatMap((a, i) => (a === flag && args[i + 1] ? [args[i + 1]] : []));
const skip = valuesOf('--skip')[0];
if (!skip) { console.error('usage: fusion-bench.ts --skip RULE[+RULE...] [--dir DIR]... [--budget SECONDS] [MODEL...]'); process.exit(2); }
const budget = Number(valuesOf('--budget')[0] ?? 6);
const dirs = [path.resolve(import.meta.dirname, '../../shared/models'), ...valuesOf('--dir').map((d) => path.resolve(d))].filter((d) => fs.existsSync(d));
const only = args.filter((a, i) => !a.startsWith('--') && !['--skip', '--dir', '--budget'].includes(args[i - 1] ?? ''));
const dirOf = new Map<string, string>();
for (const d of dirs) for (const f of fs.readdirSync(d)) if (f.endsWith('.json')) dirOf.set(f.slice(0, -5), d);
const models = [...dirOf.keys()].filter((n) => (only.length ? only.includes(n) : n !== 'tiny_bert')).sort();

const median = (xs: number[]) => { const s = xs.slice().sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const without = pipelineFor(2).map((st) => (st.pass.name === 'fuse' ? parsePipeline(`fuse{skip=${skip}}`)[0] : st));
const target = passTarget('wasm-simd');
const profile = args.includes('--profile');
type WA = { Instance: new (m: unknown, i: unknown) => { exports: Record<string, unknown> }; Module: new (b: Uint8Array) => unknown };

/** Each plan step as a call of its exported kernel, on a fresh instance holding the weights and inputs. */
function steps(c: WasmCompiled, feeds: Map<string, RValue>): { op: string; call: () => void }[] {
  const WAsm = (globalThis as unknown as { WebAssembly: WA }).WebAssembly;
  const host: Record<string, unknown> = {};
  for (const n of c.art.meta.imports) host[n] = n === 'fmod' ? (a: number, b: number) => a % b : (Math as unknown as Record<string, unknown>)[n];
  const inst = new WAsm.Instance(new WAsm.Module(c.art.wasm), { Math: host });
  const mem = new Uint8Array((inst.exports.memory as { buffer: ArrayBuffer }).buffer);
  if (c.art.weights && c.art.meta.weights) mem.set(c.art.weights, c.art.meta.weights.offset);
  for (const i of c.art.meta.inputs) {
    const d = (feeds.get(i.name) as Tensor).data as ArrayBufferView;
    mem.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), i.offset);
  }
  return c.art.steps.map((s) => {
    const f = inst.exports[s.kernel] as (...a: number[]) => void;
    return { op: c.prog.sources.get(s.kernel)?.op ?? 'copy', call: () => f(...s.args) };
  });
}

/** Per-op sums of kernel medians for A and B, rounds alternating between them. */
function profileOps(a: WasmCompiled, b: WasmCompiled, feeds: Map<string, RValue>): void {
  const sa = steps(a, feeds), sb = steps(b, feeds);
  const ta = sa.map(() => [] as number[]), tb = sb.map(() => [] as number[]);
  for (let r = 0; r < 22; r++) {
    for (const [ss, ts] of [[sa, ta], [sb, tb]] as const) ss.forEach((s, i) => { const t = performance.now(); s.call(); if (r >= 2) ts[i].push(performance.now() - t); });
  }
  const sum = (ss: typeof sa, ts: number[][]) => { const m = new Map<string, number>(); ss.forEach((s, i) => m.set(s.op, (m.get(s.op) ?? 0) + median(ts[i]))); return m; };
  const ma = sum(sa, ta), mb = sum(sb, tb);
  const ops = [...new Set([...ma.keys(), ...mb.keys()])].sort((x, y) => (mb.get(y) ?? ma.get(y) ?? 0) - (mb.get(x) ?? ma.get(x) ?? 0));
  const total = (m: Map<string, number>) => [...m.values()].reduce((p, q) => p + q, 0);
  console.log(`    kernel time by op (sum of step medians, ms, A / B): ${ops.map((o) => `${o} ${(ma.get(o) ?? 0).toFixed(3)} / ${(mb.get(o) ?? 0).toFixed(3)}`).join(', ')}; all ${total(ma).toFixed(3)} / ${total(mb).toFixed(3)}`);
}

console.log(`wasm-simd, one thread, interleaved; A = -O2, B = -O2 with fuse{skip=${skip}}; ratio = A / B (< 1: the rules make it faster)`);
console.log('| model | nodes A | nodes B | kernels A | kernels B | A ms | B ms | A / B | outputs agree |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
const ratios: number[] = [];
for (const name of models) {
  const dir = dirOf.get(name)!;
  const meta = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  const g0 = loadOnnxFile(path.join(dir, meta.model));
  const feeds = new Map<string, RValue>(meta.inputs.map((i: { name: string; file: string }) => [i.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, i.file))))]));
  const build = (steps: typeof without) => {
    const g = runPipeline(g0, steps, { target, out: () => {} }).graph;
    const compiled = compileWasm(g, { simd: true, version: 'bench', source: meta.model, sourceHash: '-', exportKernels: profile });
    const model = loadWasmSync(compiled);
    const feedObj = Object.fromEntries([...feeds].map(([k, v]) => [k, (v as Tensor).data as ArrayBufferView]));
    return { compiled, nodes: g.nodes.length, kernels: compiled.prog.kernels.length, run: () => model.runSync(feedObj) as Record<string, Float32Array> };
  };
  const a = build(pipelineFor(2)), b = build(without);
  const out = (o: Record<string, Float32Array>) => { const v = Object.values(o)[0]; return Tensor.fromNumbers('float32', [v.length], v); };
  const agree = tensorDiff(out(a.run()), out(b.run()), 1e-4, 1e-5) ?? 'yes';
  const ta: number[] = [], tb: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < budget * 1000 || ta.length < 5) {
    let s = performance.now(); a.run(); ta.push(performance.now() - s);
    s = performance.now(); b.run(); tb.push(performance.now() - s);
  }
  const ma = median(ta), mb = median(tb);
  if (mb >= 1) ratios.push(ma / mb);
  console.log(`| ${name} | ${a.nodes} | ${b.nodes} | ${a.kernels} | ${b.kernels} | ${ma.toFixed(2)} | ${mb.toFixed(2)} | ${(ma / mb).toFixed(3)}${mb < 1 ? ' (< 1 ms)' : ''} | ${agree} |`);
  if (profile) profileOps(a.compiled, b.compiled, feeds);
}
if (ratios.length) console.log(`\ngeomean A / B over ${ratios.length} models (>= 1 ms): ${Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length).toFixed(3)}`);
