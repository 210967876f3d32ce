/**
 * Fuzz aic: structured ONNX mutations, byte flips and truncations, mutated DSL text and .npy/.pb inputs, through
 * inspect, check, run (interp, some c), compile (wasm-simd) and convert. A case passes when aic exits 0/1/2/3,
 * prints no stack trace and no internal error, ends within the time limit and leaves no file behind on failure.
 *
 *   npx tsx scripts/fuzz.ts [--seed 1] [--cases 1000] [--jobs 2] [--out DIR] [--timeout 60] [--spawn-every 100]
 *                           [--sample 200] [--c-share 0.04] [--max-rss 3000] [--retry-failures]
 *   npx tsx scripts/fuzz.ts --seed S --case ID [--out DIR]   # write case ID into DIR/case-ID with its repro.sh
 *
 * Deterministic for a seed: case i is the same everywhere. Resumable: run the same command again (same --out) and
 * it continues; --retry-failures runs the failed cases again. Exit 1 when a failure is not a known defect.
 * Cases run in-process in forked workers (aic's main()); every --spawn-every-th case runs the real bin/aic.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { formatSummary, runCampaign, writeCaseFolder } from './fuzz/campaign.ts';

const argv = process.argv.slice(2);
function opt(name: string, def: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(argv[i + 1]);
  if (!Number.isFinite(v)) { console.error(`fuzz: --${name} needs a number`); process.exit(2); }
  return v;
}
if (argv.includes('--help') || argv.includes('-h')) {
  console.log('usage: npx tsx scripts/fuzz.ts [--seed N] [--cases N] [--jobs N] [--out DIR] [--timeout S] [--spawn-every K] [--sample N] [--c-share P] [--max-rss MB] [--retry-failures] | --case ID');
  process.exit(0);
}
const seed = opt('seed', 1);
const outIdx = argv.indexOf('--out');
const out = outIdx >= 0 ? argv[outIdx + 1]! : path.join(os.tmpdir(), `aic-fuzz-${seed}`);
if (argv.includes('--case')) {
  // write one case (and its repro.sh) into OUT/case-<id> without running it
  const id = opt('case', 0);
  console.log(writeCaseFolder(seed, id, opt('sample', 200), out, path.join(out, `case-${id}`), opt('c-share', 0.04)));
  process.exit(0);
}
const summary = await runCampaign({
  seed, out, cases: opt('cases', 1000), jobs: opt('jobs', Math.max(1, Math.min(4, os.cpus().length - 1))),
  timeoutMs: opt('timeout', 60) * 1000, spawnEvery: opt('spawn-every', 100), sample: opt('sample', 200),
  cShare: opt('c-share', 0.04), maxRssMb: opt('max-rss', 3000), retryFailures: argv.includes('--retry-failures'),
  log: (l) => console.log(l),
});
console.log(formatSummary(summary));
process.exitCode = summary.failures.some((f) => !f.known) ? 1 : 0;
