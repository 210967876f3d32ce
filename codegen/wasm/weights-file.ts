/**
 * model.weights in fewer bytes. The module's memory holds weights as its kernels read them: int8 weights
 * a schedule widened for pair dot products are int32 words of two int16 halves, widened depthwise taps
 * are int32, and so on, often 2-4x the bytes of the values they carry. The file stores each weight in the
 * narrowest of int8 / int16 that holds all its values (lane by lane, as the memory's int16 or int32
 * elements) and the loader widens it back into memory (`parts` in the loader's META.weights); everything
 * else is copied as is. The memory image, and so the header's hash, is the same either way.
 */
import type { ProgramBuffer } from '../lower/program.ts';

/** how a part of the file becomes memory: bytes copied, or a signed narrow array widened element by element */
export const Part = { Raw: 0, I8toI16: 1, I8toI32: 2, I16toI32: 3 } as const;
type PartKind = (typeof Part)[keyof typeof Part];
/** [memory offset in the weights region, elements (bytes for Raw), kind, file offset] */
export type WeightPart = [number, number, PartKind, number];

const fits = (a: ArrayLike<number>, lo: number, hi: number): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i]! < lo || a[i]! > hi) return false;
  return true;
};

/** The narrow form of one weight's memory bytes, or undefined when it stays as is. */
function narrowed(blob: Uint8Array, off: number, bytes: number, dtype: string): { kind: PartKind; n: number; data: Uint8Array } | undefined {
  const view = (C: Int16ArrayConstructor | Int32ArrayConstructor) => new C(blob.buffer as ArrayBuffer, blob.byteOffset + off, bytes / C.BYTES_PER_ELEMENT);
  if (dtype === 'i32' && bytes % 4 === 0) {
    const words = view(Int32Array);
    if (fits(words, -128, 127)) return { kind: Part.I8toI32, n: words.length, data: new Uint8Array(Int8Array.from(words).buffer) };
    const halves = view(Int16Array);
    if (fits(halves, -128, 127)) return { kind: Part.I8toI16, n: halves.length, data: new Uint8Array(Int8Array.from(halves).buffer) };
    if (fits(words, -32768, 32767)) return { kind: Part.I16toI32, n: words.length, data: new Uint8Array(Int16Array.from(words).buffer) };
  }
  if (dtype === 'i16' && bytes % 2 === 0) {
    const h = view(Int16Array);
    if (fits(h, -128, 127)) return { kind: Part.I8toI16, n: h.length, data: new Uint8Array(Int8Array.from(h).buffer) };
  }
  return undefined;
}

/**
 * The file for a weights memory image `blob` (weights at `offsets`, `bytesOf` each): the image itself
 * when nothing narrows, else the narrowed file and its parts. Parts of the file start 4-byte aligned.
 */
export function encodeWeights(blob: Uint8Array, ws: ProgramBuffer[], offsets: Map<string, number>, bytesOf: (w: ProgramBuffer) => number): { file: Uint8Array; parts?: WeightPart[] } {
  const parts: WeightPart[] = [];
  const chunks: Uint8Array[] = [];
  let fileOff = 0, raw = 0; // raw: start of the memory range not yet written out
  const push = (p: WeightPart, data: Uint8Array) => {
    parts.push(p); chunks.push(data);
    fileOff += data.length;
    const pad = (4 - (fileOff % 4)) % 4;
    if (pad) { chunks.push(new Uint8Array(pad)); fileOff += pad; }
  };
  const flushRaw = (to: number) => { if (to > raw) push([raw, to - raw, Part.Raw, fileOff], blob.subarray(raw, to)); };
  let saved = 0;
  for (const w of [...ws].sort((a, b) => offsets.get(a.name)! - offsets.get(b.name)!)) {
    const off = offsets.get(w.name)!, bytes = bytesOf(w);
    const nw = narrowed(blob, off, bytes, w.dtype);
    if (!nw || nw.data.length >= bytes) continue;
    flushRaw(off);
    push([off, nw.n, nw.kind, fileOff], nw.data);
    saved += bytes - nw.data.length;
    raw = off + bytes;
  }
  if (!saved) return { file: blob };
  flushRaw(blob.length);
  const file = new Uint8Array(fileOff);
  let at = 0;
  for (const c of chunks) { file.set(c, at); at += c.length; }
  return { file, parts };
}

/**
 * Loader source (plain JS, inside model.mjs): copy the file into the weights region `mem` (a Uint8Array
 * over the module's memory), widening its narrow parts. Kept in step with `encodeWeights`.
 */
export const PLACE_WEIGHTS_JS = `function placeWeights(mem, w, file) {
  if (!w.parts) { mem.set(file); return; }
  for (const [at, n, kind, src] of w.parts) {
    if (kind === 0) { mem.set(file.subarray(src, src + n), at); continue; }
    const from = kind === 3 ? new Int16Array(file.slice(src, src + 2 * n).buffer) : new Int8Array(file.buffer, file.byteOffset + src, n);
    new (kind === 1 ? Int16Array : Int32Array)(mem.buffer, mem.byteOffset + at, n).set(from);
  }
}`;
