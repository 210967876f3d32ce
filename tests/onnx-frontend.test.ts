/** ONNX frontend: initializer encodings, external data, old IR versions, value_info, symbolic dims. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AicError, Tensor } from '@aic/core';
import { loadOnnx, loadOnnxFile, onnx } from '@aic/onnx';
import { run } from '@aic/interp';

function model(graph: Record<string, unknown>, opset = 13, irVersion = 8): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion, opsetImport: [{ domain: '', version: opset }], graph })).finish();
}
const f32vi = (name: string, dims: (number | string)[]) => ({
  name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
});

describe('ONNX initializers', () => {
  it('reads float_data, raw_data, int64_data and external data alike', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-onnx-'));
    const ext = new Float32Array([5, 6]);
    fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.concat([Buffer.alloc(8), Buffer.from(ext.buffer)]));
    const raw = new Float32Array([3, 4]);
    const bytes = model({
      name: 'g',
      node: [
        { opType: 'Add', input: ['x', 'a'], output: ['t1'] },
        { opType: 'Add', input: ['t1', 'b'], output: ['t2'] },
        { opType: 'Add', input: ['t2', 'c'], output: ['y'] },
      ],
      initializer: [
        { name: 'a', dims: [2], dataType: 1, floatData: [1, 2] },
        { name: 'b', dims: [2], dataType: 1, rawData: new Uint8Array(raw.buffer) },
        { name: 'c', dims: [2], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }, { key: 'offset', value: '8' }, { key: 'length', value: '8' }] },
      ],
      input: [f32vi('x', [2])],
      output: [f32vi('y', [2])],
    });
    const file = path.join(dir, 'm.onnx');
    fs.writeFileSync(file, bytes);
    const g = loadOnnxFile(file);
    const y = run(g, { x: Tensor.fromNumbers('float32', [2], [0, 0]) }).get('y') as Tensor;
    expect(Array.from(y.num)).toEqual([1 + 3 + 5, 2 + 4 + 6]);
  });

  it('a missing external data file is a load error (exit 1) naming the file', () => {
    const bytes = model({
      name: 'g', node: [{ opType: 'Relu', input: ['c'], output: ['y'] }],
      initializer: [{ name: 'c', dims: [2], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'nope.bin' }] }],
      output: [f32vi('y', [2])],
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-onnx-'));
    fs.writeFileSync(path.join(dir, 'm.onnx'), bytes);
    try {
      loadOnnxFile(path.join(dir, 'm.onnx'));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AicError);
      expect((e as AicError).exitCode).toBe(1);
      expect((e as AicError).message).toMatch(/nope\.bin' not found/);
    }
  });

  it('IR 3 models listing initializers as inputs treat them as constants', () => {
    const bytes = model({
      name: 'g', node: [{ opType: 'Add', input: ['x', 'w'], output: ['y'] }],
      initializer: [{ name: 'w', dims: [1], dataType: 1, floatData: [10] }],
      input: [f32vi('x', [1]), f32vi('w', [1])], output: [f32vi('y', [1])],
    }, 7, 3);
    const g = loadOnnx(bytes);
    expect(g.inputs.map((v) => v.name)).toEqual(['x']);
    expect((run(g, { x: Tensor.fromNumbers('float32', [1], [1]) }).get('y') as Tensor).num[0]).toBe(11);
  });

  it('keeps symbolic dims and infers through them', () => {
    const g = loadOnnx(model({
      name: 'g', node: [{ opType: 'Relu', input: ['x'], output: ['y'] }],
      input: [f32vi('x', ['batch', 3])], output: [{ name: 'y' }],
    }));
    expect(g.inputs[0].shape).toEqual(['batch', 3]);
    expect(g.outputs[0].shape).toEqual(['batch', 3]);
  });
});
