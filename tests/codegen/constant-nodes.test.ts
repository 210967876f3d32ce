/**
 * A Constant node that reaches lowering (-O0 runs no fold-constants) with a large value becomes a
 * weight of the program (codegen/lower/program.ts largeConstantsAsWeights): stored element by element
 * in a kernel it was refused past ~20000 runs (a quantized torchvision model's int8 weights at -O0).
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '@aic/core';
import { compileAt, checkCompiled, values, sineInput } from './dsl-values.ts';

const N = 30000;
const SRC = `graph g(x: f32[${N}]) -> (y: f32[${N}]) {
  w = Constant(value = tensor(f32[${N}], ${values(N, 5)}))
  s = Constant(value = tensor(f32[4], [1.0, 2.0, 3.0, 4.0]))
  y = Add(Mul(x, w), ReduceSum(s, keepdims = 0))
}`;
const meta = { version: 'test', source: 'constant-nodes', sourceHash: '-' };

describe('Constant nodes at -O0', () => {
  for (const target of ['c', 'wasm-simd'] as const) {
    it(`a ${N}-element Constant is a weight on ${target}; a 4-element one stays a kernel; results equal the interpreter's`, async () => {
      const { want, compiled, feeds } = compileAt(SRC, target, () => sineInput([N], 0.01, 2), meta, 0);
      expect(compiled.prog.weights.map((w) => w.shape)).toEqual([[N]]);
      expect(compiled.prog.kernels.filter((k) => k.name.endsWith('_constant'))).toHaveLength(1);
      await checkCompiled(compiled, target, feeds, want.get('y') as Tensor);
    });
  }
});
