/**
 * The targets aic knows: ONE table. `aic compile`, `aic run`, `aic check`, `--list-targets`, the
 * benchmarks and the conformance runners find targets here and reach them only through the Target
 * interface (target.ts) and the compile driver (driver.ts). To add a target: docs/adding-a-target.md.
 */
import type { Target } from './target.ts';
import { INTERP_TARGET, LOOPS_TARGET } from './interp-target.ts';
import { C_TARGET } from './c/target.ts';
import { WASM_SIMD_TARGET, WASM_TARGET } from './wasm/target.ts';
import { WGSL_TARGET } from './wgsl/target.ts';
import { passTargetOf, type PassTarget } from './pass-target.ts';

/** Every target, listed ones first in the order `--list-targets` shows them. */
export const ALL_TARGETS: readonly Target[] = [INTERP_TARGET, C_TARGET, WASM_SIMD_TARGET, WASM_TARGET, WGSL_TARGET, LOOPS_TARGET];

/** The targets the CLI lists and accepts. */
export const TARGETS: readonly Target[] = ALL_TARGETS.filter((t) => t.listed);

/** A target the CLI accepts, by name. */
export function findTarget(name: string): Target | undefined {
  return TARGETS.find((t) => t.name === name);
}

/** Any registered target by name, unlisted ones included (tests, conformance runners). */
export function getTarget(name: string): Target | undefined {
  return ALL_TARGETS.find((t) => t.name === name);
}

/** For passes: does a compiled target have a kernel (compute definition) for this op? */
export function passTarget(name: string): PassTarget | undefined {
  return passTargetOf(getTarget(name));
}

/** @deprecated the Target itself; kept for callers of the former descriptor type */
export type TargetInfo = Target;
