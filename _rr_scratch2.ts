import { loadOnnxFile } from '@aic/onnx';
import { parsePipeline, runPipeline } from '@aic/passes';
const n = process.argv[2];
const g = loadOnnxFile(`../shared/models/${n}.onnx`);
const seen = new Map<string, number>();
runPipeline(g, parsePipeline('fold-constants,eliminate-redundant'), { explain: (r) => { const k = `${r.rule} ${r.outcome} ${r.reason ?? ''}`; seen.set(k, (seen.get(k) ?? 0) + 1); } });
for (const [k, v] of seen) console.log(v, k);
