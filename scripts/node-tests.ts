/**
 * npm run conformance [-- FILTER...] [--set node|pytorch-converted|pytorch-operator] [--target T]
 *                     [--write-expected] [--show STATUS|all|no-kernel]
 * Runs an ONNX backend test set (default: the node tests) through a target (default: the interpreter)
 * and prints a summary. FILTER substrings select tests; --write-expected refreshes the set's
 * expected-status file for the target (tests/conformance/[SET.]TARGET.expected.json).
 */
import { exitOnHelp } from './script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import { progress } from '@aic/core';
import { RUNNERS, SETS, expectedFile, listNodeTests, runNodeTest, summarize, type Result } from './conformance.ts';

const args = process.argv.slice(2);
const write = args.includes('--write-expected');
const valued = ['--target', '--show', '--set'];
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const target = flag('--target') ?? 'interp';
const runner = RUNNERS[target];
if (!runner) throw new Error(`--target ${target}: one of ${Object.keys(RUNNERS).join(', ')}`);
const set = flag('--set') ?? 'node';
const dir = SETS[set];
if (!dir) throw new Error(`--set ${set}: one of ${Object.keys(SETS).join(', ')}`);
const show = flag('--show');
const filters = args.filter((a, i) => !a.startsWith('--') && !valued.includes(args[i - 1]));
const tests = listNodeTests(dir).filter((t) => filters.length === 0 || filters.some((f) => t.includes(f)));
const results: Result[] = [];
const t0 = performance.now();
const bar = progress(`${set} via ${target}`, tests.length);
for (const t of tests) {
  const r = runNodeTest(t, runner, dir);
  results.push(r);
  if (show === undefined ? r.status !== 'pass' : show === 'all' || r.status === show || (show === 'no-kernel' && r.noKernel)) {
    bar.log(`${r.status.padEnd(11)} ${t} ${r.detail}${r.noKernel ? ` (no compute kernel: ${r.noKernel === 'data' ? 'data computed at compile time' : 'outputs constant in the model'})` : ''} ${r.ms > 2000 ? `(${(r.ms / 1000).toFixed(1)} s)` : ''}`);
  }
  bar.tick(1, t);
}
bar.done();
console.log(`${set} via ${target}: ${summarize(results)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
if (write) {
  const out: Record<string, string> = {};
  for (const r of results) out[r.name] = r.status;
  const file = expectedFile(set, target);
  fs.writeFileSync(file, JSON.stringify(out, null, 1) + '\n');
  console.log(`wrote ${file}`);
}
