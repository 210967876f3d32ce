/**
 * The WGSL target end to end: lower -> GPU schedules (defaults, then --schedule overrides) -> memory
 * plan (32-bit elements) -> WGSL module + manifest + host module; writing the artifact directory
 * atomically; running it in Node through the `webgpu` package (Dawn).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { AicError, Tensor, castTensor, diag, writeFileAtomic, type Graph, type RValue } from '@aic/core';
import type { Directive, ScalarType } from '@aic/loop-ir';
import { WGSL_CAPS, WGSL_LEGAL } from '../caps.ts';
import { compileFor, memoryStats } from '../driver.ts';
import type { Program } from '../lower/program.ts';
import type { CompileOptions, Target } from '../target.ts';
import { planMemory, type MemoryPlan } from '../memory/plan.ts';
import { describeAdapter, gpuAttempts, nodeGpuDevice, NO_ADAPTER_HELP, type NodeGpu } from './node-gpu.mjs';
import { GpuChild, type GpuReply } from './gpu-client.mjs';
import { checkError } from '../lower/checks.ts';
import { halfFeed, halfTensor, isHalfDtype } from './half.ts';
import { readsInput } from '../lower/unread.ts';
import { applyExtents } from '../lower/dynamic.ts';
import { batchOf, describeBatch, describeShape, isBatched } from '../lower/batch-run.ts';
import { DEFAULT_WGSL_LIMITS, EXTERN_WORKGROUP, kernelDispatches, renderWgsl, type WgslLimits, type WgslManifest } from './render.ts';
import { chooseGpuSchedules, gpuScheduleLimits } from './schedule.ts';
import { wgslIntDot } from './int-dot.ts';
import { extentShapeOf, kernelsAsDispatches } from './extents.ts';
import { describeExtentShape, extentOf, runShape, shapeAtExtent } from '../extents-run.ts';

export interface WgslCompileOptions {
  version: string;
  source: string;
  sourceHash: string;
  /** per-kernel schedule overrides (research: --schedule FILE) */
  schedules?: Map<string, Directive[]>;
  /** skip default schedules (every stage runs as one invocation: slow, for debugging) */
  noSchedule?: boolean;
  /** device limits to compile for (default: WebGPU's guaranteed limits) */
  limits?: Partial<WgslLimits>;
}

export interface WgslCompiled {
  prog: Program;
  plan: MemoryPlan;
  /** the WGSL module (kernels.wgsl) */
  wgsl: string;
  manifest: WgslManifest;
  /** model.mjs: host module (embeds the WGSL and the manifest) */
  host: string;
  /** model.d.ts */
  dts: string;
  weights?: Uint8Array;
  readme: string;
}

const RUNTIME = fs.readFileSync(fileURLToPath(new URL('./host-runtime.mjs', import.meta.url)), 'utf8');

/** Types as stored on the GPU (32-bit words), for the memory planner's sizes. */
function stored(t: ScalarType): ScalarType {
  return t === 'f32' || t === 'f64' ? 'f32' : t === 'u8' || t === 'u16' || t === 'u32' || t === 'u64' ? 'u32' : 'i32';
}

/** The WGSL target compiling for these device limits (default: WebGPU's guaranteed limits). */
export function wgslTarget(deviceLimits: Partial<WgslLimits> = {}): Target<WgslCompiled> {
  const limits = { ...DEFAULT_WGSL_LIMITS, ...deviceLimits };
  return {
    name: 'wgsl',
    summary: 'WGSL compute shaders + WebGPU host module (model.mjs); runs in Node through Dawn (webgpu npm)',
    compile: true,
    run: true,
    needsStaticShapes: true,
    listed: true,
    caps: WGSL_CAPS,
    dtypes: WGSL_CAPS.dtypes,
    // ORT-web's WebGPU tolerance: GPU math builtins are only ~f32-accurate
    tolerance: { rtol: 1e-3, atol: 1e-3 },
    legal: WGSL_LEGAL,
    forms: ['wgsl'],
    defaultSchedules(prog, overrides) {
      wgslIntDot(prog, overrides); // int8 reductions as dot4 (int-dot.ts)
      return chooseGpuSchedules(prog, WGSL_CAPS, gpuScheduleLimits(WGSL_CAPS, limits.maxComputeWorkgroupsPerDimension, limits));
    },
    // run-time extents: what is merged across values is each kernel's dispatches (extents.ts)
    finishExtents: (p) => kernelsAsDispatches(p, (k) => kernelDispatches(p, k, limits, true)),
    // loops along the symbol stay fused and bound to the grid (counts per run); extern stages' grids divide by their workgroup
    extentGrid: { divisors: [EXTERN_WORKGROUP] },
    render(prog, opts) {
      const plan = planMemory({ ...prog, temps: prog.temps.map((b) => ({ ...b, dtype: stored(b.dtype) })) });
      return { plan, art: renderArtifact(prog, plan, opts, limits) };
    },
    emit: (c, form) => (form === 'wgsl' ? c.art.wgsl : ''),
    stats: (c, bytes) => memoryStats(c, bytes) + `kernels: ${c.prog.kernels.length}, weights ${bytes(c.art.weights?.length ?? 0)}\n`,
    writeArtifact: (dir, c) => writeWgslArtifact(dir, c.art),
    async runCompiled(c, feeds, note) {
      const r = await runWgsl(c.art, feeds);
      if (r.adapter) note(`WebGPU adapter: ${describeAdapter(r.adapter)}`);
      return r;
    },
    runCompiledSync: (c, feeds) => runWgslSync(c.art, feeds),
    close: () => closeWgsl(),
  };
}

export const WGSL_TARGET = wgslTarget();

/** The driver on the WGSL target (opts.limits: the device limits to compile for). */
export function compileWgsl(g: Graph, opts: WgslCompileOptions): WgslCompiled {
  return compileFor(opts.limits ? wgslTarget(opts.limits) : WGSL_TARGET, g, opts).art;
}

function renderArtifact(prog: Program, plan: MemoryPlan, opts: CompileOptions, limits: WgslLimits): WgslCompiled {
  const r = renderWgsl(prog, plan, { version: opts.version, source: opts.source, limits });
  if (prog.batch) r.manifest.batch = { symbol: prog.batch.symbol, ...(prog.batch.max !== undefined ? { max: prog.batch.max } : {}), inputs: prog.batch.inputs, outputs: prog.batch.outputs };
  const host = [
    `// Generated by aic ${opts.version} from ${opts.source} (sha256 ${opts.sourceHash}). Do not edit.`,
    '// WebGPU host module: const model = await load({ device?, weights? }); const out = await model.run({ name: TypedArray });',
    `const WGSL = ${JSON.stringify(r.wgsl)};`,
    `const M = ${JSON.stringify(r.manifest)};`,
    RUNTIME,
  ].join('\n');
  return { prog, plan, wgsl: r.wgsl, manifest: r.manifest, host, dts: renderDts(r.manifest), weights: r.weights, readme: renderReadme(prog, r.manifest, opts) };
}

const TS_ARRAY: Record<string, string> = {
  float16: 'Uint16Array', bfloat16: 'Uint16Array', // bit patterns (wgsl/half.ts)
  float32: 'Float32Array', int8: 'Int8Array', int16: 'Int16Array', int32: 'Int32Array', int64: 'BigInt64Array',
  uint8: 'Uint8Array', uint16: 'Uint16Array', uint32: 'Uint32Array', uint64: 'BigUint64Array', bool: 'Uint8Array',
};

function renderDts(m: WgslManifest): string {
  const half = (d: string) => (isHalfDtype(d) ? `    /** ${d}: 16-bit patterns (${d === 'float16' ? 'IEEE binary16, 0x3c00 is 1.0' : 'the high half of a float32, 0x3f80 is 1.0'}) */\n` : '');
  const X = m.extent;
  // a run-time extent: the symbolic dims of each input/output (extents.ts)
  const ext = (n: string) => (X?.shapes[n] ? `    /** [${X.shapes[n].join(', ')}]: ${X.symbol} is known when the model runs, any value from 1 to ${X.max} (--max-shape); the array holds the elements at that shape */\n` : '');
  const feed = m.inputs.map((i) => `${half(i.dtype)}${ext(i.name)}    ${JSON.stringify(i.name)}: ${TS_ARRAY[i.dtype]}${i.dtype === 'int64' ? ' | Int32Array | ArrayLike<number>' : ' | ArrayLike<number>'};`).join('\n');
  const outs = m.outputs.map((o) => `${half(o.dtype)}${ext(o.name)}    ${JSON.stringify(o.name)}: ${TS_ARRAY[o.dtype]};`).join('\n');
  return [
    `// Generated by aic ${m.aic} from ${m.source}.`,
    `export interface TensorInfo { name: string; dtype: string; shape: ${X ? '(number | string)[]' : 'number[]'} }`,
    ...(X ? [`/** ${X.symbol}: a run-time extent, any value from 1 to ${X.max} (--max-shape); run() reads it from the inputs' lengths${m.batch ? ` (with the batch: run(feeds, { ${m.batch.symbol}: n, ${X.symbol}: v }) where the lengths fit several pairs)` : ''}. The code is compiled once; buffers are sized for the maximum. */`, `export declare const extent: { symbol: ${JSON.stringify(X.symbol)}; max: ${X.max} };`] : []),
    ...(m.batch ? [`/** ${m.batch.symbol}: the batch, any value from 1${m.batch.max !== undefined ? ` to ${m.batch.max} (--max-shape)` : ''}, known when the model runs: run() takes ${m.batch.symbol} samples of ${m.batch.inputs.join(', ')} (shapes here are one sample) and returns ${m.batch.symbol} samples of ${m.batch.outputs.join(', ')} */`, `export declare const batch: { symbol: ${JSON.stringify(m.batch.symbol)}; max: ${m.batch.max ?? 'undefined'} };`] : []),
    'export declare const inputs: TensorInfo[];',
    'export declare const outputs: TensorInfo[];',
    'export interface Model {',
    '  inputs: TensorInfo[];',
    '  outputs: TensorInfo[];',
    '  device: GPUDeviceLike;',
    '  run(feeds: {',
    feed,
    `  }${m.batch && X ? `, dims?: { ${JSON.stringify(m.batch.symbol)}?: number; ${JSON.stringify(X.symbol)}?: number }` : ''}): Promise<{`,
    outs,
    '  }>;',
    '  /** release the GPU buffers */',
    '  destroy(): void;',
    '}',
    '/** A WebGPU GPUDevice (from navigator.gpu, or the `webgpu` package in Node). */',
    'export type GPUDeviceLike = any;',
    '/** Create pipelines and buffers once. Defaults: navigator.gpu, ./model.weights next to this module. */',
    'export declare function load(opts?: { device?: GPUDeviceLike; weights?: ArrayBuffer | ArrayBufferView | string | URL }): Promise<Model>;',
    'declare const _default: { inputs: TensorInfo[]; outputs: TensorInfo[]; load: typeof load };',
    'export default _default;',
    '',
  ].join('\n');
}

function renderReadme(prog: Program, m: WgslManifest, opts: CompileOptions): string {
  return [
    `# ${prog.name}: WebGPU (WGSL) code generated by aic ${opts.version}`,
    '',
    `Source: ${opts.source}`,
    '',
    'Files: `model.mjs` (ES module: WGSL + host code), `model.d.ts`, `kernels.wgsl` (the same WGSL, for reading and tools),',
    m.weightsBytes ? '`model.weights` (fetched next to model.mjs unless `weights` is given; checked by a hash).' : 'no weights file (the model has none).',
    '',
    '```js',
    "import { load } from './model.mjs';",
    'const model = await load();            // navigator.gpu; in Node: load({ device }) with the `webgpu` package',
    `const out = await model.run({ ${m.inputs.map((i) => `${JSON.stringify(i.name)}: new ${TS_ARRAY[i.dtype]}(${i.shape.reduce((a, b) => a * b, 1)})`).join(', ')} });`,
    '```',
    '',
    ...m.inputs.map((b, i) => `- input ${i} \`${b.name}\`: ${b.dtype} ${prog.extents ? describeExtentShape(prog, prog.inputs[i]!) : describeShape(prog, prog.inputs[i]!)}`),
    ...m.outputs.map((b, i) => `- output ${i} \`${b.name}\`: ${b.dtype} ${prog.extents ? describeExtentShape(prog, prog.outputs[i]!) : describeShape(prog, prog.outputs[i]!)}`),
    ...(prog.batch ? ['', `${describeBatch(prog.batch)}: \`run()\` takes ${prog.batch.symbol} samples of each such input, concatenated.`] : []),
    ...(m.extent ? ['', `${m.extent.symbol} is a run-time extent, any value from 1 to ${m.extent.max} (--max-shape): \`run()\` reads it from the inputs' lengths; arrays hold the elements at the run-time shape.`] : []),
    '',
    `${m.dispatches.length} dispatches per run, one command buffer; activations ${m.actBytes} bytes on the GPU.`,
    '64-bit integer tensors are computed as 32-bit: inputs must fit in 32 bits.',
    '',
  ].join('\n');
}

/** Write DIR/model.mjs, model.d.ts, kernels.wgsl, model.weights (when any), README.md; each file atomically. */
export function writeWgslArtifact(dir: string, c: WgslCompiled): string[] {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw diag.usage(`-o '${dir}' exists and is not a directory`);
  const files: [string, string | Uint8Array][] = [['model.mjs', c.host], ['model.d.ts', c.dts], ['kernels.wgsl', c.wgsl], ['README.md', c.readme]];
  if (c.weights) files.push(['model.weights', c.weights]);
  else if (fs.existsSync(path.join(dir, 'model.weights'))) fs.rmSync(path.join(dir, 'model.weights'));
  for (const [f, data] of files) writeFileAtomic(path.join(dir, f), data);
  return files.map(([f]) => path.join(dir, f));
}

/**
 * A WebGPU device in this Node process (Dawn via the `webgpu` package). AicError (exit 1) when none.
 * Tries the environments of gpuAttempts() that need no new process (a different LD_LIBRARY_PATH does):
 * without a system Vulkan loader, SwiftShader only works in the GPU child process (runWgsl).
 */
export async function wgslDevice(opts: { software?: boolean } = {}): Promise<NodeGpu> {
  const tried: string[] = [];
  for (const a of gpuAttempts()) {
    if (a.env.LD_LIBRARY_PATH !== process.env.LD_LIBRARY_PATH) { tried.push(`${a.label}: only in a new process`); continue; }
    for (const k of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES']) {
      if (a.env[k] === undefined) delete process.env[k];
      else process.env[k] = a.env[k];
    }
    try {
      const g = await nodeGpuDevice(opts);
      return { ...g, adapterInfo: { ...g.adapterInfo, via: a.label } };
    } catch (e) {
      tried.push(`${a.label}: ${(e as Error).message === NO_ADAPTER_HELP ? 'no adapter' : (e as Error).message}`);
    }
  }
  throw diag.runtime('webgpu', `${NO_ADAPTER_HELP}. Tried: ${tried.join('; ')}`);
}

/** Feeds as the host module takes them (32-bit words per input name); exported for aic tune's browser runner. */
export function feedsFor(c: WgslCompiled, feeds: Map<string, RValue>): Record<string, ArrayLike<number>> {
  const out: Record<string, ArrayLike<number>> = {};
  batchOf(c.prog, feeds); // AIC0450 / AIC0452 before the GPU sees anything
  const v = extentOf(c.prog, feeds); // the same for a run-time extent
  for (const io of c.manifest.inputs) {
    const t = feeds.get(io.name);
    if (!(t instanceof Tensor)) throw diag.missingInput(io.name);
    const pb = c.prog.inputs.find((b) => b.value === io.name);
    if (pb && !readsInput(c.prog, pb)) { out[io.name] = new Array<number>(io.shape.reduce((a, b) => a * b, 1)).fill(0); continue; }
    const want = pb && c.prog.extents ? shapeAtExtent(c.prog, pb, v) : io.shape;
    if (t.size !== want.reduce((a, b) => a * b, 1) * (pb && isBatched(c.prog, pb) ? batchOf(c.prog, feeds) : 1)) throw diag.badInputData(io.name, `expected shape [${want.join(', ')}], got [${t.shape.join(', ')}]`);
    if (isHalfDtype(io.dtype)) { out[io.name] = halfFeed(castTensor(t, io.dtype)); continue; }
    const d = castTensor(t, io.dtype as never).num as ArrayLike<number>;
    if (io.dtype === 'int64' || io.dtype === 'uint64') {
      const lo = io.dtype === 'int64' ? -2147483648 : 0, hi = io.dtype === 'int64' ? 2147483647 : 4294967295;
      for (let i = 0; i < d.length; i++) {
        if (!(d[i] >= lo && d[i] <= hi)) throw diag.badInputData(io.name, `value ${d[i]} at [${i}] does not fit in 32 bits (target wgsl computes ${io.dtype} as 32-bit)`);
      }
    }
    out[io.name] = d;
  }
  return out;
}

/** With a batch and a run-time extent: both values, as the host's run(feeds, dims) takes them (the lengths alone may fit several pairs). */
function dimsFor(c: WgslCompiled, feeds: Map<string, RValue>): Record<string, number> | undefined {
  const p = c.prog;
  return p.batch && p.extents ? { [p.batch.symbol]: batchOf(p, feeds), [p.extents.symbol]: extentOf(p, feeds) } : undefined;
}

/** The host module's outputs as tensors; exported for aic tune's browser runner. */
export function tensorsFrom(c: WgslCompiled, res: Record<string, ArrayLike<number | bigint>>, dims?: Record<string, number>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const o of c.manifest.outputs) {
    const a = res[o.name];
    const per = o.shape.reduce((x, d) => x * d, 1);
    const pb = c.prog.outputs.find((x) => x.value === o.name);
    const both = dims && pb && c.prog.batch && c.prog.extents ? runShape(c.prog, pb, dims[c.prog.batch.symbol]!, dims[c.prog.extents.symbol]!) : undefined;
    const shape = both ?? (c.manifest.batch?.outputs.includes(o.name) ? [a.length / per, ...o.shape.slice(1)] : c.prog.extents ? extentShapeOf(c.prog, o.name, a.length) : o.shape);
    out.set(o.name, isHalfDtype(o.dtype) ? halfTensor(o.dtype, shape, a as ArrayLike<number>)
      : Tensor.fromNumbers(o.dtype as never, shape, Array.from(a as ArrayLike<number>, (x) => Number(x))));
  }
  return applyExtents(c.prog, out);
}

let child: GpuChild | undefined;
/** The WebGPU child process (Dawn; SwiftShader without a GPU driver): see node-gpu.mjs for why a process. */
function gpuChild(): GpuChild { return (child ??= new GpuChild()); }

function checkReply(r: GpuReply, c?: WgslCompiled): GpuReply {
  if (!r.ok && r.check && c) throw checkError(c.prog, r.check.step, r.check);
  if (!r.ok) throw diag.runtime('webgpu', r.message ?? 'unknown error');
  return r;
}

/** The adapter the WebGPU process gets (AicError exit 1 with how to get one when there is none). */
export async function wgslAdapter(): Promise<NonNullable<GpuReply['adapter']>> {
  return checkReply(await gpuChild().request({ op: 'adapter' })).adapter!;
}

/** Compilation messages of a WGSL module on the real device (errors, warnings, info). */
export async function wgslCompilationInfo(wgsl: string): Promise<NonNullable<GpuReply['messages']>> {
  return checkReply(await gpuChild().request({ op: 'info', wgsl })).messages!;
}

/**
 * Run a compiled model (for `aic run --target wgsl`). With opts.device (a GPUDevice of this process)
 * it runs here; otherwise in the WebGPU child process.
 */
export async function runWgsl(c: WgslCompiled, feeds: Map<string, RValue>, opts: { device?: unknown; reps?: number; packedDot4?: boolean } = {}): Promise<{ outputs: Map<string, Tensor>; ms: number; adapter?: NodeGpu['adapterInfo']; dot4?: 'packed' | 'unpacked' }> {
  const f = feedsFor(c, feeds);
  if (!opts.device) {
    const r = checkReply(await gpuChild().request({ op: 'run', host: c.host, weights: c.weights, feeds: f, dims: dimsFor(c, feeds), reps: opts.reps ?? 1, packedDot4: opts.packedDot4 }), c);
    return { outputs: tensorsFrom(c, r.outputs!, dimsFor(c, feeds)), ms: r.ms!, adapter: r.adapter, dot4: r.dot4 };
  }
  const mod = await import(`data:text/javascript;base64,${Buffer.from(c.host).toString('base64')}`);
  let m;
  try {
    m = await mod.load({ device: opts.device, weights: c.weights, packedDot4: opts.packedDot4 });
  } catch (e) {
    throw diag.runtime('webgpu', (e as Error).message);
  }
  try {
    let res: Record<string, ArrayLike<number>> = {};
    const t0 = performance.now();
    for (let i = 0; i < (opts.reps ?? 1); i++) res = await m.run(f, dimsFor(c, feeds));
    return { outputs: tensorsFrom(c, res, dimsFor(c, feeds)), ms: performance.now() - t0 };
  } catch (e) {
    const chk = (e as { aicCheck?: NonNullable<GpuReply['check']> }).aicCheck;
    throw chk ? checkError(c.prog, chk.step, chk) : diag.runtime('webgpu', (e as Error).message);
  } finally {
    m.destroy();
  }
}

/** Stop the WebGPU child process (lets a CLI exit promptly). */
export function closeWgsl(): void { child?.close(); child = undefined; }

// ---- synchronous running (the conformance runner's interface) through a worker thread ----------
let worker: { w: Worker; flag: Int32Array; port: import('node:worker_threads').MessagePort } | undefined;

function gpuWorker() {
  if (worker) return worker;
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const w = new Worker(new URL('./gpu-worker.mjs', import.meta.url), { workerData: { flag, reply: port2 }, transferList: [port2] });
  w.unref();
  port1.unref();
  worker = { w, flag, port: port1 };
  return worker;
}

/** A request to the WebGPU process, blocking until it answers (a worker thread talks to it). */
function requestSync(c: WgslCompiled | undefined, msg: Record<string, unknown>): GpuReply {
  const wk = gpuWorker();
  Atomics.store(wk.flag, 0, 0);
  wk.w.postMessage(msg);
  const r = Atomics.wait(wk.flag, 0, 0, 600_000);
  if (r === 'timed-out') throw diag.runtime('webgpu', 'the GPU worker did not answer within 600 s');
  const reply = receiveMessageOnPort(wk.port)?.message as GpuReply | undefined;
  if (!reply) throw diag.runtime('webgpu', 'the GPU worker exited without an answer');
  return checkReply(reply, c);
}

/** Run a compiled model, blocking until the GPU is done. */
export function runWgslSync(c: WgslCompiled, feeds: Map<string, RValue>): Map<string, Tensor> {
  return tensorsFrom(c, requestSync(c, { op: 'run', host: c.host, weights: c.weights, feeds: feedsFor(c, feeds), dims: dimsFor(c, feeds) }).outputs!, dimsFor(c, feeds));
}

/** The adapter of the WebGPU process, blocking (aic tune's log names it). */
export function wgslAdapterSync(): NonNullable<GpuReply['adapter']> {
  return requestSync(undefined, { op: 'adapter' }).adapter!;
}

/** aic tune: ms per dispatch (manifest order; host-runtime.mjs timeDispatches), the outputs, and the adapter. */
export function timeWgslSync(c: WgslCompiled, feeds: Map<string, RValue>, reps: number): { dispatchMs: number[]; outputs: Map<string, Tensor>; adapter?: GpuReply['adapter'] } {
  const r = requestSync(c, { op: 'time', host: c.host, weights: c.weights, feeds: feedsFor(c, feeds), reps });
  return { dispatchMs: r.dispatchMs!, outputs: tensorsFrom(c, r.outputs!), adapter: r.adapter };
}

export { AicError };
