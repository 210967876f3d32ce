/**
 * A symbolic sequence length as a run-time extent on WGSL (issue 13 item 6; codegen/wgsl/extents.ts):
 * the small self-attention encoder of tests/codegen/symbolic-extent.test.ts compiled ONCE for wgsl
 * runs on the WebGPU device (SwiftShader where there is no GPU) at several lengths and matches the
 * interpreter; the shaders read the length from a uniform, workgroup counts along it are computed
 * by the host per run, model.d.ts names the symbol and its maximum; out-of-range lengths are the
 * CPU targets' AIC0450 / AIC0452; a static model has none of it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor } from '@aic/core';
import { loadGraph, optimizeGraph } from '@aic/api/internal';
import { compileWgsl } from '@aic/codegen';
import { run } from '@aic/interp';
import { closeWgsl, type WgslCompiled } from '../../codegen/wgsl/target.ts';
import { GpuChild } from '../../codegen/wgsl/gpu-client.mjs';
import { evalGrid } from '../../codegen/wgsl/extents.ts';
import { encoderModel, rnd } from '../encoder-model.ts';
import { excess } from '../model-zoo.ts';
import { compileWithExtent, type ExtentArtifact } from '../extent-harness.ts';

const D = 16, MAXPOS = 64;
let model = '';

beforeAll(() => {
  model = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aic-wgsl-extent-')), 'encoder.onnx');
  fs.writeFileSync(model, encoderModel(D, MAXPOS));
});
afterAll(() => closeWgsl());

async function expectLike(a: ExtentArtifact, L: number): Promise<void> {
  const x = new Tensor('float32', [1, L, D], Float32Array.from(rnd(L * D, 7 + L)));
  const got = a.run(new Map([['x', x]]));
  const g = await loadGraph(model, { inputShapes: { x: [1, L, D] } });
  const want = run(g, new Map([['x', x]])) as Map<string, Tensor>;
  expect(got.get('y')!.shape).toEqual([1, L, D]);
  for (const name of ['y', 'pooled']) {
    expect(got.get(name)!.shape).toEqual(want.get(name)!.shape);
    const e = excess(got.get(name)!.num, want.get(name)!.num, 1e-4, 1e-5);
    expect(e.worst, `${name} at S=${L} [${e.at}]`).toBeLessThanOrEqual(0);
  }
}

describe('a self-attention encoder with a symbolic sequence length on wgsl', () => {
  let a: ExtentArtifact, b: ExtentArtifact;
  beforeAll(async () => {
    a = await compileWithExtent(model, 'wgsl', { S: 16 });
    b = await compileWithExtent(model, 'wgsl', { S: 64 });
  }, 240_000);

  it('compiled once with --max-shape S=16, runs at S = 3, 9, 16 and matches the interpreter', async () => {
    for (const L of [3, 9, 16]) await expectLike(a, L);
  }, 240_000);

  it('at S=64 the loops along S are split on the grid: per-run workgroup counts, guarded tails; runs at S = 5, 37, 64', async () => {
    expect(b.compiled.prog.extents).toMatchObject({ split: true, max: 64 });
    const m = (b.compiled.art as WgslCompiled).manifest;
    const grids = m.dispatches.filter((d) => d.grid);
    expect(grids.length).toBeGreaterThan(0);
    for (const d of grids) {
      // the compiled counts are those at the maximum; fewer workgroups at a shorter length
      d.grid!.forEach((g, i) => { if (g !== null) { expect(evalGrid(g, 64)).toBe(d.workgroups[i]); expect(evalGrid(g, 5)).toBeLessThan(d.workgroups[i]!); } });
      expect(d.bindings.some((x) => x.buffer === -1)).toBe(true); // the extent uniform
    }
    for (const L of [5, 37, 64]) await expectLike(b, L);
  }, 240_000);

  it('the shaders read S from a uniform; model.d.ts and the manifest name the symbol, its maximum and the symbolic dims', () => {
    const w = a.compiled.art as WgslCompiled;
    expect(w.wgsl).toContain('var<uniform> aic_extent: vec4<i32>;');
    expect(w.wgsl).toContain('let aic_S: i32 = aic_extent.x;');
    expect(w.manifest.extent).toMatchObject({ symbol: 'S', max: 16, shapes: { x: [1, 'S', 16], y: [1, 'S', 16] } });
    expect(w.dts).toContain("S: a run-time extent, any value from 1 to 16 (--max-shape); run() reads it from the inputs' lengths");
    expect(w.dts).toContain('export declare const extent: { symbol: "S"; max: 16 };');
    expect(w.dts).toContain('/** [1, S, 16]: S is known when the model runs, any value from 1 to 16');
    expect(w.readme).toContain("- input 0 `x`: float32 [1, S, 16]");
  });

  it('beyond the maximum is AIC0450; a length no value of S gives is AIC0452', () => {
    expect(() => a.run(new Map([['x', new Tensor('float32', [1, 40, D])]]))).toThrow(expect.objectContaining({ code: 'AIC0450', message: expect.stringContaining("'S' is 40, beyond its maximum 16") }));
    expect(() => a.run(new Map([['x', new Tensor('float32', [1, 4, D + 1])]]))).toThrow(expect.objectContaining({ code: 'AIC0452' }));
  });

  it('model.mjs itself reads S from the inputs\' lengths and refuses a length beyond the maximum or that no S gives', async () => {
    const w = a.compiled.art as WgslCompiled;
    const gpu = new GpuChild();
    try {
      const ask = (n: number) => gpu.request({ op: 'run', host: w.host, weights: w.weights, feeds: { x: Float32Array.from(rnd(n, 3)) }, reps: 1 });
      const ok = await ask(7 * D);
      expect(ok.ok).toBe(true);
      expect(ok.outputs!.y!.length).toBe(7 * D);
      expect(ok.outputs!.pooled!.length).toBe(D);
      expect(await ask(40 * D)).toMatchObject({ ok: false, message: expect.stringContaining("'S' is 40, beyond its maximum 16 (compiled with --max-shape S=16)") });
      expect(await ask(7 * D + 1)).toMatchObject({ ok: false, message: expect.stringContaining("input 'x': expected float32 [1, S, 16] with S from 1 to 16, got 113 elements") });
    } finally {
      gpu.close();
    }
  }, 120_000);

  it('a static model has no extent: no uniform, no per-run grids', async () => {
    const g = await loadGraph(model, { inputShapes: { x: [1, 8, D] } });
    const c = compileWgsl(optimizeGraph(g, { level: 2, target: 'wgsl', out: () => {} }).graph, { version: 'test', source: 'model', sourceHash: '-' });
    expect(c.wgsl).not.toContain('aic_extent');
    expect(c.manifest.extent).toBeUndefined();
    expect(c.manifest.dispatches.some((d) => d.grid || d.bindings.some((x) => x.buffer < 0))).toBe(false);
    expect(c.dts).not.toContain('extent');
  });
});
