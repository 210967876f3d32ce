/**
 * tiny_bert with a dynamic batch AND sequence length (scripts/export-tiny-bert-dynseq.py --batch) compiled
 * ONCE with the batch run per sample and the sequence length 'S' a run-time extent (--max-shape batch=4
 * --max-shape S=128), run at several (batch, S) pairs on c, wasm-simd or wgsl, against the interpreter at the
 * whole batch, onnxruntime and PyTorch's outputs.
 *
 *   /usr/bin/python3 scripts/export-tiny-bert-dynseq.py /tmp/dynboth --batch
 *   npx tsx scripts/symbolic-both.ts [--dir /tmp/dynboth] [--targets c,wasm-simd,wgsl] [--pairs 1x16,2x32,3x64,4x128]
 */
import { exitOnHelp } from './script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor, parseNpy } from '@aic/core';
import { loadGraph } from '@aic/api/internal';
import { run } from '@aic/interp';
import { compileWithSymbols, ortRunner, type ExtentTarget } from '../tests/extent-harness.ts';
import { excess } from '../tests/model-zoo.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => { const i = args.indexOf(name); return i < 0 ? def : args[i + 1]!; };
const dir = opt('--dir', '/tmp/dynboth');
const targets = opt('--targets', 'c,wasm-simd').split(',') as ExtentTarget[];
const pairs = opt('--pairs', '1x16,2x32,3x64,4x128').split(',').map((p) => p.split('x').map(Number) as [number, number]);
const model = path.join(dir, 'tiny_bert_dynbatch.onnx');
if (!fs.existsSync(model)) { console.error(`no ${model}: run /usr/bin/python3 scripts/export-tiny-bert-dynseq.py ${dir} --batch`); process.exit(2); }

const ortRun = await ortRunner(model);

/** the export's ids at (n, L), else deterministic ones */
function ids(n: number, L: number): Tensor {
  const f = path.join(dir, `tiny_bert_dynbatch.B${n}.L${L}.input.npy`);
  if (fs.existsSync(f)) return parseNpy(fs.readFileSync(f)) as Tensor;
  const x = new Tensor('int64', [n, L]);
  for (let i = 0; i < n * L; i++) x.num[i] = (i * 37 + 11) % 1000;
  return x;
}

let failed = 0;
console.log('target     batch    S   max|err| interp  vs interp     vs onnxruntime  vs torch      ok');
for (const target of targets) {
  const a = await compileWithSymbols(model, target, { batch: 4, S: 128 });
  console.log(`${target}: compiled once in ${(a.compileMs / 1000).toFixed(1)} s (${a.compiled.prog.kernels.length} kernels)`);
  for (const [n, L] of pairs) {
    const x = ids(n, L);
    const got = a.run(new Map([['input', x]])).get('output')!;
    const g = await loadGraph(model, { inputShapes: { input: [n, L] } });
    const want = (run(g, new Map([['input', x]])) as Map<string, Tensor>).get('output')!;
    const e1 = excess(got.num, want.num, 1e-3, 1e-4).worst;
    const abs = Math.max(...Array.from(got.num, (v, i) => Math.abs(Number(v) - Number(want.num[i]))));
    const o = await ortRun(x);
    const e2 = o ? excess(got.num, o, 1e-3, 1e-4).worst : NaN;
    const tf = path.join(dir, `tiny_bert_dynbatch.B${n}.L${L}.output.npy`);
    const e3 = fs.existsSync(tf) ? excess(got.num, (parseNpy(fs.readFileSync(tf)) as Tensor).num, 1e-3, 1e-4).worst : NaN;
    const ok = got.shape.join() === want.shape.join() && got.shape.join() === `${n},2` && e1 <= 0 && !(e2 > 0) && !(e3 > 0);
    if (!ok) failed++;
    console.log(`${target.padEnd(9)} ${String(n).padStart(5)} ${String(L).padStart(4)}   ${abs.toExponential(2).padStart(14)}  ${e1.toExponential(2).padStart(10)}   ${e2.toExponential(2).padStart(12)}   ${e3.toExponential(2).padStart(10)}   ${ok ? 'yes' : `NO (shape ${got.shape})`}`);
  }
}
console.log(failed ? `${failed} run(s) did not match` : 'every run matched (max |err| - tol: <= 0 is within rtol 1e-3 / atol 1e-4)');
process.exit(failed ? 1 : 0);
