/**
 * The shared models compiled ONCE with a symbolic batch (--input-shape input=Nx..., as `aic compile`
 * does) on c and wasm-simd, run at batch 1 and 3, against the interpreter at the same batch (issue 13
 * item 6). The reference is the interpreter on the whole batch where the model takes one (the input
 * re-declared at batch n); models with batch-1 constants (shufflenet's and tiny_bert's Reshapes) are
 * refused there, and their reference is the interpreter sample by sample.
 *
 *   npx tsx scripts/symbolic-models.ts [--targets c,wasm-simd] [--batches 1,3] [MODEL...]
 */
import { exitOnHelp } from './script-help.ts';
exitOnHelp(import.meta.filename);
import { zooModel, excess, HAVE_SHARED, BUNDLED, LARGE } from '../tests/model-zoo.ts';
import { batchOf, compileSymbolic, reference, type SymTarget } from '../tests/symbolic-harness.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => { const i = args.indexOf(name); if (i < 0) return def; const v = args[i + 1]!; args.splice(i, 2); return v; };
const targets = opt('--targets', 'c,wasm-simd').split(',') as SymTarget[];
const batches = opt('--batches', '1,3').split(',').map(Number);
const names = args.length ? args : HAVE_SHARED ? ['small_cnn', 'squeezenet1_1', 'tiny_bert', ...LARGE] : BUNDLED;

let failed = 0;
console.log('model               target     batch  reference     max |err| - tol   ok');
for (const name of names) {
  const z = zooModel(name);
  const [inName, x] = [...z.inputs][0]!;
  const outName = [...z.outputs.keys()][0]!;
  for (const target of targets) {
    const t0 = performance.now();
    const a = await compileSymbolic(z.onnx, target, { [inName]: ['N', ...x.shape.slice(1)] });
    const ms = performance.now() - t0;
    for (const n of batches) {
      const xb = batchOf(x, n);
      const got = a.run(new Map([[inName, xb]])).get(outName)!;
      const ref = await reference(z.onnx, new Map([[inName, xb]]), [inName]);
      const want = ref.outputs.get(outName)!;
      const shapeOk = got.shape.join() === want.shape.join();
      const e = excess(got.num, want.num, 1e-3, 1e-4);
      const ok = shapeOk && e.worst <= 0;
      if (!ok) failed++;
      console.log(`${name.padEnd(19)} ${target.padEnd(10)} ${String(n).padStart(5)}  ${ref.how.padEnd(12)} ${e.worst.toExponential(2).padStart(14)}   ${ok ? 'yes' : `NO${shapeOk ? '' : ` (shape ${got.shape} vs ${want.shape})`}`}${n === batches[0] ? `   (compiled once in ${(ms / 1000).toFixed(1)} s)` : ''}`);
    }
  }
}
console.log(failed ? `${failed} run(s) did not match` : 'every run matched');
process.exit(failed ? 1 : 0);
