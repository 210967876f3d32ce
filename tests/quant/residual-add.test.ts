/** `aic quantize` on a residual block: the Add's inputs and result (after its Relu) are quantized, so the residual path stays int8. */
import { describe, expect, it } from 'vitest';
import { Tensor, type Graph, type Value } from '@aic/core';
import { loadOnnx } from '@aic/onnx';
import { run } from '@aic/interp';
import { quantize } from '@aic/passes';
import { buildModel } from '../onnx-builder.ts';

const seq = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

/** x[1,3,5,5] -> Conv a -> Relu -> Conv b; y = Relu(b + x1) where x1 = Conv c(x) (two residual blocks in a row: z = y + Conv d(y)) */
function model(): Graph {
  const w = (name: string, o: number, i: number, k: number) => ({ name, dims: [o, i, k, k], floats: seq(o * i * k * k, (j) => Math.sin(j * 0.7 + o) * 0.3) });
  return loadOnnx(buildModel([
    { op: 'Conv', inputs: ['x', 'Wc'], outputs: ['x1'], name: 'c' },
    { op: 'Conv', inputs: ['x1', 'Wa'], outputs: ['a'], name: 'a', attrs: { pads: [1, 1, 1, 1] } },
    { op: 'Relu', inputs: ['a'], outputs: ['ar'], name: 'relu_a' },
    { op: 'Conv', inputs: ['ar', 'Wb'], outputs: ['b'], name: 'b', attrs: { pads: [1, 1, 1, 1] } },
    { op: 'Add', inputs: ['b', 'x1'], outputs: ['s'], name: 'add1' },
    { op: 'Relu', inputs: ['s'], outputs: ['y'], name: 'relu_s' },
    { op: 'Conv', inputs: ['y', 'Wd'], outputs: ['d'], name: 'd' },
    { op: 'Add', inputs: ['y', 'd'], outputs: ['z0'], name: 'add2' },
    { op: 'GlobalAveragePool', inputs: ['z0'], outputs: ['z'], name: 'gap' },
  ], [{ name: 'x', shape: [1, 3, 5, 5] }], [{ name: 'z', shape: [1, 4, 1, 1] }], 13, [
    w('Wc', 4, 3, 1), w('Wa', 4, 4, 3), w('Wb', 4, 4, 3), w('Wd', 4, 4, 1),
  ]));
}

const samples = (n: number): quantize.Sample[] => seq(n, (k) => new Map([['x', Tensor.fromNumbers('float32', [1, 3, 5, 5], seq(75, (i) => Math.sin(i * 1.3 + k) * 2))]]));

describe('quantize: residual adds', () => {
  it('quantizes both inputs of each residual Add and its result after the Relu; layers stay the four convs', () => {
    const { graph: g, layers } = quantize.quantizeGraph(model(), samples(4));
    expect(layers.map((l) => l.name)).toEqual(['c', 'a', 'b', 'd']);
    const dqOf = (v: Value | null) => v!.producer!;
    for (const name of ['add1', 'add2']) {
      const add = g.nodes.find((n) => n.name === name)!;
      for (const v of add.inputs) {
        expect(dqOf(v).op, `${name} input`).toBe('DequantizeLinear');
        expect(dqOf(v).inputs[0]!.producer!.op).toBe('QuantizeLinear');
      }
    }
    // add1's result is quantized after its Relu (the epilogue), and every consumer (conv d, add2) reads the copy
    const relu = g.nodes.find((n) => n.name === 'relu_s')!;
    const consumers = g.nodes.filter((n) => n.inputs.includes(relu.outputs[0]!));
    expect(consumers.map((n) => n.op)).toEqual(['QuantizeLinear']);
    // add2 feeds GlobalAveragePool, not a layer: its result is still quantized (the residual path stays int8)
    const add2 = g.nodes.find((n) => n.name === 'add2')!;
    expect(g.nodes.filter((n) => n.inputs.includes(add2.outputs[0]!)).map((n) => n.op)).toEqual(['QuantizeLinear']);
  });

  it('the QDQ model computes what the float model does, within quantization error', () => {
    const g0 = model();
    const { graph: g } = quantize.quantizeGraph(g0, samples(4));
    const feeds = samples(5)[4]!;
    const want = (run(g0, feeds).get('z') as Tensor).num, got = (run(g, feeds).get('z') as Tensor).num;
    let dot = 0, na = 0, nb = 0;
    for (let i = 0; i < want.length; i++) { dot += want[i]! * got[i]!; na += want[i]! ** 2; nb += got[i]! ** 2; }
    expect(dot / Math.sqrt(na * nb)).toBeGreaterThan(0.99);
  });
});
