import * as fs from 'node:fs';
import { loadOnnxFile } from '@aic/onnx';
import { parseNpy, Tensor } from '@aic/core';
import { run } from '@aic/interp';
import { parsePipeline, runPipeline, tensorDiff } from '@aic/passes';
const names = process.argv.slice(2).length ? process.argv.slice(2) : ['small_cnn','squeezenet1_1','mobilenet_v2','shufflenet_v2_x1_0','efficientnet_b0','tiny_bert','resnet18'];
for (const n of names) {
  const dir = '../shared/models';
  const meta = JSON.parse(fs.readFileSync(`${dir}/${n}.json`, 'utf8'));
  const g = loadOnnxFile(`${dir}/${meta.model}`);
  const { graph, reports } = runPipeline(g, parsePipeline('fold-constants,eliminate-redundant,eliminate-dead-nodes'), { verifyEach: 'structure' });
  const feeds: Record<string, Tensor> = {};
  for (const i of meta.inputs) feeds[i.name] = parseNpy(new Uint8Array(fs.readFileSync(`${dir}/${i.file}`)));
  const t0 = Date.now();
  const outs = run(graph, feeds);
  const res = meta.outputs.map((o: any) => tensorDiff(outs.get(o.name) as Tensor, parseNpy(new Uint8Array(fs.readFileSync(`${dir}/${o.file}`)))) ?? 'ok');
  const st = Object.entries(reports[1].stats).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(n, g.nodes.length, reports.map(r => r.nodesAfter).join('->'), res.join(','), `${Date.now()-t0}ms`, st);
}
