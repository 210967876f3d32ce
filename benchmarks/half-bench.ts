/**
 * float16 models against their float32 originals on the CPU targets (c, wasm-simd): per-run latency.
 *   npx tsx benchmarks/half-bench.ts [--rounds N] [NAME...]
 * For every NAME (default: small_cnn squeezenet1_1 mobilenet_v2 from ../shared/models, else the
 * bundled fixtures) three variants compile at -O2: the float32 model, its float16 weights + Cast
 * (tests/fp16-models.ts 'weights') and the model entirely in float16 ('all'). C: the generated
 * harness runs REPS times per process and the per-run time is (t(REPS+1) - t(1)) / REPS (c-timing.ts);
 * wasm-simd: runSync of the generated loader in this process. Variants are measured interleaved
 * (rounds of one sample each), 1 thread; medians, and the ratio to float32. Also the weights file
 * sizes. Measurements only: never gates tests.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as path from 'node:path';
import { castTensor, parseNpy, tensorToBytes, type RValue, type Tensor } from '@aic/core';
import { loadOnnx } from '@aic/onnx';
import { buildC, compileC, passTarget, prepareForRun } from '@aic/codegen';
import { compileWasm, loadWasmSync, optimizeForWasm } from '../codegen/wasm/target.ts';
import { calibrateReps, harnessFiles, median, sampleMs } from './c-timing.ts';
import { optimize } from '../packages/cli/src/pipeline-options.ts';
import { toHalfModel } from '../tests/fp16-models.ts';

const args = process.argv.slice(2);
const ri = args.indexOf('--rounds');
const rounds = ri >= 0 ? Number(args[ri + 1]) : 5;
const names = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--rounds');
const SHARED = path.resolve(import.meta.dirname, '../../shared/models');
const dir = fs.existsSync(SHARED) ? SHARED : path.resolve(import.meta.dirname, '../tests/fixtures/models');
const models = names.length ? names : ['small_cnn', 'squeezenet1_1', 'mobilenet_v2'].filter((m) => fs.existsSync(path.join(dir, `${m}.onnx`)));

type Sampler = () => number;
for (const name of models) {
  const bytes = new Uint8Array(fs.readFileSync(path.join(dir, `${name}.onnx`)));
  const x = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, `${name}.input.npy`))));
  const inName = loadOnnx(bytes).inputs[0].name;
  const variants: [string, Uint8Array, Tensor['dtype']][] = [
    ['float32', bytes, 'float32'], ['f16 weights', toHalfModel(bytes, 'weights'), 'float32'], ['all f16', toHalfModel(bytes, 'all'), 'float16'],
  ];
  const samplers: { target: string; variant: string; weights: number; sample: Sampler; dispose?: () => void }[] = [];
  for (const [variant, b, dt] of variants) {
    const feeds = new Map<string, RValue>([[inName, castTensor(x, dt)]]);
    // C
    const { graph } = optimize(loadOnnx(b), {}, 2, () => {}, passTarget('c'));
    prepareForRun(graph, feeds);
    const cc = compileC(graph, { version: 'bench', source: name, sourceHash: '-' });
    const built = buildC(cc.art, cc.prog);
    const files = harnessFiles(cc.art, cc.prog, feeds);
    const reps = calibrateReps(built, files);
    samplers.push({ target: 'c', variant, weights: cc.art.weights?.length ?? 0, sample: () => sampleMs(built, files, reps), dispose: files.dispose });
    // wasm-simd
    const wc = compileWasm(optimizeForWasm(loadOnnx(b), true), { simd: true, version: 'bench', source: name, sourceHash: '-' });
    const model = loadWasmSync(wc);
    const m = wc.art.meta.inputs[0];
    const ta = castTensor(x, dt);
    const arr = dt === 'float16' ? new Uint16Array(tensorToBytes(ta).slice().buffer) : Float32Array.from(ta.num as ArrayLike<number>);
    const feed = { [m.name]: arr };
    model.runSync(feed);
    let wreps = 1;
    for (let t0 = performance.now(); performance.now() - t0 < 200; wreps++) model.runSync(feed);
    samplers.push({ target: 'wasm-simd', variant, weights: wc.art.weightsFile?.length ?? 0, sample: () => { const t0 = performance.now(); for (let i = 0; i < wreps; i++) model.runSync(feed); return (performance.now() - t0) / wreps; } });
  }
  const times = new Map(samplers.map((s) => [s, [] as number[]]));
  for (let r = 0; r < rounds; r++) for (const s of samplers) times.get(s)!.push(s.sample());
  for (const target of ['c', 'wasm-simd']) {
    const base = median(times.get(samplers.find((s) => s.target === target && s.variant === 'float32')!)!);
    for (const s of samplers.filter((x) => x.target === target)) {
      const ms = median(times.get(s)!);
      console.log(`${name.padEnd(15)} ${target.padEnd(10)} ${s.variant.padEnd(12)} ${ms.toFixed(3).padStart(9)} ms  x${(ms / base).toFixed(2)} of float32  weights ${(s.weights / 1024).toFixed(0)} KiB${base < 1 ? '  (under 1 ms)' : ''}`);
    }
  }
  samplers.forEach((s) => s.dispose?.());
}
