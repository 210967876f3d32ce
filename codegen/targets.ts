/**
 * The targets aic knows, with what each declares about itself. `run` targets execute a model;
 * `compile` targets emit an artifact. Renderers register here as they land (C, WebAssembly SIMD, WGSL
 * all render the same loop IR).
 */
import { getOp } from '@aic/ir-spec';
import { C_CAPS, WASM_CAPS, WASM_SIMD_CAPS, WGSL_CAPS } from './caps.ts';
import { blockedLanes, hasBlockedKernel } from './lower/blocked-ops.ts';

export interface TargetInfo {
  name: string;
  summary: string;
  /** can `aic compile --target` emit it yet */
  compile: boolean;
  /** can `aic run --target` execute it yet */
  run: boolean;
  /** what the target needs: every dim static, shape-deciding inputs bound as constants */
  needsStaticShapes: boolean;
}

export const TARGETS: TargetInfo[] = [
  { name: 'interp', summary: 'reference interpreter (ir-spec semantics, TypeScript)', compile: false, run: true, needsStaticShapes: false },
  { name: 'c', summary: 'portable C99 (+ GCC/Clang vector extensions): model.c, model.h, model.weights', compile: true, run: true, needsStaticShapes: true },
  { name: 'wasm-simd', summary: 'WebAssembly with fixed-width SIMD128: model.wasm + model.mjs loader (Node >= 18, browsers)', compile: true, run: true, needsStaticShapes: true },
  { name: 'wasm', summary: 'WebAssembly without SIMD, for engines without it', compile: true, run: true, needsStaticShapes: true },
  { name: 'wgsl', summary: 'WGSL compute shaders + WebGPU host module (model.mjs); runs in Node through Dawn (webgpu npm)', compile: true, run: true, needsStaticShapes: true },
];

export function findTarget(name: string): TargetInfo | undefined {
  return TARGETS.find((t) => t.name === name);
}

/** For passes: does a compiled target have a kernel (compute definition) for this op? */
export function passTarget(name: string): { name: string; hasKernel: (op: string, domain: string) => boolean } | undefined {
  if (name === 'interp') return undefined;
  const caps = [C_CAPS, WASM_SIMD_CAPS, WASM_CAPS, WGSL_CAPS].find((c) => c.name === name);
  return {
    name,
    hasKernel: (op, domain) => {
      const [base, layout] = op.split('@');
      if (getOp(base, domain)?.lower === undefined) return false;
      // channel-blocked kernels: lower/blocked-ops.ts
      return layout === undefined || (!!caps && layout === `NC${blockedLanes(caps)}HW${blockedLanes(caps)}` && hasBlockedKernel(base, domain, caps));
    },
  };
}
