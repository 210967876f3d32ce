/**
 * aic train-step on the command line: the optimizer state written next to the parameters (zeros,
 * int64 step 0), the step graph's inputs and outputs, and usage errors (exit 2) for an unknown
 * optimizer, an option of another optimizer and a bad learning rate.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';

const ROOT = path.resolve(import.meta.dirname, '../..');
const aic = (args: string[]) => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('aic train-step (CLI)', () => {
  it('adam: writes <param>_m, <param>_v (zeros) and step (0) next to the parameters', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-train-'));
    fs.writeFileSync(path.join(dir, 'lin.aic'), `graph g(x: f32[2, 3]) -> (y: f32[2, 2]) {
  w: f32[3, 2] = [0.5, -1, 2, 0.25, 1.5, -0.75]
  y = MatMul(x, w)
}`);
    const r = aic(['train-step', path.join(dir, 'lin.aic'), '--loss', 'mse', '--optimizer', 'adam', '--lr', '0.01', '--beta2', '0.99', '-o', path.join(dir, 's.onnx')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const files = fs.readdirSync(path.join(dir, 's.params')).sort();
    expect(files).toEqual(['step.npy', 'w.npy', 'w_m.npy', 'w_v.npy']);
    const read = (f: string) => parseNpy(fs.readFileSync(path.join(dir, 's.params', f)));
    expect(read('w.npy').toNumbers()).toEqual([0.5, -1, 2, 0.25, 1.5, -0.75]);
    expect(read('w_v.npy').shape).toEqual([3, 2]);
    expect(read('w_v.npy').toNumbers()).toEqual([0, 0, 0, 0, 0, 0]);
    expect(read('step.npy').dtype).toBe('int64');
    expect(read('step.npy').toNumbers()).toEqual([0]);
    const g = await loadOnnxFile(path.join(dir, 's.onnx'));
    expect(g.inputs.map((v) => v.name)).toEqual(['x', 'target', 'w', 'w_m', 'w_v', 'step']);
    expect(g.outputs.map((v) => v.name)).toEqual(['loss', 'w_next', 'w_m_next', 'w_v_next', 'step_next']);
    const adam = g.nodes.find((n) => n.op === 'Adam')!;
    expect(adam.domain).toBe('ai.onnx.preview.training');
    expect(adam.attrs.beta?.type).toBe('float');
    expect(adam.attrs.beta?.value).toBeCloseTo(0.99, 6); // stored as float32
  });
  it.each([
    [['--optimizer', 'rmsprop', '--lr', '0.1'], "--optimizer 'rmsprop'"],
    [['--optimizer', 'momentum', '--lr', '0.1', '--beta1', '0.5'], '--beta1 does not apply to --optimizer momentum'],
    [['--optimizer', 'adam', '--lr', '-1'], "--lr '-1'"],
  ])('usage error (exit 2): %j', (args, msg) => {
    const r = aic(['train-step', 'tests/fixtures/models/small_cnn.onnx', '--loss', 'mean', ...args, '-o', path.join(os.tmpdir(), 'never.onnx')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(msg);
  });
});
