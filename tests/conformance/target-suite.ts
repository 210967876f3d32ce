/**
 * ONNX node tests through one compiled target, against its checked-in expected-status file
 * (tests/conformance/<target>.expected.json, written by `npm run conformance -- --target T
 * --write-expected`). A pass that stops passing, or any wrong answer, fails the suite.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RUNNERS, listNodeTests, runNodeTest, summarize, type Result } from '../../scripts/conformance.ts';

export function conformanceSuite(target: string): void {
  describe(`ONNX node tests via --target ${target}`, () => {
    it('no regressions against the expected-status file, 0 wrong', () => {
      const file = new URL(`./${target}.expected.json`, import.meta.url);
      const expected = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
      const tests = listNodeTests();
      expect(tests.length, 'libonnx-testdata is installed').toBeGreaterThan(900);
      const results: Result[] = tests.map((t) => runNodeTest(t, RUNNERS[target]));
      console.log(`node tests (${target}): ${summarize(results)}`);
      const wrong = results.filter((r) => r.status === 'wrong' || r.status === 'error').map((r) => `${r.name}: ${r.status} ${r.detail}`);
      const regressions = results.filter((r) => expected[r.name] === 'pass' && r.status !== 'pass').map((r) => `${r.name}: ${r.status} ${r.detail}`);
      expect(wrong).toEqual([]);
      expect(regressions).toEqual([]);
    }, 3_600_000);
  });
}
