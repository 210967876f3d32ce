/**
 * npx tsx benchmarks/ort-profile.ts MODEL.onnx INPUT.npy [--runs N] [--top K]
 *
 * ONNX Runtime's own per-node profile of a model (onnxruntime-node, CPU, 1 intra-op thread, all graph
 * optimizations, profiling on): the median kernel time of every node over N runs (default 30), the
 * sum, the time per op type, and the K slowest nodes (default 25), to set beside `aic profile MODEL
 * --target c` when looking for where aic loses (which nodes ORT fused, and which layout it runs: e.g.
 * `..._nchwc` nodes and ReorderInput/ReorderOutput at the boundaries). One input, the model's first.
 * Informational only: never gates a test.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseNpy } from '@aic/core';

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const [model, input] = args.filter((a, i) => !a.startsWith('--') && !['--runs', '--top'].includes(args[i - 1] ?? ''));
if (!model || !input) { console.error('usage: npx tsx benchmarks/ort-profile.ts MODEL.onnx INPUT.npy [--runs N] [--top K]'); process.exit(2); }
const runs = Number(opt('--runs') ?? 30), top = Number(opt('--top') ?? 25);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-ort-profile-'));
const sess = await ort.InferenceSession.create(model, {
  intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
  enableProfiling: true, profileFilePrefix: path.join(dir, 'p'),
});
const x = parseNpy(fs.readFileSync(input), input);
const feeds = { [sess.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(x.num as ArrayLike<number>), x.shape as number[]) };
for (let i = 0; i < runs; i++) await sess.run(feeds);
await (sess as unknown as { endProfiling?: () => Promise<void> | void }).endProfiling?.();
const file = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, f))[0];
if (!file) { console.error('ort-profile: onnxruntime wrote no profile'); process.exit(1); }
type Ev = { cat: string; name: string; dur: number; args?: { op_name?: string } };
const events = JSON.parse(fs.readFileSync(file, 'utf8')) as Ev[];
fs.rmSync(dir, { recursive: true, force: true });

const per = new Map<string, { op: string; us: number[] }>();
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const k = e.name.replace(/_kernel_time$/, '');
  const a = per.get(k) ?? { op: e.args?.op_name ?? '?', us: [] };
  a.us.push(e.dur);
  per.set(k, a);
}
const median = (xs: number[]) => { const s = xs.slice().sort((a, b) => a - b); return s[s.length >> 1]!; };
const rows = [...per].map(([k, v]) => ({ node: k, op: v.op, ms: median(v.us) / 1000 })).sort((a, b) => b.ms - a.ms);
const byOp = new Map<string, number>();
for (const r of rows) byOp.set(r.op, (byOp.get(r.op) ?? 0) + r.ms);
console.log(`ORT ${ort.env.versions?.common ?? ''} on ${path.basename(model)}, 1 thread, ${runs} runs: sum of node medians ${rows.reduce((s, r) => s + r.ms, 0).toFixed(3)} ms, ${rows.length} nodes`);
console.log('by op: ' + [...byOp].sort((a, b) => b[1] - a[1]).map(([o, t]) => `${o} ${t.toFixed(3)}`).join(', '));
for (const r of rows.slice(0, top)) console.log(`${r.ms.toFixed(4).padStart(9)}  ${r.op.padEnd(22)} ${r.node}`);
