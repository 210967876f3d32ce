/**
 * Calibration samples for aic quantize: DIR holds one .npy per sample (a one-input model), or one
 * sub-folder per input name whose .npy files are matched by file name (several inputs). Each sample
 * must have its input's dtype and static dims; symbolic dims are bound from the first sample.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor, diag, type Graph, type Value } from '@aic/core';
import { bindInputShapes, readTensorFile } from './model-io.ts';

const npyFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.npy') && fs.statSync(path.join(dir, f)).isFile()).sort();
const typeText = (dtype: string, shape: readonly (number | string)[]) => `${dtype} [${shape.join(', ')}]`;

function checkSample(v: Value, file: string, t: Tensor): void {
  const s = v.shape;
  const bad = t.dtype !== v.dtype || (s !== undefined && (s.length !== t.rank || s.some((d, i) => typeof d === 'number' && d !== t.shape[i])));
  if (bad) throw diag.calibSampleMismatch(file, v.name, typeText(v.dtype, s ?? ['?']), typeText(t.dtype, t.shape));
}

function readSample(file: string): Tensor {
  const t = readTensorFile(file);
  if (!(t instanceof Tensor)) throw diag.badTensorFile(file, 'expected a tensor');
  return t;
}

/** Reads the samples (binding symbolic input dims of g from the first); returns one feed map per sample. */
export function readCalibrationSamples(dir: string, g: Graph): Map<string, Tensor>[] {
  if (!fs.existsSync(dir)) throw diag.fileNotFound(dir);
  if (!fs.statSync(dir).isDirectory()) throw diag.fileUnreadable(dir, 'not a folder (--calibrate takes a folder of .npy samples)');
  const inputs = g.inputs;
  const names = inputs.map((v) => v.name);
  const single = inputs.length === 1 && !(npyFiles(dir).length === 0 && fs.existsSync(path.join(dir, names[0]!)));
  const folderOf = (v: Value) => (single ? dir : path.join(dir, v.name));
  for (const v of inputs) {
    const f = folderOf(v);
    if (!fs.existsSync(f) || !fs.statSync(f).isDirectory()) throw diag.calibMissingInput(dir, v.name, names);
  }
  const lists = inputs.map((v) => npyFiles(folderOf(v)));
  lists.forEach((l, i) => { if (!l.length) throw diag.calibEmpty(dir, single ? undefined : names[i]); });
  lists.forEach((l, i) => {
    for (const f of l) {
      const j = lists.findIndex((m) => !m.includes(f));
      if (j >= 0) throw diag.calibUnmatched(dir, f, names[i]!, names[j]!);
    }
  });
  const samples = lists[0]!.map((f) => new Map(inputs.map((v) => [v.name, readSample(path.join(folderOf(v), f))])));
  const check = () => samples.forEach((s, k) => inputs.forEach((v) => checkSample(v, path.join(folderOf(v), lists[0]![k]!), s.get(v.name)!)));
  check();
  const symbolic: Record<string, number[]> = {};
  for (const v of inputs) if (v.shape?.some((d) => typeof d === 'string')) symbolic[v.name] = samples[0]!.get(v.name)!.shape.slice();
  if (Object.keys(symbolic).length) { bindInputShapes(g, symbolic); check(); }
  return samples;
}
