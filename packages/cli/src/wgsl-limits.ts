/**
 * `--wgsl-limit NAME=VALUE` (repeatable): compile a wgsl artifact for a device granting more than
 * WebGPU's guaranteed limits, e.g. `maxStorageBufferBindingSize=1G` for a weight over 128 MiB (a large
 * Gemm or embedding table). Sizes take binary units (512M, 1G); counts are plain integers. The API
 * (packages/api targets.ts withWgslLimits) checks the names and the target.
 */
import { diag, parseByteSize } from '@aic/core';

export function parseWgslLimits(list: string[] | undefined): Record<string, number> | undefined {
  if (!list?.length) return undefined;
  const out: Record<string, number> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    const v = eq > 0 ? parseByteSize(item.slice(eq + 1)) : undefined;
    if (v === undefined) throw diag.usage(`--wgsl-limit '${item}': expected NAME=VALUE, e.g. maxStorageBufferBindingSize=1G`);
    out[item.slice(0, eq).trim()] = v;
  }
  return out;
}
