/**
 * What C compiler flags cost: every zoo model ($AIC_SHARED_MODELS or ../shared/models, and
 * tests/fixtures/models) built
 * with each flag set (default: A = defaultCFlags(); B = A plus the old global GCC/AVX-512 workaround flag), every build
 * checked against the PyTorch output (rtol 1e-3, atol 1e-4), then timed 1 thread, interleaved
 * (A B C A B C ...), median per model (see c-timing.ts), ratios X/A and their geomean over the models
 * that take at least 1 ms.
 *   npx tsx benchmarks/c-flags.ts [--runs N] [--flags "FLAGS"]... [NAME...]
 * Measurements only: never gates tests.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor, parseNpy, type RValue } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { C_TARGET, GCC_AVX512_CFLAGS, buildC, compileFor, defaultCFlags, passTargetOf, prepareForRun, runC } from '@aic/codegen';
import { optimize } from '../packages/cli/src/pipeline-options.ts';
import { excess } from '../tests/model-zoo.ts';
import { calibrateReps, harnessFiles, median, sampleMs } from './c-timing.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIRS = [process.env.AIC_SHARED_MODELS ?? path.resolve(ROOT, '../shared/models'), path.join(ROOT, 'tests/fixtures/models')].filter((d) => fs.existsSync(d));
const args = process.argv.slice(2);
let runs = 7;
const sets: string[][] = [];
const only: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--flags') sets.push(args[++i].split(/\s+/).filter(Boolean));
  else only.push(args[i]);
}
if (sets.length === 0) sets.push(defaultCFlags(), [...defaultCFlags(), ...GCC_AVX512_CFLAGS]);
const L = (k: number) => String.fromCharCode(65 + k);
const models = new Map<string, string>(); // name -> folder (shared first)
for (const d of DIRS) for (const f of fs.readdirSync(d)) if (f.endsWith('.json') && !models.has(f.slice(0, -5))) models.set(f.slice(0, -5), d);

interface Row { model: string; ms: number[]; ok: string }
const rows: Row[] = [];
for (const [name, dir] of [...models].filter(([n]) => only.length === 0 || only.includes(n))) {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  const feeds = new Map<string, RValue>();
  for (const i of meta.inputs) feeds.set(i.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, i.file)))));
  const { graph } = optimize(loadOnnxFile(path.join(dir, meta.model)), {}, 2, () => {}, passTargetOf(C_TARGET));
  prepareForRun(graph, feeds);
  const compiled = compileFor(C_TARGET, graph, { version: 'bench', source: name, sourceHash: '-' });
  const builds = sets.map((cflags) => buildC(compiled.art, compiled.prog, { cflags }));
  const ok = builds.map((b, k) => {
    const outs = runC(b, compiled.art, compiled.prog, feeds).outputs;
    const bad = meta.outputs.filter((o: { name: string; file: string }) =>
      excess((outs.get(o.name) as Tensor).num, parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, o.file)))).num, 1e-3, 1e-4).worst > 0);
    return bad.length ? `${L(k)} WRONG` : '';
  }).filter(Boolean).join(', ') || 'yes';
  const files = harnessFiles(compiled.art, compiled.prog, feeds);
  const reps = calibrateReps(builds[0], files);
  const t: number[][] = sets.map(() => []);
  for (let k = 0; k < runs; k++) builds.forEach((b, j) => t[j].push(sampleMs(b, files, reps)));
  files.dispose();
  const row = { model: name, ms: t.map(median), ok };
  rows.push(row);
  process.stderr.write(`${name}: ${row.ms.map((m, k) => `${L(k)} ${m.toFixed(3)} ms`).join(', ')}\n`);
}
const pad = (s: string, n: number) => s.padEnd(n);
const others = sets.slice(1).map((_, k) => L(k + 1));
const lines = [
  ...sets.map((f, k) => `${L(k)}: ${f.join(' ')}`),
  `median of ${runs} interleaved samples, 1 thread; ${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores`,
  `${pad('model', 20)} ${sets.map((_, k) => pad(`${L(k)} ms`, 10)).join(' ')} ${others.map((x) => pad(`${x}/A`, 7)).join(' ')} matches`,
  ...rows.map((r) => `${pad(r.model, 20)} ${r.ms.map((m) => pad(m.toFixed(3), 10)).join(' ')} ${r.ms.slice(1).map((m) => pad((m / r.ms[0]).toFixed(3), 7)).join(' ')} ${r.ok}`),
];
const big = rows.filter((r) => r.ms[0] >= 1);
for (let k = 1; k < sets.length && big.length; k++) {
  lines.push(`geomean ${L(k)}/A over ${big.length} model(s) of >= 1 ms: ${Math.exp(big.reduce((s, r) => s + Math.log(r.ms[k] / r.ms[0]), 0) / big.length).toFixed(3)}`);
}
process.stdout.write(lines.join('\n') + '\n');
