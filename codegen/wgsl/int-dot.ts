/**
 * int8 reductions on WGSL: the quad form of schedule/int-dot4.ts (activations packed four bytes to a
 * word by a stage of the kernel, int8 weights packed at compile time, sum of dot4 over a quarter of
 * the reduction), rendered as dot4I8Packed where the device's WGSL has it and unpacked otherwise
 * (dot4.ts). Where the quad form does not apply the kernel keeps its plain int32 loop.
 */
import type { TargetCaps } from '@aic/ir-spec';
import type { Directive } from '@aic/loop-ir';
import { WGSL_CAPS } from '../caps.ts';
import type { Program } from '../lower/program.ts';
import { applyIntDot } from '../schedule/int-dot.ts';

/** WGSL's integer dot product: four bytes a word (caps.intDot 4, as C's vpdpbusd). */
const DOT4_CAPS: TargetCaps = { ...WGSL_CAPS, intDot: 4 };

/** Rewrite the int8 reductions of every kernel that no --schedule names; the kernels changed. */
export function wgslIntDot(prog: Program, overrides?: Map<string, Directive[]>): string[] {
  return [...prog.sources.keys()].filter((name) => !overrides?.has(name) && applyIntDot(prog, name, DOT4_CAPS, { quadsOnly: true }));
}
