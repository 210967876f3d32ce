/** Reading calibration folders: symbolic dims bound from the first sample, later samples must agree. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, serializeNpy } from '@aic/core';
import { loadOnnx } from '@aic/onnx';
import { readCalibrationSamples } from '../../packages/cli/src/calib-samples.ts';
import { buildModel } from '../onnx-builder.ts';

const npy = (file: string, shape: number[]) =>
  fs.writeFileSync(file, serializeNpy(Tensor.fromNumbers('float32', shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i))));
const model = () => loadOnnx(buildModel([{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], [{ name: 'x', shape: ['N', 3] }], [{ name: 'y', shape: ['N', 3] }]));

describe('calibration samples', () => {
  it('binds symbolic dims from the first sample, in file name order', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-calib-'));
    npy(path.join(dir, 'b.npy'), [2, 3]);
    npy(path.join(dir, 'a.npy'), [2, 3]);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    const g = model();
    const s = readCalibrationSamples(dir, g);
    expect(s.length).toBe(2);
    expect(g.inputs[0]!.shape).toEqual([2, 3]);
    npy(path.join(dir, 'c.npy'), [4, 3]);
    expect(() => readCalibrationSamples(dir, model())).toThrow(expect.objectContaining({
      code: 'AIC0411', message: expect.stringMatching(/c\.npy.*expected float32 \[2, 3\], got float32 \[4, 3\]/) }));
  });

  it('a one-input model may also use DIR/<input name>/', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-calib-'));
    fs.mkdirSync(path.join(dir, 'x'));
    npy(path.join(dir, 'x', '0.npy'), [1, 3]);
    expect(readCalibrationSamples(dir, model())[0]!.get('x')!.shape).toEqual([1, 3]);
  });
});
