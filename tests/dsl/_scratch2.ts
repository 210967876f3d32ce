import { parseGraph, printGraph } from '@aic/dsl';
import { loadOnnxFile } from '@aic/onnx';
for (const m of ['small_cnn', 'tiny_bert']) {
  const g = loadOnnxFile(`/work/shared/models/${m}.onnx`);
  const t = printGraph(g);
  console.log(t.split('\n').map(l => l.length > 200 ? l.slice(0, 200) + '...' : l).slice(0, 40).join('\n'));
  const g2 = parseGraph(t, { allowUnknownOps: true });
  const t2 = printGraph(g2);
  console.log(m, t.length, t2 === t);
  if (t2 !== t) { const a = t.split('\n'), b = t2.split('\n'); for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) { console.log(a[i].slice(0,300)); console.log(b[i].slice(0,300)); break; } }
}
