/**
 * npx tsx benchmarks/wasm-schedule-ab.ts MODEL.onnx VARIANT... [--reps N] [-O 2|3]
 *
 * A/B of schedules on wasm-simd in one Node process: each VARIANT is `-` (the default schedules), NAME=VALUE (the
 * default schedules compiled with that environment variable set) or a
 * `--schedule` file (e.g. `kernel k0_fusedconv { algorithm direct }`, `kernel k3_fusedconv { pad-copy whole }`); every variant is compiled,
 * instantiated once, and the whole plan is called N times (default 120) interleaved across variants,
 * each call timed (wall and process CPU time); the fastest call of each is printed with the GFLOP/s
 * of the model's Conv FLOPs, and each variant's outputs are compared with the first variant's (max
 * |difference| over max |output|; DIFFERENT above 1e-4: a schedule never changes results beyond
 * rounding, an algorithm's rounding included). Meant for small single-kernel models (0.3-2 ms a call): on a shared
 * machine a short call is the one likely to run undisturbed, so the fastest of many is stable where
 * medians of long kernels are not. Inputs are deterministic (sin(i)). Informational: never gates a test.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import { Tensor, castTensor, elementWidth, tensorFromBytes, tensorToBytes } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { compileFor, getTarget, passTargetOf, type Target } from '@aic/codegen';
import { pipelineFor, runPipeline } from '@aic/passes';
import { parseScheduleFile } from '@aic/loop-ir';
import type { WasmCompiled } from '../codegen/wasm/target.ts';

const args = process.argv.slice(2);
const ri = args.indexOf('--reps');
const reps = ri >= 0 ? Number(args[ri + 1]) : 120;
const oi = args.indexOf('-O'); // -O 3: the channel-blocked pipeline (default 2)
const level = oi >= 0 ? Number(args[oi + 1]) : 2;
const taken = new Set([...(ri >= 0 ? [ri, ri + 1] : []), ...(oi >= 0 ? [oi, oi + 1] : [])]);
const [model, ...variants] = args.filter((_, i) => !taken.has(i));
if (!model || !variants.length) throw new Error('usage: wasm-schedule-ab.ts MODEL.onnx VARIANT... (- or a --schedule file) [--reps N]');
const target = getTarget('wasm-simd') as Target<WasmCompiled>;
const g = runPipeline(loadOnnxFile(model), pipelineFor(level), { target: passTargetOf(target), out: () => {} }).graph;
let flops = 0;
for (const n of g.nodes) {
  if (!/Conv$/.test(n.op)) continue;
  const w = n.inputs[1]!.shape as number[], y = n.outputs[0].shape as number[];
  flops += 2 * y.reduce((a, b) => a * b, 1) * w.slice(1).reduce((a, b) => a * b, 1);
}
type Inst = { exports: Record<string, unknown> & { memory: { buffer: ArrayBuffer } } };
const WA = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => unknown; Instance: new (m: unknown, i: object) => Inst } }).WebAssembly;
const runners = variants.map((v) => {
  // NAME=VALUE: the default schedules compiled with that environment variable set
  const env = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(v), old = env ? process.env[env[1]] : undefined;
  if (env) process.env[env[1]] = env[2];
  const { art } = compileFor(target, g, { version: 'bench', source: model, sourceHash: '-', exportKernels: true, schedules: v === '-' || env ? undefined : parseScheduleFile(fs.readFileSync(v, 'utf8')) }).art;
  if (env) { if (old === undefined) delete process.env[env[1]]; else process.env[env[1]] = old; }
  const host: Record<string, unknown> = {};
  for (const n of art.meta.imports) host[n] = n === 'fmod' ? (a: number, b: number) => a % b : (Math as unknown as Record<string, unknown>)[n];
  const inst = new WA.Instance(new WA.Module(art.wasm), { Math: host });
  const mem = new Uint8Array(inst.exports.memory.buffer);
  if (art.weights && art.meta.weights) mem.set(art.weights, art.meta.weights.offset);
  for (const i of art.meta.inputs) {
    const t = new Tensor('float32', i.shape as number[]);
    for (let k = 0; k < t.num.length; k++) t.num[k] = Math.sin(k);
    mem.set(tensorToBytes(castTensor(t, i.dtype as Tensor['dtype'])), i.offset);
  }
  const fns = art.steps.map((s) => () => (inst.exports[s.kernel] as (...a: number[]) => void)(...s.args));
  const run = () => { for (const f of fns) f(); };
  // the outputs after one call, to check that every variant computes what the first one does
  run();
  const outs = art.meta.outputs.map((o) => tensorFromBytes(o.dtype as Tensor['dtype'], o.shape, new Uint8Array(inst.exports.memory.buffer).slice(o.offset, o.offset + o.length * elementWidth(o.dtype as Tensor['dtype']))));
  return { run, outs };
});
const diffs = runners.map((r) => Math.max(0, ...r.outs.map((t, k) => {
  const ref = runners[0].outs[k];
  let d = 0, scale = 0;
  for (let j = 0; j < t.num.length; j++) { d = Math.max(d, Math.abs(Number(t.num[j]) - Number(ref.num[j]))); scale = Math.max(scale, Math.abs(Number(ref.num[j]))); }
  return d / (scale || 1);
})));
const wall = runners.map(() => Infinity), cpu = runners.map(() => Infinity);
for (let r = 0; r < reps + 3; r++) {
  runners.forEach(({ run }, i) => {
    const t0 = performance.now(), c0 = process.cpuUsage();
    run();
    const c1 = process.cpuUsage(c0), t1 = performance.now();
    if (r >= 3) { wall[i] = Math.min(wall[i], t1 - t0); cpu[i] = Math.min(cpu[i], (c1.user + c1.system) / 1000); }
  });
}
console.log(`${model} on wasm-simd, 1 thread; fastest of ${reps} interleaved calls per variant`);
variants.forEach((v, i) => console.log(`${v.padEnd(28)} wall ${wall[i].toFixed(3)} ms ${(flops / wall[i] / 1e6).toFixed(1)} GFLOP/s | cpu ${cpu[i].toFixed(3)} ms${i ? ` | outputs vs first: max |d| / max |y| ${diffs[i].toExponential(1)}${diffs[i] > 1e-4 ? ' DIFFERENT' : ''}` : ''}`));
