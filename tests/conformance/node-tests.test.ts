/**
 * ONNX backend node tests (Debian libonnx-testdata) through the interpreter, against the checked-in
 * expected-status file: any regression (a pass that stops passing, anything newly wrong) fails.
 * Improvements are reported so the expected file can be refreshed with `npm run conformance -- --write-expected`.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listNodeTests, runNodeTest, summarize, type Result } from '../../scripts/conformance.ts';

const expected = JSON.parse(fs.readFileSync(new URL('./interp.expected.json', import.meta.url), 'utf8')) as Record<string, string>;
const tests = listNodeTests();

describe('ONNX node tests via the interpreter', () => {
  it('libonnx-testdata is installed (apt-get install libonnx-testdata)', () => {
    expect(tests.length).toBeGreaterThan(900);
  });

  it('no regressions against tests/conformance/interp.expected.json, 0 wrong', () => {
    const results: Result[] = tests.map((t) => runNodeTest(t));
    const summary = summarize(results);
    console.log(`node tests (interp): ${summary}`);
    const regressions = results.filter((r) => expected[r.name] === 'pass' && r.status !== 'pass')
      .map((r) => `${r.name}: ${r.status} ${r.detail}`);
    const wrong = results.filter((r) => r.status === 'wrong' || r.status === 'error').map((r) => `${r.name}: ${r.status} ${r.detail}`);
    const improved = results.filter((r) => r.status === 'pass' && expected[r.name] !== 'pass').map((r) => r.name);
    if (improved.length) console.log(`newly passing (refresh the expected file): ${improved.join(', ')}`);
    expect(regressions).toEqual([]);
    expect(wrong).toEqual([]);
    const passed = results.filter((r) => r.status === 'pass').length;
    expect(passed).toBeGreaterThanOrEqual(Object.values(expected).filter((s) => s === 'pass').length);
  });
});
