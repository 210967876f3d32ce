import { loadOnnxFile } from '@aic/onnx';
import { compileWasm, loadWasmSync, optimizeForWasm } from '/work/main/codegen/wasm/target.ts';
const binaryen = (await import('/tmp/bx/node_modules/binaryen/index.js')).default;
const g = optimizeForWasm(loadOnnxFile(process.argv[2]));
const c = compileWasm(g, { simd: true, version: 't', source: 's', sourceHash: '-' });
const time = (m: ReturnType<typeof loadWasmSync>) => {
  const feeds: Record<string, ArrayBufferView> = {};
  for (const i of c.art.meta.inputs) feeds[i.name] = i.dtype === 'int64' ? new BigInt64Array(i.length) : new Float32Array(i.length).fill(0.5);
  const ts: number[] = []; for (let r = 0; r < 6; r++) { const t = performance.now(); m.runSync(feeds); ts.push(performance.now() - t); }
  return ts.slice(2).sort((a, b) => a - b)[1].toFixed(1);
};
const t0 = performance.now();
const mod = binaryen.readBinary(c.art.wasm);
mod.setFeatures(binaryen.Features.All);
binaryen.setOptimizeLevel(3);
mod.optimize();
const opt: Uint8Array = mod.emitBinary();
const optMs = performance.now() - t0;
console.log(`own builder: compile ${c.compileMs.toFixed(0)} ms, ${c.art.wasm.length} B, run ${time(loadWasmSync(c))} ms`);
const c2 = { ...c, art: { ...c.art, wasm: opt } };
console.log(`+ binaryen -O3: +${optMs.toFixed(0)} ms, ${opt.length} B, run ${time(loadWasmSync(c2))} ms`);
