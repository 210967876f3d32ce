/**
 * Column-packed MatMul weights on a narrow-vector target (codegen/schedule/col-pack.ts): B[k, n] of a
 * MatMul scheduled for wasm-simd is packed [N/4, K, 4] and the tile reads it as one contiguous panel;
 * the scheduled kernel gives exactly the unscheduled result (loop interpreter).
 */
import { describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { printKernel } from '@aic/loop-ir';
import { chooseSchedules, lowerGraph, rescheduleProgram, runProgram } from '@aic/codegen';
import { WASM_SIMD_CAPS } from '../../codegen/caps.ts';
import { simplifyDivMod } from '../../codegen/schedule/pack.ts';

function matmul(M: number, K: number, N: number): { g: Graph; feeds: Map<string, Tensor> } {
  const g = new Graph('mm');
  const vals = (n: number, s: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s));
  const a = new Value('a', { dtype: 'float32', shape: [M, K] });
  const b = new Value('b', { dtype: 'float32', shape: [K, N] });
  b.const = Tensor.fromNumbers('float32', [K, N], vals(K * N, 1));
  g.inputs.push(a); g.constants.push(b);
  const y = new Value('y', { dtype: 'float32', shape: undefined });
  g.nodes.push(new Node({ op: 'MatMul', domain: '', inputs: [a, b], outputs: [y], attrs: {} }));
  g.outputs.push(y);
  inferGraph(g);
  return { g, feeds: new Map([['a', Tensor.fromNumbers('float32', [M, K], vals(M * K, 2))]]) };
}

describe('column-packed MatMul weights (wasm-simd)', () => {
  it('packs B [K, N] as [N/4, K, 4], reads it contiguously, and keeps results', () => {
    const { g, feeds } = matmul(6, 12, 32);
    const plain = Array.from(runProgram(lowerGraph(g, WASM_SIMD_CAPS), feeds).get('y')!.num as ArrayLike<number>);
    const p = lowerGraph(matmul(6, 12, 32).g, WASM_SIMD_CAPS);
    rescheduleProgram(p, chooseSchedules(p, WASM_SIMD_CAPS));
    p.kernels = p.kernels.map((k) => ({ ...k, body: simplifyDivMod(k.body) }));
    const text = p.kernels.map(printKernel).join('\n');
    expect(text).toContain('weight in1: f32[8, 12, 4]');
    // the packed load is a unit-stride ramp: no division or modulo left in the kernel
    expect(text).not.toMatch(/ [/%] 4\)/);
    expect(Array.from(runProgram(p, feeds).get('y')!.num as ArrayLike<number>)).toEqual(plain);
    const w = p.weights.find((x) => x.shape.join() === '8,12,4')!;
    // Bp[n / 4, k, n % 4] = B[k, n]
    expect(w.data!.num[(5 * 12 + 7) * 4 + 2]).toBe(Math.fround(Math.sin((7 * 32 + 22) * 0.37 + 1)));
  });
});
