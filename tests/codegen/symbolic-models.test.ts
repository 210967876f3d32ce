/**
 * Real models compiled ONCE with a symbolic batch (--input-shape input=Nx...) run at batch 3 and
 * match the interpreter: tiny_bert (bundled: its Reshapes fix batch-1 constants, so the reference is
 * the interpreter sample by sample) always; shufflenet_v2_x1_0 (channel-shuffle Reshapes to [1, ...])
 * and resnet18 (whole-batch reference) when ../shared/models exists. scripts/symbolic-models.ts
 * runs all seven at batch 1 and 3.
 */
import { describe, expect, it } from 'vitest';
import { HAVE_SHARED, excess, zooModel } from '../model-zoo.ts';
import { batchOf, compileSymbolic, reference, type SymTarget } from '../symbolic-harness.ts';

async function check(name: string, target: SymTarget, how: string): Promise<void> {
  const z = zooModel(name);
  const [inName, x] = [...z.inputs][0]!;
  const outName = [...z.outputs.keys()][0]!;
  const a = await compileSymbolic(z.onnx, target, { [inName]: ['N', ...x.shape.slice(1)] });
  expect(a.batch?.symbol).toBe('N');
  const xb = batchOf(x, 3);
  const got = a.run(new Map([[inName, xb]])).get(outName)!;
  const ref = await reference(z.onnx, new Map([[inName, xb]]), [inName]);
  expect(ref.how).toBe(how);
  const want = ref.outputs.get(outName)!;
  expect(got.shape).toEqual(want.shape);
  expect(got.shape[0]).toBe(3);
  const e = excess(got.num, want.num, 1e-3, 1e-4);
  expect(e.worst, `${name} on ${target}: worst at ${e.at}`).toBeLessThanOrEqual(0);
}

describe('tiny_bert with a symbolic batch (wasm-simd)', () => {
  it('batch 3 matches the interpreter sample by sample', () => check('tiny_bert', 'wasm-simd', 'per sample'), 300_000);
});

describe.skipIf(!HAVE_SHARED)('shared models with a symbolic batch', () => {
  for (const target of ['c', 'wasm-simd'] as SymTarget[]) {
    it(`shufflenet_v2_x1_0 on ${target}: batch 3 matches the interpreter sample by sample`, () => check('shufflenet_v2_x1_0', target, 'per sample'), 600_000);
  }
  it('resnet18 on wasm-simd: batch 3 matches the interpreter on the whole batch', () => check('resnet18', 'wasm-simd', 'whole batch'), 600_000);
});
