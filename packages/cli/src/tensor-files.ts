/**
 * What the CLI reads as a model input and writes as an output, where numpy and ONNX differ:
 * - bfloat16 (numpy has none): an output is written as a float32 .npy (exact: every bfloat16 is a
 *   float32), with a note on stderr. A bfloat16 input accepts a bfloat16 .pb, a float32 file (rounded
 *   to the nearest bfloat16, so a written output reads back), or uint16 bit patterns (the layout
 *   older ONNX test data and `ml_dtypes` users store).
 * - strings: numpy unicode arrays ('<U<n>'), both ways (packages/core/src/npy.ts).
 */
import * as path from 'node:path';
import { Tensor, bf16ToFloat, diag, safeFileName, serializeNpy, type RValue, type Value } from '@aic/core';
import { readTensorFile } from './model-io.ts';

/** Read FILE as the value of graph input v (its dtype as the model declares it). */
export function readInputFile(v: Value, file: string, note: (msg: string) => void): RValue {
  const x = readTensorFile(file, v.kind);
  if (!(x instanceof Tensor) || x.dtype === v.dtype) return x;
  if (v.dtype === 'bfloat16' && x.dtype === 'uint16') {
    note(`input '${v.name}': ${file} holds uint16, read as bfloat16 bit patterns`);
    return new Tensor('bfloat16', x.shape, Float32Array.from(x.num, (b) => bf16ToFloat(b)));
  }
  if (v.dtype === 'bfloat16' && x.dtype === 'float32') {
    return Tensor.fromNumbers('bfloat16', x.shape, x.num);
  }
  throw diag.badInputData(v.name, `${file} holds ${x.dtype} but the model expects ${v.dtype}`);
}

/** The .npy bytes written for output tensor t, and a note when its dtype had to change. */
export function outputNpy(name: string, t: Tensor): { bytes: Uint8Array; note?: string } {
  if (t.dtype === 'bfloat16') {
    return {
      bytes: serializeNpy(new Tensor('float32', t.shape, Float32Array.from(t.num))),
      note: `output '${name}' is bfloat16, written as float32 (exactly; numpy has no bfloat16)`,
    };
  }
  return { bytes: serializeNpy(t) };
}

/** DIR/<sanitized name>.npy for each output name, distinct even when names sanitize alike. */
export function outputFiles(dir: string, names: string[]): string[] {
  const used = new Set<string>();
  return names.map((n) => {
    let base = safeFileName(n) || 'output';
    while (used.has(base)) base += '_';
    used.add(base);
    return path.join(dir, `${base}.npy`);
  });
}
