/**
 * -O3 against -O2 on the C target from per-kernel minima (a loaded machine can only slow a kernel
 * down, so the sum of each kernel's fastest run is a stable figure where whole-run times are not):
 *   npx tsx benchmarks/o3-vs-o2-kernels.ts [--runs N] [--detail] [NAME...]
 * --detail lists per model the 12 kernels (by node) where -O3 loses most against -O2.
 * Per model, -O2 then -O3: optimize for target c, compile, build with -DAIC_PROFILE, run the harness
 * N times (default 5) and read "sum of per-kernel minima" from its profile. Measurements only.
 */
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
const names = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs');
const models = names.length ? names : ['squeezenet1_1', 'mobilenet_v2', 'resnet18', 'shufflenet_v2_x1_0', 'efficientnet_b0'];

/** per node: the minimum ms of its kernel(s) (kernels keyed by node name, summed) */
const detail = args.includes('--detail');

async function kernelMinima(name: string, level: number, byNode?: Map<string, number>): Promise<number> {
  const meta = JSON.parse(fs.readFileSync(path.join(SHARED, `${name}.json`), 'utf8'));
  const feeds = new Map<string, RValue>();
  for (const i of meta.inputs) feeds.set(i.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(SHARED, i.file)))));
  const { graph } = optimize(await loadModel(path.join(SHARED, meta.model)), {}, level, () => {}, passTarget('c'));
  prepareForRun(graph, feeds);
  const c = compileC(graph, { version: 'bench', source: name, sourceHash: '-' });
  const files = harnessFiles(c.art, c.prog, feeds);
  const built = buildC(c.art, c.prog, { cflags: [...defaultCFlags(), '-DAIC_PROFILE'] });
  const p = spawnSync(built.exe, files.args(runs), { encoding: 'utf8' });
  files.dispose();
  // the harness's profile table: '#step median min mean share kernel node'; sum the min column
  const rows = [...p.stderr.matchAll(/^#\d+\s+[0-9.]+\s+([0-9.]+)\s.*$/gm)];
  for (const r of byNode ? rows : []) {
    const key = r[0].trim().split(/\s+/).slice(-2).join(' ').replace(/^k\d+_/, '');
    byNode!.set(key, (byNode!.get(key) ?? 0) + Number(r[1]));
  }
  if (!rows.length) throw new Error(`${name} -O${level}: no profile (${p.stderr.slice(0, 200)})`);
  return rows.reduce((s, r) => s + Number(r[1]), 0);
}

const ratios: number[] = [];
console.log('| model | -O2 ms | -O3 ms | -O3/-O2 |\n| --- | ---: | ---: | ---: |');
for (const m of models) {
  const n2 = new Map<string, number>(), n3 = new Map<string, number>();
  const o2 = await kernelMinima(m, 2, n2), o3 = await kernelMinima(m, 3, n3);
  ratios.push(o3 / o2);
  if (detail) {
    // the nodes where -O3 loses most (ms over -O2), then the ones it drops or adds
    const keys = [...new Set([...n2.keys(), ...n3.keys()])].sort((a, b) => ((n3.get(b) ?? 0) - (n2.get(b) ?? 0)) - ((n3.get(a) ?? 0) - (n2.get(a) ?? 0)));
    for (const k of keys.slice(0, 12)) console.log(`  ${(n2.get(k) ?? 0).toFixed(3)} -> ${(n3.get(k) ?? 0).toFixed(3)}  ${k}`);
  }
  console.log(`| ${m} | ${o2.toFixed(2)} | ${o3.toFixed(2)} | ${(o3 / o2).toFixed(3)} |`);
}
console.log(`geomean -O3/-O2 (C, sums of per-kernel minima): ${Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length).toFixed(3)} over ${ratios.length} models`);
