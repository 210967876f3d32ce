/**
 * Program -> WebAssembly module + loader. Linear memory layout (all 64-byte aligned, fixed size):
 *   [1024-byte guard] [weights blob (same layout as the C target's model.weights)] [activation
 *   arena from planMemory] [inputs] [outputs] [scratch frames shared by all kernels] [slack]
 * One function per kernel taking the i32 byte offsets of its buffers; an exported `run` calls them in
 * plan order. Weights are copied in by the loader from model.weights, or embedded as a data segment.
 */
import { createHash } from 'node:crypto';
import { castTensor, diag, formatBytes, tensorToBytes } from '@aic/core';
import { RANGE_CHECKS, hasChecks, numel } from '@aic/loop-ir';
import type { Program, ProgramBuffer } from '../lower/program.ts';
import { dtypeOfScalar } from '../lower/dtypes.ts';
import type { MemoryPlan } from '../memory/plan.ts';
import { KernelEmitter } from './emit.ts';
import { WIDTH } from './wasm-types.ts';
import { Func, ModuleBuilder, type Instr as WInstr } from './module.ts';
import { loaderSource, typesSource, type LoaderMeta } from './loader.ts';
import { RUN_PROLOGUE, afterCheckedKernel } from './checks.ts';
import { extentMeta } from './extents.ts';
import { encodeWeights } from './weights-file.ts';

export interface WasmRenderOptions {
  simd: boolean;
  embedWeights: boolean;
  version: string;
  source: string;
  sourceHash: string;
  memory: MemoryPlan;
  /** export every kernel function under its name (per-kernel profiling: benchmarks/wasm-bench.ts --profile) */
  exportKernels?: boolean;
}

export interface WasmArtifact {
  wasm: Uint8Array;
  /** the weights region of memory as the kernels read it */
  weights?: Uint8Array;
  /** model.weights: `weights` with its narrow parts stored narrow (weights-file.ts); absent when embedded */
  weightsFile?: Uint8Array;
  mjs: string;
  dts: string;
  module: ModuleBuilder;
  meta: LoaderMeta;
  /** the plan's steps: kernel and the byte addresses of its arguments (what `run` calls) */
  steps: { kernel: string; args: number[] }[];
}

const WEIGHTS_MAGIC = 'AICW0001';
const ALIGN = 64;
const GUARD = 1024;
const al = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
const bytesOf = (b: { dtype: keyof typeof WIDTH; shape: number[] }) => Math.max(1, numel(b.shape)) * WIDTH[b.dtype];

function weightsBlob(ws: ProgramBuffer[]): { blob?: Uint8Array; offsets: Map<string, number>; hash: string } {
  const offsets = new Map<string, number>();
  let off = ALIGN;
  for (const w of ws) { offsets.set(w.name, off); off = al(off + bytesOf(w)); }
  if (!ws.length) return { offsets, hash: '0' };
  const blob = new Uint8Array(off);
  for (const w of ws) blob.set(tensorToBytes(castTensor(w.data!, dtypeOfScalar(w.dtype))), offsets.get(w.name)!);
  const hash = createHash('sha256').update(blob.subarray(ALIGN)).digest('hex').slice(0, 16);
  blob.set(new TextEncoder().encode(`${WEIGHTS_MAGIC}${hash}`), 0);
  return { blob, offsets, hash };
}

/** Every element finite (a plain loop: a callback per element took seconds over a large model's weights). */
function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (a[i]! - a[i]! !== 0) return false; // NaN and +-Infinity give NaN
  return true;
}

const MAX_MEMORY = 2 ** 32; // 65536 pages: all a 32-bit memory can address

/**
 * Refuse a program whose linear memory cannot fit in 32 bits: checked from the memory plan before
 * anything is allocated, and again with the kernels' scratch frames once they are known.
 */
function checkMemory(prog: Program, plan: MemoryPlan, simd: boolean, scratch = 0): void {
  const weights = prog.weights.length ? prog.weights.reduce((off, w) => al(off + bytesOf(w)), ALIGN) : 0;
  const io = [...prog.inputs, ...prog.outputs].reduce((a, b) => a + al(bytesOf(b)), 0);
  const total = GUARD + al(weights) + al(plan.arenaBytes) + io + al(scratch) + GUARD;
  if (total <= MAX_MEMORY) return;
  const parts = `weights ${formatBytes(weights)}, intermediates ${formatBytes(plan.arenaBytes)}, inputs and outputs ${formatBytes(io)}${scratch ? `, kernel scratch ${formatBytes(scratch)}` : ''}`;
  throw diag.wasmMemoryTooLarge(simd ? 'wasm-simd' : 'wasm', formatBytes(total), parts);
}

export function renderWasm(prog: Program, opts: WasmRenderOptions): WasmArtifact {
  const plan = opts.memory;
  checkMemory(prog, plan, opts.simd);
  const { blob, offsets: wOff, hash } = weightsBlob(prog.weights);
  // layout
  const addr = new Map<string, number>();
  const weightsBase = GUARD;
  let off = al(weightsBase + (blob?.length ?? 0));
  for (const w of prog.weights) addr.set(w.name, weightsBase + wOff.get(w.name)!);
  const arenaBase = off;
  off = al(arenaBase + plan.arenaBytes);
  for (const t of prog.temps) addr.set(t.name, arenaBase + plan.offsets.get(t.name)!);
  for (const b of [...prog.inputs, ...prog.outputs]) {
    // a training step's <X>_next updated in place over input X (memory/state-alias.ts)
    const shared = plan.stateAlias.get(b.name);
    if (shared) { addr.set(b.name, addr.get(shared)!); continue; }
    addr.set(b.name, off); off = al(off + bytesOf(b));
  }
  const scratchBase = off;

  const mb = new ModuleBuilder();
  const memLimits: WInstr[] = [];
  const minBase = new Map<string, number[]>();
  for (const st of prog.steps) {
    const cur = minBase.get(st.kernel) ?? st.args.map(() => Infinity);
    st.args.forEach((a, i) => { cur[i] = Math.min(cur[i], addr.get(a) ?? 0); });
    minBase.set(st.kernel, cur);
  }
  // params bound to weights whose every value is finite, in every call of the kernel (NaN-free products)
  const finiteData = new Map(prog.weights.map((w) => [w.name, !!w.data && !Array.isArray(w.data.data) && allFinite(w.data.num)]));
  const finite = new Map<string, boolean[]>();
  for (const st of prog.steps) {
    const cur = finite.get(st.kernel) ?? st.args.map(() => true);
    st.args.forEach((a, i) => { cur[i] = cur[i] && !!finiteData.get(a); });
    finite.set(st.kernel, cur);
  }
  let scratch = 0;
  const used = new Set(prog.steps.map((s) => s.kernel));
  for (const k of prog.kernels) {
    if (!used.has(k.name)) continue;
    const em = new KernelEmitter(k, { mb, simd: opts.simd, scratchBase, minBase: minBase.get(k.name) ?? [], finite: finite.get(k.name) ?? [], memLimits });
    const f = em.emit();
    if (opts.exportKernels) f.exportAs = k.name;
    mb.addFunc(f);
    scratch = Math.max(scratch, em.scratchBytes);
  }
  const run = new Func('run', [], [], 'run');
  const checked = new Set(prog.kernels.filter((k) => hasChecks(k.body)).map((k) => k.name));
  if (checked.size) run.emit(...RUN_PROLOGUE);
  const steps: { kernel: string; args: number[] }[] = [];
  for (const [si, st] of prog.steps.entries()) {
    const args: number[] = [];
    for (const a of st.args) {
      const x = addr.get(a);
      if (x === undefined) throw new Error(`wasm: buffer ${a} has no address`);
      run.emit(['i32.const', x]);
      args.push(x);
    }
    run.emit(['call', st.kernel]);
    if (checked.has(st.kernel)) run.emit(...afterCheckedKernel(si));
    steps.push({ kernel: st.kernel, args });
  }
  mb.addFunc(run);
  checkMemory(prog, plan, opts.simd, scratch);
  const end = al(scratchBase + scratch) + GUARD;
  mb.memoryPages = Math.max(1, Math.ceil(end / 65536));
  const memBytes = mb.memoryPages * 65536;
  for (const lim of memLimits) lim[1] = memBytes - 16;
  if (opts.embedWeights && blob) mb.data.push({ offset: weightsBase, bytes: blob });
  mb.customs.push({ name: 'aic', bytes: new TextEncoder().encode(JSON.stringify({ aic: opts.version, source: opts.source, sourceHash: opts.sourceHash, simd: opts.simd })) });
  const wasm = mb.encode();

  const io = (b: ProgramBuffer) => ({ name: b.value, dtype: dtypeOfScalar(b.dtype), shape: b.shape.slice(), offset: addr.get(b.name)!, length: numel(b.shape),
    ...(b.extent ? { extent: { offset: addr.get(b.extent.buffer)!, dim: b.extent.dim } } : {}) });
  const file = blob && !opts.embedWeights ? encodeWeights(blob, prog.weights, wOff, bytesOf) : undefined;
  const meta: LoaderMeta = {
    name: prog.name,
    version: opts.version,
    source: opts.source,
    sourceHash: opts.sourceHash,
    simd: opts.simd,
    inputs: prog.inputs.map(io),
    outputs: prog.outputs.map(io),
    weights: blob ? { offset: weightsBase, size: blob.length, header: `${WEIGHTS_MAGIC}${hash}`, embedded: opts.embedWeights, ...(file?.parts ? { fileSize: file.file.length, parts: file.parts } : {}) } : undefined,
    imports: mb.imports.map((i) => i.name),
    ...(prog.extents ? { extent: extentMeta(prog, addr) } : {}),
    ...(prog.batch ? { batch: { symbol: prog.batch.symbol, ...(prog.batch.max !== undefined ? { max: prog.batch.max } : {}), inputs: prog.batch.inputs, outputs: prog.batch.outputs } } : {}),
    ...(checked.size ? { steps: prog.steps.map((st) => ({ node: st.node, op: st.op ?? st.kernel })), ranges: RANGE_CHECKS } : {}),
  };
  return { wasm, weights: blob && !opts.embedWeights ? blob : undefined, weightsFile: file?.file, mjs: loaderSource(meta), dts: typesSource(meta), module: mb, meta, steps };
}

