/**
 * -O3 against -O2 on the C target from per-kernel minima (a loaded machine can only slow a kernel
 * down, so the sum of each kernel's fastest run is a stable figure where whole-run times are not):
 *   npx tsx benchmarks/o3-vs-o2-kernels.ts [--runs N] [--rounds R] [--detail] [NAME...]
 * --detail lists per model the 12 kernels (by node) where -O3 loses most against -O2.
 * Per model: optimize for target c at -O2 and -O3, compile, build both with -DAIC_PROFILE, then R
 * rounds (default 3), each running the -O2 harness N times (default 5) and then the -O3 one
 * (interleaved); each kernel's minimum over all rounds, summed. Measurements only.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseNpy, type RValue } from '@aic/core';
import { buildC, compileC, defaultCFlags, passTarget, prepareForRun } from '@aic/codegen';
import { harnessFiles } from './c-timing.ts';
import { loadModel } from '../packages/cli/src/model-io.ts';
import { optimize } from '../packages/cli/src/pipeline-options.ts';

const SHARED = path.resolve(import.meta.dirname, '../../shared/models');
const args = process.argv.slice(2);
const ri = args.indexOf('--runs');
const runs = ri >= 0 ? Number(args[ri + 1]) : 5;
const names = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs' && args[i - 1] !== '--rounds');
const models = names.length ? names : ['squeezenet1_1', 'mobilenet_v2', 'resnet18', 'shufflenet_v2_x1_0', 'efficientnet_b0'];

const gi = args.indexOf('--rounds');
const rounds = gi >= 0 ? Number(args[gi + 1]) : 3;
const detail = args.includes('--detail');

/** Build model `name` at -O`level` for C with the profiling harness. */
async function build(name: string, level: number): Promise<{ measure: () => Map<string, number>; dispose: () => void }> {
  const meta = JSON.parse(fs.readFileSync(path.join(SHARED, `${name}.json`), 'utf8'));
  const feeds = new Map<string, RValue>();
  for (const i of meta.inputs) feeds.set(i.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(SHARED, i.file)))));
  const { graph } = optimize(await loadModel(path.join(SHARED, meta.model)), {}, level, () => {}, passTarget('c'));
  prepareForRun(graph, feeds);
  const c = compileC(graph, { version: 'bench', source: name, sourceHash: '-' });
  const files = harnessFiles(c.art, c.prog, feeds);
  const built = buildC(c.art, c.prog, { cflags: [...defaultCFlags(), '-DAIC_PROFILE'] });
  /** per kernel (keyed 'op node'): its minimum ms over `runs` runs */
  const measure = () => {
    const p = spawnSync(built.exe, files.args(runs), { encoding: 'utf8' });
    // the harness's profile table: '#step median min mean share kernel node'
    const rows = [...p.stderr.matchAll(/^#\d+\s+[0-9.]+\s+([0-9.]+)\s.*$/gm)];
    if (!rows.length) throw new Error(`${name} -O${level}: no profile (${p.stderr.slice(0, 200)})`);
    const m = new Map<string, number>();
    for (const r of rows) {
      const key = r[0].trim().split(/\s+/).slice(-2).join(' ').replace(/^k\d+_/, '') + ` #${r[0].match(/^#(\d+)/)![1]}`;
      m.set(key, Number(r[1]));
    }
    return m;
  };
  return { measure, dispose: files.dispose };
}

/** fold a round into the per-kernel minima */
const keepMin = (acc: Map<string, number>, m: Map<string, number>) => { for (const [k, v] of m) acc.set(k, Math.min(acc.get(k) ?? Infinity, v)); };
/** per node (step numbers dropped): summed minima */
const byNode = (m: Map<string, number>) => {
  const out = new Map<string, number>();
  for (const [k, v] of m) { const n = k.replace(/ #\d+$/, ''); out.set(n, (out.get(n) ?? 0) + v); }
  return out;
};
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

const ratios: number[] = [];
console.log('| model | -O2 ms | -O3 ms | -O3/-O2 |\n| --- | ---: | ---: | ---: |');
for (const m of models) {
  const b2 = await build(m, 2), b3 = await build(m, 3);
  const k2 = new Map<string, number>(), k3 = new Map<string, number>();
  // interleaved: -O2 then -O3 each round, so a load spike hits both
  for (let r = 0; r < rounds; r++) { keepMin(k2, b2.measure()); keepMin(k3, b3.measure()); }
  b2.dispose(); b3.dispose();
  const o2 = total(k2), o3 = total(k3);
  ratios.push(o3 / o2);
  if (detail) {
    // the nodes where -O3 loses most (ms over -O2)
    const n2 = byNode(k2), n3 = byNode(k3);
    const keys = [...new Set([...n2.keys(), ...n3.keys()])].sort((a, b) => ((n3.get(b) ?? 0) - (n2.get(b) ?? 0)) - ((n3.get(a) ?? 0) - (n2.get(a) ?? 0)));
    for (const k of keys.slice(0, 12)) console.log(`  ${(n2.get(k) ?? 0).toFixed(3)} -> ${(n3.get(k) ?? 0).toFixed(3)}  ${k}`);
  }
  console.log(`| ${m} | ${o2.toFixed(2)} | ${o3.toFixed(2)} | ${(o3 / o2).toFixed(3)} |`);
}
console.log(`geomean -O3/-O2 (C, sums of per-kernel minima): ${Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length).toFixed(3)} over ${ratios.length} models`);
