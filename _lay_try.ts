import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor, parseNpy } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { run } from '@aic/interp';
import { parsePipeline, runPipeline, tensorDiff } from '@aic/passes';
const dir = '/work/shared/models';
const pipe = process.argv[3] ?? 'fold-constants,layout-nc4hw4';
for (const name of process.argv[2].split(',')) {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  const g = loadOnnxFile(path.join(dir, meta.model));
  const t0 = performance.now();
  const { graph, reports } = runPipeline(g, parsePipeline(pipe), { verifyEach: process.env.VERIFY ? 'structure' : false });
  const st = reports.find((r) => r.pass.startsWith('layout'))!.stats;
  const feeds: Record<string, Tensor> = {};
  for (const i of meta.inputs) feeds[i.name] = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, i.file))));
  const outs = run(graph, feeds);
  const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, meta.outputs[0].file))));
  const d = tensorDiff(outs.get(meta.outputs[0].name) as Tensor, want);
  console.log(name, JSON.stringify(st), reports.map(r=>`${r.pass}:${r.nodesBefore}->${r.nodesAfter}`).join(' '), d ?? 'OK', ((performance.now()-t0)/1000).toFixed(1)+'s');
}
