// ---- aic WebGPU host runtime (appended to the generated WGSL and manifest M) ----
/* global GPUBufferUsage, GPUMapMode */
const USAGE = () => globalThis.GPUBufferUsage ?? { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 };
const MAPMODE = () => globalThis.GPUMapMode ?? { READ: 1 };

// a run-time extent (M.extent): its symbol's dims in shapes, the rest as compiled
const X = M.extent;
const shown = ({ name, dtype, shape }) => ({ name, dtype, shape: X?.shapes[name] ? X.shapes[name].slice() : shape });
/** Graph inputs: [{ name, dtype, shape }] */
export const inputs = M.inputs.map(shown);
/** Graph outputs: [{ name, dtype, shape }] */
export const outputs = M.outputs.map(shown);

const numel = (shape) => shape.reduce((a, b) => a * b, 1);
// float16/bfloat16: Uint16Array bit patterns, one per word (the shaders convert)
const WORD = { float32: 'f32', int8: 'i32', int16: 'i32', int32: 'i32', int64: 'i32', uint8: 'u32', uint16: 'u32', uint32: 'u32', uint64: 'u32', bool: 'u32', float16: 'u32', bfloat16: 'u32' };
const OUT_ARRAY = {
  float16: Uint16Array, bfloat16: Uint16Array,
  float32: Float32Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array,
  uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array, bool: Uint8Array,
};

/** Input typed array / array -> 32-bit words (64-bit integers must fit in 32 bits); n: elements at a run-time extent. */
function toWords(io, data, n = numel(io.shape)) {
  if (!data || typeof data.length !== 'number') throw new TypeError(`input '${io.name}': expected a typed array of ${n} ${io.dtype} elements`);
  if (data.length !== n) throw new RangeError(`input '${io.name}': expected ${n} elements (shape [${shown(io).shape.join(', ')}]), got ${data.length}`);
  const w = new Uint32Array(Math.max(1, n));
  const kind = WORD[io.dtype];
  if (kind === 'f32') { new Float32Array(w.buffer).set(data instanceof Float32Array ? data : Float32Array.from(data, Number)); return w; }
  const i32 = new Int32Array(w.buffer);
  const lo = kind === 'i32' ? -2147483648 : 0, hi = kind === 'i32' ? 2147483647 : 4294967295;
  for (let i = 0; i < n; i++) {
    let v = data[i];
    if (io.dtype === 'bool') { w[i] = v ? 1 : 0; continue; }
    v = Number(v);
    if (!(v >= lo && v <= hi) || !Number.isInteger(v)) throw new RangeError(`input '${io.name}': value ${data[i]} at [${i}] does not fit the 32-bit ${kind} the WebGPU model computes ${io.dtype} in`);
    if (kind === 'i32') i32[i] = v; else w[i] = v;
  }
  return w;
}

function fromWords(io, bytes, n = numel(io.shape)) {
  const Out = OUT_ARRAY[io.dtype];
  if (io.dtype === 'float32') return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n * 4));
  const src = WORD[io.dtype] === 'i32' ? new Int32Array(bytes.buffer, bytes.byteOffset, n) : new Uint32Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Out(n);
  if (io.dtype === 'int64' || io.dtype === 'uint64') for (let i = 0; i < n; i++) out[i] = BigInt(src[i]);
  else for (let i = 0; i < n; i++) out[i] = src[i];
  return out;
}

/** A failed runtime check (an index out of bounds, an integer division by zero) as an Error naming the node. */
function checkRecord([code, step, value, bound]) {
  if (code === 0) return;
  const st = M.steps[step];
  const r = M.ranges[code];
  const what = code === 1 ? `index ${value} is out of bounds for a dimension of size ${bound}`
    : r ? `${r[0]} ${value} is out of range [0, ${r[1] ? `${bound - 1}]` : `${bound})`}` : 'integer division by zero';
  const err = new Error(`${st.op} failed: ${what} (node '${st.node}')`);
  err.aicCheck = { step, code, value, bound };
  throw err;
}

async function readWeights(src) {
  if (M.weightsBytes === 0) return undefined;
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  if (ArrayBuffer.isView(src)) return new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  const url = src === undefined ? new URL('./model.weights', import.meta.url) : new URL(String(src), import.meta.url);
  if (url.protocol === 'file:') {
    const fs = await import('node:fs/promises');
    const { fileURLToPath } = await import('node:url');
    return new Uint8Array(await fs.readFile(fileURLToPath(url)));
  }
  const r = await fetch(url);
  if (!r.ok) throw new Error(`cannot fetch weights ${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function defaultDevice() {
  const gpu = globalThis.navigator?.gpu;
  if (!gpu) throw new Error('WebGPU is not available here (navigator.gpu is undefined): use a WebGPU-capable browser, or pass { device } (in Node: the "webgpu" package)');
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('WebGPU: no adapter (no usable GPU); in Chromium try --enable-unsafe-webgpu, or --use-webgpu-adapter=swiftshader for the CPU fallback');
  const requiredLimits = {};
  for (const [k, v] of Object.entries(M.needs)) {
    if (v > (adapter.limits[k] ?? 0)) throw new Error(`WebGPU: the model needs ${k} >= ${v}, the adapter offers ${adapter.limits[k]}`);
    requiredLimits[k] = Math.max(v, 0);
  }
  return adapter.requestDevice({ requiredLimits: pickLimits(adapter, requiredLimits) });
}

function pickLimits(adapter, want) {
  const out = {};
  for (const [k, v] of Object.entries(want)) if (v > defaultLimit(k)) out[k] = Math.min(v, adapter.limits[k]);
  return out;
}
function defaultLimit(k) {
  return { maxStorageBufferBindingSize: 134217728, maxStorageBuffersPerShaderStage: 8, maxBufferSize: 268435456 }[k] ?? 0;
}

/**
 * Create the GPU resources (pipelines, buffers, bind groups) once.
 * @param {{ device?: GPUDevice, weights?: ArrayBuffer | ArrayBufferView | string | URL, packedDot4?: boolean }} [opts]
 * packedDot4: use dot4I8Packed (default: when navigator.gpu.wgslLanguageFeatures has packed_4x8_integer_dot_product)
 */
export async function load(opts = {}) {
  const device = opts.device ?? await defaultDevice();
  for (const [k, v] of Object.entries(M.needs)) {
    if (device.limits && device.limits[k] !== undefined && device.limits[k] < v) throw new Error(`WebGPU: the model needs ${k} >= ${v}, the device has ${device.limits[k]} (request it in requestDevice({ requiredLimits }))`);
  }
  const blob = await readWeights(opts.weights);
  if (M.weightsBytes) {
    const head = new TextDecoder().decode(blob.subarray(0, 8 + M.weightsHash.length));
    if (blob.length !== M.weightsBytes || head !== 'AICWGSL1' + M.weightsHash) throw new Error('model.weights does not belong to this model.mjs (size or hash mismatch)');
  }
  const U = USAGE();
  // int8 dot products: the packed form (dot4I8Packed) where the WGSL has it (codegen/wgsl/dot4.ts)
  const packed = M.dot4 && (opts.packedDot4 ?? globalThis.navigator?.gpu?.wgslLanguageFeatures?.has('packed_4x8_integer_dot_product') ?? false);
  const code = packed ? WGSL.slice(0, M.dot4.at) + M.dot4.packed + WGSL.slice(M.dot4.at + M.dot4.len) : WGSL;
  const module = device.createShaderModule({ code, label: `aic ${M.source}` });
  if (module.getCompilationInfo) {
    const info = await module.getCompilationInfo();
    const errs = info.messages.filter((m) => m.type === 'error');
    if (errs.length) throw new Error(`WGSL compilation failed:\n${errs.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('\n')}`);
  }
  const act = device.createBuffer({ size: M.actBytes, usage: U.STORAGE | U.COPY_SRC | U.COPY_DST, label: 'aic activations' });
  const gpuBuffers = [act];
  // a run-time extent: a 16-byte uniform the shaders read it from (binding buffer -1)
  const extBuf = X ? device.createBuffer({ size: 16, usage: U.UNIFORM | U.COPY_DST, label: 'aic extent' }) : undefined;
  for (const c of M.weightChunks) {
    const b = device.createBuffer({ size: Math.max(4, c.bytes), usage: U.STORAGE | U.COPY_DST, mappedAtCreation: true, label: 'aic weights' });
    new Uint8Array(b.getMappedRange()).set(blob.subarray(c.fileOffset, c.fileOffset + c.bytes));
    b.unmap();
    gpuBuffers.push(b);
  }
  // createComputePipeline, not ...Async: the latter crashes some Dawn builds (node webgpu 0.6 on SwiftShader)
  const steps = M.dispatches.map((d) => {
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: d.entry }, label: d.entry });
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: d.bindings.map((b) => ({ binding: b.binding, resource: { buffer: b.buffer < 0 ? extBuf : gpuBuffers[b.buffer], offset: b.offset, size: b.size } })),
    });
    return { pipeline, bindGroup, workgroups: d.workgroups.slice(), compiled: d.workgroups, grid: d.grid };
  });
  const outBytes = M.outputs.map((o) => Math.max(1, numel(o.shape)) * 4);
  const outOffsets = [];
  let total = 0;
  for (const b of outBytes) { outOffsets.push(total); total += b; }
  // runtime checks: their 16-byte failure record is read back after the outputs
  const errAt = total;
  if (M.errOffset !== undefined) total += 16;
  const staging = device.createBuffer({ size: Math.max(4, total), usage: U.MAP_READ | U.COPY_DST, label: 'aic readback' });
  let queue = Promise.resolve();

  /** Run once: feeds by input name (typed arrays, row-major); resolves to outputs by name. */
  async function runOnce(feeds, given) {
    for (const io of M.inputs) if (!(io.name in feeds)) throw new Error(`missing input '${io.name}'`);
    // a run-time extent: its value from the inputs' lengths (or given, with a batch), then the uniform, the grids and the lengths at it
    const v = X ? given ?? extentOf(feeds) : 0;
    const len = (io) => (X?.dims[io.name] ? lengthAt(X.dims[io.name], v) : numel(io.shape));
    if (X) {
      device.queue.writeBuffer(extBuf, 0, new Int32Array([v, 0, 0, 0]));
      for (const s of steps) if (s.grid) s.workgroups = s.grid.map((g, i) => (g === null ? s.compiled[i] : Math.max(0, evalGrid(g, v))));
    }
    for (const io of M.inputs) {
      const w = toWords(io, feeds[io.name], len(io));
      device.queue.writeBuffer(act, io.offset, w.buffer, 0, Math.max(1, len(io)) * 4);
    }
    if (M.errOffset !== undefined) device.queue.writeBuffer(act, M.errOffset, new Uint32Array(4));
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (const s of steps) {
      pass.setPipeline(s.pipeline);
      pass.setBindGroup(0, s.bindGroup);
      pass.dispatchWorkgroups(s.workgroups[0], s.workgroups[1], s.workgroups[2]);
    }
    pass.end();
    M.outputs.forEach((o, i) => enc.copyBufferToBuffer(act, o.offset, staging, outOffsets[i], outBytes[i]));
    if (M.errOffset !== undefined) enc.copyBufferToBuffer(act, M.errOffset, staging, errAt, 16);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(MAPMODE().READ);
    const bytes = new Uint8Array(staging.getMappedRange().slice(0));
    staging.unmap();
    if (M.errOffset !== undefined) checkRecord(new Int32Array(bytes.buffer, errAt, 4));
    const res = {};
    M.outputs.forEach((o, i) => { res[o.name] = fromWords(o, bytes.subarray(outOffsets[i], outOffsets[i] + outBytes[i]), len(o)); });
    return res;
  }
  return {
    inputs, outputs, device,
    /** how int8 dot products run: 'packed' (dot4I8Packed), 'unpacked', or undefined (the model has none) */
    dot4: M.dot4 ? (packed ? 'packed' : 'unpacked') : undefined,
    /** @param {Record<string, ArrayLike<number> | BigInt64Array>} feeds */
    /** @param {Record<string, number>} [dims] with a batch and a run-time extent: { batch: n, extent: v } by symbol, where the lengths fit several pairs */
    run(feeds, dims) { const p = queue.then(() => (M.batch ? runBatch(runOnce, feeds, dims) : runOnce(feeds))); queue = p.catch(() => {}); return p; },
    destroy() { for (const b of gpuBuffers) b.destroy(); staging.destroy(); extBuf?.destroy(); },
    /**
     * Tuning (aic tune --target wgsl): ms per dispatch, each timed alone to the queue's completion
     * (two warm-ups, then the median of `reps` samples; a sample runs as many back-to-back dispatches
     * as take ~1 ms, found in the second warm-up, divided back), after one full run so that every
     * buffer holds real values; then the outputs of one more full run.
     */
    async timeDispatches(feeds, { reps = 10 } = {}) {
      await runOnce(feeds);
      const sample = async (s, n) => {
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(s.pipeline);
        pass.setBindGroup(0, s.bindGroup);
        for (let i = 0; i < n; i++) pass.dispatchWorkgroups(s.workgroups[0], s.workgroups[1], s.workgroups[2]);
        pass.end();
        const t0 = performance.now();
        device.queue.submit([enc.finish()]);
        await device.queue.onSubmittedWorkDone();
        return (performance.now() - t0) / n;
      };
      const ms = [];
      for (const s of steps) {
        await sample(s, 1);
        const n = Math.min(64, Math.max(1, Math.ceil(1 / Math.max(await sample(s, 1), 1e-3))));
        const xs = [];
        for (let r = 0; r < reps; r++) xs.push(await sample(s, n));
        xs.sort((a, b) => a - b);
        ms.push(xs[xs.length >> 1]);
      }
      return { ms, outputs: await runOnce(feeds) };
    },
  };
}

/** A symbolic batch (M.batch): the one-sample dispatches run once per sample, batched inputs and outputs at sample s. */
async function runBatch(runOnce, feeds, dims) {
  const B = M.batch;
  const isIn = (io) => B.inputs.includes(io.name);
  // with a run-time extent too: the (batch, extent) pair, each sample at its length at the extent
  const [n0, v] = X ? bothOf(feeds, dims) : [undefined, undefined];
  const per = (io) => (X && X.dims[io.name] ? lengthAt(X.dims[io.name], v) : numel(io.shape));
  let n = n0, who;
  for (const io of X ? [] : M.inputs) {
    if (!isIn(io)) continue;
    const v = feeds[io.name];
    if (!v || typeof v.length !== 'number') throw new Error(`missing input '${io.name}'`);
    const m = v.length / numel(io.shape);
    if (!Number.isInteger(m) || m < 1) throw new RangeError(`input '${io.name}': expected ${B.symbol} x ${numel(io.shape)} elements (shape [${B.symbol}, ${io.shape.slice(1).join(', ')}]), got ${v.length}`);
    if (n !== undefined && m !== n) throw new Error(`the inputs disagree on '${B.symbol}': input '${who}' gives ${n}, input '${io.name}' gives ${m}`);
    if (n === undefined) { n = m; who = io.name; }
  }
  n = n === undefined ? 1 : n;
  if (B.max !== undefined && n > B.max) throw new Error(`'${B.symbol}' is ${n}, beyond its maximum ${B.max} (compiled with --max-shape ${B.symbol}=${B.max})`);
  const parts = [];
  for (let s = 0; s < n; s++) {
    const f = {};
    for (const io of M.inputs) { const k = per(io); f[io.name] = isIn(io) ? feeds[io.name].slice(s * k, (s + 1) * k) : feeds[io.name]; }
    parts.push(await runOnce(f, v));
  }
  const res = {};
  for (const o of M.outputs) {
    if (!B.outputs.includes(o.name)) { res[o.name] = parts[0][o.name]; continue; }
    const k = per(o);
    const r = new OUT_ARRAY[o.dtype](n * k);
    parts.forEach((p, s) => r.set(p[o.name], s * k));
    res[o.name] = r;
  }
  return res;
}

/**
 * A batch and a run-time extent: the (batch, extent) of a run, as given (run(feeds, { N: n, S: v })) or
 * else the one pair every input's length fits within the maxima (as the wasm loader does).
 */
function bothOf(feeds, dims) {
  const B = M.batch;
  const want = (sym) => (dims && dims[sym] !== undefined ? dims[sym] : undefined);
  const beyond = (sym, m, max) => new RangeError(`'${sym}' is ${m}, beyond its maximum ${max} (compiled with --max-shape ${sym}=${max})`);
  for (const [sym, max] of [[B.symbol, B.max], [X.symbol, X.max]]) {
    const m = want(sym);
    if (m !== undefined && !(Number.isInteger(m) && m >= 1)) throw new Error(`run: '${sym}' must be a whole number >= 1, got ${m}`);
    if (m !== undefined && max !== undefined && m > max) throw beyond(sym, m, max);
  }
  const fits = [];
  for (let v = 1; v <= 64 * X.max && fits.length < 64; v++) {
    if (want(X.symbol) !== undefined && v !== want(X.symbol)) continue;
    let n = want(B.symbol), ok = true;
    for (const io of M.inputs) {
      const f = feeds[io.name];
      if (!f || typeof f.length !== 'number') throw new Error(`missing input '${io.name}'`);
      const m = f.length / (X.dims[io.name] ? lengthAt(X.dims[io.name], v) : numel(io.shape));
      if (!B.inputs.includes(io.name)) ok = ok && m === 1;
      else if (Number.isInteger(m) && m >= 1 && (n === undefined || m === n)) n = m;
      else ok = false;
    }
    if (ok) fits.push([n === undefined ? 1 : n, v]);
  }
  const pair = `(${B.symbol}, ${X.symbol})`;
  const within = fits.filter(([n, v]) => v <= X.max && (B.max === undefined || n <= B.max));
  if (!fits.length) throw new RangeError(`the inputs' lengths fit no ${pair} with ${X.symbol} from 1 to ${X.max}`);
  if (!within.length) throw fits[0][1] > X.max ? beyond(X.symbol, fits[0][1], X.max) : beyond(B.symbol, fits[0][0], B.max);
  if (within.length > 1) throw new Error(`the inputs' lengths fit several ${pair}: ${within.slice(0, 4).map((f) => `(${f.join(', ')})`).join(', ')}; say which: run(feeds, { ${B.symbol}: n, ${X.symbol}: v })`);
  return within[0];
}

const dimAt = (d, v) => (typeof d === 'number' ? d : d.reduce((a, c, k) => a + c * v ** k, 0));
const lengthAt = (dims, v) => dims.reduce((a, d) => a * dimAt(d, v), 1);
const GRID_OPS = { add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => Math.trunc(a / b), mod: (a, b) => a % b, min: Math.min, max: Math.max };
/** a workgroup count at the extent v (codegen/wgsl/extents.ts evalGrid) */
const evalGrid = (g, v) => (typeof g === 'number' ? g : g === 'S' ? v : GRID_OPS[g[0]](evalGrid(g[1], v), evalGrid(g[2], v)));

/** The run-time extent of a run: the value that gives every input with a symbolic dim its length, the same for all, within the maximum. */
function extentOf(feeds) {
  let v, who;
  for (const io of M.inputs) {
    const d = X.dims[io.name];
    if (!d) continue;
    const n = feeds[io.name]?.length;
    let m;
    for (let s = 1; s <= 64 * X.max && m === undefined; s++) if (lengthAt(d, s) === n) m = s;
    if (m === undefined) throw new RangeError(`input '${io.name}': expected ${io.dtype} [${X.shapes[io.name].join(', ')}] with ${X.symbol} from 1 to ${X.max}, got ${n} elements`);
    if (m > X.max) throw new RangeError(`'${X.symbol}' is ${m}, beyond its maximum ${X.max} (compiled with --max-shape ${X.symbol}=${X.max})`);
    if (v !== undefined && m !== v) throw new Error(`the inputs disagree on '${X.symbol}': input '${who}' gives ${v}, input '${io.name}' gives ${m}`);
    if (v === undefined) { v = m; who = io.name; }
  }
  return v === undefined ? X.max : v;
}

export const batch = M.batch;
/** a run-time extent: { symbol, max } (run() reads its value from the inputs' lengths), or undefined */
export const extent = X ? { symbol: X.symbol, max: X.max } : undefined;
export default { inputs, outputs, load };
