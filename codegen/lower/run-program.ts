/**
 * Runs a Program with the loop-IR interpreter: the reference for every renderer (C, WebAssembly,
 * WGSL) and the check that lowering and schedules keep the graph interpreter's results.
 */
import { Tensor, type RValue } from '@aic/core';
import { LoopInterpreter, numel, type Buffer, type Mem } from '@aic/loop-ir';
import { dtypeOfScalar } from './dtypes.ts';
import type { Program } from './program.ts';
import { checkError } from './checks.ts';
import { applyExtents } from './dynamic.ts';

export function allocFor(b: Buffer): { [i: number]: number; length: number } {
  const n = Math.max(1, numel(b.shape));
  switch (b.dtype) {
    case 'f32': return new Float32Array(n);
    case 'i32': return new Int32Array(n);
    case 'i16': return new Int16Array(n);
    case 'i8': return new Int8Array(n);
    case 'u8': case 'bool': return new Uint8Array(n);
    case 'u16': return new Uint16Array(n);
    case 'u32': return new Uint32Array(n);
    default: return new Float64Array(n);
  }
}

export function runProgram(prog: Program, feeds: Map<string, RValue>): Map<string, Tensor> {
  const global: Mem = {};
  for (const b of prog.inputs) {
    const t = feeds.get(b.value);
    if (!(t instanceof Tensor)) throw new Error(`runProgram: no tensor for input '${b.value}'`);
    const a = allocFor(b);
    for (let i = 0; i < t.size; i++) a[i] = t.num[i];
    global[b.name] = a;
  }
  for (const b of prog.weights) {
    const a = allocFor(b);
    const d = b.data!.num;
    for (let i = 0; i < d.length; i++) a[i] = d[i];
    global[b.name] = a;
  }
  for (const b of [...prog.temps, ...prog.outputs]) global[b.name] = allocFor(b);
  const kernels = new Map(prog.kernels.map((k) => [k.name, k]));
  prog.steps.forEach((st, si) => {
    const k = kernels.get(st.kernel)!;
    const mem: Mem = {};
    k.params.forEach((p, i) => { mem[p.name] = global[st.args[i]]; });
    const it = new LoopInterpreter(mem);
    it.runKernel(k);
    if (it.failure) throw checkError(prog, si, it.failure);
  });
  const out = new Map<string, Tensor>();
  for (const b of prog.outputs) {
    const t = new Tensor(dtypeOfScalar(b.dtype), b.shape);
    const src = global[b.name];
    for (let i = 0; i < t.size; i++) t.num[i] = src[i];
    out.set(b.value, t);
  }
  return applyExtents(prog, out);
}
