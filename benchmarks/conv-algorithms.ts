/**
 * Conv algorithms on the zoo, C target, 1 thread: every model built four ways — the cost model's
 * choice (auto), every conv direct, every Winograd-able conv (3x3 stride 1, one group) F(2,3), and
 * F(4,3) — each output checked against the PyTorch output (rtol 1e-3, atol 1e-4) and compared with the
 * all-direct build (max abs difference: Winograd's rounding), then timed interleaved (median per model).
 *   npx tsx benchmarks/conv-algorithms.ts [--runs N] [NAME...]
 * Measurements only: never gates tests.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseNpy, type RValue, type Tensor } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { C_CAPS, buildC, compileC, lowerGraph, passTarget, prepareForRun, runC } from '@aic/codegen';
import type { Directive } from '@aic/loop-ir';
import { optimize } from '../packages/cli/src/pipeline-options.ts';
import { excess } from '../tests/model-zoo.ts';
import { calibrateReps, harnessFiles, median, sampleMs } from './c-timing.ts';
import { convInfo } from '../codegen/schedule/algorithms/conv-info.ts';
import { winogradApplies } from '../codegen/schedule/algorithms/winograd.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIR = process.env.AIC_SHARED_MODELS ?? path.resolve(ROOT, '../shared/models');
const args = process.argv.slice(2);
let runs = 5;
const only: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else only.push(args[i]);
}
const VARIANTS = ['auto', 'direct', 'F(2,3)', 'F(4,3)'] as const;
const lines: string[] = [];
for (const f of fs.readdirSync(DIR).filter((x) => x.endsWith('.json')).sort()) {
  const name = f.slice(0, -5);
  if (only.length && !only.includes(name)) continue;
  const meta = JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8'));
  const feeds = new Map<string, RValue>();
  for (const i of meta.inputs) feeds.set(i.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(DIR, i.file)))));
  const graph = () => {
    const { graph: g } = optimize(loadOnnxFile(path.join(DIR, meta.model)), {}, 2, () => {}, passTarget('c'));
    prepareForRun(g, feeds);
    return g;
  };
  // the convs each variant forces
  const probe = lowerGraph(graph(), C_CAPS);
  const convs = [...probe.sources.keys()].filter((k) => convInfo(probe, k));
  const wino = convs.filter((k) => winogradApplies(convInfo(probe, k)!));
  const force = (ks: string[], d: Directive) => new Map(ks.map((k) => [k, [d]]));
  const schedules: (Map<string, Directive[]> | undefined)[] = [
    undefined,
    force(convs, { d: 'algorithm', name: 'direct' }),
    force(wino, { d: 'algorithm', name: 'winograd', params: [2, 3] }),
    force(wino, { d: 'algorithm', name: 'winograd', params: [4, 3] }),
  ];
  const builds = schedules.map((s) => {
    const c = compileC(graph(), { version: 'bench', source: name, sourceHash: '-', schedules: s });
    return { c, b: buildC(c.art, c.prog) };
  });
  const outs = builds.map(({ c, b }) => runC(b, c.art, c.prog, feeds).outputs);
  const ok = outs.map((o) => meta.outputs.every((x: { name: string; file: string }) =>
    excess((o.get(x.name) as Tensor).num, parseNpy(new Uint8Array(fs.readFileSync(path.join(DIR, x.file)))).num, 1e-3, 1e-4).worst <= 0));
  const diff = outs.map((o) => Math.max(...meta.outputs.map((x: { name: string }) => {
    const a = (o.get(x.name) as Tensor).num, b = (outs[1].get(x.name) as Tensor).num;
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
  })));
  // each build has its own weights (Winograd's are transformed)
  const files = builds.map(({ c }) => harnessFiles(c.art, c.prog, feeds));
  const reps = calibrateReps(builds[0].b, files[0]);
  const t: number[][] = builds.map(() => []);
  for (let r = 0; r < runs; r++) builds.forEach(({ b }, j) => t[j].push(sampleMs(b, files[j], reps)));
  for (const f of files) f.dispose();
  const ms = t.map(median);
  const row = `${name.padEnd(20)} ${String(wino.length).padStart(3)}/${String(convs.length).padEnd(4)} ${ms.map((x) => x.toFixed(2).padEnd(9)).join(' ')} ${diff.slice(2).map((d) => d.toExponential(2).padEnd(10)).join(' ')} ${ok.map((x, k) => (x ? '' : `${VARIANTS[k]} WRONG`)).filter(Boolean).join(', ') || 'yes'}`;
  process.stderr.write(row + '\n');
  lines.push(row);
}
process.stdout.write([
  `C target, 1 thread, median of ${runs} interleaved samples; ${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores`,
  `${'model'.padEnd(20)} wino/conv ${VARIANTS.map((v) => `${v} ms`.padEnd(9)).join(' ')} ${'|F2-dir|'.padEnd(10)} ${'|F4-dir|'.padEnd(10)} matches`,
  ...lines,
].join('\n') + '\n');
