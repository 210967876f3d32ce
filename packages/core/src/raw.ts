/** Raw little-endian element bytes of tensors (ONNX raw_data, .npy bodies, weight sidecars). */
import type { DType } from './dtype.ts';
import { BYTE_SIZE, bf16ToFloat, floatToHalf, halfToFloat } from './dtype.ts';
import { Tensor, sizeOf } from './tensor.ts';

type Out = { [i: number]: number; length: number };

/** Read out.length elements of dtype starting at byte `off` (le: little-endian). */
export function readElements(dv: DataView, off: number, dtype: DType, out: Out, le: boolean): void {
  const n = out.length;
  switch (dtype) {
    case 'float32': for (let i = 0; i < n; i++) out[i] = dv.getFloat32(off + 4 * i, le); break;
    case 'float64': for (let i = 0; i < n; i++) out[i] = dv.getFloat64(off + 8 * i, le); break;
    case 'float16': for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(off + 2 * i, le)); break;
    case 'bfloat16': for (let i = 0; i < n; i++) out[i] = bf16ToFloat(dv.getUint16(off + 2 * i, le)); break;
    case 'int8': for (let i = 0; i < n; i++) out[i] = dv.getInt8(off + i); break;
    case 'uint8': for (let i = 0; i < n; i++) out[i] = dv.getUint8(off + i); break;
    case 'bool': for (let i = 0; i < n; i++) out[i] = dv.getUint8(off + i) ? 1 : 0; break;
    case 'int16': for (let i = 0; i < n; i++) out[i] = dv.getInt16(off + 2 * i, le); break;
    case 'uint16': for (let i = 0; i < n; i++) out[i] = dv.getUint16(off + 2 * i, le); break;
    case 'int32': for (let i = 0; i < n; i++) out[i] = dv.getInt32(off + 4 * i, le); break;
    case 'uint32': for (let i = 0; i < n; i++) out[i] = dv.getUint32(off + 4 * i, le); break;
    case 'int64': for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(off + 8 * i, le)); break;
    case 'uint64': for (let i = 0; i < n; i++) out[i] = Number(dv.getBigUint64(off + 8 * i, le)); break;
    case 'string': throw new Error('string tensors have no fixed-width encoding');
  }
}

/** Little-endian raw bytes of a tensor's elements (ONNX raw_data / .npy / sidecar layout). */
export function tensorToBytes(t: Tensor): Uint8Array {
  const width = elementWidth(t.dtype);
  const out = new Uint8Array(t.size * width);
  const dv = new DataView(out.buffer);
  const d = t.num;
  const n = t.size;
  switch (t.dtype) {
    case 'float32': for (let i = 0; i < n; i++) dv.setFloat32(4 * i, d[i]!, true); break;
    case 'float64': for (let i = 0; i < n; i++) dv.setFloat64(8 * i, d[i]!, true); break;
    case 'float16': for (let i = 0; i < n; i++) dv.setUint16(2 * i, floatToHalf(d[i]!), true); break;
    case 'bfloat16': {
      const f = new Float32Array(1), u = new Uint32Array(f.buffer);
      for (let i = 0; i < n; i++) { f[0] = d[i]!; dv.setUint16(2 * i, u[0]! >>> 16, true); }
      break;
    }
    case 'int8': for (let i = 0; i < n; i++) dv.setInt8(i, d[i]!); break;
    case 'uint8': case 'bool': for (let i = 0; i < n; i++) dv.setUint8(i, d[i]!); break;
    case 'int16': for (let i = 0; i < n; i++) dv.setInt16(2 * i, d[i]!, true); break;
    case 'uint16': for (let i = 0; i < n; i++) dv.setUint16(2 * i, d[i]!, true); break;
    case 'int32': for (let i = 0; i < n; i++) dv.setInt32(4 * i, d[i]!, true); break;
    case 'uint32': for (let i = 0; i < n; i++) dv.setUint32(4 * i, d[i]!, true); break;
    case 'int64': for (let i = 0; i < n; i++) dv.setBigInt64(8 * i, toBig64(d[i]!, I64_MIN, I64_MAX), true); break;
    case 'uint64': for (let i = 0; i < n; i++) dv.setBigUint64(8 * i, toBig64(d[i]!, 0n, U64_MAX), true); break;
    case 'string': throw new Error('string tensors have no fixed-width encoding');
  }
  return out;
}

const I64_MIN = -(2n ** 63n), I64_MAX = 2n ** 63n - 1n, U64_MAX = 2n ** 64n - 1n;
/**
 * A 64-bit integer held as a double (exact up to 2^53) back to its 64 bits. The extremes read as
 * doubles round up past the type (2^64 - 1 -> 2^64, 2^63 - 1 -> 2^63); they are clamped back rather
 * than wrapped, so INT64_MAX and UINT64_MAX round-trip exactly (they wrapped to INT64_MIN and 0).
 */
function toBig64(v: number, lo: bigint, hi: bigint): bigint {
  if (Number.isNaN(v)) return 0n;
  if (v === Infinity) return hi;
  if (v === -Infinity) return lo;
  const b = BigInt(Math.trunc(v));
  return b < lo ? lo : b > hi ? hi : b;
}

/** Inverse of tensorToBytes. */
export function tensorFromBytes(dtype: DType, shape: readonly number[], bytes: Uint8Array): Tensor {
  const need = sizeOf(shape) * elementWidth(dtype);
  if (!(bytes.length >= need)) throw new Error(`expected ${need} bytes of ${dtype} data, got ${bytes.length}`);
  const t = new Tensor(dtype, shape);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  readElements(dv, 0, dtype, t.num as unknown as Out, true);
  return t;
}

/** Bytes per element in raw layouts (string: 0 = variable). */
export function elementWidth(d: DType): number {
  return BYTE_SIZE[d];
}
