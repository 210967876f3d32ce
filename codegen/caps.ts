/** Capabilities each compiled target declares (lowering and schedules read these, never the target name). */
import type { TargetCaps } from '@aic/ir-spec';
import type { LegalizeOptions } from '@aic/loop-ir';

const ALL_SCALARS = ['f32', 'f64', 'i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64', 'bool', 'f16', 'bf16'] as const;

export const C_CAPS: TargetCaps = { name: 'c', vectorLanes: 16, intDot: 4, fma: true, blockedInt8: true, packsLaneCopies: true, dtypes: [...ALL_SCALARS] };
/** The loop-IR interpreter: checks lowering without a compiler. */
export const LOOPS_CAPS: TargetCaps = { name: 'loops', vectorLanes: 4, dtypes: [...ALL_SCALARS] };
/**
 * WGSL (WebGPU): 32-bit scalars only — 64-bit integers run as 32-bit (the host checks values fit),
 * narrow integers are widened, no f64. GPU limits are WebGPU's guaranteed defaults.
 */
export const WGSL_CAPS: TargetCaps = {
  name: 'wgsl',
  vectorLanes: 4,
  dtypes: ['f32', 'i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64', 'bool', 'f16', 'bf16'],
  gpu: { maxWorkgroupSize: 256, maxWorkgroupStorage: 16384, maxBindings: 8 },
};
/** WebAssembly with SIMD128: 4 f32 lanes per v128. */
export const WASM_SIMD_CAPS: TargetCaps = { name: 'wasm-simd', vectorLanes: 4, intDot: 2, fixedLanes: true, splitReductionSpills: true, loopEntryCost: true, vectorRegisters: 16, dtypes: [...ALL_SCALARS] };
/** WebAssembly without SIMD. */
export const WASM_CAPS: TargetCaps = { name: 'wasm', vectorLanes: 1, dtypes: [...ALL_SCALARS] };

// ---- what each renderer prints natively (packages/loop-ir legalize.ts rewrites the rest) ----------
/**
 * C: libm's erf for f64; f32 erf as the rational approximation (|rel err| < 4e-7), which vectorizes:
 * GELU epilogues with libm's erff ran one scalar call per lane (tiny_bert's FFN matmul at 64 GFLOP/s,
 * a quarter of its linear2's); float min/max as IEEE compare + select.
 */
export const C_LEGAL: LegalizeOptions = { nanMinMax: false, ieeeCompare: true, erf: 'f64' };
/** WebAssembly: f32.min/max (and f32x4) propagate NaN; no erf instruction; f32 sigmoid in codegen/wasm/math.ts. */
export const WASM_LEGAL: LegalizeOptions = { nanMinMax: true, ieeeCompare: true, erf: false, sigmoidF32: true };
/** WGSL: min/max and NaN are implementation-defined (NaN tests by bit pattern); no erf builtin. */
export const WGSL_LEGAL: LegalizeOptions = { nanMinMax: false, ieeeCompare: false, erf: false };
