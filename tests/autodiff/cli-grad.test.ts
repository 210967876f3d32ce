/**
 * aic grad: the gradient model of a small linear model checked against the gradient written out by
 * hand (mse loss), the outputs and inputs it declares, exit codes (unknown loss, unknown --wrt value,
 * an op without a derivative), and small_cnn against PyTorch autograd (scripts/grad-vs-torch.py).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, serializeNpy, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { loadOnnxFile } from '@aic/onnx';
import { run } from '@aic/interp';
import { autodiff } from '@aic/passes';

const ROOT = path.resolve(import.meta.dirname, '../..');
const AIC = path.join(ROOT, 'bin/aic');
const aic = (args: string[]) => {
  const r = spawnSync(process.execPath, [AIC, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aic-grad-'));

const W = [0.5, -1, 2, 0.25, 1.5, -0.75], B = [0.1, -0.2];
const LINEAR = `graph g(x: f32[2, 3]) -> (y: f32[2, 2]) {
  w: f32[3, 2] = [${W.join(', ')}]
  b: f32[2] = [${B.join(', ')}]
  y = Add(MatMul(x, w), b)
}`;
const X = [1, -2, 0.5, 3, 0.25, -1], T = [0.5, 1, -1, 2];

describe('aic grad', () => {
  it('mse on y = x w + b gives loss, d/dw = x^T 2(y - t)/n and d/db = sum of 2(y - t)/n', () => {
    const g = autodiff.gradModel(parseGraph(LINEAR), { loss: 'mse' });
    expect(g.inputs.map((v) => v.name)).toEqual(['x', 'target']);
    expect(g.outputs.map((v) => v.name)).toEqual(['loss', 'w_grad', 'b_grad']);
    const outs = run(g, new Map<string, RValue>([['x', Tensor.fromNumbers('float32', [2, 3], X)], ['target', Tensor.fromNumbers('float32', [2, 2], T)]]));
    // by hand
    const y = [0, 1].flatMap((i) => [0, 1].map((j) => X[i * 3]! * W[j]! + X[i * 3 + 1]! * W[2 + j]! + X[i * 3 + 2]! * W[4 + j]! + B[j]!));
    const r = y.map((v, k) => v - T[k]!);
    const dy = r.map((v) => (2 * v) / 4);
    const dw = [0, 1, 2].flatMap((k) => [0, 1].map((j) => X[k]! * dy[j]! + X[3 + k]! * dy[2 + j]!));
    const db = [0, 1].map((j) => dy[j]! + dy[2 + j]!);
    const near = (got: RValue | undefined, want: number[]) =>
      (got as Tensor).toNumbers().forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 5));
    near(outs.get('loss'), [r.reduce((a, v) => a + v * v, 0) / 4]);
    near(outs.get('w_grad'), dw);
    near(outs.get('b_grad'), db);
  });

  it('writes ONNX that aic run executes, with labels for cross-entropy and the named --wrt values', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'lin.aic'), LINEAR);
    const r = aic(['grad', path.join(dir, 'lin.aic'), '--loss', 'cross-entropy', '--wrt', 'x,w', '-o', path.join(dir, 'g.onnx')]);
    expect(r.code, r.err).toBe(0);
    const g = loadOnnxFile(path.join(dir, 'g.onnx'));
    expect(g.inputs.map((v) => `${v.name}:${v.dtype}[${v.shape?.join(',')}]`)).toEqual(['x:float32[2,3]', 'labels:int64[2]']);
    expect(g.outputs.map((v) => v.name)).toEqual(['loss', 'x_grad', 'w_grad']);
    fs.writeFileSync(path.join(dir, 'x.npy'), serializeNpy(Tensor.fromNumbers('float32', [2, 3], X)));
    fs.writeFileSync(path.join(dir, 'l.npy'), serializeNpy(Tensor.fromNumbers('int64', [2], [1, 0])));
    const ran = aic(['run', path.join(dir, 'g.onnx'), '--input', `x=${path.join(dir, 'x.npy')}`, '--input', `labels=${path.join(dir, 'l.npy')}`, '--output-dir', dir]);
    expect(ran.code, ran.err).toBe(0);
    expect(fs.existsSync(path.join(dir, 'x_grad.npy'))).toBe(true);
  });

  it('names the op without a derivative (exit 3) and refuses bad options (exit 2)', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'floor.aic'), 'graph g(x: f32[3]) -> (y: f32[3]) {\n  w: f32[3] = [0.5, -1, 2]\n  y = Floor(Mul(x, w))\n}\n');
    const noRule = aic(['grad', path.join(dir, 'floor.aic'), '--loss', 'sum', '-o', path.join(dir, 'o.onnx')]);
    expect(noRule.code).toBe(3);
    expect(noRule.err).toMatch(/AIC0380: unsupported: op Floor has no derivative/);
    expect(fs.existsSync(path.join(dir, 'o.onnx'))).toBe(false);
    fs.writeFileSync(path.join(dir, 'lin.aic'), LINEAR);
    expect(aic(['grad', path.join(dir, 'lin.aic'), '--loss', 'hinge', '-o', path.join(dir, 'o.onnx')]).code).toBe(2);
    const wrt = aic(['grad', path.join(dir, 'lin.aic'), '--loss', 'sum', '--wrt', 'nope', '-o', path.join(dir, 'o.onnx')]);
    expect(wrt.code).toBe(2);
    expect(wrt.err).toMatch(/--wrt 'nope'/);
  });

  it('small_cnn: every parameter gradient matches PyTorch autograd (rtol 1e-3, atol 1e-5)', () => {
    const r = spawnSync('/usr/bin/python3', [path.join(ROOT, 'scripts/grad-vs-torch.py'), '--models-dir', path.join(ROOT, 'tests/fixtures/models'), 'small_cnn'],
      { encoding: 'utf8', cwd: ROOT });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/small_cnn: ok: 12 parameter gradients compared/);
  }, 120_000);
});
