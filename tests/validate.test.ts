/**
 * One validation for every path: what the interpreter refuses (an op at an opset no definition covers),
 * every compiled target, `aic run/compile/check` and the library entry points refuse the same way,
 * before any pass could rewrite it away. And PRelu at opset < 7 (a per-channel or shared slope).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AicError, Tensor, parseNpy, serializeNpy, type Graph, type RValue } from '@aic/core';
import { loadOnnx } from '@aic/onnx';
import { validateGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { C_CAPS, LOOPS_CAPS, lowerGraph, prepareForRun } from '@aic/codegen';
import { RUNNERS } from '../scripts/conformance.ts';
import { buildModel } from './onnx-builder.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const aic = (args: string[]) => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const f32 = (shape: number[], v: number[]) => Tensor.fromNumbers('float32', shape, v);

/** Gelu exists from opset 20; at 19 the importer marks it. Its output is dead: -O2 would delete it. */
const deadGelu = () => buildModel([
  { op: 'Gelu', name: 'old_gelu', inputs: ['x'], outputs: ['unused'] },
  { op: 'Relu', name: 'relu', inputs: ['x'], outputs: ['y'] },
], [{ name: 'x', shape: [2, 3] }], [{ name: 'y', shape: [2, 3] }], 19);
const MSG = /node 'old_gelu'.*unsupported Gelu opset 19 \(supported 20\.\.latest\)/;

function thrown(f: () => unknown): AicError {
  try { f(); } catch (e) { if (e instanceof AicError) return e; throw e; }
  throw new Error('expected an AicError');
}

describe('one validation for every path', () => {
  it('validateGraph, the interpreter, lowering and prepareForRun refuse the same node, exit 3', () => {
    const g = () => loadOnnx(deadGelu(), { file: 'm.onnx' });
    const feeds = new Map<string, RValue>([['x', f32([2, 3], [1, -2, 3, -4, 5, -6])]]);
    for (const e of [
      thrown(() => validateGraph(g())),
      thrown(() => run(g(), feeds)),
      thrown(() => lowerGraph(g(), C_CAPS)),
      thrown(() => lowerGraph(g(), LOOPS_CAPS)),
      thrown(() => prepareForRun(g(), feeds)),
    ]) {
      expect(e.exitCode).toBe(3);
      expect(e.format()).toMatch(MSG);
    }
  });

  it('aic run (interp, c, wasm-simd), compile and check refuse it with one line, exit 3, nothing written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-validate-'));
    const m = path.join(dir, 'm.onnx');
    fs.writeFileSync(m, deadGelu());
    fs.writeFileSync(path.join(dir, 'x.npy'), serializeNpy(f32([2, 3], [1, -2, 3, -4, 5, -6])));
    for (const target of ['interp', 'c', 'wasm-simd']) {
      const r = aic(['run', m, '--target', target, '--input', `x=${dir}/x.npy`, '--output-dir', dir]);
      expect(r.code, target).toBe(3);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(MSG);
    }
    const c = aic(['compile', m, '--target', 'wasm-simd', '-o', path.join(dir, 'out')]);
    expect(c.code).toBe(3);
    expect(c.err).toMatch(MSG);
    expect(fs.readdirSync(dir).sort()).toEqual(['m.onnx', 'x.npy']);
    const k = aic(['check', m, '--target', 'c']);
    expect(k.code).toBe(3);
    expect(k.out).toMatch(/unsupported op ai\.onnx::Gelu \(opset 19\): opset 19 \(supported 20\.\.latest\); 1 node: 'old_gelu'/);
  });
});

/** PRelu(x, slope) with slope an initializer of `slopeShape` (or a graph input when `slopeInput`). */
function preluModel(opset: number, xShape: number[], slope: number[], slopeShape: number[], slopeInput = false): Uint8Array {
  const init = slopeInput ? [] : [{ name: 's', dims: slopeShape, floats: slope }];
  const inputs = [{ name: 'x', shape: xShape }, ...(slopeInput ? [{ name: 's', shape: slopeShape }] : [])];
  return buildModel([{ op: 'PRelu', inputs: ['x', 's'], outputs: ['y'] }], inputs, [{ name: 'y', shape: xShape }], opset, init);
}

describe('PRelu at opset 6: a shared or per-channel (axis 1) slope', () => {
  // x[n, c, w] = (n * 12 + c * 4 + w) - 11 : negative and positive values in every channel
  const x = f32([2, 3, 4], Array.from({ length: 24 }, (_, i) => i - 11));
  const want = (slopeOf: (c: number) => number) => Array.from(x.num, (v, i) => (v < 0 ? v * slopeOf(Math.floor(i / 4) % 3) : v));
  const targets = ['interp', 'c', 'wasm-simd'] as const;
  const runOn = (target: string, bytes: Uint8Array, feeds: [string, Tensor][]) =>
    (RUNNERS[target]!(((g: Graph) => { validateGraph(g); return g; })(loadOnnx(bytes)), new Map(feeds)).get('y') as Tensor);

  it.each(targets)('per-channel slope [3] on X [2, 3, 4] (constant and run-time slope): %s', (target) => {
    const slope = [0.5, -2, 0.25];
    const expected = want((c) => slope[c]);
    const a = runOn(target, preluModel(6, [2, 3, 4], slope, [3]), [['x', x]]);
    expect(Array.from(a.num)).toEqual(expected);
    const b = runOn(target, preluModel(6, [2, 3, 4], slope, [3], true), [['x', x], ['s', f32([3], slope)]]);
    expect(Array.from(b.num)).toEqual(expected);
  });

  it.each(targets)('shared slope [1] and an elementwise slope of X\'s shape: %s', (target) => {
    expect(Array.from(runOn(target, preluModel(6, [2, 3, 4], [0.5], [1]), [['x', x]]).num)).toEqual(want(() => 0.5));
    const full = Array.from({ length: 24 }, (_, i) => i / 8);
    const y = runOn(target, preluModel(6, [2, 3, 4], full, [2, 3, 4]), [['x', x]]);
    expect(Array.from(y.num)).toEqual(Array.from(x.num, (v, i) => (v < 0 ? Math.fround(v * full[i]) : v)));
  });

  it('X with symbolic dims: the legacy form is decided when the shapes are known (interp)', () => {
    const g = loadOnnx(buildModel([{ op: 'PRelu', inputs: ['x', 's'], outputs: ['y'] }], [{ name: 'x', shape: ['N', 'C', 4] }],
      [{ name: 'y', shape: ['N', 'C', 4] }], 6, [{ name: 's', dims: [3], floats: [0.5, -2, 0.25] }]));
    const y = run(g, new Map([['x', x]])).get('y') as Tensor;
    expect(Array.from(y.num)).toEqual(want((c) => [0.5, -2, 0.25][c]));
  });

  it('a slope opset 6 does not define ([4] for X [2, 3, 4]) and opset 7\'s [3] are refused (exit 1), not guessed', () => {
    for (const bytes of [preluModel(6, [2, 3, 4], [1, 2, 3, 4], [4]), preluModel(7, [2, 3, 4], [1, 2, 3], [3])]) {
      const e = thrown(() => validateGraph(loadOnnx(bytes)));
      expect(e.exitCode).toBe(1);
      expect(e.message).toMatch(/PRelu.*slope \[\d\]/);
    }
  });

  it('aic run --target c writes the per-channel result', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-prelu-'));
    const m = path.join(dir, 'p.onnx');
    fs.writeFileSync(m, preluModel(6, [2, 3, 4], [0.5, -2, 0.25], [3]));
    fs.writeFileSync(path.join(dir, 'x.npy'), serializeNpy(x));
    const r = aic(['run', m, '--target', 'c', '--input', `x=${dir}/x.npy`, '--output-dir', dir]);
    expect(r.code, r.err).toBe(0);
    const y = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'y.npy'))));
    expect(Array.from(y.num)).toEqual(want((c) => [0.5, -2, 0.25][c]));
  });
});

describe('an opset import newer than the newest aic knows is refused (ONNX Runtime refuses unknown opsets)', () => {
  const relu = (opset: number) => buildModel([{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], [{ name: 'x', shape: [2] }], [{ name: 'y', shape: [2] }], opset);

  it('aic run: ai.onnx opset 99 exits 3 with one line naming the domain, the opset and the newest supported', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-opset-'));
    fs.writeFileSync(path.join(dir, 'm.onnx'), relu(99));
    fs.writeFileSync(path.join(dir, 'x.npy'), serializeNpy(f32([2], [-1, 2])));
    const r = aic(['run', path.join(dir, 'm.onnx'), '--input', `x=${dir}/x.npy`, '--output-dir', path.join(dir, 'out')]);
    expect(r.code).toBe(3);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/error AIC0090: unsupported opset: the model imports ai\.onnx opset 99, newer than the newest supported \(23\)/);
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the newest supported opset runs', () => {
    const y = run(loadOnnx(relu(23)), new Map([['x', f32([2], [-1, 2])]])).get('y') as Tensor;
    expect(Array.from(y.num)).toEqual([0, 2]);
    expect(thrown(() => validateGraph(loadOnnx(relu(24)))).code).toBe('AIC0090');
  });
});
