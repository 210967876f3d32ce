import * as fs from 'node:fs';
import { parseNpy, Tensor } from '@aic/core';
import { run } from '@aic/interp';
import { tensorDiff } from '@aic/passes';
import { optCommand } from './packages/cli/src/commands/opt.ts';
import { loadModel } from './packages/cli/src/model-io.ts';
import { optimize } from './packages/cli/src/pipeline-options.ts';
const F='tests/fixtures/models';
const x = parseNpy(new Uint8Array(fs.readFileSync(`${F}/small_cnn.input.npy`)));
const want = parseNpy(new Uint8Array(fs.readFileSync(`${F}/small_cnn.output.npy`)));
for (const O of ['0','1','2','3']) {
  const g = await loadModel(`${F}/small_cnn.onnx`);
  const { graph } = optimize(g, { optLevel: O });
  const d1 = tensorDiff(run(graph, { input: x }).get('output') as Tensor, want);
  await optCommand(`${F}/small_cnn.onnx`, { optLevel: O, output: `/tmp/o${O}.aic` });
  const g2 = await loadModel(`/tmp/o${O}.aic`);
  const d2 = tensorDiff(run(g2, { input: x }).get('output') as Tensor, want);
  console.log(O, graph.nodes.map(n=>n.op).join(','), 'inmem:', d1, 'roundtrip:', d2);
}
