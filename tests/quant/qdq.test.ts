/** The QDQ rewrite: where QuantizeLinear/DequantizeLinear go, weight/bias types and scales, --exclude. */
import { describe, expect, it } from 'vitest';
import { Tensor, type Graph, type Node, type Value } from '@aic/core';
import { loadOnnx } from '@aic/onnx';
import { run } from '@aic/interp';
import { quantize } from '@aic/passes';
import { buildModel } from '../onnx-builder.ts';

const seq = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

/** x[1,2,4,4] -> Conv(W, B) -> Relu -> GlobalAveragePool -> Flatten -> Gemm(transB) -> y */
function model(): Graph {
  return loadOnnx(buildModel([
    { op: 'Conv', inputs: ['x', 'W', 'B'], outputs: ['c'], name: 'conv' },
    { op: 'Relu', inputs: ['c'], outputs: ['r'], name: 'relu' },
    { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['p'], name: 'gap' },
    { op: 'Flatten', inputs: ['p'], outputs: ['f'], name: 'flat' },
    { op: 'Gemm', inputs: ['f', 'W2', 'B2'], outputs: ['y'], name: 'fc', attrs: { transB: 1 } },
  ], [{ name: 'x', shape: [1, 2, 4, 4] }], [{ name: 'y', shape: [1, 4] }], 13, [
    { name: 'W', dims: [3, 2, 1, 1], floats: [1, -0.5, 0.02, 0.01, -2, 1.5] },
    { name: 'B', dims: [3], floats: [0.1, -0.2, 0.3] },
    { name: 'W2', dims: [4, 3], floats: seq(12, (i) => ((i * 7) % 5) / 5 - 0.4) },
    { name: 'B2', dims: [4], floats: [0.5, -0.5, 0.25, 0] },
  ]));
}

function samples(n: number): quantize.Sample[] {
  return seq(n, (k) => new Map([['x', Tensor.fromNumbers('float32', [1, 2, 4, 4], seq(32, (i) => Math.sin(i * 1.3 + k) * 2))]]));
}

const producer = (v: Value | null): Node => v!.producer!;
const byName = (g: Graph, name: string) => g.nodes.find((n) => n.name === name)!;
const constOf = (v: Value | null | undefined) => v!.const!;

describe('QDQ rewrite', () => {
  it('quantizes Conv and Gemm: activations, int8 per-channel weights, int32 biases; Relu is the epilogue', () => {
    const { graph: g, layers } = quantize.quantizeGraph(model(), samples(4));
    expect(layers.map((l) => l.name)).toEqual(['conv', 'fc']);
    const count = (op: string) => g.nodes.filter((n) => n.op === op).length;
    expect(count('QuantizeLinear')).toBe(3); // x, relu output, flatten output (y stays float: a graph output)
    expect(count('DequantizeLinear')).toBe(3 + 2 + 2);
    const conv = byName(g, 'conv');
    // input: x -> Q -> DQ
    const xdq = producer(conv.inputs[0]);
    expect(xdq.op).toBe('DequantizeLinear');
    expect(producer(xdq.inputs[0]).op).toBe('QuantizeLinear');
    expect(producer(xdq.inputs[0]).inputs[0]!.name).toBe('x');
    expect(xdq.inputs[0]!.dtype).toBe('uint8');
    // weights: int8 per output channel (axis 0), scale max|w|/127
    const wdq = producer(conv.inputs[1]);
    expect(wdq.attrs.axis?.value).toBe(0);
    expect(constOf(wdq.inputs[0]).dtype).toBe('int8');
    const ws = Array.from(constOf(wdq.inputs[1]).num);
    expect(ws).toEqual([1 / 127, 0.02 / 127, 2 / 127].map(Math.fround));
    // bias: int32, scale = input scale * weight scale
    const bdq = producer(conv.inputs[2]);
    expect(constOf(bdq.inputs[0]).dtype).toBe('int32');
    const xs = constOf(xdq.inputs[1]).scalar();
    expect(Array.from(constOf(bdq.inputs[1]).num)).toEqual(ws.map((w) => Math.fround(xs * w)));
    // no QDQ between Conv and its Relu; the Relu's output is quantized for every consumer
    const relu = byName(g, 'relu');
    expect(relu.inputs[0]).toBe(conv.outputs[0]);
    expect(producer(byName(g, 'gap').inputs[0]).op).toBe('DequantizeLinear');
    expect(producer(producer(byName(g, 'gap').inputs[0]).inputs[0]).inputs[0]).toBe(relu.outputs[0]);
    // Gemm with transB: weights [N, K] per channel along axis 0
    const fc = byName(g, 'fc');
    expect(producer(fc.inputs[1]).attrs.axis?.value).toBe(0);
    expect(constOf(producer(fc.inputs[1]).inputs[1]).shape).toEqual([4]);
    expect(constOf(producer(fc.inputs[2]).inputs[0]).dtype).toBe('int32');
    expect(g.outputs.map((v) => v.name)).toEqual(['y']);
    expect(g.constants.some((c) => c.name === 'W')).toBe(false); // the float weights are gone
  });

  it('the QDQ model computes what the float model does, within quantization error', () => {
    const g = model();
    const { graph } = quantize.quantizeGraph(g, samples(4));
    const x = samples(1)[0]!;
    const want = (run(g, x).get('y') as Tensor).num, got = (run(graph, x).get('y') as Tensor).num;
    for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(0.05 * (1 + Math.abs(want[i]!)));
  });

  it('per-tensor weights and int8 activations', () => {
    const { graph: g } = quantize.quantizeGraph(model(), samples(2), { perChannel: false, activations: 'int8' });
    const wdq = producer(byName(g, 'conv').inputs[1]);
    expect(wdq.attrs.axis).toBeUndefined();
    expect(constOf(wdq.inputs[1]).shape).toEqual([]);
    expect(constOf(wdq.inputs[1]).scalar()).toBe(Math.fround(2 / 127));
    for (const q of g.nodes.filter((n) => n.op === 'QuantizeLinear')) expect(q.outputs[0]!.dtype).toBe('int8');
  });

  it('--exclude leaves a layer float: no weight DequantizeLinear, no quantized input', () => {
    const { graph: g, layers } = quantize.quantizeGraph(model(), samples(2), { exclude: ['fc'] });
    expect(layers.map((l) => l.name)).toEqual(['conv']);
    const fc = byName(g, 'fc');
    expect(fc.inputs[1]!.const?.dtype).toBe('float32');
    expect(fc.inputs[0]!.producer!.op).toBe('Flatten');
    expect(g.nodes.filter((n) => n.op === 'QuantizeLinear').length).toBe(2);
    expect(() => quantize.quantizeGraph(model(), samples(1), { exclude: ['nope'] })).toThrow(/AIC0414|no node named 'nope'/);
    expect(() => quantize.quantizeGraph(model(), samples(1), { exclude: ['fc', 'conv'] })).toThrow(/Conv, MatMul or Gemm to quantize/);
  });

  it('folds BatchNormalization into the Conv before quantizing', () => {
    const g = loadOnnx(buildModel([
      { op: 'Conv', inputs: ['x', 'W'], outputs: ['c'], name: 'conv' },
      { op: 'BatchNormalization', inputs: ['c', 's', 'b', 'm', 'v'], outputs: ['y'], name: 'bn' },
    ], [{ name: 'x', shape: [1, 2, 4, 4] }], [{ name: 'y', shape: [1, 3, 4, 4] }], 13, [
      { name: 'W', dims: [3, 2, 1, 1], floats: [1, -0.5, 0.02, 0.01, -2, 1.5] },
      { name: 's', dims: [3], floats: [1, 2, 3] }, { name: 'b', dims: [3], floats: [0, 1, 0] },
      { name: 'm', dims: [3], floats: [0, 0, 1] }, { name: 'v', dims: [3], floats: [1, 1, 1] },
    ]));
    const { graph } = quantize.quantizeGraph(g, samples(2));
    expect(graph.nodes.some((n) => n.op === 'BatchNormalization')).toBe(false);
    const conv = graph.nodes.find((n) => n.op === 'Conv')!;
    expect(constOf(producer(conv.inputs[2]).inputs[0]).dtype).toBe('int32'); // the folded bias
    // --exclude takes the name the node had in the model, before the fold renamed it
    // (here that leaves nothing to quantize: AIC0415, not AIC0414's unknown name)
    expect(() => quantize.quantizeGraph(g, samples(1), { exclude: ['conv'] })).toThrow(/no float32 Conv, MatMul or Gemm/);
  });
});
