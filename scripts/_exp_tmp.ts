import { ModuleBuilder, Func } from '../codegen/wasm/module.ts';
import { needMath } from '../codegen/wasm/math.ts';
const mb = new ModuleBuilder();
const n = needMath(mb, 'exp', 'f64');
const f = new Func('t', ['f64'], ['f64'], 't'); f.emit(['local.get', 0], ['call', n]); mb.addFunc(f);
const W = (globalThis as any).WebAssembly;
const inst = new W.Instance(new W.Module(mb.encode()), {});
const t = inst.exports.t as (x: number) => number;
let worst = 0, wx = 0;
const xs = [0, -0, 1, -1, 709.78, 709.79, 710, -745, -745.2, -746, -708.5, -720, Infinity, -Infinity, NaN, 1e-10, -1e-300];
for (let i = 0; i < 200000; i++) xs.push((Math.random() - 0.5) * 1500);
for (let i = 0; i < 200000; i++) xs.push((Math.random() - 0.5) * 40);
for (const x of xs) {
  const a = t(x), b = Math.exp(x);
  if (Number.isNaN(b)) { if (!Number.isNaN(a)) console.log('nan', x, a); continue; }
  if (b === 0 || !Number.isFinite(b)) { if (a !== b && Math.abs(a - b) > 5e-324 * 2) console.log('edge', x, a, b); continue; }
  const ulp = Math.abs(a - b) / (Math.abs(b) * 2 ** -52);
  if (b > 1e-300 && ulp > worst) { worst = ulp; wx = x; }
}
console.log('worst ulp', worst, 'at', wx);
let s = 0; let t0 = performance.now(); for (let i = 0; i < 1e6; i++) s += t(i * 1e-5); console.log('own', performance.now() - t0, s);
