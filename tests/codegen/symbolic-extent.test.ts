/**
 * A symbolic sequence length as a run-time extent (issue 13 item 6; codegen/lower/extents.ts): a
 * small self-attention encoder whose position table is sliced by the input's length, compiled ONCE
 * for c and wasm-simd with --max-shape S=16, runs at two lengths and matches the interpreter; model.h names the
 * symbol and its maximum, model.d.ts too; a missing maximum is AIC0453 (wgsl: tests/wgsl/symbolic-extent.test.ts).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AicError, Tensor } from '@aic/core';
import { loadGraph } from '@aic/api/internal';
import { extentSymbol } from '@aic/codegen';
import { run } from '@aic/interp';
import type { CArtifact } from '../../codegen/c/render.ts';
import type { WasmCompiled } from '../../codegen/wasm/target.ts';
import { encoderModel, rnd } from '../encoder-model.ts';
import { excess } from '../model-zoo.ts';
import { compileWithExtent, type ExtentArtifact } from '../extent-harness.ts';

const D = 16, MAXPOS = 64;
let model = '';

beforeAll(() => {
  const bytes = encoderModel(D, MAXPOS);
  model = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aic-extent-')), 'encoder.onnx');
  fs.writeFileSync(model, bytes);
});

describe.each(['c', 'wasm-simd'] as const)('a self-attention encoder with a symbolic sequence length on %s', (target) => {
  let a: ExtentArtifact;
  beforeAll(async () => { a = await compileWithExtent(model, target, { S: 16 }); }, 120_000);

  it.each([5, 12])('compiled once, runs at S=%i and matches the interpreter', async (L) => {
    const x = new Tensor('float32', [1, L, D], Float32Array.from(rnd(L * D, 7 + L)));
    const got = a.run(new Map([['x', x]]));
    const g = await loadGraph(model, { inputShapes: { x: [1, L, D] } });
    const want = run(g, new Map([['x', x]])) as Map<string, Tensor>;
    for (const name of ['y', 'pooled']) {
      expect(got.get(name)!.shape).toEqual(want.get(name)!.shape);
      expect(excess(got.get(name)!.num, want.get(name)!.num, 1e-4, 1e-5).worst).toBeLessThanOrEqual(0);
    }
    expect(got.get('y')!.shape).toEqual([1, L, D]);
  });

  it.runIf(target === 'wasm-simd')('model.d.ts and the loader show the symbol and its maximum', () => {
    const w = (a.compiled.art as WasmCompiled).art;
    expect(w.dts).toContain('S: a run-time extent, any value from 1 to 16 (--max-shape)');
    expect(w.dts).toContain('/** float32 [1, S, 16]: S is known when the model runs, any value from 1 to 16');
    expect(w.meta.extent).toMatchObject({ symbol: 'S', max: 16, shapes: { x: [1, 'S', 16], y: [1, 'S', 16] } });
  });

  it('kernels along S are plain loops at max 16 (too few values no split factor divides), split with guarded tails at max 64', async () => {
    expect(a.compiled.prog.extents).toMatchObject({ split: false, values: [16, 15, 14, 13, 9, 5] });
    const b = await compileWithExtent(model, target, { S: 64 });
    expect(b.compiled.prog.extents).toMatchObject({ split: true, values: [61, 59, 53, 47, 37, 17] });
    for (const L of [3, 64]) {
      const x = new Tensor('float32', [1, L, D], Float32Array.from(rnd(L * D, 3 + L)));
      const g = await loadGraph(model, { inputShapes: { x: [1, L, D] } });
      const want = (run(g, new Map([['x', x]])) as Map<string, Tensor>).get('y')!;
      expect(excess(b.run(new Map([['x', x]])).get('y')!.num, want.num, 1e-4, 1e-5).worst).toBeLessThanOrEqual(0);
    }
  }, 120_000);

  it.runIf(target === 'c')('model.h names the symbol, its maximum and the symbolic dims', () => {
    const h = (a.compiled.art as CArtifact).h;
    expect(h).toContain('#define AIC_MODEL_EXTENT_SYMBOL "S"');
    expect(h).toContain('#define AIC_MODEL_MAX_EXTENT 16');
    expect(h).toContain("input 0: 'x' float32 [1, S, 16]");
    expect((a.compiled.art as CArtifact).c).toContain('aic_input_shape_0[3] = { 1, -1, 16 }');
  });

  it('beyond the maximum is AIC0450', () => {
    const x = new Tensor('float32', [1, 40, D]);
    expect(() => a.run(new Map([['x', x]]))).toThrow(expect.objectContaining({ code: 'AIC0450', message: expect.stringContaining("'S' is 40, beyond its maximum 16") }));
  });
});

describe('aic compile with a symbolic sequence length', () => {
  const aic = (args: string[]) => {
    const r = spawnSync(process.execPath, [path.resolve(import.meta.dirname, '../../bin/aic'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  it('--max-shape S=16 writes an artifact taking S; without it exit 2 (AIC0453)', () => {
    const out = path.join(path.dirname(model), 'c');
    const ok = aic(['compile', model, '--target', 'c', '--max-shape', 'S=16', '-o', out]);
    expect(ok.code).toBe(0);
    const h = fs.readFileSync(path.join(out, 'model.h'), 'utf8');
    expect(h).toContain('int  aic_model_run_extent(int64_t value, const void *const *inputs, void *const *outputs);');
    expect(h).toContain("output 1: 'pooled' float32 [1, 16]");
    const none = aic(['compile', model, '--target', 'c', '-o', out]);
    expect(none.code).toBe(2);
    expect(none.err).toContain("AIC0453: symbolic dim 'S' is a run-time extent: declare its maximum with --max-shape S=N");
  }, 120_000);
});

describe('what run-time extents refuse', () => {
  it('a symbol without --max-shape is AIC0453', async () => {
    const g = await loadGraph(model, {});
    let err: unknown;
    try { extentSymbol(g, {}, {}); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(AicError);
    expect((err as AicError).code).toBe('AIC0453');
    expect((err as AicError).message).toContain('--max-shape S=N');
  });

  it('a maximum the model does not take (its position table has 64 rows) is AIC0453', async () => {
    await expect(compileWithExtent(model, 'c', { S: 80 })).rejects.toMatchObject({ code: 'AIC0453', message: expect.stringContaining("'S' cannot be 80 (--max-shape S=80 asks for every value up to it)") });
  });
});
