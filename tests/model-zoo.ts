/** The model zoo for target tests: bundled fixtures always, ../shared/models when present. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseNpy, type Tensor } from '@aic/core';

export const FIXTURES = path.resolve(import.meta.dirname, 'fixtures/models');
export const SHARED = path.resolve(import.meta.dirname, '../../shared/models');
export const BUNDLED = ['small_cnn', 'tiny_bert', 'squeezenet1_1'];
export const LARGE = ['mobilenet_v2', 'resnet18', 'shufflenet_v2_x1_0', 'efficientnet_b0'];
export const HAVE_SHARED = fs.existsSync(SHARED);

export interface ZooModel { name: string; dir: string; onnx: string; inputs: Map<string, Tensor>; outputs: Map<string, Tensor> }

export function zooModel(name: string): ZooModel {
  const dir = BUNDLED.includes(name) ? FIXTURES : SHARED;
  const meta = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  const read = (f: string) => parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, f))));
  return {
    name, dir, onnx: path.join(dir, meta.model),
    inputs: new Map(meta.inputs.map((i: { name: string; file: string }) => [i.name, read(i.file)])),
    outputs: new Map(meta.outputs.map((o: { name: string; file: string }) => [o.name, read(o.file)])),
  };
}

/** Names of the models to test here, logging which were skipped and why. */
export function zooNames(): string[] {
  if (!HAVE_SHARED) console.log(`skipped: ${LARGE.join(', ')} (${SHARED} not found)`);
  return HAVE_SHARED ? [...BUNDLED, ...LARGE] : BUNDLED;
}

/** Largest violation of |got - want| <= atol + rtol |want| (<= 0 means within tolerance). */
export function excess(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number): { worst: number; at: number } {
  let worst = -Infinity, at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) - (atol + rtol * Math.abs(want[i]));
    if (e > worst || Number.isNaN(e)) { worst = Number.isNaN(e) ? Infinity : e; at = i; }
  }
  return { worst, at };
}
