import * as fs from 'node:fs';
import { parseGraph, printGraph } from '@aic/dsl';
import { parsePipeline, runPipeline, randomFeeds, compareOutputs } from '@aic/passes';
import { run } from '@aic/interp';
import { parseGolden, fileCheck } from './tests/passes/filecheck.ts';
for (const f of process.argv.slice(2)) {
  const text = fs.readFileSync(f, 'utf8');
  const spec = parseGolden(text);
  const g = parseGraph(text, { file: f });
  const { graph, reports } = runPipeline(g, parsePipeline(spec.pipeline), { verifyEach: 'structure' });
  const out = printGraph(graph);
  console.log(`==== ${f}\n${out}`);
  console.log('stats', JSON.stringify(Object.fromEntries(reports.flatMap(r => Object.entries(r.stats).filter(([,v]) => v)))));
  console.log('check:', fileCheck(out, spec.checks) ?? 'OK');
  if (spec.numeric) { const feeds = randomFeeds(g, 7); console.log('numeric:', compareOutputs(run(graph, feeds), run(g, feeds), g.outputs.map(v => v.name)) ?? 'OK'); }
}
