/**
 * tiny_bert with a dynamic sequence axis (scripts/export-tiny-bert-dynseq.py) compiled ONCE with the
 * sequence length 'S' as a run-time extent (--max-shape S=128), run at several lengths on c,
 * wasm-simd or wgsl (--targets c,wasm-simd,wgsl), against the interpreter, onnxruntime and PyTorch's outputs.
 *
 *   /usr/bin/python3 scripts/export-tiny-bert-dynseq.py /tmp/dynseq
 *   npx tsx scripts/symbolic-seq.ts [--dir /tmp/dynseq] [--targets c] [--lengths 16,32,64]
 */
import { exitOnHelp } from './script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor, parseNpy } from '@aic/core';
import { loadGraph } from '@aic/api/internal';
import { run } from '@aic/interp';
import { compileWithExtent, ortRunner, type ExtentTarget } from '../tests/extent-harness.ts';
import { excess } from '../tests/model-zoo.ts';
import { closeWgsl } from '../codegen/wgsl/target.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => { const i = args.indexOf(name); return i < 0 ? def : args[i + 1]!; };
const dir = opt('--dir', '/tmp/dynseq');
const targets = opt('--targets', 'c').split(',') as ExtentTarget[];
const lengths = opt('--lengths', '16,32,64').split(',').map(Number);
const model = path.join(dir, 'tiny_bert_dynseq.onnx');
if (!fs.existsSync(model)) { console.error(`no ${model}: run /usr/bin/python3 scripts/export-tiny-bert-dynseq.py ${dir}`); process.exit(2); }

const ortRun = await ortRunner(model);

const input = (L: number) => { const f = path.join(dir, `tiny_bert_dynseq.L${L}.input.npy`); return parseNpy(fs.readFileSync(f)) as Tensor; };
let failed = 0;
console.log('target     S   vs interp     vs onnxruntime  vs torch      ok');
for (const target of targets) {
  const a = await compileWithExtent(model, target, { S: 128 });
  console.log(`${target}: compiled once in ${(a.compileMs / 1000).toFixed(1)} s (${a.compiled.prog.kernels.length} kernels)`);
  for (const L of lengths) {
    const f = path.join(dir, `tiny_bert_dynseq.L${L}.input.npy`);
    const x = fs.existsSync(f) ? input(L) : new Tensor('int64', [1, L]);
    if (!fs.existsSync(f)) for (let i = 0; i < L; i++) x.num[i] = (i * 37 + 11) % 1000;
    const got = a.run(new Map([['input', x]])).get('output')!;
    const g = await loadGraph(model, { inputShapes: { input: [1, L] } });
    const want = (run(g, new Map([['input', x]])) as Map<string, Tensor>).get('output')!;
    const e1 = excess(got.num, want.num, 1e-3, 1e-4).worst;
    const o = await ortRun(x);
    const e2 = o ? excess(got.num, o, 1e-3, 1e-4).worst : NaN;
    const tf = path.join(dir, `tiny_bert_dynseq.L${L}.output.npy`);
    const e3 = fs.existsSync(tf) ? excess(got.num, (parseNpy(fs.readFileSync(tf)) as Tensor).num, 1e-3, 1e-4).worst : NaN;
    const ok = got.shape.join() === want.shape.join() && e1 <= 0 && !(e2 > 0) && !(e3 > 0);
    if (!ok) failed++;
    console.log(`${target.padEnd(9)} ${String(L).padStart(3)}   ${e1.toExponential(2).padStart(10)}   ${e2.toExponential(2).padStart(12)}   ${e3.toExponential(2).padStart(10)}   ${ok ? 'yes' : 'NO'}`);
  }
}
console.log(failed ? `${failed} run(s) did not match` : 'every run matched (max |err| - tol: <= 0 is within rtol 1e-3 / atol 1e-4)');
closeWgsl();
process.exit(failed ? 1 : 0);
