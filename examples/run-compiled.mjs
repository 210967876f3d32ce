#!/usr/bin/env node
// Runs a model compiled with `aic compile --target wasm-simd -o DIR` through its generated loader,
// on an input .npy, and compares with an expected .npy when given. No dependencies.
//   node examples/run-compiled.mjs DIR INPUT.npy [EXPECTED.npy]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

function readNpy(file) {
  const b = readFileSync(file);
  const hlen = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + hlen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').filter((s) => s.trim()).map(Number);
  const body = b.subarray(10 + hlen);
  const copy = new Uint8Array(body).buffer;
  const data = descr === '<f4' ? new Float32Array(copy) : descr === '<i8' ? new BigInt64Array(copy) : null;
  if (!data) throw new Error(`${file}: unsupported dtype ${descr}`);
  return { shape, data };
}

const [dir, inputFile, expectedFile] = process.argv.slice(2);
if (!dir || !inputFile) {
  console.error('usage: node examples/run-compiled.mjs DIR INPUT.npy [EXPECTED.npy]');
  process.exit(2);
}
const { load } = await import(pathToFileURL(resolve(dir, 'model.mjs')).href);
const model = await load();
const input = model.inputs[0];
const x = readNpy(inputFile);
const t0 = performance.now();
const outputs = await model.run({ [input.name]: x.data });
const ms = performance.now() - t0;
const out = model.outputs[0];
const y = outputs[out.name];
let best = 0;
for (let i = 1; i < y.length; i++) if (y[i] > y[best]) best = i;
console.log(`${out.name}: [${out.shape.join(', ')}], first values ${Array.from(y.slice(0, 5), (v) => v.toFixed(5)).join(' ')}, argmax ${best} (${ms.toFixed(2)} ms)`);
if (expectedFile) {
  const want = readNpy(expectedFile).data;
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(y[i] - want[i]) / (1e-4 + 1e-3 * Math.abs(want[i])));
  console.log(worst <= 1 ? 'matches the reference output (rtol 1e-3, atol 1e-4)' : `DIFFERS from the reference (worst error ${worst.toFixed(2)}x the tolerance)`);
  process.exit(worst <= 1 ? 0 : 1);
}
