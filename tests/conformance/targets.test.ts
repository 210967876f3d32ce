/**
 * ONNX node tests through each compiled target, against its checked-in expected-status file
 * (tests/conformance/<target>.expected.json, written by `npm run conformance -- --target T
 * --write-expected`). A pass that stops passing, or any wrong answer, fails. The sweep size per
 * target is bounded by AIC_CONFORMANCE_LIMIT (a fixed, representative stride subset) when set.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RUNNERS, listNodeTests, runNodeTest, summarize, type Result } from '../../scripts/conformance.ts';

const TARGETS = ['loops', 'c', 'wasm-simd', 'wgsl'].filter((t) => RUNNERS[t] && fs.existsSync(new URL(`./${t}.expected.json`, import.meta.url)));
const all = listNodeTests();

for (const target of TARGETS) {
  describe(`ONNX node tests via --target ${target}`, () => {
    it('no regressions against the expected-status file, 0 wrong', async () => {
      const expected = JSON.parse(fs.readFileSync(new URL(`./${target}.expected.json`, import.meta.url), 'utf8')) as Record<string, string>;
      const limit = Number(process.env.AIC_CONFORMANCE_LIMIT ?? 0);
      const stride = limit > 0 ? Math.max(1, Math.ceil(all.length / limit)) : 1;
      const tests = all.filter((_, i) => i % stride === 0);
      const results: Result[] = [];
      for (const t of tests) results.push(runNodeTest(t, RUNNERS[target]));
      console.log(`node tests (${target}${stride > 1 ? `, every ${stride}th test` : ''}): ${summarize(results)}`);
      const regressions = results.filter((r) => expected[r.name] === 'pass' && r.status !== 'pass').map((r) => `${r.name}: ${r.status} ${r.detail}`);
      const wrong = results.filter((r) => r.status === 'wrong' || r.status === 'error').map((r) => `${r.name}: ${r.status} ${r.detail}`);
      expect(wrong).toEqual([]);
      expect(regressions).toEqual([]);
    }, 3_600_000);
  });
}
