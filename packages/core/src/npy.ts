/**
 * NumPy .npy files (format 1.0/2.0/3.0): every numeric dtype in either byte order, bool, unicode
 * strings ('<U<n>': UTF-32, as numpy writes them) and byte strings ('|S<n>', read as UTF-8), C or
 * Fortran order, 0-d arrays. Object, complex, datetime, void and structured dtypes are refused with
 * the catalog's unsupportedDtype (exit 3); malformed or truncated files with badTensorFile (exit 1).
 * numpy has no bfloat16: callers convert (the CLI writes bfloat16 results as float32).
 */
import { diag } from './diagnostics.ts';
import type { DType } from './dtype.ts';
import { readElements, tensorToBytes } from './raw.ts';
import { checkTensorBytes } from './limits.ts';
import { Tensor, sizeOf, stridesOf } from './tensor.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const DESCR: Partial<Record<DType, string>> = {
  float32: '<f4', float64: '<f8', float16: '<f2', int8: '|i1', int16: '<i2', int32: '<i4', int64: '<i8',
  uint8: '|u1', uint16: '<u2', uint32: '<u4', uint64: '<u8', bool: '|b1',
};
const NUMERIC: Record<string, DType> = {
  f4: 'float32', f8: 'float64', f2: 'float16', i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64', b1: 'bool',
};
const KIND_NAMES: Record<string, string> = {
  O: 'object (pickled Python objects)', c: 'complex', M: 'datetime64', m: 'timedelta64', V: 'void/raw bytes',
};

interface Header { kind: string; size: number; le: boolean; fortran: boolean; shape: number[]; descr: string; dataStart: number }

/** Parse a .npy file; `what` names it in diagnostics. */
export function parseNpy(buf: Uint8Array, what = '.npy data'): Tensor {
  const bad = (why: string) => diag.badTensorFile(what, why);
  const h = parseHeader(buf, bad);
  const unsupported = () => diag.unsupportedDtype(`'${what}'`, `'${h.descr}' (${KIND_NAMES[h.kind] ?? `numpy kind '${h.kind}'`})`);
  const dtype: DType | undefined = h.kind === 'U' || h.kind === 'S' ? 'string' : NUMERIC[`${h.kind === '?' ? 'b' : h.kind}${h.size}`];
  if (!dtype) throw unsupported();
  const n = sizeOf(h.shape);
  const need = n * h.size;
  if (h.dataStart + need > buf.length) {
    throw bad(`data truncated: shape [${h.shape.join(', ')}] of '${h.descr}' needs ${need} bytes after the header, the file has ${buf.length - h.dataStart}`);
  }
  // Fortran order is C order of the reversed shape: read that, then reverse the axes
  const fileShape = h.fortran ? h.shape.slice().reverse() : h.shape;
  checkTensorBytes(dtype, fileShape, `'${what}'`);
  const t = new Tensor(dtype, fileShape);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dtype === 'string') readStrings(buf, h, t.data as string[], bad);
  else readElements(dv, h.dataStart, dtype, t.num as unknown as { [i: number]: number; length: number }, h.le);
  return h.fortran ? reverseAxes(t) : t;
}

function parseHeader(buf: Uint8Array, bad: (why: string) => Error): Header {
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) throw bad('missing .npy magic header');
  const major = buf[6]!;
  if (major < 1 || major > 3) throw bad(`unsupported .npy format version ${major}.${buf[7]}`);
  if (major > 1 && buf.length < 12) throw bad('header truncated');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  if (hstart + hlen > buf.length) throw bad(`header truncated: it declares ${hlen} bytes, the file has ${buf.length - hstart}`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(hstart, hstart + hlen)).trim();
  if (!header.startsWith('{') || !header.endsWith('}')) throw bad('malformed header (not a Python dict literal)');
  const key = (k: string, v: string) => new RegExp(`['"]${k}['"]\\s*:\\s*${v}`).exec(header);
  if (key('descr', '\\[')) throw diag.unsupportedDtype('.npy file', 'a structured (record) dtype');
  const descr = key('descr', `(?:'([^']*)'|"([^"]*)")`);
  const fortran = key('fortran_order', '(True|False)');
  const shape = key('shape', '\\(([^()]*)\\)');
  if (!descr || !fortran || !shape) throw bad(`malformed header: needs 'descr', 'fortran_order' and 'shape' (got ${JSON.stringify(header.slice(0, 120))})`);
  const d = descr[1] ?? descr[2]!;
  const m = /^([<>|=]?)([a-zA-Z?])(\d*)$/.exec(d);
  if (!m) throw diag.unsupportedDtype('.npy file', `'${d}'`);
  const dims = shape[1]!.split(',').map((s) => s.trim());
  if (dims.length > 1 && dims[dims.length - 1] === '') dims.pop();
  if (dims.length === 1 && dims[0] === '') dims.pop();
  if (dims.some((s) => !/^\d+L?$/.test(s))) throw bad(`malformed shape (${shape[1]})`);
  return {
    // the number is bytes per item, except for 'U': code points of 4 bytes each
    kind: m[2]!, size: (m[3] ? Number(m[3]) : m[2] === '?' ? 1 : 0) * (m[2] === 'U' ? 4 : 1), le: m[1] !== '>', fortran: fortran[1] === 'True',
    shape: dims.map((s) => parseInt(s, 10)), descr: d, dataStart: hstart + hlen,
  };
}

/** 'U': fixed-width UTF-32 code points; 'S': fixed-width bytes (UTF-8). Trailing NULs are padding. */
function readStrings(buf: Uint8Array, h: Header, out: string[], bad: (why: string) => Error): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  for (let i = 0; i < out.length; i++) {
    const at = h.dataStart + i * h.size;
    if (h.kind === 'S') {
      let end = h.size;
      while (end > 0 && buf[at + end - 1] === 0) end--;
      out[i] = utf8.decode(buf.subarray(at, at + end));
      continue;
    }
    const cps: number[] = [];
    for (let k = 0; k < h.size / 4; k++) cps.push(dv.getUint32(at + 4 * k, h.le));
    while (cps.length && cps[cps.length - 1] === 0) cps.pop();
    const invalid = cps.find((c) => c > 0x10ffff);
    if (invalid !== undefined) throw bad(`element ${i} holds ${invalid.toString(16)}, not a Unicode code point`);
    out[i] = String.fromCodePoint(...cps);
  }
}

/** The tensor with its axes in reverse order (Fortran-order data read as C order). */
function reverseAxes(t: Tensor): Tensor {
  const shape = t.shape.slice().reverse();
  const out = new Tensor(t.dtype, shape);
  const src = stridesOf(t.shape).reverse();
  const dst = out.data as unknown as unknown[], from = t.data as unknown as unknown[];
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < out.size; i++) {
    let off = 0;
    for (let a = 0; a < shape.length; a++) off += idx[a]! * src[a]!;
    dst[i] = from[off];
    for (let a = shape.length - 1; a >= 0; a--) { if (++idx[a]! < shape[a]!) break; idx[a] = 0; }
  }
  return out;
}

/** A .npy file (format 1.0, C order). Strings become '<U<n>' arrays; bfloat16 has no numpy dtype. */
export function serializeNpy(t: Tensor): Uint8Array {
  let descr = DESCR[t.dtype];
  let body: Uint8Array;
  if (t.dtype === 'string') {
    const cps = (t.data as string[]).map((s) => Array.from(s, (ch) => ch.codePointAt(0)!));
    const width = cps.reduce((w, c) => Math.max(w, c.length), 1);
    descr = `<U${width}`;
    body = new Uint8Array(cps.length * width * 4);
    const dv = new DataView(body.buffer);
    cps.forEach((c, i) => c.forEach((cp, k) => dv.setUint32((i * width + k) * 4, cp, true)));
  } else {
    if (!descr) throw diag.unsupportedDtype('a .npy file (numpy has no such dtype)', t.dtype);
    body = tensorToBytes(t);
  }
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const v2 = 10 + header.length + 1 > 65535;
  const pre = v2 ? 12 : 10;
  header += ' '.repeat((64 - ((pre + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(pre + header.length + body.length);
  out.set([...MAGIC, v2 ? 2 : 1, 0], 0);
  if (v2) new DataView(out.buffer).setUint32(8, header.length, true);
  else new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(body, pre + header.length);
  return out;
}
