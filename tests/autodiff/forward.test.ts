/**
 * Forward mode (aic grad --mode forward): the Jacobian-vector product J t against reverse mode on the
 * same graph (<u, J t> = <J^T u, t> for random u, t) on small_cnn, and against central finite
 * differences in float64 on a small graph; the CLI writes a model whose outputs aic run computes.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, Value, serializeNpy, type Graph, type RValue } from '@aic/core';
import { appendVjp, inferGraph } from '@aic/ir-spec';
import { parseGraph } from '@aic/dsl';
import { loadOnnxFile } from '@aic/onnx';
import { run } from '@aic/interp';
import { autodiff } from '@aic/passes';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CNN = path.join(ROOT, 'tests/fixtures/models/small_cnn.onnx');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 * 2 - 1; };
}
const rand = (dtype: 'float32' | 'float64', shape: number[], r: () => number) =>
  Tensor.fromNumbers(dtype, shape, Array.from({ length: shape.reduce((a, d) => a * d, 1) }, r));
const dot = (a: Tensor, b: Tensor) => a.toNumbers().reduce((s, v, i) => s + v * b.num[i]!, 0);

/** <J^T u, t> by reverse mode: the VJP of the outputs seeded with u, with respect to `name` */
function reverseDot(g0: Graph, name: string, feeds: Map<string, RValue>, us: Tensor[], t: Tensor): number {
  const g = autodiff.staticCopy(g0);
  const x = [...g.definedValues()].find((v) => v.name === name)!;
  const seeds = g.outputs.map((y, j) => {
    const u = us[j]!;
    const v = new Value(`u${j}`, { dtype: u.dtype, shape: u.shape.slice() });
    v.const = u;
    g.constants.push(v);
    return [y, v] as const;
  });
  const [d] = appendVjp(g, new Map(seeds), [x]);
  g.outputs = [d!];
  inferGraph(g);
  return dot(run(g, feeds).get(d!.name) as Tensor, t);
}

describe('forward mode (JVP)', () => {
  it('small_cnn: <u, J t> equals <J^T u, t> from reverse mode, for the input and for a weight', () => {
    const g = loadOnnxFile(CNN);
    const r = rng(7);
    const feeds = new Map<string, RValue>([['input', rand('float32', [1, 1, 28, 28], r)]]);
    for (const [name, shape] of [['input', [1, 1, 28, 28]], ['f.4.weight', [16, 8, 5, 5]]] as const) {
      const t = rand('float32', [...shape], r);
      const jg = autodiff.jvpModel(g, [{ name, value: t }]);
      expect(jg.outputs.map((v) => v.name)).toEqual(['output', 'output_tangent']);
      const jt = run(jg, feeds).get('output_tangent') as Tensor;
      const u = rand('float32', [1, 10], r);
      const fwd = dot(u, jt), rev = reverseDot(g, name, feeds, [u], t);
      expect(Math.abs(fwd - rev), `${name}: forward ${fwd} reverse ${rev}`).toBeLessThan(1e-4 * Math.max(1e-3, Math.abs(rev)) + 1e-7);
    }
  });

  it('matches central finite differences in float64', () => {
    const g = parseGraph(`graph g(x: f64[2, 3]) -> (y: f64[2, 2], z: f64[2]) {
  w: f64[3, 2] = [0.5, -1.0, 2.0, 0.25, 1.5, -0.75]
  ax: i64[1] = [1]
  y = Tanh(MatMul(x, w))
  z = ReduceSum(Mul(y, y), ax, keepdims = 0)
}`);
    const r = rng(3);
    const x = rand('float64', [2, 3], r), t = rand('float64', [2, 3], r);
    const jg = autodiff.jvpModel(g, [{ name: 'x' }]);
    expect(jg.inputs.map((v) => v.name)).toEqual(['x', 'x_tangent']);
    const got = run(jg, new Map<string, RValue>([['x', x], ['x_tangent', t]]));
    const h = 1e-6;
    const at = (s: number) => run(g, new Map<string, RValue>([['x', Tensor.fromNumbers('float64', [2, 3], x.toNumbers().map((v, i) => v + s * t.num[i]!))]]));
    const [p, m] = [at(h), at(-h)];
    for (const y of ['y', 'z']) {
      const fd = (p.get(y) as Tensor).toNumbers().map((v, i) => (v - (m.get(y) as Tensor).num[i]!) / (2 * h));
      (got.get(`${y}_tangent`) as Tensor).toNumbers().forEach((v, i) => expect(Math.abs(v - fd[i]!), y).toBeLessThan(1e-6));
    }
  });

  it('aic grad --mode forward --tangent NAME=FILE writes a model aic run executes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-jvp-'));
    const t = rand('float32', [1, 1, 28, 28], rng(5));
    fs.writeFileSync(path.join(dir, 't.npy'), serializeNpy(t));
    const aic = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), ...args], { encoding: 'utf8', cwd: ROOT });
    const w = aic(['grad', CNN, '--mode', 'forward', '--tangent', `input=${path.join(dir, 't.npy')}`, '-o', path.join(dir, 'jvp.onnx')]);
    expect(w.status, w.stderr).toBe(0);
    const ran = aic(['run', path.join(dir, 'jvp.onnx'), '--input', `input=${path.join(ROOT, 'tests/fixtures/models/small_cnn.input.npy')}`, '--output-dir', dir]);
    expect(ran.status, ran.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'output_tangent.npy'))).toBe(true);
    expect(aic(['grad', CNN, '--mode', 'forward', '-o', path.join(dir, 'x.onnx')]).status).toBe(2);
  });
});
