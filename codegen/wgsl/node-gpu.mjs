/**
 * A WebGPU device in Node through the `webgpu` npm package (Dawn).
 *
 * Which Vulkan driver Dawn sees is decided by the environment of the process, before the GPU object is
 * created, so aic runs the GPU in a child process and tries, in order, the environments of gpuAttempts():
 *   1. the system's drivers (when the system has a Vulkan loader, libvulkan.so.1);
 *   2. SwiftShader, the CPU Vulkan driver shipped with Debian's chromium package: VK_ICD_FILENAMES /
 *      VK_DRIVER_FILES name its ICD, and when the system has no loader, LD_LIBRARY_PATH=/usr/lib/chromium
 *      lends chromium's (this only takes effect in a new process: preloading it into a running Node
 *      process crashes SwiftShader).
 * The system attempt can find nothing usable even with a loader: Mesa's lavapipe (mesa-vulkan-drivers)
 * is refused by Dawn, and a driver may crash or compute wrong values; probeGpu() checks a dispatch.
 */
import * as fs from 'node:fs';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const CHROMIUM_DIR = '/usr/lib/chromium';
const CHROMIUM_VULKAN = `${CHROMIUM_DIR}/libvulkan.so.1`;

export const NO_ADAPTER_HELP = 'no WebGPU adapter: run on a machine with a Vulkan/Metal/D3D12 GPU driver, or use a software one: '
  + `Debian's chromium package ships SwiftShader (apt-get install chromium), which aic run --target wgsl uses by itself `
  + `when the system has no usable adapter (by hand: VK_ICD_FILENAMES=${SWIFTSHADER_ICD}, and LD_LIBRARY_PATH=${CHROMIUM_DIR} when libvulkan1 is not installed)`;

const SYSTEM_VULKAN = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1', '/usr/local/lib/libvulkan.so.1'];

/**
 * The environments to try, in order, for a process that will create the GPU: [{ name, label, env }].
 * name: 'user' (VK_ICD_FILENAMES / VK_DRIVER_FILES set: only that), 'system' or 'swiftshader'.
 * AIC_WEBGPU_SOFTWARE=1 skips the system attempt; AIC_WEBGPU_SYSTEM_VULKAN=0 acts as if the system had no
 * Vulkan loader (the path of machines without libvulkan1). exists/platform are for tests.
 */
export function gpuAttempts(base = process.env, { exists = fs.existsSync, platform = process.platform } = {}) {
  if (base.VK_ICD_FILENAMES || base.VK_DRIVER_FILES) {
    return [{ name: 'user', label: `the Vulkan driver named by ${base.VK_DRIVER_FILES ? 'VK_DRIVER_FILES' : 'VK_ICD_FILENAMES'}`, env: { ...base } }];
  }
  const loader = platform !== 'linux' || (base.AIC_WEBGPU_SYSTEM_VULKAN !== '0' && SYSTEM_VULKAN.some((p) => exists(p)));
  const out = [];
  if (loader && base.AIC_WEBGPU_SOFTWARE !== '1') out.push({ name: 'system', label: "the system's GPU drivers", env: { ...base } });
  if (platform === 'linux' && exists(SWIFTSHADER_ICD)) {
    const env = { ...base, VK_ICD_FILENAMES: SWIFTSHADER_ICD, VK_DRIVER_FILES: SWIFTSHADER_ICD };
    if (!loader && exists(CHROMIUM_VULKAN)) env.LD_LIBRARY_PATH = base.LD_LIBRARY_PATH ? `${CHROMIUM_DIR}:${base.LD_LIBRARY_PATH}` : CHROMIUM_DIR;
    out.push({ name: 'swiftshader', label: `chromium's SwiftShader${env.LD_LIBRARY_PATH === base.LD_LIBRARY_PATH ? '' : " (with chromium's Vulkan loader)"}`, env });
  }
  // nothing better to try: the system attempt fails with the help text
  if (out.length === 0) out.push({ name: 'system', label: "the system's GPU drivers", env: { ...base } });
  return out;
}

/** One line for --verbose: which adapter ran, through which attempt, and why earlier attempts were passed over. */
export function describeAdapter(a) {
  const what = [a.vendor, a.architecture].filter(Boolean).join(' ') || 'unknown adapter';
  let s = `${what}${a.description ? ` (${a.description})` : ''}`;
  if (a.via) s += ` via ${a.via}`;
  if (a.passedOver) s += `; passed over: ${a.passedOver}`;
  return s;
}

let cached;
const keep = [];

/**
 * Resolve to { device, adapterInfo } with the drivers this process's environment selects (one attempt),
 * or throw an Error (NO_ADAPTER_HELP, or why the adapter is unusable). opts.software: force SwiftShader.
 */
export function nodeGpuDevice(opts = {}) {
  if (!cached) cached = acquire(opts).catch((e) => { cached = undefined; throw e; });
  return cached;
}

async function acquire(opts) {
  let mod;
  try {
    mod = await import('webgpu');
  } catch (e) {
    throw new Error(`the 'webgpu' npm package is not installed (npm install -D webgpu): ${e.message}`);
  }
  const { create, globals } = mod;
  Object.assign(globalThis, globals);
  if ((opts.software || process.env.AIC_WEBGPU_SOFTWARE === '1') && fs.existsSync(SWIFTSHADER_ICD) && !process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES) {
    process.env.VK_ICD_FILENAMES = process.env.VK_DRIVER_FILES = SWIFTSHADER_ICD;
  }
  // keep the GPU instance and adapter reachable: if they are garbage-collected, Dawn tears the device down
  const gpu = create([]);
  keep.push(gpu);
  const adapter = await gpu.requestAdapter().catch(() => null);
  keep.push(adapter);
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const want = { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize, maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage };
  const info = adapter.info ?? {};
  const name = `${info.vendor ?? ''} ${info.architecture ?? ''} (${info.description ?? ''})`;
  let device;
  try {
    device = await adapter.requestDevice({ requiredLimits: want });
  } catch (e) {
    throw new Error(`the adapter ${name} gives no device: ${e.message}`);
  }
  const bad = await probeGpu(device);
  if (bad) { device.destroy(); throw new Error(`the adapter ${name} is unusable: ${bad}`); }
  const ss = process.env.VK_ICD_FILENAMES === SWIFTSHADER_ICD || process.env.VK_DRIVER_FILES === SWIFTSHADER_ICD;
  // WGSL language features (navigator.gpu.wgslLanguageFeatures in a browser): the host module asks for packed_4x8_integer_dot_product
  return { device, wgslFeatures: [...(gpu.wgslLanguageFeatures ?? [])], adapterInfo: { vendor: info.vendor ?? '', architecture: info.architecture ?? '', description: info.description ?? '', software: ss || /swiftshader|llvmpipe|lavapipe/i.test(name) } };
}

const PROBE_N = 256;
const PROBE_WGSL = `@group(0) @binding(0) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) i: vec3u) {
  if (i.x < ${PROBE_N}u) { b[i.x] = b[i.x] * 0.5 + f32(i.x); }
}`;

/** Run one small dispatch and check its values: undefined when right, else what went wrong. */
export async function probeGpu(device) {
  try {
    const data = Float32Array.from({ length: PROBE_N }, (_, i) => i * 2);
    const buf = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    const read = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(buf, 0, data);
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: PROBE_WGSL }), entryPoint: 'main' } });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }));
    pass.dispatchWorkgroups(PROBE_N / 64);
    pass.end();
    enc.copyBufferToBuffer(buf, 0, read, 0, data.byteLength);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const got = new Float32Array(read.getMappedRange().slice(0));
    read.unmap();
    buf.destroy();
    read.destroy();
    for (let i = 0; i < PROBE_N; i++) if (got[i] !== 2 * i) return `a test dispatch computed ${got[i]} at [${i}] instead of ${2 * i}`;
    return undefined;
  } catch (e) {
    return `a test dispatch failed: ${e && e.message ? e.message : e}`;
  }
}
