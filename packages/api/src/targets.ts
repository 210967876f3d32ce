/** Target names, looked up in codegen's target table (the one list of targets). */
import { diag } from '@aic/core';
import { TARGETS, findTarget, type TargetInfo } from '@aic/codegen';

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

export function describeTargets(): { name: string; summary: string; compile: boolean; run: boolean }[] {
  return TARGETS.map((t) => ({ name: t.name, summary: t.summary, compile: t.compile, run: t.run }));
}
