import { loadOnnxFile } from '@aic/onnx';
import { compileWasm, loadWasmSync, optimizeForWasm } from '/work/main/codegen/wasm/target.ts';
const g = optimizeForWasm(loadOnnxFile(process.argv[2]));
const c = compileWasm(g, { simd: process.argv[3] !== 'nosimd', version: 't', source: 's', sourceHash: '-' });
const m = loadWasmSync(c);
const feeds: Record<string, ArrayBufferView> = {};
for (const i of c.art.meta.inputs) feeds[i.name] = i.dtype === 'int64' ? new BigInt64Array(i.length) : new Float32Array(i.length).fill(0.5);
const ts = [];
for (let r = 0; r < Number(process.env.RUNS ?? 6); r++) { const t = performance.now(); m.runSync(feeds); ts.push((performance.now() - t).toFixed(1)); }
console.log(ts.join(' '));
