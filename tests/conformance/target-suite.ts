/**
 * One ONNX backend test set through one target, against its checked-in expected-status file
 * (tests/conformance/[SET.]TARGET.expected.json, written by `npm run conformance -- --set SET
 * --target T --write-expected`). A pass that stops passing, or any wrong answer or error, fails the
 * suite; 'unsupported' is only ever a clean exit-3 diagnostic (runNodeTest classifies by exit code).
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RUNNERS, SETS, expectedFile, listNodeTests, runNodeTest, summarize, type Result } from '../../scripts/conformance.ts';

/** skipReason: decides, before the sweep, whether this machine can run the target at all (undefined: run). */
export function conformanceSuite(target: string, set = 'node', skipReason?: () => Promise<string | undefined>): void {
  describe(`ONNX ${set} tests via --target ${target}`, () => {
    it('no regressions against the expected-status file, 0 wrong', async (ctx) => {
      const skip = await skipReason?.();
      if (skip) return ctx.skip(skip);
      const file = new URL(`../../${expectedFile(set, target)}`, import.meta.url);
      const expected = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
      const tests = listNodeTests(SETS[set]);
      expect(tests.length, 'libonnx-testdata is installed, with every test the expected file names')
        .toBeGreaterThanOrEqual(Object.keys(expected).length);
      const t0 = performance.now();
      const results: Result[] = tests.map((t) => runNodeTest(t, RUNNERS[target], SETS[set]));
      console.log(`${set} tests (${target}): ${summarize(results)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const wrong = results.filter((r) => r.status === 'wrong' || r.status === 'error').map((r) => `${r.name}: ${r.status} ${r.detail}`);
      const regressions = results.filter((r) => expected[r.name] === 'pass' && r.status !== 'pass').map((r) => `${r.name}: ${r.status} ${r.detail}`);
      expect(wrong).toEqual([]);
      // a compiled target never does the model's data work at compile time: only tests whose outputs
      // are constants of the model itself may have no compute kernel
      expect(results.filter((r) => r.noKernel === 'data').map((r) => r.name)).toEqual([]);
      expect(regressions).toEqual([]);
    }, 3_600_000);
  });
}
