/** The ONNX protobuf schema (onnx-proto) plus the data messages it lacks (SequenceProto, OptionalProto). */
import onnxProto from 'onnx-proto';
import protobuf from 'protobufjs';

export const onnx = onnxProto.onnx;
export type IModelProto = onnxProto.onnx.IModelProto;
export type IGraphProto = onnxProto.onnx.IGraphProto;
export type INodeProto = onnxProto.onnx.INodeProto;
export type ITensorProto = onnxProto.onnx.ITensorProto;
export type IAttributeProto = onnxProto.onnx.IAttributeProto;
export type ITypeProto = onnxProto.onnx.ITypeProto;
export type IValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** int64 fields decode as Long objects; convert to JS numbers. */
export function toNum(x: unknown): number {
  if (x === null || x === undefined) return 0;
  if (typeof x === 'number') return x;
  if (typeof x === 'string') return Number(x);
  const l = x as { toNumber?: () => number };
  return l.toNumber ? l.toNumber() : Number(x);
}

const dataRoot = protobuf.Root.fromJSON({
  nested: {
    onnxdata: {
      nested: {
        SequenceProto: {
          fields: {
            name: { type: 'string', id: 1 },
            elemType: { type: 'int32', id: 2 },
            tensorValues: { rule: 'repeated', type: 'bytes', id: 3 },
            sequenceValues: { rule: 'repeated', type: 'bytes', id: 5 },
            optionalValue: { type: 'bytes', id: 7 },
          },
        },
        OptionalProto: {
          fields: {
            name: { type: 'string', id: 1 },
            elemType: { type: 'int32', id: 2 },
            tensorValue: { type: 'bytes', id: 3 },
            sequenceValue: { type: 'bytes', id: 5 },
          },
        },
      },
    },
  },
});
export const SequenceProto = dataRoot.lookupType('onnxdata.SequenceProto');
export const OptionalProto = dataRoot.lookupType('onnxdata.OptionalProto');
