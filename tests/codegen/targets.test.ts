/**
 * One target table (codegen/targets.ts) and one driver: every target declares what the CLI, the
 * benchmarks and the conformance runners need, and those reach targets only through the table.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_TARGETS, TARGETS, findTarget, getTarget, passTarget } from '@aic/codegen';
import { RUNNERS, TOLERANCE } from '../../scripts/conformance.ts';

describe('the target registry', () => {
  it('names are unique; the CLI lists exactly the listed targets, in table order', () => {
    const names = ALL_TARGETS.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    expect(TARGETS.map((t) => t.name)).toEqual(['interp', 'c', 'wasm-simd', 'wasm', 'wgsl']);
    expect(findTarget('loops')).toBeUndefined(); // test-only: reachable by getTarget
    expect(getTarget('loops')?.name).toBe('loops');
    expect(findTarget('bogus')).toBeUndefined();
  });

  it('every compiled target declares caps, dtypes, forms and every hook the driver and CLI call', () => {
    for (const t of ALL_TARGETS) {
      expect(t.summary.length, t.name).toBeGreaterThan(10);
      expect(t.tolerance.rtol, t.name).toBeGreaterThan(0);
      if (t.runGraph) { expect(t.caps, t.name).toBeUndefined(); expect(passTarget(t.name)).toBeUndefined(); continue; }
      expect(t.caps?.name, t.name).toBe(t.name);
      expect(t.dtypes, t.name).toEqual(t.caps!.dtypes);
      expect(typeof t.render, t.name).toBe('function');
      expect(typeof t.runCompiledSync, t.name).toBe('function');
      expect(passTarget(t.name)?.hasKernel('Conv', ''), t.name).toBe(true);
      if (t.compile) {
        expect(t.forms.length, t.name).toBeGreaterThan(0);
        for (const f of ['emit', 'stats', 'writeArtifact', 'runCompiled', 'defaultSchedules'] as const) expect(typeof t[f], `${t.name}.${f}`).toBe('function');
      }
    }
  });

  it('the conformance runners are the registry, with each target tolerance', () => {
    expect(Object.keys(RUNNERS).sort()).toEqual(ALL_TARGETS.map((t) => t.name).sort());
    expect(TOLERANCE.get(RUNNERS.wgsl)).toEqual(getTarget('wgsl')!.tolerance);
    expect(TOLERANCE.get(RUNNERS.c)).toEqual({ rtol: 1e-3, atol: 1e-5 });
  });

  it('the CLI commands and conformance runners compare no target names (they ask the table)', () => {
    // ('loops' is also an --emit form)
    const names = TARGETS.map((t) => t.name.replace('-', '\\-')).join('|');
    const cmp = new RegExp(`(===|!==)\\s*'(${names})'|case\\s+'(${names})'`);
    for (const f of ['packages/cli/src/commands/compile.ts', 'packages/cli/src/commands/run.ts', 'packages/cli/src/commands/check.ts',
      'scripts/conformance.ts', 'scripts/node-tests.ts', 'tests/conformance/target-suite.ts']) {
      const text = fs.readFileSync(new URL(`../../${f}`, import.meta.url), 'utf8');
      expect(cmp.exec(text)?.[0], f).toBeUndefined();
    }
  });
});
