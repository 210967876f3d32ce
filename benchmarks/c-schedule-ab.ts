/**
 * npx tsx benchmarks/c-schedule-ab.ts MODEL.onnx VARIANT... [--rounds N] [-O 2|3]
 *
 * A/B of schedules on the C target: each VARIANT is `-` (the default schedules) or a `--schedule` file
 * (e.g. `kernel k0_fusedconv { algorithm direct-phases }`, a whole kernel block to try a tile); every
 * variant is compiled and built with the default flags, its output printed (first values, to see that
 * they agree), then timed by the generated harness (c-timing.ts: reps per process calibrated to ~200 ms
 * on the first variant) in N rounds interleaved across variants (default 7); the median per variant
 * is printed. Meant for small models of one or a few kernels (export one layer with PyTorch); on a
 * shared machine, compare variants of one run, not runs. Inputs are deterministic (sin(i)).
 * Informational: never gates a test.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import { Tensor } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { C_TARGET, buildC, compileFor, passTargetOf, runC } from '@aic/codegen';
import { pipelineFor, runPipeline } from '@aic/passes';
import { parseScheduleFile } from '@aic/loop-ir';
import { calibrateReps, harnessFiles, median, sampleMs } from './c-timing.ts';

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const rounds = Number(opt('--rounds') ?? 7);
const level = Number(opt('-O') ?? 2);
const taken = new Set(['--rounds', '-O'].flatMap((n) => { const i = args.indexOf(n); return i < 0 ? [] : [i, i + 1]; }));
const [model, ...variants] = args.filter((_, i) => !taken.has(i));
if (!model || !variants.length) throw new Error('usage: c-schedule-ab.ts MODEL.onnx VARIANT... (- or a --schedule file) [--rounds N] [-O 2|3]');

const g = () => runPipeline(loadOnnxFile(model), pipelineFor(level), { target: passTargetOf(C_TARGET), out: () => {} }).graph;
const g0 = g();
const feeds = new Map(g0.inputs.map((v) => {
  const t = new Tensor(v.dtype as 'float32', v.shape as number[]);
  for (let i = 0; i < t.num.length; i++) t.num[i] = Math.sin(i);
  return [v.name, t] as [string, Tensor];
}));
const builds = variants.map((v) => {
  const c = compileFor(C_TARGET, g(), { version: 'bench', source: model, sourceHash: '-', schedules: v === '-' ? undefined : parseScheduleFile(fs.readFileSync(v, 'utf8')) });
  const built = buildC(c.art, c.prog);
  const out = runC(built, c.art, c.prog, feeds).outputs.values().next().value as Tensor;
  return { v, built, files: harnessFiles(c.art, c.prog, feeds), first: Array.from(out.num.slice(0, 4), (x) => Number(x).toPrecision(6)) };
});
const reps = calibrateReps(builds[0]!.built, builds[0]!.files, 200);
const times: number[][] = builds.map(() => []);
for (let r = 0; r < rounds; r++) builds.forEach((b, i) => times[i]!.push(sampleMs(b.built, b.files, reps)));
console.log(`${model} on c, -O${level}; median of ${rounds} interleaved rounds of ${reps} runs per variant`);
builds.forEach((b, i) => console.log(`${b.v.padEnd(28)} ${median(times[i]!).toFixed(3)} ms   output ${b.first.join(' ')}`));
for (const b of builds) b.files.dispose();
