/**
 * npm run conformance [-- FILTER...] [--write-expected] [--show STATUS]
 * Runs the ONNX node tests through the interpreter and prints a summary. FILTER substrings select tests.
 */
import * as fs from 'node:fs';
import { RUNNERS, listNodeTests, runNodeTest, summarize, type Result } from './conformance.ts';

const args = process.argv.slice(2);
const write = args.includes('--write-expected');
const targetIdx = args.indexOf('--target');
const target = targetIdx >= 0 ? args[targetIdx + 1] : 'interp';
const runner = RUNNERS[target];
if (!runner) throw new Error(`--target ${target}: one of ${Object.keys(RUNNERS).join(', ')}`);
const showIdx = args.indexOf('--show');
const show = showIdx >= 0 ? args[showIdx + 1] : undefined;
const filters = args.filter((a, i) => !a.startsWith('--') && (showIdx < 0 || i !== showIdx + 1) && (targetIdx < 0 || i !== targetIdx + 1));
const tests = listNodeTests().filter((t) => filters.length === 0 || filters.some((f) => t.includes(f)));
const results: Result[] = [];
for (const t of tests) {
  const r = runNodeTest(t, runner);
  results.push(r);
  if (show === undefined ? r.status !== 'pass' : show === 'all' || r.status === show) {
    console.log(`${r.status.padEnd(11)} ${t} ${r.detail} ${r.ms > 2000 ? `(${(r.ms / 1000).toFixed(1)} s)` : ''}`);
  }
}
console.log(summarize(results));
if (write) {
  const out: Record<string, string> = {};
  for (const r of results) out[r.name] = r.status;
  fs.writeFileSync(`tests/conformance/${target}.expected.json`, JSON.stringify(out, null, 1) + '\n');
  console.log(`wrote tests/conformance/${target}.expected.json`);
}
