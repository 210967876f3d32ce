/**
 * Node counts: aic -O2 against ONNX Runtime's "extended" graph optimizer, per model.
 *   npm run bench:nodes [-- [--dir DIR]... NAME...]
 * For every NAME.onnx in ../shared/models (tests/fixtures/models when that folder is missing) and in
 * each --dir DIR (say, models written by scripts/export-mobilenet-v3.py):
 *  - ONNX Runtime (onnxruntime-node, CPU) loads it at graphOptimizationLevel 'extended' and saves the
 *    optimized model (optimizedModelFilePath, a temp file); its nodes are counted (decoded with onnx-proto);
 *  - `aic opt -O2 -o TMP.aic` runs in-process; the written .aic is loaded back and its nodes counted;
 *  - the .aic result runs on NAME.input.npy in the interpreter and is compared with NAME.output.npy
 *    (rtol 1e-3, atol 1e-4).
 * Prints one table: both counts, the verdict (aic <= ORT) and whether aic's output still matches.
 * Measurements only: never gates tests. Exit code 0 unless a model could not be processed.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import onnxProto from 'onnx-proto';
import { Tensor, parseNpy, type RValue } from '@aic/core';
import { run } from '@aic/interp';
import { tensorDiff } from '@aic/passes';
import { optCommand } from '../packages/cli/src/commands/opt.ts';
import { loadModel } from '../packages/cli/src/model-io.ts';
import { reportError } from '../packages/cli/src/ui.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const SHARED = path.resolve(ROOT, '../shared/models');
const FIXTURES = path.join(ROOT, 'tests/fixtures/models');
const args = process.argv.slice(2);
const extraDirs = args.flatMap((a, i) => (a === '--dir' && args[i + 1] ? [path.resolve(args[i + 1])] : []));
const dirs = [fs.existsSync(SHARED) ? SHARED : FIXTURES, ...extraDirs];
const only = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '--dir');
const dirOf = new Map<string, string>();
for (const d of dirs) for (const f of fs.readdirSync(d)) if (f.endsWith('.onnx')) dirOf.set(f.slice(0, -5), d);
const models = [...dirOf.keys()].filter((n) => only.length === 0 || only.includes(n)).sort();

interface Row { model: string; ort: number | string; aic: number | string; verdict: string; matches: string; optMs: string }

/** Run fn with process.stdout quiet (optCommand reports what it wrote). */
async function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try { return await fn(); } finally { process.stdout.write = write; }
}

async function ortCount(model: string, tmp: string): Promise<number> {
  const ort = await import('onnxruntime-node');
  const out = path.join(tmp, `${path.basename(model, '.onnx')}.ort.onnx`);
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'extended', optimizedModelFilePath: out, executionProviders: ['cpu'] });
  await session.release();
  const m = onnxProto.onnx.ModelProto.decode(fs.readFileSync(out));
  return m.graph?.node?.length ?? 0;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-bench-nodes-'));
const rows: Row[] = [];
let failed = 0;
process.stderr.write(`models from ${dirs.join(', ')}\n`);
for (const name of models) {
  const dir = dirOf.get(name)!;
  const file = path.join(dir, `${name}.onnx`);
  const row: Row = { model: name, ort: '-', aic: '-', verdict: '-', matches: '-', optMs: '-' };
  try {
    row.ort = await ortCount(file, tmp);
  } catch (e) {
    row.ort = `error: ${(e as Error).message.split('\n')[0].slice(0, 40)}`;
    failed++;
  }
  try {
    const out = path.join(tmp, `${name}.O2.aic`);
    const t0 = performance.now();
    const rc = await quiet(() => optCommand(file, { optLevel: 2, output: out }));
    row.optMs = (performance.now() - t0).toFixed(0);
    if (rc !== 0) throw new Error(`aic opt exited ${rc}`);
    const g = await loadModel(out);
    row.aic = g.nodes.length;
    if (typeof row.ort === 'number') row.verdict = row.aic <= row.ort ? 'yes' : 'NO';
    const inFile = path.join(dir, `${name}.input.npy`), outFile = path.join(dir, `${name}.output.npy`);
    if (fs.existsSync(inFile) && fs.existsSync(outFile) && g.inputs.length === 1 && g.outputs.length === 1) {
      const feeds = new Map<string, RValue>([[g.inputs[0].name, parseNpy(new Uint8Array(fs.readFileSync(inFile)))]]);
      const got = run(g, feeds).get(g.outputs[0].name);
      const want = parseNpy(new Uint8Array(fs.readFileSync(outFile)));
      const why = got instanceof Tensor ? tensorDiff(got, want) : 'output is not a tensor';
      row.matches = why ? `NO (${why})` : 'yes';
    } else row.matches = 'no reference';
  } catch (e) {
    process.stderr.write(`${name}: `);
    reportError(e);
    row.aic = 'error';
    failed++;
  }
  rows.push(row);
  process.stderr.write(`  ${name}: ORT ${row.ort}, aic ${row.aic}\n`);
}

const head: Row = { model: 'model', ort: 'ORT extended', aic: 'aic -O2', verdict: 'aic <= ORT', matches: 'matches output.npy', optMs: 'aic opt ms' };
const cols: (keyof Row)[] = ['model', 'ort', 'aic', 'verdict', 'matches', 'optMs'];
const w = cols.map((k) => Math.max(...[head, ...rows].map((r) => String(r[k]).length)));
const line = (r: Row) => `| ${cols.map((k, i) => (typeof r[k] === 'number' || k === 'optMs' ? String(r[k]).padStart(w[i]) : String(r[k]).padEnd(w[i]))).join(' | ')} |`;
console.log(line(head));
console.log(`| ${w.map((n) => '-'.repeat(n)).join(' | ')} |`);
for (const r of rows) console.log(line(r));
const wins = rows.filter((r) => r.verdict === 'yes').length;
console.log(`\naic -O2 has no more nodes than ONNX Runtime 'extended' on ${wins} of ${rows.length} models; ${rows.filter((r) => r.matches === 'yes').length} of ${rows.length} still match their reference output.`);
fs.rmSync(tmp, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
