/**
 * A symbolic batch and a symbolic sequence length at once (issue 13 item 6; codegen/lower/batch-extent.ts):
 * token ids [B, S] through an embedding and a self-attention block (tests/encoder-model.ts), compiled
 * ONCE for c, wasm-simd and wgsl with --max-shape B=4 --max-shape S=16, run at three (B, S) pairs and matching the
 * interpreter; model.h and model.d.ts name both symbols and their ranges; values beyond a maximum are
 * AIC0450 (the generated loaders refuse them too); wgsl's host runs it the same way (each sample one
 * submission at the extent; skipped by the rule of tests/webgpu.ts).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Tensor } from '@aic/core';
import { compile, load } from '@aic/api';
import { loadGraph } from '@aic/api/internal';
import { run } from '@aic/interp';
import type { CArtifact } from '../../codegen/c/render.ts';
import type { WasmCompiled } from '../../codegen/wasm/target.ts';
import { writeWasmArtifact } from '../../codegen/wasm/target.ts';
import { idsEncoderModel } from '../encoder-model.ts';
import { excess } from '../model-zoo.ts';
import { compileWithSymbols, type ExtentArtifact } from '../extent-harness.ts';
import { closeWgsl, type WgslCompiled } from '../../codegen/wgsl/target.ts';
import { GpuChild } from '../../codegen/wgsl/gpu-client.mjs';
import { webgpuSkipReason } from '../webgpu.ts';

const D = 16, MAXPOS = 64, VOCAB = 50;
let model = '';

beforeAll(() => {
  model = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aic-both-')), 'ids-encoder.onnx');
  fs.writeFileSync(model, idsEncoderModel(D, MAXPOS, VOCAB));
});

/** n samples of L token ids, different per sample */
function ids(n: number, L: number): Tensor {
  const t = new Tensor('int64', [n, L]);
  for (let i = 0; i < n * L; i++) t.num[i] = (i * 7 + 3 * n + L) % VOCAB;
  return t;
}

async function reference(x: Tensor): Promise<Map<string, Tensor>> {
  const g = await loadGraph(model, { inputShapes: { ids: x.shape.slice() } });
  return run(g, new Map([['ids', x]])) as Map<string, Tensor>;
}

let wgslSkip: string | undefined;
beforeAll(async () => { wgslSkip = await webgpuSkipReason(); }, 120_000);
afterAll(() => closeWgsl());

describe.each(['c', 'wasm-simd', 'wgsl'] as const)('ids [B, S] with a symbolic batch and sequence length on %s', (target) => {
  let a: ExtentArtifact;
  beforeAll(async () => { a = await compileWithSymbols(model, target, { B: 4, S: 16 }); }, 180_000);
  beforeEach((ctx) => { if (target === 'wgsl' && wgslSkip) ctx.skip(wgslSkip); });

  it('is one program: the batch per sample, S a run-time extent', () => {
    expect(a.compiled.prog.batch).toMatchObject({ symbol: 'B', max: 4, inputs: ['ids'], outputs: ['y', 'pooled'] });
    expect(a.compiled.prog.extents).toMatchObject({ symbol: 'S', max: 16 });
  });

  it.each([[1, 16], [2, 5], [3, 12], [4, 1]])('compiled once, runs at B=%i S=%i and matches the interpreter', async (n, L) => {
    const x = ids(n, L);
    const got = a.run(new Map([['ids', x]]));
    const want = await reference(x);
    expect(got.get('y')!.shape).toEqual([n, L, D]);
    expect(got.get('pooled')!.shape).toEqual([n, D]);
    for (const k of ['y', 'pooled']) expect(excess(got.get(k)!.num, want.get(k)!.num, 1e-4, 1e-5).worst, k).toBeLessThanOrEqual(0);
  });

  it('beyond either maximum is AIC0450', () => {
    expect(() => a.run(new Map([['ids', ids(5, 4)]]))).toThrow(expect.objectContaining({ code: 'AIC0450', message: expect.stringContaining("'B' is 5, beyond its maximum 4") }));
    expect(() => a.run(new Map([['ids', ids(2, 17)]]))).toThrow(expect.objectContaining({ code: 'AIC0450', message: expect.stringContaining("'S' is 17, beyond its maximum 16") }));
  });

  it.runIf(target === 'c')('model.h names both symbols, their maxima and aic_model_run_batch_extent', () => {
    const art = a.compiled.art as CArtifact;
    const h = ['#define AIC_MODEL_BATCH_SYMBOL "B"', '#define AIC_MODEL_MAX_BATCH 4', '#define AIC_MODEL_EXTENT_SYMBOL "S"', '#define AIC_MODEL_MAX_EXTENT 16',
      "input 0: 'ids' int64 [B, S] (up to 16 elements per sample)", "output 1: 'pooled' float32 [B, 16]",
      'int  aic_model_run_batch_extent(int64_t n, int64_t value, const void *const *inputs, void *const *outputs);'];
    for (const line of h) expect(art.h).toContain(line);
    for (const line of ['aic_input_shape_0[2] = { -1, -1 }', 'aic_output_shape_1[2] = { -1, 16 }']) expect(art.c).toContain(line);
  });

  it.runIf(target === 'wasm-simd')('model.d.ts names both; the written model.mjs runs at (B, S) given or read from the lengths, and refuses values beyond the maxima', async () => {
    const w = (a.compiled.art as WasmCompiled).art;
    expect(w.dts).toContain('B: the batch, any value from 1 to 4 (--max-shape)');
    expect(w.dts).toContain('S: a run-time extent, any value from 1 to 16 (--max-shape)');
    expect(w.dts).toContain('/** int64 [B, S]');
    expect(w.dts).toContain('run(feeds: Inputs, dims?: { "B"?: number; "S"?: number }): Promise<Outputs>;');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-both-wasm-'));
    writeWasmArtifact(dir, a.compiled.art as WasmCompiled);
    const m = await (await import(pathToFileURL(path.join(dir, 'model.mjs')).href)).load();
    const x = ids(3, 5);
    const want = await reference(x);
    const data = BigInt64Array.from(Array.from(x.num, (v) => BigInt(v)));
    const given = await m.run({ ids: data }, { B: 3, S: 5 });
    expect(excess(given.y, want.get('y')!.num, 1e-4, 1e-5).worst).toBeLessThanOrEqual(0);
    // 15 ids fit (3, 5) and (1, 15) within the maxima: say which; 13 ids fit (1, 13) only (13 x 1 is beyond B's maximum)
    await expect(m.run({ ids: data })).rejects.toThrow("the inputs' lengths fit several (B, S): (3, 5), (1, 15); say which: run(feeds, { B: n, S: v })");
    const one = await m.run({ ids: data.subarray(0, 13) });
    expect(one.pooled.length).toBe(D);
    await expect(m.run({ ids: data }, { B: 5, S: 3 })).rejects.toThrow("'B' is 5, beyond its maximum 4 (compiled with --max-shape B=4)");
    await expect(m.run({ ids: new BigInt64Array(34) }, { B: 2 })).rejects.toThrow("'S' is 17, beyond its maximum 16 (compiled with --max-shape S=16)");
  });
});

describe('a batch and a sequence length: the wgsl host module', () => {
  it('model.d.ts names both; model.mjs runs at (B, S) given or read from the lengths, and refuses values beyond the maxima', async (ctx) => {
    if (wgslSkip) return ctx.skip(wgslSkip);
    const a = await compileWithSymbols(model, 'wgsl', { B: 4, S: 16 });
    const w = a.compiled.art as WgslCompiled;
    expect(w.dts).toContain('(with the batch: run(feeds, { B: n, S: v }) where the lengths fit several pairs)');
    expect(w.dts).toContain('}, dims?: { "B"?: number; "S"?: number }): Promise<{');
    const gpu = new GpuChild();
    try {
      const x = ids(3, 5);
      const want = await reference(x);
      const ask = (data: Int32Array, dims?: Record<string, number>) => gpu.request({ op: 'run', host: w.host, weights: w.weights, feeds: { ids: data }, dims, reps: 1 });
      const data = Int32Array.from(x.num);
      const given = await ask(data, { B: 3, S: 5 });
      expect(given.ok, given.message).toBe(true);
      expect(excess(Float32Array.from(given.outputs!.y as ArrayLike<number>), want.get('y')!.num, 1e-4, 1e-5).worst).toBeLessThanOrEqual(0);
      expect(await ask(data)).toMatchObject({ ok: false, message: expect.stringContaining("the inputs' lengths fit several (B, S): (3, 5), (1, 15); say which: run(feeds, { B: n, S: v })") });
      const one = await ask(data.subarray(0, 13));
      expect(one.ok, one.message).toBe(true);
      expect(one.outputs!.pooled!.length).toBe(D);
      expect(await ask(data, { B: 5, S: 3 })).toMatchObject({ ok: false, message: expect.stringContaining("'B' is 5, beyond its maximum 4 (compiled with --max-shape B=4)") });
      expect(await ask(new Int32Array(34), { B: 2 })).toMatchObject({ ok: false, message: expect.stringContaining("'S' is 17, beyond its maximum 16 (compiled with --max-shape S=16)") });
    } finally {
      gpu.close();
    }
  }, 180_000);
});

describe('a batch and a sequence length: aic compile and what is refused', () => {
  const aic = (args: string[]) => {
    const r = spawnSync(process.execPath, [path.resolve(import.meta.dirname, '../../bin/aic'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it('aic compile --max-shape B=4 --max-shape S=16 writes an artifact taking both; without S\'s maximum exit 2 (AIC0453)', () => {
    const out = path.join(path.dirname(model), 'c');
    const ok = aic(['compile', model, '--target', 'c', '--max-shape', 'B=4', '--max-shape', 'S=16', '-o', out]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    const h = fs.readFileSync(path.join(out, 'model.h'), 'utf8');
    expect(h).toContain("output 0: 'y' float32 [B, S, 16]");
    expect(h).toContain('aic_model_run_batch_extent');
    const none = aic(['compile', model, '--target', 'c', '--max-shape', 'B=4', '-o', out]);
    expect(none.code).toBe(2);
    expect(none.err).toContain("AIC0453: symbolic dim 'S' is a run-time extent: declare its maximum with --max-shape S=N");
    const other = aic(['compile', model, '--target', 'c', '--max-shape', 'B=4', '--max-shape', 'S=16', '--max-shape', 'T=3', '-o', out]);
    expect(other.code).toBe(2);
    expect(other.err).toContain("--max-shape T: the model's symbolic dims are 'B' (the batch) and 'S'");
  }, 180_000);

  it('the library API: compile(model, { symbolic: { max } }) names both symbols; the written model.mjs runs at (B, S) like the interpreter', async () => {
    const c = compile(await load(model), { target: 'wasm-simd', symbolic: { max: { B: 4, S: 16 } } });
    expect(c.symbolic).toEqual({ symbol: 'B', kind: 'batch', max: 4 });
    expect(c.symbols).toEqual([{ symbol: 'B', kind: 'batch', max: 4 }, { symbol: 'S', kind: 'extent', max: 16 }]);
    const out = path.join(path.dirname(model), 'api-wasm');
    c.write(out);
    const m = await (await import(pathToFileURL(path.join(out, 'model.mjs')).href)).load();
    const x = ids(2, 7);
    const got = await m.run({ ids: BigInt64Array.from(Array.from(x.num, (v) => BigInt(v))) }, { B: 2, S: 7 });
    const want = await reference(x);
    for (const k of ['y', 'pooled']) expect(excess(got[k], want.get(k)!.num, 1e-4, 1e-5).worst, k).toBeLessThanOrEqual(0);
  }, 120_000);

});
