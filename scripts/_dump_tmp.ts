import { loadOnnxFile } from '@aic/onnx';
import { runPipeline, pipelineFor } from '@aic/passes';
const g0 = loadOnnxFile(`/usr/share/libonnx-testdata/data/node/${process.argv[2]}/model.onnx`);
const g = process.argv[3] ? runPipeline(g0, pipelineFor(1)).graph : g0;
console.log('inputs', g.inputs.map(v => `${v.name}:${v.type.dtype}[${v.type.shape}]`));
for (const n of g.nodes) console.log(n.op, n.inputs.map(v => v ? `${v.name}${v.const ? '=C'+JSON.stringify(Array.from(v.const.num??[]).slice(0,5)) : ''}[${v.type.shape}]` : '-').join(', '), '->', n.outputs.map(v => `${v.name}[${v.type.shape}]`).join(','), JSON.stringify(n.attrs).slice(0,200));
