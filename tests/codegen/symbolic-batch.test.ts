/**
 * Symbolic batch in compiled artifacts (issue 13 item 6): small_cnn compiled ONCE with its batch
 * symbolic runs at batch 1 and 3 on c, wasm-simd and wgsl and matches the interpreter at that batch; the
 * loader d.ts and model.h name the symbol; a batch beyond --max-shape is AIC0450; a symbol that
 * reaches an op working along the batch is AIC0451 naming the op.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AicError } from '@aic/core';
import { onnx } from '@aic/onnx';
import { loadGraph } from '@aic/api/internal';
import { bindSymbolicBatch } from '@aic/codegen';
import type { CArtifact } from '../../codegen/c/render.ts';
import type { WasmCompiled } from '../../codegen/wasm/target.ts';
import { buildModel } from '../onnx-builder.ts';
import { excess, zooModel } from '../model-zoo.ts';
import { batchOf, compileSymbolic, reference, type SymTarget } from '../symbolic-harness.ts';

const zoo = zooModel('small_cnn');
let dir = '';
let declared = ''; // small_cnn with dim 0 of its input and output declared 'N'

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-symbatch-'));
  const m = onnx.ModelProto.decode(new Uint8Array(fs.readFileSync(zoo.onnx)));
  for (const v of [...m.graph!.input!, ...m.graph!.output!]) v.type!.tensorType!.shape!.dim![0] = { dimParam: 'N' };
  m.graph!.valueInfo = [];
  declared = path.join(dir, 'small_cnn_N.onnx');
  fs.writeFileSync(declared, onnx.ModelProto.encode(m).finish());
});

const x = zoo.inputs.get('input')!;

describe.each(['c', 'wasm-simd', 'wgsl'] as SymTarget[])('small_cnn with a symbolic batch on %s', (target) => {
  for (const [label, model, shapes] of [
    ['declared N in the model', () => declared, {}],
    ['--input-shape input=Nx1x28x28 over the fixed batch 1', () => zoo.onnx, { input: ['N', 1, 28, 28] }],
  ] as const) {
    // wgsl runs on a software adapter here (about a minute per case): the declared symbol only
    if (target === 'wgsl' && label.startsWith('--input-shape')) continue;
    it(`${label}: compiled once, runs at batch 1 and 3 and matches the interpreter`, async () => {
      const a = await compileSymbolic(model(), target, shapes);
      expect(a.batch).toEqual({ symbol: 'N', inputs: ['input'], outputs: ['output'] });
      for (const n of [1, 3]) {
        const xb = batchOf(x, n);
        const got = a.run(new Map([['input', xb]])).get('output')!;
        const want = (await reference(model(), new Map([['input', xb]]), ['input'])).outputs.get('output')!;
        expect(got.shape).toEqual([n, 10]);
        expect(want.shape).toEqual([n, 10]);
        const e = excess(got.num, want.num, 1e-3, 1e-5);
        expect(e.worst, `batch ${n}: worst at ${e.at}`).toBeLessThanOrEqual(0);
        // samples differ (the batch is really read per sample)
        if (n === 3) expect(Math.abs(got.num[0]! - got.num[20]!)).toBeGreaterThan(1e-6);
      }
      // batch 1 gives what PyTorch gave
      const one = a.run(new Map([['input', x]])).get('output')!;
      expect(excess(one.num, zoo.outputs.get('output')!.num, 1e-3, 1e-4).worst).toBeLessThanOrEqual(0);
    }, 120_000);
  }

  it('--max-shape N=2: batch 2 runs, batch 3 is AIC0450 (exit 1)', async () => {
    const a = await compileSymbolic(declared, target, {}, { N: 2 });
    expect(a.run(new Map([['input', batchOf(x, 2)]])).get('output')!.shape).toEqual([2, 10]);
    let err: unknown;
    try { a.run(new Map([['input', batchOf(x, 3)]])); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(AicError);
    expect((err as AicError).code).toBe('AIC0450');
    expect((err as AicError).exitCode).toBe(1);
    expect((err as AicError).message).toContain("'N' is 3, beyond its maximum 2 (compiled with --max-shape N=2)");
  }, 120_000);
});

describe('artifacts say the batch is symbolic', () => {
  it('model.h: the symbol, its maximum, aic_model_run_batch, -1 in the shape tables', async () => {
    const a = await compileSymbolic(declared, 'c', {}, { N: 8 });
    const art = a.compiled.art as CArtifact;
    expect(art.h).toContain('#define AIC_MODEL_BATCH_SYMBOL "N"');
    expect(art.h).toContain('#define AIC_MODEL_MAX_BATCH 8');
    expect(art.h).toContain("/* input 0: 'input' float32 [N, 1, 28, 28] (784 elements per sample) */");
    expect(art.h).toContain("/* output 0: 'output' float32 [N, 10] (10 elements per sample) */");
    expect(art.h).toContain('int  aic_model_run_batch(int64_t n, const void *const *inputs, void *const *outputs);');
    expect(art.c).toContain('static const int64_t aic_input_shape_0[4] = { -1, 1, 28, 28 };');
    expect(art.c).toContain('if (n < 1 || n > 8) return 9;');
  }, 120_000);

  it('model.d.ts and model.mjs: the symbol in the shapes, the batch export', async () => {
    const a = await compileSymbolic(declared, 'wasm-simd', {}, { N: 8 });
    const art = (a.compiled.art as WasmCompiled).art;
    expect(art.dts).toContain('/** float32 [N, 1, 28, 28]: N is the batch, any value from 1 to 8, known when the model runs (the array holds N x 784 elements) */');
    expect(art.dts).toContain('readonly inputs: [{ name: "input"; dtype: "float32"; shape: ["N", 1, 28, 28] }];');
    expect(art.dts).toContain('export declare const batch: { symbol: "N"; max: 8 };');
    expect(art.mjs).toContain('"batch":{"symbol":"N","max":8,"inputs":["input"],"outputs":["output"]}');
  }, 120_000);

  it('a static model keeps its static artifact (no batch entry point)', async () => {
    const a = await compileSymbolic(zoo.onnx, 'c', {});
    expect(a.batch).toBeUndefined();
    expect((a.compiled.art as CArtifact).h).not.toContain('aic_model_run_batch');
  }, 120_000);
});

describe('what cannot stay symbolic is refused (AIC0451, exit 3)', () => {
  const refused = async (nodes: Parameters<typeof buildModel>[0], inputs: Parameters<typeof buildModel>[1], outputs: Parameters<typeof buildModel>[2], opset = 13) => {
    const f = path.join(dir, `m${Math.random().toString(36).slice(2)}.onnx`);
    fs.writeFileSync(f, buildModel(nodes, inputs, outputs, opset));
    const g = await loadGraph(f, {});
    try { bindSymbolicBatch(g, {}); } catch (e) { return e as AicError; }
    return undefined;
  };
  it('a reduction over the batch names the op and the dim', async () => {
    const e = await refused([{ op: 'ReduceSum', inputs: ['x'], outputs: ['y'], attrs: { axes: [0], keepdims: 1 } }],
      [{ name: 'x', shape: ['N', 4] }], [{ name: 'y', shape: [1, 4] }], 11);
    expect(e?.code).toBe('AIC0451');
    expect(e?.exitCode).toBe(3);
    expect(e?.message).toMatch(/symbolic dim 'N' reaches ReduceSum '.*', which works along dim 0 \(the batch\)|value 'y' has shape \[1, 4\]/);
  });
  it('Softmax along the batch', async () => {
    const e = await refused([{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: 0 } }],
      [{ name: 'x', shape: ['N', 4] }], [{ name: 'y', shape: ['N', 4] }]);
    expect(e?.message).toMatch(/reaches Softmax '.*', which works along dim 0 \(the batch\)/);
  });
  it('a symbolic sequence length (dim 1) is refused for now, naming the input and dim', async () => {
    const e = await refused([{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], [{ name: 'x', shape: [1, 'S'] }], [{ name: 'y', shape: [1, 'S'] }]);
    expect(e?.code).toBe('AIC0451');
    expect(e?.message).toContain("symbolic dim 'S' is dim 1 of input 'x' [1, S]");
  });
  it('a row-wise graph over a symbolic batch is accepted', async () => {
    const e = await refused([{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: 1 } }],
      [{ name: 'x', shape: ['N', 4] }], [{ name: 'y', shape: ['N', 4] }]);
    expect(e).toBeUndefined();
  });
});

