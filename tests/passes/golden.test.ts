/**
 * Golden pass tests: every tests/passes/golden/<group>/*.aic file is parsed, run through its
 * `# RUN:` pipeline, printed and checked against its `# CHECK` lines; the result must also compute
 * the same values as the input on seeded random inputs (unless `# NUMERIC: off`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGraph, printGraph } from '@aic/dsl';
import { compareOutputs, parsePipeline, randomFeeds, runPipeline } from '@aic/passes';
import { run } from '@aic/interp';
import { fileCheck, parseGolden } from './filecheck.ts';

const ROOT = path.join(import.meta.dirname, 'golden');
const groups = fs.existsSync(ROOT) ? fs.readdirSync(ROOT).filter((d) => fs.statSync(path.join(ROOT, d)).isDirectory()).sort() : [];

for (const group of groups) {
  describe(`golden: ${group}`, () => {
    for (const f of fs.readdirSync(path.join(ROOT, group)).filter((x) => x.endsWith('.aic')).sort()) {
      it(f, () => {
        const file = path.join(ROOT, group, f);
        const text = fs.readFileSync(file, 'utf8');
        const spec = parseGolden(text);
        expect(spec.pipeline, 'a golden test needs a # RUN: line').not.toBe('');
        const g = parseGraph(text, { file });
        const { graph } = runPipeline(g, parsePipeline(spec.pipeline), { verifyEach: 'structure' });
        const printed = printGraph(graph);
        const why = fileCheck(printed, spec.checks);
        expect(why, `${why}\n--- output ---\n${printed}`).toBeUndefined();
        if (spec.numeric) {
          const feeds = randomFeeds(g, 7);
          const want = run(g, feeds);
          const got = run(graph, feeds);
          expect(compareOutputs(got, want, g.outputs.map((v) => v.name))).toBeUndefined();
        }
      });
    }
  });
}
