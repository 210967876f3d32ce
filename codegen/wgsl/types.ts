/**
 * WGSL spellings of loop-IR types. WGSL computes in 32-bit scalars only: every buffer element is one
 * 32-bit word (f32, i32 or u32 bits; bool as 0u/1u). Narrower integers are widened (and wrapped after
 * arithmetic), 64-bit integers are carried as 32-bit ones (the host checks values fit). f64 tensors
 * are unsupported (exit 3; WGSL_CAPS lacks f64), but f64 intermediates that lowering uses for accuracy
 * inside a kernel compute in f32 on the GPU (as ORT's WebGPU kernels do).
 */
import type { ScalarType } from '@aic/loop-ir';

/** The 32-bit type a loop-IR scalar computes in on the GPU. */
export type WScalar = 'f32' | 'i32' | 'u32' | 'bool';

export function wscalar(t: ScalarType): WScalar {
  switch (t) {
    case 'f32': case 'f64': return 'f32';
    case 'f16': case 'bf16': return 'f32'; // 16-bit float storage: f32 words holding rounded values (wgsl/half.ts)
    case 'i8': case 'i16': case 'i32': case 'i64': return 'i32';
    case 'u8': case 'u16': case 'u32': case 'u64': return 'u32';
    case 'bool': return 'bool';
  }
}

export function wtype(t: ScalarType, lanes = 1): string {
  const s = wscalar(t);
  return lanes === 1 ? s : `vec${lanes}<${s}>`;
}

/** Narrow integer types that need wrapping after arithmetic: [bits, signed]. */
export function narrowBits(t: ScalarType): [number, boolean] | undefined {
  switch (t) {
    case 'i8': return [8, true];
    case 'i16': return [16, true];
    case 'u8': return [8, false];
    case 'u16': return [16, false];
    default: return undefined;
  }
}

/** Element width on the host side (typed arrays the user passes / gets back). */
export function hostBytes(t: ScalarType): number {
  return t === 'f64' || t === 'i64' || t === 'u64' ? 8 : t === 'f32' || t === 'i32' || t === 'u32' ? 4 : t === 'i16' || t === 'u16' ? 2 : 1;
}

const f32Buf = new Float32Array(1);
const u32Of = new Uint32Array(f32Buf.buffer);

/** A WGSL literal of type `t` (concrete: suffixed or constructed, never abstract). */
export function wConst(v: number, t: ScalarType): string {
  const s = wscalar(t);
  switch (s) {
    case 'bool': return v ? 'true' : 'false';
    case 'f32': {
      f32Buf[0] = v;
      const f = f32Buf[0];
      // non-finite values cannot be WGSL constant expressions: go through a function (a runtime value)
      if (!Number.isFinite(f)) return `aic_f32_bits(0x${u32Of[0].toString(16)}u)`;
      if (Object.is(f, -0)) return `bitcast<f32>(0x${u32Of[0].toString(16)}u)`;
      // shortest round-tripping f32 decimal
      let str = '';
      for (let p = 1; p <= 9; p++) { str = f.toPrecision(p); if (Math.fround(Number(str)) === f) break; }
      if (Math.abs(f) < 1.2e-38 && f !== 0) return `bitcast<f32>(0x${u32Of[0].toString(16)}u)`; // subnormal
      if (!/[.e]/.test(str)) str += '.0';
      return `${str}f`.replace(/^(-?)(\d)/, '$1$2').replace(/e\+/, 'e');
    }
    case 'i32': {
      const x = Math.max(-2147483648, Math.min(2147483647, Math.trunc(v)));
      if (x === -2147483648) return 'i32(-2147483648)';
      return `${x}i`;
    }
    case 'u32': {
      const x = Math.max(0, Math.min(4294967295, Math.trunc(v)));
      return `${x}u`;
    }
  }
}
