/** The WGSL (WebGPU) target: compute shaders and a WebGPU host module from the loop IR. */
export { compileWgsl, writeWgslArtifact, runWgsl, runWgslSync, wgslDevice, wgslAdapter, wgslCompilationInfo, closeWgsl, wgslTarget, WGSL_TARGET, type WgslCompileOptions, type WgslCompiled } from './target.ts';
export { describeAdapter, gpuAttempts, SWIFTSHADER_ICD, type AdapterInfo, type GpuAttempt } from './node-gpu.mjs';
export { renderWgsl, DEFAULT_WGSL_LIMITS, type WgslLimits, type WgslManifest } from './render.ts';
export { chooseGpuSchedules, gpuDefaultSchedule, gpuStageSchedule, gpuScheduleLimits } from './schedule.ts';
export { WGSL_CAPS } from '../caps.ts';
