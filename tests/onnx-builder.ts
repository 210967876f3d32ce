/** Builds tiny ONNX models in tests (so diagnostics tests need no binary fixtures). */
import { onnx } from '@aic/onnx';

export interface NodeSpec { op: string; inputs: string[]; outputs: string[]; name?: string; domain?: string; attrs?: Record<string, number | number[]> }
export interface IoSpec { name: string; dtype?: number; shape: (number | string)[] }

export function buildModel(nodes: NodeSpec[], inputs: IoSpec[], outputs: IoSpec[], opset = 13,
  initializers: { name: string; dims: number[]; floats: number[] }[] = []): Uint8Array {
  const vi = (s: IoSpec) => ({
    name: s.name,
    type: { tensorType: { elemType: s.dtype ?? 1, shape: { dim: s.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'aic-tests',
    graph: {
      name: 'g',
      node: nodes.map((n) => ({
        opType: n.op, input: n.inputs, output: n.outputs, name: n.name ?? '', domain: n.domain ?? '',
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => Array.isArray(v)
          ? { name: k, type: onnx.AttributeProto.AttributeType.INTS, ints: v }
          : { name: k, type: onnx.AttributeProto.AttributeType.INT, i: v }),
      })),
      input: inputs.map(vi),
      output: outputs.map(vi),
      initializer: initializers.map((t) => ({ name: t.name, dims: t.dims, dataType: 1, floatData: t.floats })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
