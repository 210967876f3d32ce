/** Byte-level mutation (any file) and .npy mutation (header fields, dtype, shape, data length). */
import type { Rng } from './rng.ts';

const MAGIC_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe];

/** 1-8 edits: bit flips, interesting bytes, truncation, inserted/deleted/duplicated ranges */
export function mutateBytes(src: Uint8Array, r: Rng): { bytes: Uint8Array; what: string[] } {
  let b: Uint8Array = new Uint8Array(src);
  const what: string[] = [];
  for (let k = r.int(1, 8); k > 0 && b.length; k--) {
    const i = r.int(0, b.length - 1);
    const op = r.weighted([['flip', 5], ['byte', 3], ['truncate', 2], ['insert', 1], ['delete', 1], ['duplicate', 1]] as const);
    if (op === 'flip') b[i] ^= 1 << r.int(0, 7);
    else if (op === 'byte') b[i] = r.pick(MAGIC_BYTES);
    else if (op === 'truncate') { b = b.subarray(0, i); k = 0; }
    else if (op === 'insert') b = concat(b.subarray(0, i), r.bytes(r.int(1, 16)), b.subarray(i));
    else if (op === 'delete') b = concat(b.subarray(0, i), b.subarray(Math.min(b.length, i + r.int(1, 64))));
    else b = concat(b.subarray(0, i), b.subarray(i, i + r.int(1, 256)), b.subarray(i));
    what.push(`${op}@${i}`);
  }
  return { bytes: b, what };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

const DESCRS = ['<f4', '<f8', '>f4', '<f2', '<i8', '<i4', '|i1', '|u1', '|b1', '<u8', '<U4', '|S3', '|O', '<c8', '<V8', 'f4', '<f16', ''];
const SHAPES = ['()', '(0,)', '(1,)', '(-1,)', '(3, -2)', '(1099511627776,)', '(4294967296, 4294967296)', '(2, 3, 4, 5, 6, 7, 8, 9)', '(1,2', '(a,)', '(1.5,)'];

const WIDTH: Record<string, number> = { f4: 4, f8: 8, f2: 2, i8: 8, i4: 4, i2: 2, i1: 1, u1: 1, u2: 2, u4: 4, u8: 8, b1: 1 };
const EDGE: Record<string, number[]> = {
  f: [NaN, Infinity, -Infinity, -0, 3.4e38, -1e30, 1e-45], i: [-1, 0, 2 ** 31 - 1, -(2 ** 31), 1e9, -1e9], u: [0, 255, 65535, 2 ** 32 - 1], b: [0, 1, 2, 255],
};

/** A valid .npy that disagrees with the model: another shape or dtype (data to match), or edge-case values. */
function wellFormedNpy(src: Uint8Array, r: Rng): { bytes: Uint8Array; what: string[] } | null {
  const hlen = src[6] === 1 ? new DataView(src.buffer, src.byteOffset).getUint16(8, true) : -1;
  if (hlen < 0) return null;
  const header = new TextDecoder('latin1').decode(src.subarray(10, 10 + hlen));
  const m = /'descr':\s*'([<>|])(\w)(\d+)'.*'shape':\s*\(([^)]*)\)/.exec(header);
  if (!m || !WIDTH[m[2]! + m[3]!]) return null;
  let kind = m[2]!, width = Number(m[3]);
  let shape = m[4]!.split(',').map((x) => x.trim()).filter(Boolean).map(Number);
  const op = r.pick(['reshape', 'retype', 'values'] as const);
  if (op === 'reshape') shape = r.pick([[], [0], [1], [shape.reduce((a, b) => a * b, 1)], [...shape, 1], shape.slice(1), shape.map((d) => d + r.int(0, 2))]);
  if (op === 'retype') [kind, width] = r.pick([['f', 8], ['f', 2], ['i', 8], ['i', 4], ['u', 1], ['b', 1], ['f', 4]] as [string, number][]);
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > 1 << 22) return null;
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let h = `{'descr': '${width === 1 ? '|' : '<'}${kind}${width}', 'fortran_order': False, 'shape': ${dims}, }`;
  h += ' '.repeat((64 - ((11 + h.length) % 64)) % 64) + '\n';
  const old = src.subarray(10 + hlen);
  const data = op === 'values' ? new Uint8Array(old) : r.bytes(n * width);
  const dv = new DataView(data.buffer);
  if (op === 'values') {
    for (let k = r.int(1, 4); k > 0 && n > 0; k--) {
      const i = r.int(0, n - 1) * width;
      const v = r.pick(EDGE[kind] ?? [0]);
      if (i + width > data.length) break;
      if (kind === 'f' && width === 4) dv.setFloat32(i, v, true);
      else if (kind === 'f' && width === 8) dv.setFloat64(i, v, true);
      else if (width === 8) dv.setBigInt64(i, BigInt(Math.trunc(Number.isFinite(v) ? v : 0)), true);
      else if (width === 4) dv.setInt32(i, Number.isFinite(v) ? v : 0, true);
      else data[i] = Number.isFinite(v) ? v & 0xff : 0;
    }
  }
  const out = concat(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]), new TextEncoder().encode(h), data);
  return { bytes: out, what: [`npy well-formed ${op}: ${kind}${width} ${dims}`] };
}

/** .npy: magic, version, header length, descr, fortran_order, shape, truncated or extra data (falls back to byte edits) */
export function mutateNpy(src: Uint8Array, r: Rng): { bytes: Uint8Array; what: string[] } {
  if (r.chance(0.55)) {
    const w = wellFormedNpy(src, r);
    if (w) return w;
  }
  const major = src[6] ?? 1;
  const hstart = major === 1 ? 10 : 12;
  if (src.length < hstart || r.chance(0.2)) return mutateBytes(src, r);
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  let header = new TextDecoder('latin1').decode(src.subarray(hstart, hstart + hlen));
  let data = src.subarray(hstart + hlen);
  let version = major;
  let lenDelta = 0;
  const op = r.pick(['descr', 'shape', 'fortran', 'truncate', 'extra', 'version', 'hlen', 'header-garbage', 'magic'] as const);
  if (op === 'descr') header = header.replace(/'descr':\s*'[^']*'/, `'descr': '${r.pick(DESCRS)}'`);
  else if (op === 'shape') header = header.replace(/'shape':\s*\([^)]*\)/, `'shape': ${r.pick(SHAPES)}`);
  else if (op === 'fortran') header = header.replace('False', r.pick(['True', 'Maybe', '']));
  else if (op === 'truncate') data = data.subarray(0, r.int(0, Math.max(0, data.length - 1)));
  else if (op === 'extra') data = concat(data, r.bytes(r.int(1, 9)));
  else if (op === 'version') version = r.pick([0, 2, 3, 4, 255]);
  else if (op === 'hlen') lenDelta = r.pick([-hlen, -1, 1, 1000, 60000]);
  else if (op === 'header-garbage') header = header.slice(0, r.int(0, header.length)) + r.pick(['', '}', "'descr': '<f4'", '\u00ff']);
  const hb = new TextEncoder().encode(header);
  const v2 = version >= 2 && version !== 255;
  const out = new Uint8Array((v2 ? 12 : 10) + hb.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  if (op === 'magic') out[r.int(0, 5)] ^= 0x20;
  const odv = new DataView(out.buffer);
  const L = Math.max(0, hb.length + lenDelta);
  if (v2) odv.setUint32(8, L, true); else odv.setUint16(8, Math.min(L, 65535), true);
  out.set(hb, v2 ? 12 : 10);
  out.set(data, (v2 ? 12 : 10) + hb.length);
  return { bytes: out, what: [`npy ${op}`] };
}
