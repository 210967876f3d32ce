/**
 * A WebGPU device in Node through the `webgpu` npm package (Dawn). Without a GPU driver, Dawn can run
 * on SwiftShader's Vulkan ICD shipped with Debian's chromium package: VK_ICD_FILENAMES must point at
 * it before the GPU object is created, and the Vulkan loader (libvulkan.so.1) must be loadable — the
 * one chromium ships in /usr/lib/chromium is preloaded when the system has none.
 */
import * as fs from 'node:fs';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const CHROMIUM_VULKAN = '/usr/lib/chromium/libvulkan.so.1';
const RTLD_NOW = 2, RTLD_GLOBAL = 256, RTLD_NODELETE = 0x1000;

export const NO_ADAPTER_HELP = 'no WebGPU adapter: run on a machine with a Vulkan/Metal/D3D12 GPU driver, or install a software one '
  + `(Debian: apt-get install chromium, then VK_ICD_FILENAMES=${SWIFTSHADER_ICD} selects SwiftShader; aic does this by itself when that file exists)`;

function preloadVulkanLoader() {
  try {
    process.dlopen({ exports: {} }, CHROMIUM_VULKAN, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
  } catch {
    // "did not self-register" is expected: the library is not an addon but stays loaded (RTLD_NODELETE)
  }
}

let cached;

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
  const haveSwiftShader = fs.existsSync(SWIFTSHADER_ICD);
  const software = opts.software || process.env.AIC_WEBGPU_SOFTWARE === '1';
  if (software && haveSwiftShader && !process.env.VK_ICD_FILENAMES) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  if (process.env.VK_ICD_FILENAMES === SWIFTSHADER_ICD && fs.existsSync(CHROMIUM_VULKAN)) preloadVulkanLoader();
  let adapter = await create([]).requestAdapter().catch(() => null);
  if (!adapter && haveSwiftShader && !process.env.VK_ICD_FILENAMES) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    if (fs.existsSync(CHROMIUM_VULKAN)) preloadVulkanLoader();
    adapter = await create([]).requestAdapter().catch(() => null);
  }
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const want = { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize, maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage };
  const device = await adapter.requestDevice({ requiredLimits: want });
  const info = adapter.info ?? {};
  return { device, adapterInfo: { vendor: info.vendor ?? '', architecture: info.architecture ?? '', description: info.description ?? '', software: process.env.VK_ICD_FILENAMES === SWIFTSHADER_ICD } };
}
