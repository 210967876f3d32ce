/**
 * Program -> one WGSL shader module (an entry point per dispatch), a weights blob and a manifest the
 * host module (model.mjs) follows.
 *
 * Buffers: every element is one 32-bit word. Intermediate values share one "activation" GPU buffer
 * laid out by the memory plan (arena), followed by the graph inputs, the outputs and a scratch region
 * for kernel-private temps. Weights are packed into as few read-only chunks as
 * maxStorageBufferBindingSize allows. A dispatch binds windows of these buffers (each window at most
 * maxStorageBufferBindingSize, offsets aligned to minStorageBufferOffsetAlignment) and addresses each
 * of its buffers at a constant element offset inside a window, so a kernel needs few storage bindings
 * however many tensors it touches (maxStorageBuffersPerShaderStage).
 *
 * Dispatches: a kernel's compute stages each become one dispatch (stages may read what earlier stages
 * of the same kernel wrote, and only dispatch boundaries order that on a GPU); extern stages
 * (imperative loop IR: sorts, scans) run as a single invocation.
 */
import { createHash } from 'node:crypto';
import { castTensor, diag } from '@aic/core';
import {
  E, RANGE_CHECKS, ScheduleError, applyDirective, computeT, isHalfT, hoistChecks, directiveLoop, flatIndex, hasChecks, initialState, numel, realizeStage, simplifyStmt, walkStmt, legalizeStmt,
  type AxisState, type Buffer, type ComputeStage, type Directive, type Expr, type ScalarType, type Stage, type Stmt,
  walkExprs,
} from '@aic/loop-ir';
import type { Program, ProgramBuffer } from '../lower/program.ts';
import { dtypeOfScalar } from '../lower/dtypes.ts';
import type { MemoryPlan } from '../memory/plan.ts';
import { WHelpers, WgslEmitter, hasBarrier, type View } from './expr.ts';
import { vec4Buffers, vec4Window } from './vec4.ts';
import { dot4Splice } from './dot4.ts';
import { externOnGrid } from './extern-grid.ts';
import { wscalar } from './types.ts';
import { ERR_BINDING, ERR_DECL } from './checks.ts';
import { packHalfWords } from './half.ts';
import { legalizeHalfBody } from '../lower/half.ts';
import { WGSL_LEGAL } from '../caps.ts';
import { simplifyDivMod } from '../schedule/pack.ts';
import { EXTENT_BINDING, EXTENT_DECL, manifestExtent, mergedDispatches, readsExtent, readsSymbol, symbolicGrid, type GridExpr, type ManifestExtent } from './extents.ts';

export interface WgslLimits {
  maxStorageBufferBindingSize: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupsPerDimension: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSize: [number, number, number];
  minStorageBufferOffsetAlignment: number;
  /** bytes of var<workgroup> memory per entry point */
  maxComputeWorkgroupStorageSize: number;
}

/** WebGPU's guaranteed defaults: artifacts built with these run on every WebGPU device. */
export const DEFAULT_WGSL_LIMITS: WgslLimits = {
  maxStorageBufferBindingSize: 134217728,
  maxStorageBuffersPerShaderStage: 8,
  maxComputeWorkgroupsPerDimension: 65535,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSize: [256, 256, 64],
  minStorageBufferOffsetAlignment: 256,
  maxComputeWorkgroupStorageSize: 16384,
};

export interface ManifestBinding { binding: number; /** 0 = activations, 1+i = weight chunk i, -1 = the extent uniform */ buffer: number; offset: number; size: number; readOnly: boolean }
export interface ManifestDispatch { entry: string; kernel: string; node: string; workgroups: [number, number, number]; workgroupSize: [number, number, number]; bindings: ManifestBinding[]; /** run-time extents: per-run workgroup counts (null: as in workgroups) */ grid?: (GridExpr | null)[] }
export interface ManifestIO { name: string; dtype: string; shape: number[]; /** byte offset in the activation buffer */ offset: number }
export interface WgslManifest {
  aic: string;
  source: string;
  actBytes: number;
  weightsBytes: number;
  weightsHash: string;
  weightChunks: { fileOffset: number; bytes: number }[];
  inputs: ManifestIO[];
  outputs: ManifestIO[];
  dispatches: ManifestDispatch[];
  /** what the device must support */
  needs: { maxStorageBufferBindingSize: number; maxStorageBuffersPerShaderStage: number; maxBufferSize: number };
  arena: { arenaBytes: number; naiveBytes: number };
  /** when kernels hold runtime checks: byte offset of their failure record in the activation buffer, and each step's node and op */
  errOffset?: number;
  steps?: { node: string; op: string }[];
  /** check_range codes -> [what the value is, inclusive bound] */
  ranges?: Record<number, [string, boolean]>;
  /** int8 dot products (dot4.ts): the packed helper the host puts at [at, at + len) of the module when the device has DOT4_FEATURE */
  dot4?: { at: number; len: number; packed: string };
  /** a symbolic batch (lower/symbolic.ts): the host runs the one-sample dispatches once per sample */
  batch?: { symbol: string; max?: number; inputs: string[]; outputs: string[] };
  /** a run-time extent (extents.ts): the host writes it to the uniform and sizes inputs, outputs and grids by it */
  extent?: ManifestExtent;
}

export interface WgslRendered { wgsl: string; manifest: WgslManifest; weights?: Uint8Array }

const WEIGHTS_MAGIC = 'AICWGSL1';
/** invocations per workgroup of extern stages on the grid (extern-grid.ts) */
export const EXTERN_WORKGROUP = 64;
const HEADER = 256;

const words = (b: { shape: number[] }) => Math.max(1, numel(b.shape));
const alignUp = (x: number, a: number) => Math.ceil(x / a) * a;
/** A limit to suggest for `bytes`: the next power of two, in MiB / GiB. */
const limitHint = (bytes: number) => { const p = 2 ** Math.ceil(Math.log2(bytes)); return p >= 2 ** 30 ? `${p / 2 ** 30}G` : `${Math.max(1, p / 2 ** 20)}M`; };
const sanitize = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_').replace(/__+/g, '_');

interface Region { buf: number; off: number; bytes: number }

/** Route each directive to the compute stage owning the loop it names (as realizeKernel does). */
export function realizeStages(stages: Stage[], dirs: Directive[], fresh: (p: string) => string, kernel: string, buffers: readonly Buffer[] = [],
  grid?: { workgroupSize: number; maxWorkgroupsPerDimension: number }): Stmt[] {
  const states = new Map<number, AxisState>();
  stages.forEach((st, i) => { if (st.kind === 'compute') states.set(i, initialState(st)); });
  for (const d of dirs) {
    const axis = directiveLoop(d);
    const owner = [...states.entries()].find(([, s]) => s.leaves.some((l) => l.name === axis));
    if (!owner) throw new ScheduleError(`kernel ${kernel}: no loop '${axis}'`);
    states.set(owner[0], applyDirective(owner[1], d));
  }
  // (o*4 + i) / 4 -> o for split blocked axes (NC4HW4 layouts, packed weights), as on every target
  // extern stages: their outer loop on the grid when provably parallel (extern-grid.ts)
  const ext = (s: Stmt) => (grid ? externOnGrid(s, grid) : s);
  return stages.map((st, i) => simplifyDivMod(hoistChecks(st.kind === 'compute' ? realizeStage(st, states.get(i)!, fresh, buffers) : ext(simplifyStmt(st.body)), fresh)));
}

function usesOf(s: Stmt): { read: Set<string>; written: Set<string>; local: Set<string> } {
  const read = new Set<string>(), written = new Set<string>(), local = new Set<string>();
  walkExprs(s, (e) => { if (e.k === 'load') read.add(e.buf); });
  walkStmt(s, (x) => {
    if (x.k === 'store') written.add(x.buf);
    if (x.k === 'alloc') local.add(x.buf.name);
  });
  for (const l of local) { read.delete(l); written.delete(l); }
  return { read, written, local };
}

/** The stages of a step's kernel (copy kernels get a synthetic one). */
function stagesOfKernel(prog: Program, name: string): { stages: Stage[]; temps: Buffer[]; fresh: (p: string) => string; dirs: Directive[] } {
  const src = prog.sources.get(name);
  if (src) return { stages: src.stages, temps: src.temps, fresh: src.fresh, dirs: prog.schedules.get(name) ?? [] };
  const k = prog.kernels.find((x) => x.name === name)!;
  const [a, b] = k.params;
  const axes = b.shape.map((_, i) => `c${i}`);
  const st: ComputeStage = { kind: 'compute', out: b, axes, body: E.load(a.name, b.shape.length ? flatIndex(axes.map((x) => E.v(x)), b.shape) : E.i(0), computeT(a.dtype)) };
  let n = 0;
  return { stages: [st], temps: [], fresh: (p) => `${p}_c${n++}`, dirs: [] };
}

/** Integer tensor -> 32-bit words, refusing values that do not fit (64-bit integers run as 32-bit). */
export function wordsOf(data: ArrayLike<number>, t: ScalarType, what: string, n = data.length): Uint32Array {
  const out = new Uint32Array(Math.max(1, n));
  const f = new Float32Array(out.buffer), i32 = new Int32Array(out.buffer);
  switch (wscalar(t)) {
    case 'f32': for (let k = 0; k < n; k++) f[k] = data[k]; break;
    case 'i32':
      for (let k = 0; k < n; k++) {
        const v = Number(data[k]);
        if (!(v >= -2147483648 && v <= 2147483647)) throw diag.unsupportedFeature(`${what}: value ${v} at [${k}] does not fit in 32 bits (WGSL runs ${t} as i32)`);
        i32[k] = v;
      }
      break;
    case 'u32':
      for (let k = 0; k < n; k++) {
        const v = Number(data[k]);
        if (!(v >= 0 && v <= 4294967295)) throw diag.unsupportedFeature(`${what}: value ${v} at [${k}] does not fit in 32 bits (WGSL runs ${t} as u32)`);
        out[k] = v;
      }
      break;
    case 'bool': for (let k = 0; k < n; k++) out[k] = data[k] ? 1 : 0; break;
  }
  return out;
}

/** The dispatches of a kernel: its stages realized, 16-bit float buffers (lower/half.ts), then the IR's scalar semantics, defined once (loop-ir legalize.ts). */
export function kernelDispatches(prog: Program, kernel: string, lim: WgslLimits, fixedGrid = false): Stmt[] {
  const k = prog.kernels.find((x) => x.name === kernel)!;
  const { stages, temps, fresh, dirs } = stagesOfKernel(prog, kernel);
  try {
    const grid = { workgroupSize: EXTERN_WORKGROUP, maxWorkgroupsPerDimension: lim.maxComputeWorkgroupsPerDimension, ...(fixedGrid ? { fixed: true } : {}) };
    return realizeStages(stages, dirs, fresh, kernel, [...k.params, ...temps], grid).map((b) => legalizeStmt(legalizeHalfBody(b, k.params), WGSL_LEGAL));
  } catch (e) {
    if (e instanceof ScheduleError) throw diag.usage(`schedule: ${e.message}`);
    throw e;
  }
}

export function renderWgsl(prog: Program, plan: MemoryPlan, opts: { version: string; source: string; limits?: Partial<WgslLimits> }): WgslRendered {
  const lim: WgslLimits = { ...DEFAULT_WGSL_LIMITS, ...opts.limits };
  const A = lim.minStorageBufferOffsetAlignment;
  const h = new WHelpers();

  // ---- realize every stage of every step; find what each reads and writes ----
  interface Pending { step: number; kernel: string; stage: number; body: Stmt; params: Buffer[]; args: string[]; temps: Buffer[]; node: string }
  const pending: Pending[] = [];
  const loadedProgramBuffers = new Set<string>();
  prog.steps.forEach((st, si) => {
    const k = prog.kernels.find((x) => x.name === st.kernel)!;
    const { temps } = stagesOfKernel(prog, st.kernel);
    // run-time extents: the kernel's body is its merged dispatches (extents.ts)
    const bodies = prog.extents ? mergedDispatches(k.body) : kernelDispatches(prog, st.kernel, lim);
    bodies.forEach((body, i) => {
      const u = usesOf(body);
      k.params.forEach((p, pi) => { if (u.read.has(p.name)) loadedProgramBuffers.add(st.args[pi]); });
      pending.push({ step: si, kernel: st.kernel, stage: i, body, params: k.params, args: st.args, temps, node: st.node });
    });
  });

  // ---- activation buffer layout ----
  const region = new Map<string, Region>();
  for (const t of prog.temps) region.set(t.name, { buf: 0, off: plan.offsets.get(t.name)!, bytes: words(t) * 4 });
  let off = alignUp(Math.max(plan.arenaBytes, 0), A);
  const io = (b: ProgramBuffer): ManifestIO => {
    region.set(b.name, { buf: 0, off, bytes: words(b) * 4 });
    const m = { name: b.value, dtype: dtypeOfScalar(b.dtype), shape: b.shape.slice(), offset: off };
    off = alignUp(off + words(b) * 4, A);
    return m;
  };
  const inputs = prog.inputs.map(io);
  const outputs = prog.outputs.map(io);
  const scratchBase = off;
  let scratchMax = 0;
  const scratchOf = new Map<string, Map<string, Region>>();
  for (const st of prog.steps) {
    if (scratchOf.has(st.kernel)) continue;
    const { temps } = stagesOfKernel(prog, st.kernel);
    const m = new Map<string, Region>();
    let so = 0;
    for (const t of temps) { m.set(t.name, { buf: 0, off: scratchBase + so, bytes: words(t) * 4 }); so = alignUp(so + words(t) * 4, A); }
    scratchOf.set(st.kernel, m);
    scratchMax = Math.max(scratchMax, so);
  }
  const checked = new Set(pending.filter((p) => hasChecks(p.body)));
  const errOffset = checked.size ? alignUp(scratchBase + scratchMax, A) : undefined;
  const actBytes = Math.max(A, errOffset !== undefined ? errOffset + A : alignUp(scratchBase + scratchMax, A));

  // ---- weights: only those some kernel reads, packed into chunks ----
  const chunks: { bytes: number; parts: { w: ProgramBuffer; off: number }[] }[] = [];
  for (const w of prog.weights) {
    if (!loadedProgramBuffers.has(w.name)) continue;
    // float16/bfloat16 weights: two per word (half.ts)
    const bytes = (isHalfT(w.dtype) ? Math.ceil(words(w) / 2) : words(w)) * 4;
    if (bytes > lim.maxStorageBufferBindingSize) {
      throw diag.unsupportedFeature(`weight '${w.value}' needs ${bytes} bytes, more than maxStorageBufferBindingSize (${lim.maxStorageBufferBindingSize}) on target wgsl; `
        + `for a device that grants more (most GPUs give 1-4 GiB when asked), compile with --wgsl-limit maxStorageBufferBindingSize=${limitHint(bytes)}`);
    }
    let c = chunks[chunks.length - 1];
    if (!c || alignUp(c.bytes, A) + bytes > lim.maxStorageBufferBindingSize) { c = { bytes: 0, parts: [] }; chunks.push(c); }
    const o = alignUp(c.bytes, A);
    c.parts.push({ w, off: o });
    c.bytes = o + bytes;
    region.set(w.name, { buf: chunks.length, off: o, bytes });
  }
  let weights: Uint8Array | undefined;
  let weightsHash = '0';
  const weightChunks: { fileOffset: number; bytes: number }[] = [];
  let fo = HEADER;
  // whole vec4 words (vec4.ts binds windows of them as arrays of vec4)
  for (const c of chunks) { const bytes = alignUp(c.bytes, 16); weightChunks.push({ fileOffset: fo, bytes }); fo = alignUp(fo + bytes, A); }
  if (chunks.length) {
    weights = new Uint8Array(fo);
    chunks.forEach((c, ci) => {
      for (const p of c.parts) {
        const t = castTensor(p.w.data!, dtypeOfScalar(p.w.dtype));
        const n = numel(p.w.shape);
        const ws = isHalfT(p.w.dtype) ? packHalfWords(t.num as ArrayLike<number>, p.w.dtype, n) : wordsOf(t.num as ArrayLike<number>, p.w.dtype, `weight '${p.w.value}'`, n);
        weights!.set(new Uint8Array(ws.buffer, 0, ws.length * 4), weightChunks[ci].fileOffset + p.off);
      }
    });
    weightsHash = createHash('sha256').update(weights.subarray(HEADER)).digest('hex').slice(0, 16);
    weights.set(new TextEncoder().encode(`${WEIGHTS_MAGIC}${weightsHash}`), 0);
  }

  // ---- dispatches ----
  const decls: string[] = [];
  const entries: string[] = [];
  const dispatches: ManifestDispatch[] = [];
  const usedEntries = new Set<string>();
  let maxBinding = 0, maxBindings = 0, extentUsed = false;
  for (const p of pending) {
    let entry = sanitize(`${p.kernel}_s${p.stage}`);
    if (!/^[A-Za-z]/.test(entry)) entry = `k_${entry}`;
    while (usedEntries.has(entry)) entry += '_';
    usedEntries.add(entry);
    const u = usesOf(p.body);
    const scratch = scratchOf.get(p.kernel)!;
    // kernel-local name -> region
    const uses: { name: string; r: Region; written: boolean; t: ScalarType }[] = [];
    for (const name of new Set([...u.read, ...u.written])) {
      const pi = p.params.findIndex((q) => q.name === name);
      let r: Region | undefined, t: ScalarType;
      if (pi >= 0) { r = region.get(p.args[pi]); t = p.params[pi].dtype; }
      else { r = scratch.get(name); t = p.temps.find((x) => x.name === name)?.dtype ?? 'f32'; }
      if (!r) throw new Error(`WGSL: no storage for buffer '${name}' of kernel ${p.kernel}`);
      uses.push({ name, r, written: u.written.has(name), t });
    }
    // windows per GPU buffer
    const windows: { buf: number; start: number; end: number; written: boolean; names: typeof uses }[] = [];
    const byBuf = new Map<number, typeof uses>();
    for (const x of uses) { const l = byBuf.get(x.r.buf) ?? []; l.push(x); byBuf.set(x.r.buf, l); }
    for (const [buf, list] of [...byBuf.entries()].sort((a, b) => a[0] - b[0])) {
      list.sort((a, b) => a.r.off - b.r.off);
      let cur: (typeof windows)[number] | undefined;
      for (const x of list) {
        const s = Math.floor(x.r.off / A) * A, e = x.r.off + x.r.bytes;
        if (cur && (s < cur.end || Math.max(cur.end, e) - cur.start <= lim.maxStorageBufferBindingSize)) {
          cur.end = Math.max(cur.end, e); cur.written ||= x.written; cur.names.push(x);
        } else {
          cur = { buf, start: s, end: e, written: x.written, names: [x] };
          windows.push(cur);
        }
        if (cur.end - cur.start > lim.maxStorageBufferBindingSize) {
          throw diag.unsupportedFeature(`kernel ${p.kernel} (${p.node}) needs overlapping buffers spanning ${cur.end - cur.start} bytes, more than maxStorageBufferBindingSize `
            + `(${lim.maxStorageBufferBindingSize}) on target wgsl; for a device that grants more, compile with --wgsl-limit maxStorageBufferBindingSize=${limitHint(cur.end - cur.start)}`);
        }
      }
    }
    const nBindings = windows.length + (checked.has(p) ? 1 : 0);
    if (nBindings > lim.maxStorageBuffersPerShaderStage) {
      throw diag.unsupportedFeature(`kernel ${p.kernel} (${p.node}) needs ${nBindings} storage bindings, more than maxStorageBuffersPerShaderStage (${lim.maxStorageBuffersPerShaderStage}) on target wgsl`);
    }
    const views = new Map<string, View>();
    const v4used = vec4Buffers(p.body);
    const bindings: ManifestBinding[] = windows.map((w, bi) => {
      const v = `${entry}_b${bi}`;
      // an array of vec4 words when the kernel reads or writes aligned vec4 of it (vec4.ts)
      const v4size = vec4Window(w, v4used, lim.maxStorageBufferBindingSize);
      const vec4 = v4size !== undefined, size = v4size ?? w.end - w.start;
      decls.push(`@group(0) @binding(${bi}) var<storage, ${w.written ? 'read_write' : 'read'}> ${v}: array<${vec4 ? 'vec4<u32>' : 'u32'}>;`);
      for (const x of w.names) views.set(x.name, { k: 'storage', v, off: (x.r.off - w.start) / 4, t: x.t, packed: x.r.buf > 0 && isHalfT(x.t), vec4 });
      maxBinding = Math.max(maxBinding, size);
      return { binding: bi, buffer: w.buf, offset: w.start, size, readOnly: !w.written };
    });
    if (checked.has(p)) bindings.push({ binding: ERR_BINDING, buffer: 0, offset: errOffset!, size: 16, readOnly: false });
    if (readsExtent(p.body)) { bindings.push({ binding: EXTENT_BINDING, buffer: -1, offset: 0, size: 16, readOnly: true }); extentUsed = true; }
    maxBindings = Math.max(maxBindings, bindings.length);
    // grid from the loops bound to GPU axes
    const wg: [number, number, number] = [1, 1, 1], loc: [number, number, number] = [1, 1, 1];
    let grid: (GridExpr | null)[] | undefined;
    const seen = new Set<string>();
    walkStmt(p.body, (s) => {
      if (s.k !== 'for' || s.kind.k !== 'gpu') return;
      const key = `${s.kind.axis}.${s.kind.dim}`;
      if (seen.has(key)) throw diag.usage(`schedule: kernel ${p.kernel} binds two loops to ${key}`);
      seen.add(key);
      const d = { x: 0, y: 1, z: 2 }[s.kind.dim];
      if (s.ext.k !== 'const' && prog.extents && readsSymbol(s.ext)) { // a count the host computes per run (extents.ts)
        const g = symbolicGrid(s.ext, prog.extents.max, `kernel ${p.kernel} (${p.node})`, prog.extents.symbol);
        if (s.kind.axis === 'local' && hasBarrier(s.body)) throw diag.extentUnsupported(prog.extents.symbol, `sizes the workgroup of kernel ${p.kernel} (${p.node}), which synchronizes`);
        if (s.kind.axis === 'workgroup') (grid ??= [null, null, null])[d] = g.expr;
        (s.kind.axis === 'workgroup' ? wg : loc)[d] = Math.max(1, g.atMax);
        return;
      }
      if (s.ext.k !== 'const') throw diag.usage(`schedule: kernel ${p.kernel}: loop ${s.v} bound to ${key} has no constant extent`);
      (s.kind.axis === 'workgroup' ? wg : loc)[d] = Math.max(1, s.ext.v);
    });
    const inv = loc[0] * loc[1] * loc[2];
    if (inv > lim.maxComputeInvocationsPerWorkgroup || loc.some((x, i) => x > lim.maxComputeWorkgroupSize[i])) {
      throw diag.usage(`schedule: kernel ${p.kernel}: workgroup size ${loc.join('x')} exceeds the device limits (${lim.maxComputeInvocationsPerWorkgroup} invocations)`);
    }
    if (wg.some((x) => x > lim.maxComputeWorkgroupsPerDimension)) {
      throw diag.usage(`schedule: kernel ${p.kernel}: ${wg.join('x')} workgroups exceed maxComputeWorkgroupsPerDimension (${lim.maxComputeWorkgroupsPerDimension}); bind a split to workgroup.y`);
    }
    const wgDecls: string[] = [];
    let wgBytes = 0;
    const em = new WgslEmitter(h, views, (b) => {
      const name = `${entry}_${sanitize(b.name)}`;
      const n = Math.max(1, numel(b.shape));
      wgBytes += n * 4;
      wgDecls.push(`var<workgroup> ${name}: array<${wscalar(b.dtype)}, ${n}>;`);
      return name;
    });
    const body: string[] = [];
    em.step = p.step;
    em.stmt(p.body, '  ', body);
    if (wgBytes > lim.maxComputeWorkgroupStorageSize) {
      throw diag.usage(`schedule: kernel ${p.kernel}: ${wgBytes} bytes of workgroup memory exceed maxComputeWorkgroupStorageSize (${lim.maxComputeWorkgroupStorageSize})`);
    }
    entries.push([
      ...wgDecls,
      `// ${p.node.replace(/[^\x20-\x7e]/g, '?')} - kernel ${p.kernel}, stage ${p.stage}`,
      `@compute @workgroup_size(${loc.join(', ')})`,
      `fn ${entry}(@builtin(workgroup_id) aic_wid: vec3<u32>, @builtin(local_invocation_id) aic_lid: vec3<u32>) {`,
      ...body,
      '}',
    ].join('\n'));
    dispatches.push({ entry, kernel: p.kernel, node: p.node, workgroups: wg, workgroupSize: loc, bindings, ...(grid ? { grid } : {}) });
  }
  const wgsl = [
    `// Generated by aic ${opts.version} from ${opts.source}. Do not edit.`,
    `// ${dispatches.length} compute entry points; buffers are arrays of 32-bit words (see model.mjs).`,
    '',
    h.text(),
    '',
    ...decls,
    ...(checked.size ? [ERR_DECL] : []),
    ...(extentUsed ? [EXTENT_DECL] : []),
    '',
    ...entries.flatMap((e) => [e, '']),
  ].join('\n');
  const manifest: WgslManifest = {
    aic: opts.version, source: opts.source, actBytes, weightsBytes: weights?.length ?? 0, weightsHash, weightChunks, inputs, outputs, dispatches,
    needs: { maxStorageBufferBindingSize: maxBinding, maxStorageBuffersPerShaderStage: maxBindings, maxBufferSize: Math.max(actBytes, ...weightChunks.map((c) => c.bytes)) },
    arena: { arenaBytes: plan.arenaBytes, naiveBytes: plan.naiveBytes },
    ...(dot4Splice(wgsl) ? { dot4: dot4Splice(wgsl) } : {}),
    ...(prog.extents ? { extent: manifestExtent(prog) } : {}),
    ...(errOffset !== undefined ? { errOffset, steps: prog.steps.map((st) => ({ node: st.node, op: st.op ?? st.kernel })), ranges: RANGE_CHECKS } : {}),
  };
  return { wgsl, manifest, weights };
}
