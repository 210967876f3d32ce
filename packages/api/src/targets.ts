/** Target names, looked up in codegen's target table (the one list of targets). */
import { diag } from '@aic/core';
import { DEFAULT_WGSL_LIMITS, TARGETS, findTarget, wgslTarget, type TargetInfo, type WgslLimits } from '@aic/codegen';

export function targetOrThrow(name: string): TargetInfo {
  const t = findTarget(name);
  if (!t) throw diag.usage(`unknown target '${name}'; targets: ${TARGETS.map((x) => x.name).join(', ')}`);
  return t;
}

export function compileTargetOrThrow(name: string): TargetInfo {
  const t = targetOrThrow(name);
  const available = TARGETS.filter((x) => x.compile).map((x) => x.name);
  if (!t.compile) throw diag.unsupportedFeature(`compiling for target '${name}' (not implemented yet; compile targets available: ${available.join(', ') || 'none'})`);
  return t;
}

export function runTargetOrThrow(name: string): TargetInfo {
  const t = targetOrThrow(name);
  if (!t.run) throw diag.unsupportedFeature(`running on target '${name}' (not implemented yet; available: ${TARGETS.filter((x) => x.run).map((x) => x.name).join(', ')})`);
  return t;
}

/** The wgsl target compiling for other device limits than WebGPU's guaranteed ones; any other target as it is. */
export function withWgslLimits(t: TargetInfo, limits: Record<string, number> | undefined): TargetInfo {
  if (!limits || !Object.keys(limits).length) return t;
  if (t.name !== 'wgsl') throw diag.usage(`device limits (--wgsl-limit) apply to target wgsl only, not '${t.name}'`);
  for (const [k, v] of Object.entries(limits)) {
    if (!(k in DEFAULT_WGSL_LIMITS) || typeof DEFAULT_WGSL_LIMITS[k as keyof WgslLimits] !== 'number') {
      throw diag.usage(`--wgsl-limit ${k}: not a WebGPU limit aic compiles for; one of ${WGSL_LIMIT_NAMES.join(', ')}`);
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw diag.usage(`--wgsl-limit ${k}=${v}: expected a positive integer`);
  }
  return wgslTarget(limits as Partial<WgslLimits>);
}

/** The scalar device limits a wgsl artifact can be compiled for. */
export const WGSL_LIMIT_NAMES: readonly string[] = Object.keys(DEFAULT_WGSL_LIMITS).filter((k) => typeof DEFAULT_WGSL_LIMITS[k as keyof WgslLimits] === 'number');

export function describeTargets(): { name: string; summary: string; compile: boolean; run: boolean }[] {
  return TARGETS.map((t) => ({ name: t.name, summary: t.summary, compile: t.compile, run: t.run }));
}
