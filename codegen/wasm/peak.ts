/**
 * The machine's peak for WebAssembly code (`aic profile --target wasm|wasm-simd`): a generated module
 * with (1) 12 independent chains of f32x4 (or f32) multiplies and adds (1 FLOP per lane each) and
 * (2) a streaming sum over a buffer larger than the caches.
 */
import { Func, ModuleBuilder, type Instr } from './module.ts';

const ACC = 12;

export function peakModule(simd: boolean, bufferBytes: number): Uint8Array {
  const mb = new ModuleBuilder();
  mb.memoryPages = Math.ceil(bufferBytes / 65536) + 1;
  const T = simd ? 'v128' : 'f32';
  const splat = (x: number): Instr[] => (simd ? [['f32.const', x], ['f32x4.splat']] : [['f32.const', x]]);
  const [mul, add] = simd ? ['f32x4.mul', 'f32x4.add'] : ['f32.mul', 'f32.add'];
  const lane0: Instr[] = simd ? [['f32x4.extract_lane', 0]] : [];
  // flops(iters) -> f32: ACC independent chains, half acc *= m, half acc += c (no FMA in SIMD128: a
  // multiply-add chain would be latency-bound; separate chains keep both units busy)
  const f = new Func('flops', ['i32'], ['f32'], 'flops');
  const acc = Array.from({ length: ACC }, () => f.local(T));
  const m = f.local(T), c = f.local(T);
  acc.forEach((a, k) => f.emit(...splat(1 + k / 64), ['local.set', a]));
  f.emit(...splat(1.0000001), ['local.set', m], ...splat(1e-7), ['local.set', c]);
  f.emit(['block', ''], ['loop', '']);
  acc.forEach((a, k) => f.emit(['local.get', a], ['local.get', k % 2 ? c : m], [k % 2 ? add : mul], ['local.set', a]));
  f.emit(['local.get', 0], ['i32.const', 1], ['i32.sub'], ['local.tee', 0], ['br_if', 0], ['end'], ['end']);
  f.emit(['local.get', acc[0]]);
  for (const a of acc.slice(1)) f.emit(['local.get', a], [add]);
  f.emit(...lane0);
  mb.addFunc(f);
  // stream(bytes) -> f32: sum of the buffer at address 0, 4 accumulators of 16 (4) bytes
  const s = new Func('stream', ['i32'], ['f32'], 'stream');
  const p = s.local('i32');
  const sa = Array.from({ length: 4 }, () => s.local(T));
  const step = simd ? 16 : 4;
  const load: Instr = simd ? ['v128.load', 4, 0] : ['f32.load', 2, 0];
  s.emit(['block', ''], ['loop', '']);
  sa.forEach((a, k) => s.emit(['local.get', a], ['local.get', p], [load[0], load[1], k * step], [add], ['local.set', a]));
  s.emit(['local.get', p], ['i32.const', 4 * step], ['i32.add'], ['local.tee', p], ['local.get', 0], ['i32.lt_u'], ['br_if', 0], ['end'], ['end']);
  s.emit(['local.get', sa[0]], ['local.get', sa[1]], [add], ['local.get', sa[2]], [add], ['local.get', sa[3]], [add], ...lane0);
  mb.addFunc(s);
  return mb.encode();
}

type WA = { Module: new (b: Uint8Array) => unknown; Instance: new (m: unknown, i: object) => { exports: Record<string, unknown> } };

/** GFLOP/s and GB/s of the generated module in this engine (best of a few timed calls). */
export function measureWasmPeak(simd: boolean): { gflops: number; gbps: number } {
  const bytes = 64 << 20;
  const WAsm = (globalThis as unknown as { WebAssembly: WA }).WebAssembly;
  const inst = new WAsm.Instance(new WAsm.Module(peakModule(simd, bytes)), {});
  const flops = inst.exports.flops as (n: number) => number, stream = inst.exports.stream as (n: number) => number;
  new Float32Array((inst.exports.memory as { buffer: ArrayBuffer }).buffer, 0, bytes / 4).fill(1);
  const lanes = simd ? 4 : 1;
  const best = (fn: () => void, reps: number) => {
    let b = Infinity;
    for (let i = 0; i < reps; i++) { const t = performance.now(); fn(); b = Math.min(b, performance.now() - t); }
    return b;
  };
  flops(1000); stream(bytes);
  const iters = 2_000_000;
  const fMs = best(() => flops(iters), 5);
  const sMs = best(() => stream(bytes), 5);
  return { gflops: (iters * ACC * lanes) / fMs / 1e6, gbps: bytes / sMs / 1e6 };
}
