import { RUNNERS, listNodeTests, runNodeTest, summarize, type Result } from '../../scripts/conformance.ts';
const target = process.argv[2];
const skip = new Set((process.env.SKIP ?? 'test_constant').split(','));
const filters = process.argv.slice(3);
const results: Result[] = [];
const startAt = process.env.START ?? '';
for (const t of listNodeTests().filter((t) => t > startAt && !skip.has(t) && (filters.length === 0 || filters.some((f) => t.includes(f))))) {
  process.stderr.write(`${t}\n`);
  const r = runNodeTest(t, RUNNERS[target]);
  results.push(r);
  console.log(`${r.status.padEnd(11)} ${t} ${r.status === 'pass' ? '' : r.detail.slice(0, 300)} ${r.ms > 2000 ? `(${(r.ms / 1000).toFixed(1)} s)` : ''}`);
}
console.log(summarize(results));
