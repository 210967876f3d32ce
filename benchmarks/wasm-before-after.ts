/**
 * npx tsx benchmarks/wasm-before-after.ts --base DIR [MODEL...] [--budget SECONDS] [--dir MODELS]
 *
 * Two aic trees against onnxruntime-web (wasm EP, SIMD, 1 thread) in one Node process: the model
 * compiled for wasm-simd by the tree at --base (e.g. `git archive BASE | tar -x -C DIR` with this tree's
 * node_modules copied in) and by this tree, each run interleaved with ORT-web on the same input;
 * medians, before/ORT, after/ORT, after/before, and the geomeans over the models that take >= 1 ms on
 * ORT-web. On a shared machine the ratios (measured side by side) are what to quote. Never gates a test.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const base = opt('--base');
if (!base) throw new Error('--base DIR: the aic tree to compare with (a checkout of another commit, with node_modules)');
const budget = Number(opt('--budget') ?? 6);
const dir = path.resolve(opt('--dir') ?? path.join(import.meta.dirname, '../../shared/models'));
const named = args.filter((a, i) => !a.startsWith('--') && !['--base', '--budget', '--dir'].includes(args[i - 1] ?? ''));

type Compile = (file: string) => string;
/** compile-for-wasm-simd of the aic tree at root: model file -> artifact folder */
async function compilerAt(root: string): Promise<Compile> {
  const r = createRequire(path.join(path.resolve(root), 'package.json'));
  const imp = (m: string) => import(pathToFileURL(r.resolve(m)).href);
  const [onnx, codegen, passes, wasm] = await Promise.all([imp('@aic/onnx'), imp('@aic/codegen'), imp('@aic/passes'),
    import(pathToFileURL(path.join(path.resolve(root), 'codegen/wasm/target.ts')).href)]);
  return (file) => {
    const target = codegen.getTarget('wasm-simd');
    const g = passes.runPipeline(onnx.loadOnnxFile(file), passes.pipelineFor(2), { target: codegen.passTargetOf(target), out: () => {} }).graph;
    const c = codegen.compileFor(target, g, { version: 'bench', source: file, sourceHash: '-' }).art;
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-before-after-'));
    wasm.writeWasmArtifact(out, c);
    return out;
  };
}

const median = (xs: number[]) => { const s = xs.slice().sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function main(): Promise<void> {
  const before = await compilerAt(base!), after = await compilerAt(path.join(import.meta.dirname, '..'));
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-web');
  const ort = await import(pathToFileURL(ortPath).href) as typeof import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  ort.env.logLevel = 'error';
  const { parseNpy } = await import('@aic/core');
  const models = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).filter((m) => !named.length || named.includes(m)).sort();
  const logs: [number[], number[]] = [[], []];
  const dirs: string[] = [];
  try {
    for (const model of models) {
      const meta = JSON.parse(fs.readFileSync(path.join(dir, `${model}.json`), 'utf8'));
      const file = path.join(dir, meta.model);
      const db = before(file), da = after(file);
      dirs.push(db, da);
      const mb = await (await import(pathToFileURL(path.join(db, 'model.mjs')).href)).load();
      const ma = await (await import(pathToFileURL(path.join(da, 'model.mjs')).href)).load();
      const feeds: Record<string, ArrayBufferView> = {}, ortFeeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const i of meta.inputs) {
        const t = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, i.file)))) as { num: ArrayLike<number> };
        const arr = i.dtype === 'int64' ? BigInt64Array.from(Array.from(t.num, (x) => BigInt(x))) : Float32Array.from(t.num);
        feeds[i.name] = arr;
        ortFeeds[i.name] = new ort.Tensor(i.dtype === 'int64' ? 'int64' : 'float32', arr as Float32Array, i.shape);
      }
      const session = await ort.InferenceSession.create(fs.readFileSync(file), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      for (let w = 0; w < 2; w++) { mb.runSync(feeds); ma.runSync(feeds); await session.run(ortFeeds); }
      const tb: number[] = [], ta: number[] = [], to: number[] = [];
      const start = performance.now();
      while ((performance.now() - start < budget * 1000 && tb.length < 300) || tb.length < 5) {
        let s = performance.now(); mb.runSync(feeds); tb.push(performance.now() - s);
        s = performance.now(); ma.runSync(feeds); ta.push(performance.now() - s);
        s = performance.now(); await session.run(ortFeeds); to.push(performance.now() - s);
      }
      await session.release();
      const [b, a, o] = [median(tb), median(ta), median(to)];
      if (o >= 1) { logs[0].push(Math.log(b / o)); logs[1].push(Math.log(a / o)); }
      console.log(`${model}: before ${b.toFixed(2)} ms, after ${a.toFixed(2)} ms, ort-web ${o.toFixed(2)} ms; before/ORT ${(b / o).toFixed(2)}, after/ORT ${(a / o).toFixed(2)}, after/before ${(a / b).toFixed(3)} (${tb.length} runs each)`);
    }
  } finally {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
  const gm = (x: number[]) => Math.exp(x.reduce((p, q) => p + q, 0) / x.length);
  if (logs[0].length) console.log(`\ngeomean aic/ORT-web over ${logs[0].length} models (>= 1 ms on ORT-web): before ${gm(logs[0]).toFixed(2)}, after ${gm(logs[1]).toFixed(2)}`);
}

await main();
