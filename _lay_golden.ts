import * as fs from 'node:fs';
import { parseGraph, printGraph } from '@aic/dsl';
import { parsePipeline, runPipeline, randomFeeds, compareOutputs } from '@aic/passes';
import { run } from '@aic/interp';
import { parseGolden, fileCheck } from './tests/passes/filecheck.ts';
for (const f of process.argv.slice(2)) {
  const text = fs.readFileSync(f, 'utf8');
  const spec = parseGolden(text);
  const g = parseGraph(text, { file: f });
  const { graph, reports } = runPipeline(g, parsePipeline(spec.pipeline));
  // emulate the coming `{LAYOUT}` type syntax
  const lay = new Map<string, string>();
  for (const v of graph.definedValues()) if (v.type.layout) lay.set(v.name, v.type.layout);
  const out = printGraph(graph).split('\n').map((l) => {
    const m = /^(\s*)([A-Za-z_][\w.]*): (\w+\[[^\]]*\])(.*)$/.exec(l);
    return m && lay.has(m[2]) ? `${m[1]}${m[2]}: ${m[3]}{${lay.get(m[2])}}${m[4]}` : l;
  }).join('\n');
  if (process.env.SHOW) console.log(out);
  const feeds = randomFeeds(g, 7);
  console.log(f, JSON.stringify(reports.map((r) => r.stats)), 'check:', fileCheck(out, spec.checks) ?? 'OK', 'numeric:', compareOutputs(run(graph, feeds), run(g, feeds), g.outputs.map((v) => v.name)) ?? 'OK');
}
