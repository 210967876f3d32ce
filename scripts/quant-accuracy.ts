/**
 * Quantization accuracy (a measurement, never a test gate): quantize the shared CNNs with N
 * calibration inputs drawn as their reference inputs were (standard normal, torch.randn's
 * distribution; seeded here), then on M other inputs report the mean cosine similarity of the int8
 * QDQ model's output to the float model's (ONNX Runtime fp32 of the original model is the
 * reference), the int8 model run by ONNX Runtime and by our interpreter, and the weights' size ratio.
 *
 *   nice npx tsx scripts/quant-accuracy.ts [--models resnet18,mobilenet_v2] [--method minmax]
 *        [--calib 16] [--eval 8] [--no-interp] [--per-tensor] [--keep DIR]
 */
import { exitOnHelp } from './script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tensor } from '@aic/core';
import { quantize } from '@aic/passes';
import { run } from '@aic/interp';
import { exportOnnx } from '@aic/onnx';
import { loadModel } from '../packages/cli/src/model-io.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const SHARED = path.resolve(ROOT, '../shared/models');
const args = process.argv.slice(2);
const opt = (name: string, def: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1]! : def; };
const MODELS = opt('--models', 'resnet18,mobilenet_v2,squeezenet1_1,efficientnet_b0').split(',');
const METHOD = opt('--method', 'minmax') as quantize.CalibMethod;
const NCAL = Number(opt('--calib', '16')), NEVAL = Number(opt('--eval', '8'));
const INTERP = !args.includes('--no-interp');
const KEEP = args.includes('--keep') ? opt('--keep', '') : undefined;

/** Seeded standard normal values (xorshift32 + Box-Muller). */
function normals(seed: number, n: number): Float32Array {
  let s = seed >>> 0 || 1;
  const u = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return (s + 0.5) / 2 ** 32; };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u())), th = 2 * Math.PI * u();
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i]! * b[i]!; na += a[i]! * a[i]!; nb += b[i]! * b[i]!; }
  return d / Math.sqrt(na * nb);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sessOpts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };

async function ortRun(s: ort.InferenceSession, x: Tensor): Promise<Float32Array> {
  const r = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x.num as Float32Array, x.shape as number[]) });
  return r[s.outputNames[0]!]!.data as Float32Array;
}

const dir = KEEP ?? fs.mkdtempSync(path.join(os.tmpdir(), 'aic-quant-'));
fs.mkdirSync(dir, { recursive: true });
console.log(`method ${METHOD}, ${NCAL} calibration inputs, ${NEVAL} evaluation inputs (standard normal, seeded), ${quantize.quantPipeline().split(',').length}-step preparation pipeline`);
const rows: string[][] = [];
for (const name of MODELS) {
  const file = path.join(SHARED, `${name}.onnx`);
  const g = await loadModel(file);
  const input = g.inputs[0]!;
  const shape = input.shape as number[];
  const size = shape.reduce((a, b) => a * b, 1);
  const calib = Array.from({ length: NCAL }, (_, k) => new Map([[input.name, new Tensor('float32', shape, normals(1000 + k, size))]]));
  const evals = Array.from({ length: NEVAL }, (_, k) => new Tensor('float32', shape, normals(2000 + k, size)));
  const t0 = performance.now();
  const r = quantize.quantizeGraph(g, calib, { method: METHOD, perChannel: !args.includes('--per-tensor') });
  const qSec = (performance.now() - t0) / 1000;
  const qFile = path.join(dir, `${name}.int8.onnx`);
  const bytes = exportOnnx(r.graph);
  fs.writeFileSync(qFile, bytes);
  const fp = await ort.InferenceSession.create(file, sessOpts);
  const qs = await ort.InferenceSession.create(qFile, sessOpts);
  const cosOrt: number[] = [], cosInterp: number[] = [];
  for (const x of evals) {
    const ref = await ortRun(fp, x);
    cosOrt.push(cosine(ref, await ortRun(qs, x)));
    if (INTERP) cosInterp.push(cosine(ref, (run(r.graph, { [input.name]: x }).get(r.graph.outputs[0]!.name) as Tensor).num));
  }
  const wRatio = quantize.weightBytes(r.prepared) / quantize.weightBytes(r.graph);
  const fileRatio = fs.statSync(file).size / bytes.length;
  rows.push([name, String(r.layers.length), mean(cosOrt).toFixed(5), Math.min(...cosOrt).toFixed(5),
    INTERP ? mean(cosInterp).toFixed(5) : '-', wRatio.toFixed(2), fileRatio.toFixed(2), qSec.toFixed(0)]);
  console.log(rows.at(-1)!.join('\t'));
}
const head = ['model', 'layers', 'cos ORT (mean)', 'cos ORT (min)', 'cos interp (mean)', 'weights fp32/int8', '.onnx size ratio', 'quantize s'];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
console.log('\n' + [head, ...rows].map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ')).join('\n'));
console.log(`\nQDQ models in ${dir}`);
