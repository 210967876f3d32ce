/** Loading models (ONNX or DSL) and tensors (.npy / .pb), binding --input-shape. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AicError, DEFAULT_MAX_TENSOR_BYTES, diag, parseByteSize, readFileOrThrow, type Graph, type RValue, type Tensor } from '@aic/core';
import { decodeValueFile } from '@aic/onnx';
import { loadGraph } from '@aic/api/internal';
import { parseNpy } from '@aic/core';
import { note } from './ui.ts';

export { bindInputShapes, modelFormat, type ModelFormat } from '@aic/api/internal';

/** Load a model file through the library API, with --verbose notes; `shapes` from --input-shape. */
export async function loadModel(file: string, shapes: Record<string, number[]> = {}, validate = false): Promise<Graph> {
  return loadGraph(file, { inputShapes: shapes, onNote: note, validate });
}

/** Parse repeated `NAME=1x3x224x224` options (a bare shape applies to the only input). */
export function parseShapeOptions(opts: string[] | undefined): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const o of opts ?? []) {
    const eq = o.lastIndexOf('=');
    const name = eq >= 0 ? o.slice(0, eq) : '';
    const dims = (eq >= 0 ? o.slice(eq + 1) : o).split(/[x,]/).map((s) => s.trim());
    if (dims.some((d) => !/^\d+$/.test(d))) throw diag.usage(`--input-shape '${o}': expected NAME=D1xD2x... with non-negative integers`);
    out[name] = dims.map(Number);
  }
  return out;
}

/** `--max-tensor-bytes SIZE` (512M, 8G, 4294967296...) -> bytes; absent: the default. */
export function maxTensorBytesOption(opt: string | undefined): number {
  if (opt === undefined) return DEFAULT_MAX_TENSOR_BYTES;
  const n = parseByteSize(opt);
  if (n === undefined) throw diag.usage(`--max-tensor-bytes '${opt}': expected a size such as 4294967296, 512M or 8G`);
  return n;
}

/** `--input NAME=FILE` (or a bare FILE for a one-input model). */
export function parseInputOptions(opts: string[] | undefined, g: Graph): Map<string, string> {
  const out = new Map<string, string>();
  for (const o of opts ?? []) {
    const eq = o.indexOf('=');
    let name = eq > 0 ? o.slice(0, eq) : '';
    const file = eq > 0 ? o.slice(eq + 1) : o;
    if (name !== '' && !g.inputs.some((v) => v.name === name) && fs.existsSync(o)) { name = ''; }
    if (name === '') {
      if (g.inputs.length !== 1) throw diag.usage(`--input '${o}': name the input (NAME=FILE); inputs: ${g.inputs.map((v) => v.name).join(', ')}`);
      name = g.inputs[0].name;
    }
    if (!g.inputs.some((v) => v.name === name)) {
      throw diag.usage(`--input: the model has no input '${name}'; inputs: ${g.inputs.map((v) => v.name).join(', ')}`);
    }
    out.set(name, eq > 0 && name === o.slice(0, eq) ? file : o);
  }
  return out;
}

/** Read a tensor file: .npy, or an ONNX TensorProto .pb. Every failure is a catalog error naming the file. */
export function readTensorFile(file: string, kind: 'tensor' | 'sequence' | 'optional' = 'tensor'): RValue {
  const bytes = readFileOrThrow(file);
  try {
    if (file.toLowerCase().endsWith('.npy')) return parseNpy(bytes, file);
    return decodeValueFile(bytes, kind, { baseDir: path.dirname(path.resolve(file)), file });
  } catch (e) {
    if (e instanceof AicError) {
      if (e.loc?.file) throw e;
      throw new AicError(e.code, e.message, e.exitCode, { file, ...e.loc }, e.detail);
    }
    throw diag.badTensorFile(file, (e as Error).message);
  }
}

export type { Tensor };
