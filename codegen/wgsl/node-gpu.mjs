/**
 * A WebGPU device in Node through the `webgpu` npm package (Dawn). Without a GPU driver, Dawn can run
 * on SwiftShader's Vulkan ICD shipped with Debian's chromium package: VK_ICD_FILENAMES must point at
 * it before the GPU object is created, and the Vulkan loader (libvulkan.so.1) must be found — when the
 * system has none, the one chromium ships is used through LD_LIBRARY_PATH=/usr/lib/chromium, which
 * only takes effect in a new process (preloading it into a running Node process crashes SwiftShader),
 * so aic runs the GPU in a child process with gpuChildEnv().
 */
import * as fs from 'node:fs';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const CHROMIUM_VULKAN = '/usr/lib/chromium/libvulkan.so.1';

export const NO_ADAPTER_HELP = 'no WebGPU adapter: run on a machine with a Vulkan/Metal/D3D12 GPU driver, or use a software one: '
  + `Debian's chromium package ships SwiftShader; start the process with VK_ICD_FILENAMES=${SWIFTSHADER_ICD} `
  + '(and LD_LIBRARY_PATH=/usr/lib/chromium when libvulkan1 is not installed); aic run --target wgsl does both by itself in its WebGPU child process';

const SYSTEM_VULKAN = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1', '/usr/local/lib/libvulkan.so.1'];

/** The environment for a process that will create the GPU (SwiftShader when no Vulkan driver is installed). */
export function gpuChildEnv(base = process.env) {
  const env = { ...base };
  if (!fs.existsSync(SWIFTSHADER_ICD)) return env;
  const systemLoader = SYSTEM_VULKAN.some((p) => fs.existsSync(p));
  if (!env.VK_ICD_FILENAMES && (!systemLoader || env.AIC_WEBGPU_SOFTWARE === '1')) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  if (env.VK_ICD_FILENAMES === SWIFTSHADER_ICD && !systemLoader && fs.existsSync(CHROMIUM_VULKAN)) {
    env.LD_LIBRARY_PATH = env.LD_LIBRARY_PATH ? `/usr/lib/chromium:${env.LD_LIBRARY_PATH}` : '/usr/lib/chromium';
  }
  return env;
}

let cached;
const keep = [];

/**
 * Resolve to { device, adapterInfo } or throw an Error whose message is NO_ADAPTER_HELP-like.
 * opts.software: force SwiftShader.
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
  if ((opts.software || process.env.AIC_WEBGPU_SOFTWARE === '1') && fs.existsSync(SWIFTSHADER_ICD) && !process.env.VK_ICD_FILENAMES) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  // keep the GPU instance and adapter reachable: if they are garbage-collected, Dawn tears the device down
  const gpu = create([]);
  keep.push(gpu);
  const adapter = await gpu.requestAdapter().catch(() => null);
  keep.push(adapter);
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const want = { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize, maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage };
  const device = await adapter.requestDevice({ requiredLimits: want });
  const info = adapter.info ?? {};
  return { device, adapterInfo: { vendor: info.vendor ?? '', architecture: info.architecture ?? '', description: info.description ?? '', software: process.env.VK_ICD_FILENAMES === SWIFTSHADER_ICD } };
}
