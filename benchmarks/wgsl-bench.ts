/**
 * npx tsx benchmarks/wgsl-bench.ts [MODEL...] [--runs N]
 *
 * Latency of aic's WGSL artifact vs onnxruntime-web's WebGPU execution provider, on the same GPU in one
 * process (Node + the `webgpu` package; ORT-web gets that device's GPU through a navigator.gpu shim).
 * Per run: upload inputs, all dispatches in one command buffer, read back outputs; median of N runs
 * after 5 warm-up runs. Only on a real GPU: on SwiftShader / no adapter it prints that latency could
 * not be measured (CPU emulation says nothing about GPU kernels). Models: the bundled fixtures.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor, parseNpy } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { compileFor, getTarget, type Target } from '@aic/codegen';
import { wgslDevice, type WgslCompiled } from '../codegen/wgsl/index.ts';

const target = getTarget('wgsl') as Target<WgslCompiled>;

const FIX = path.resolve(import.meta.dirname, '../tests/fixtures/models');
const args = process.argv.slice(2);
const runsIdx = args.indexOf('--runs');
const RUNS = runsIdx >= 0 ? Number(args[runsIdx + 1]) : 50;
const models = args.filter((a, i) => !a.startsWith('--') && i !== runsIdx + 1);
const names = models.length ? models : ['small_cnn', 'squeezenet1_1', 'tiny_bert'];

const median = (xs: number[]) => { const s = xs.slice().sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

async function time(f: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 5; i++) await f();
  const ts: number[] = [];
  for (let i = 0; i < RUNS; i++) { const t0 = performance.now(); await f(); ts.push(performance.now() - t0); }
  return median(ts);
}

async function main(): Promise<void> {
  let gpu;
  try {
    gpu = await wgslDevice();
  } catch (e) {
    console.log(`latency could not be measured: no WebGPU adapter (${(e as Error).message})`);
    return;
  }
  const info = gpu.adapterInfo;
  const software = info.software || /swiftshader|llvmpipe|lavapipe/i.test(`${info.architecture} ${info.description}`);
  console.log(`adapter: ${info.vendor} ${info.architecture} ${info.description}`);
  if (software) {
    console.log('latency could not be measured: the only adapter is a CPU emulation (SwiftShader), not a GPU');
    return;
  }
  let ort: any;
  try {
    ort = await import('onnxruntime-web/webgpu' as string);
    const { create, globals } = await import('webgpu' as string);
    Object.assign(globalThis, globals);
    if (!(globalThis as any).navigator?.gpu) Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true });
  } catch (e) {
    console.log(`onnxruntime-web not available (${(e as Error).message.split('\n')[0]}): aic only`);
  }
  console.log(`median of ${RUNS} runs (ms), upload + compute + readback`);
  console.log('model            aic-wgsl   ort-web-webgpu   max|diff|');
  for (const name of names) {
    const meta = JSON.parse(fs.readFileSync(path.join(FIX, `${name}.json`), 'utf8'));
    const feeds: Record<string, Float32Array | BigInt64Array> = {};
    for (const i of meta.inputs) {
      const t = parseNpy(new Uint8Array(fs.readFileSync(path.join(FIX, i.file)))) as Tensor;
      feeds[i.name] = i.dtype === 'int64' ? BigInt64Array.from(t.num as ArrayLike<number>, (x) => BigInt(x)) : Float32Array.from(t.num as ArrayLike<number>);
    }
    let aicMs = NaN, ortMs = NaN, diff = NaN;
    let aicOut: Record<string, ArrayLike<number>> = {};
    try {
      const c = compileFor(target, loadOnnxFile(path.join(FIX, meta.model)), { version: 'bench', source: name, sourceHash: '-' }).art;
      const mod = await import(`data:text/javascript;base64,${Buffer.from(c.host).toString('base64')}`);
      const m = await mod.load({ device: gpu.device, weights: c.weights });
      aicMs = await time(async () => { aicOut = await m.run(feeds); });
      m.destroy();
    } catch (e) {
      console.log(`${name}: aic: ${(e as Error).message.split('\n')[0]}`);
    }
    if (ort) {
      try {
        const sess = await ort.InferenceSession.create(fs.readFileSync(path.join(FIX, meta.model)), { executionProviders: ['webgpu'] });
        const of: Record<string, unknown> = {};
        for (const i of meta.inputs) of[i.name] = new ort.Tensor(i.dtype === 'int64' ? 'int64' : 'float32', feeds[i.name], i.shape);
        let out: any;
        ortMs = await time(async () => { out = await sess.run(of); });
        const o = meta.outputs[0].name;
        const a = aicOut[o], b = out[o].data as Float32Array;
        if (a) { diff = 0; for (let k = 0; k < b.length; k++) diff = Math.max(diff, Math.abs(Number(a[k]) - b[k])); }
      } catch (e) {
        console.log(`${name}: ort-web: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    console.log(`${name.padEnd(16)} ${aicMs.toFixed(3).padStart(8)}   ${ortMs.toFixed(3).padStart(14)}   ${diff.toExponential(2)}`);
  }
  gpu.device.destroy?.();
}

await main();
process.exit(0);
