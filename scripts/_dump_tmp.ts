import * as path from 'node:path';
import { loadOnnxFile } from '@aic/onnx';
import { compileWasm, optimizeForWasm } from '/work/main/codegen/wasm/target.ts';
import { printKernel } from '@aic/loop-ir';
const [model, kname, fn] = process.argv.slice(2);
const g0 = loadOnnxFile(path.join('/work/shared/models', model + '.onnx'));
const c = compileWasm(optimizeForWasm(g0, true), { simd: true, version: 'x', source: 'x', sourceHash: '-' });
for (const k of c.prog.kernels) if (k.name === kname) {
  const src = c.prog.sources.get(k.name)!;
  console.log(JSON.stringify(src.stages.map((s: any) => s.kind === 'compute' ? { axes: s.axes, shape: s.out.shape } : s.kind), null, 0));
  console.log(printKernel(k));
}
