/** NumPy .npy (format 1.0/2.0/3.0) reading and writing. */
import type { DType } from './dtype.ts';
import { bf16ToFloat, floatToHalf, halfToFloat } from './dtype.ts';
import { Tensor, sizeOf } from './tensor.ts';

const DESCR: Partial<Record<DType, string>> = {
  float32: '<f4', float64: '<f8', float16: '<f2', int8: '|i1', int16: '<i2', int32: '<i4', int64: '<i8',
  uint8: '|u1', uint16: '<u2', uint32: '<u4', uint64: '<u8', bool: '|b1',
};
const FROM_DESCR: Record<string, DType> = {
  f4: 'float32', f8: 'float64', f2: 'float16', i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64', b1: 'bool',
};

export function parseNpy(buf: Uint8Array): Tensor {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (buf.length < 10 || magic.some((b, i) => buf[i] !== b)) throw new Error('missing .npy magic header');
  const major = buf[6]!;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(buf.subarray(hstart, hstart + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeStr = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeStr === undefined) throw new Error('malformed .npy header');
  if (fortran === 'True') throw new Error('fortran-order .npy arrays are not supported');
  const big = descr[0] === '>';
  const dtype = FROM_DESCR[descr.slice(1)];
  if (!dtype) throw new Error(`unsupported .npy dtype '${descr}'`);
  const shape = shapeStr.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new Error(`malformed .npy shape (${shapeStr})`);
  const n = sizeOf(shape);
  const off = hstart + hlen;
  const width = Number(descr.slice(2));
  // check the data length before allocating: a header may claim far more than the file holds
  if (off + n * width > buf.length) throw new Error(`data truncated: need ${n * width} bytes after the header`);
  const t = new Tensor(dtype, shape);
  readElements(dv, off, dtype, t.num as unknown as { [i: number]: number; length: number }, !big);
  return t;
}

function readElements(dv: DataView, off: number, dtype: DType, out: { [i: number]: number; length: number }, le: boolean): void {
  const n = out.length;
  switch (dtype) {
    case 'float32': for (let i = 0; i < n; i++) out[i] = dv.getFloat32(off + 4 * i, le); break;
    case 'float64': for (let i = 0; i < n; i++) out[i] = dv.getFloat64(off + 8 * i, le); break;
    case 'float16': for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(off + 2 * i, le)); break;
    case 'bfloat16': for (let i = 0; i < n; i++) out[i] = bf16ToFloat(dv.getUint16(off + 2 * i, le)); break;
    case 'int8': for (let i = 0; i < n; i++) out[i] = dv.getInt8(off + i); break;
    case 'uint8': case 'bool': for (let i = 0; i < n; i++) out[i] = dv.getUint8(off + i); break;
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
    case 'int64': for (let i = 0; i < n; i++) dv.setBigInt64(8 * i, BigInt(Math.trunc(d[i]!)), true); break;
    case 'uint64': for (let i = 0; i < n; i++) dv.setBigUint64(8 * i, BigInt(Math.trunc(d[i]!)), true); break;
    case 'string': throw new Error('string tensors have no fixed-width encoding');
  }
  return out;
}

/** Inverse of tensorToBytes. */
export function tensorFromBytes(dtype: DType, shape: readonly number[], bytes: Uint8Array): Tensor {
  const t = new Tensor(dtype, shape);
  const need = t.size * elementWidth(dtype);
  if (bytes.length < need) throw new Error(`expected ${need} bytes of ${dtype} data, got ${bytes.length}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  readElements(dv, 0, dtype, t.num as unknown as { [i: number]: number; length: number }, true);
  return t;
}

export function elementWidth(d: DType): number {
  switch (d) {
    case 'float64': case 'int64': case 'uint64': return 8;
    case 'float32': case 'int32': case 'uint32': return 4;
    case 'float16': case 'bfloat16': case 'int16': case 'uint16': return 2;
    case 'int8': case 'uint8': case 'bool': return 1;
    case 'string': return 0;
  }
}

export function serializeNpy(t: Tensor): Uint8Array {
  const descr = DESCR[t.dtype];
  if (!descr) throw new Error(`cannot write ${t.dtype} tensors as .npy`);
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const body = tensorToBytes(t);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, 10 + header.length);
  return out;
}
