/**
 * int8 vs fp32 kernels, 1 thread, one process, interleaved: the same shapes as an integer op
 * (ConvInteger / QLinearConv / MatMulInteger: uint8 activations with zero point 131, symmetric int8 weights
 * (zero point 0, as `aic quantize` makes them))
 * and as f32 Conv / MatMul, compiled for C and wasm-simd; medians and the ratio int8 / f32 (< 1 = int8
 * faster). Outputs are checked against the reference interpreter first (exact for integers). Convs
 * also time f32 computed directly (no Winograd / GEMM algorithm), the loop nest the integer op uses.
 *   npx tsx benchmarks/int8-bench.ts [--runs N] [--target c|wasm-simd] [CASE...]
 * Cases: conv3x3 (64->64, 56x56, pad 1), conv1x1 (64->256, 56x56), dw3x3 (144ch depthwise, 56x56),
 * matmul (512x512x512). Measurements only: never gates a test.
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import { Graph, Node, Tensor, Value, type Attr, type DType, type RValue } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { buildC, compileC, compileWasm, prepareForRun, runC, type BuildResult } from '@aic/codegen';
import { loadWasmSync } from '../codegen/wasm/target.ts';
import { calibrateReps, harnessFiles, median, sampleMs } from './c-timing.ts';

const args = process.argv.slice(2);
const opt = (n: string) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const runs = Number(opt('--runs') ?? 7);
const targets = opt('--target') ? [opt('--target')!] : ['c', 'wasm-simd'];
const only = args.filter((a, i) => !a.startsWith('--') && !['--runs', '--target'].includes(args[i - 1] ?? ''));

function rand(n: number, seed: number, lo: number, hi: number, int: boolean): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const v = lo + (s / 2 ** 32) * (hi - lo);
    return int ? Math.floor(v) : v;
  });
}
const tensor = (d: DType, shape: number[], v: number[]) => { const t = new Tensor(d, shape); t.num.set(v); return t; };
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

type Kind = 'f32' | 'f32-direct' | 'integer' | 'qlinear';
interface Case { name: string; x: number[]; w: number[]; conv: boolean; attrs: Record<string, Attr> }
const ints = (v: number[]): Attr => ({ type: 'ints', value: v }) as Attr;
const int = (v: number): Attr => ({ type: 'int', value: v }) as Attr;
const CASES: Case[] = [
  { name: 'conv3x3', x: [1, 64, 56, 56], w: [64, 64, 3, 3], conv: true, attrs: { pads: ints([1, 1, 1, 1]) } },
  { name: 'conv1x1', x: [1, 64, 56, 56], w: [256, 64, 1, 1], conv: true, attrs: {} },
  { name: 'dw3x3', x: [1, 144, 56, 56], w: [144, 1, 3, 3], conv: true, attrs: { pads: ints([1, 1, 1, 1]), group: int(144) } },
  { name: 'matmul', x: [512, 512], w: [512, 512], conv: false, attrs: {} },
];

/** One-node graph: input x, constant weights (and scalars), output y. */
function graphOf(c: Case, kind: 'f32' | 'integer' | 'qlinear'): { g: Graph; feeds: Map<string, RValue> } {
  const g = new Graph(`${c.name}-${kind}`);
  const f32 = kind === 'f32';
  const xd: DType = f32 ? 'float32' : 'uint8';
  const x = new Value('x', { dtype: xd, shape: c.x.slice() });
  g.inputs.push(x);
  const k = (name: string, t: Tensor) => { const v = new Value(name, { dtype: t.dtype, shape: t.shape.slice() }); v.const = t; g.constants.push(v); return v; };
  const wt = f32 ? tensor('float32', c.w, rand(numel(c.w), 2, -1, 1, false)) : tensor('int8', c.w, rand(numel(c.w), 2, -128, 128, true));
  const W = k('w', wt);
  const y = new Value('y', { dtype: 'float32', shape: undefined });
  const s = (n: string, v: number) => k(n, tensor('float32', [], [v]));
  const zx = k('zx', tensor('uint8', [], [131])), zw = k('zw', tensor('int8', [], [0]));
  let ins: (Value | null)[];
  let op: string;
  if (kind === 'f32') { op = c.conv ? 'Conv' : 'MatMul'; ins = [x, W]; }
  else if (kind === 'integer') { op = c.conv ? 'ConvInteger' : 'MatMulInteger'; ins = [x, W, zx, zw]; }
  else { op = c.conv ? 'QLinearConv' : 'QLinearMatMul'; ins = [x, s('xs', 0.02), zx, W, s('ws', 0.01), zw, s('ys', 0.5), k('zy', tensor('uint8', [], [120]))]; }
  g.nodes.push(new Node({ op, inputs: ins, outputs: [y], attrs: c.conv ? c.attrs : {} }));
  g.outputs = [y];
  inferGraph(g, { strict: true });
  const feeds = new Map<string, RValue>([['x', f32 ? tensor('float32', c.x, rand(numel(c.x), 1, -1, 1, false)) : tensor('uint8', c.x, rand(numel(c.x), 1, 0, 256, true))]]);
  prepareForRun(g, feeds);
  return { g, feeds };
}

function check(name: string, got: Tensor, want: Tensor): void {
  const a = got.num, b = want.num;
  let bad = 0;
  for (let i = 0; i < b.length; i++) if (Math.abs(a[i]! - b[i]!) > (want.dtype === 'float32' ? 1e-3 * (1 + Math.abs(b[i]!)) : 0)) bad++;
  if (bad) throw new Error(`${name}: ${bad} of ${b.length} outputs differ from the interpreter`);
}

/** A timed runner per (case, kind, target): () => ms of one run. */
function runnerFor(target: string, c: Case, kind: Kind): () => number {
  const { g, feeds } = graphOf(c, kind === 'f32-direct' ? 'f32' : kind);
  const want = run(g, feeds).get('y') as Tensor;
  // f32-direct: the conv computed directly (no Winograd / GEMM algorithm): the same loop nest as the integer op
  const schedules = kind === 'f32-direct' ? new Map([['k0_conv', [{ d: 'algorithm' as const, name: 'direct' }]]]) : undefined;
  const opts = { version: 'bench', source: c.name, sourceHash: '-', schedules };
  if (target === 'c') {
    const cc = compileC(g, opts);
    const b: BuildResult = buildC(cc.art, cc.prog);
    const files = harnessFiles(cc.art, cc.prog, feeds);
    const reps = calibrateReps(b, files, 200);
    process.setMaxListeners(0);
    process.on('exit', () => files.dispose());
    check(`${c.name} ${kind} c`, runC(b, cc.art, cc.prog, feeds).outputs.get('y')!, want);
    return () => sampleMs(b, files, reps);
  }
  const comp = compileWasm(g, { ...opts, simd: true });
  const m = loadWasmSync(comp);
  const xin = feeds.get('x') as Tensor;
  const feed = { x: xin.dtype === 'uint8' ? Uint8Array.from(xin.num) : Float32Array.from(xin.num) };
  const out = m.runSync(feed).y as unknown as ArrayLike<number>;
  check(`${c.name} ${kind} wasm`, tensor(want.dtype, want.shape.slice(), Array.from(out)), want);
  m.runSync(feed);
  return () => {
    const n = 3;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) m.runSync(feed);
    return (performance.now() - t0) / n;
  };
}

for (const target of targets) {
  for (const c of CASES.filter((x) => !only.length || only.includes(x.name))) {
    const kinds: Kind[] = c.conv ? ['f32', 'integer', 'qlinear', 'f32-direct'] : ['f32', 'integer', 'qlinear'];
    const rs = kinds.map((k) => runnerFor(target, c, k));
    const ts = kinds.map(() => [] as number[]);
    for (let r = 0; r < runs; r++) rs.forEach((f, i) => ts[i].push(f()));
    const med = ts.map(median);
    const direct = med.length > 3 ? `  f32-direct ${med[3].toFixed(3)} ms (int/direct x${(med[1] / med[3]).toFixed(2)})` : '';
    console.log(`${target.padEnd(9)} ${c.name.padEnd(8)} f32 ${med[0].toFixed(3)} ms  int ${med[1].toFixed(3)} ms (x${(med[1] / med[0]).toFixed(2)})  qlinear ${med[2].toFixed(3)} ms (x${(med[2] / med[0]).toFixed(2)})${direct}`);
  }
}
