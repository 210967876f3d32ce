/** TensorProto <-> Tensor, including raw_data, typed fields and external data files. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Tensor, UNSUPPORTED_ONNX_DTYPES, ONNX_DTYPE_CODE, bf16ToFloat, checkTensorBytes, diag, dtypeFromOnnx, halfToFloat,
  tensorFromBytes, tensorToBytes, type DType, type RValue,
} from '@aic/core';
import { OptionalProto, SequenceProto, onnx, toNum, type ITensorProto } from './proto.ts';

export function decodeTensor(tp: ITensorProto, baseDir?: string, what = 'tensor'): Tensor {
  const code = tp.dataType ?? 0;
  const dtype = dtypeFromOnnx(code);
  const name = tp.name || what;
  if (code === 0) throw diag.badTensor(`tensor '${name}'`, 'no element type (data_type is 0/UNDEFINED)');
  if (!dtype) {
    throw diag.unsupportedDtype(`tensor '${name}'`, UNSUPPORTED_ONNX_DTYPES[code] ?? `code ${code}`);
  }
  const shape = (tp.dims ?? []).map(toNum);
  checkTensorBytes(dtype, shape, `tensor '${name}'`); // named, before anything is allocated
  if (tp.segment) throw diag.unsupportedFeature(`segmented tensor '${name}'`);
  if (tp.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    return readExternal(tp, dtype, shape, baseDir, name);
  }
  if (dtype === 'string') {
    const dec = new TextDecoder();
    return new Tensor('string', shape, (tp.stringData ?? []).map((b) => dec.decode(b)));
  }
  if (tp.rawData && tp.rawData.length > 0) {
    return tensorFromBytes(dtype, shape, tp.rawData);
  }
  const t = new Tensor(dtype, shape);
  const d = t.num;
  const fill = (src: ArrayLike<unknown>, conv: (x: unknown) => number) => {
    if (src.length !== d.length) {
      throw new Error(`tensor '${name}' has ${src.length} values for shape [${shape.join(', ')}]`);
    }
    for (let i = 0; i < d.length; i++) d[i] = conv(src[i]);
  };
  switch (dtype) {
    case 'float32': fill(tp.floatData ?? [], Number); break;
    case 'float64': fill(tp.doubleData ?? [], Number); break;
    case 'int64': fill(tp.int64Data ?? [], toNum); break;
    case 'uint64': fill(tp.uint64Data ?? [], toNum); break;
    case 'uint32': fill(tp.uint64Data ?? [], toNum); break;
    case 'float16': fill(tp.int32Data ?? [], (x) => halfToFloat(Number(x))); break;
    case 'bfloat16': fill(tp.int32Data ?? [], (x) => bf16ToFloat(Number(x))); break;
    default: fill(tp.int32Data ?? [], Number);
  }
  return t;
}

function readExternal(tp: ITensorProto, dtype: DType, shape: number[], baseDir: string | undefined, name: string): Tensor {
  const kv = new Map((tp.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const loc = kv.get('location');
  if (!loc) throw diag.badOnnx(name, `external tensor '${name}' has no location`);
  const file = path.resolve(baseDir ?? '.', loc);
  if (!fs.existsSync(file)) throw diag.missingWeights(file, { node: name });
  const buf = fs.readFileSync(file);
  const offset = Number(kv.get('offset') ?? 0);
  const length = kv.has('length') ? Number(kv.get('length')) : buf.length - offset;
  if (offset + length > buf.length) throw diag.weightsOutOfRange(file, offset, length, buf.length, { node: name });
  return tensorFromBytes(dtype, shape, new Uint8Array(buf.buffer, buf.byteOffset + offset, length));
}

export function encodeTensor(t: Tensor, name = ''): ITensorProto {
  const tp: ITensorProto = { name, dataType: ONNX_DTYPE_CODE[t.dtype], dims: t.shape.slice() };
  if (t.dtype === 'string') {
    const enc = new TextEncoder();
    tp.stringData = (t.data as string[]).map((s) => enc.encode(s));
  } else {
    tp.rawData = tensorToBytes(t);
  }
  return tp;
}

/** A TensorProto / SequenceProto / OptionalProto .pb file (ONNX test data) to a runtime value. */
export function decodeValueFile(bytes: Uint8Array, kind: 'tensor' | 'sequence' | 'optional' = 'tensor'): RValue {
  if (kind === 'sequence') {
    const s = SequenceProto.decode(bytes) as unknown as { tensorValues?: Uint8Array[] };
    return (s.tensorValues ?? []).map((b) => decodeTensor(onnx.TensorProto.decode(b)));
  }
  if (kind === 'optional') {
    const o = OptionalProto.decode(bytes) as unknown as { elemType?: number; tensorValue?: Uint8Array; sequenceValue?: Uint8Array };
    if (o.tensorValue && o.tensorValue.length) return decodeTensor(onnx.TensorProto.decode(o.tensorValue));
    if (o.sequenceValue && o.sequenceValue.length) return decodeValueFile(o.sequenceValue, 'sequence');
    return null;
  }
  return decodeTensor(onnx.TensorProto.decode(bytes));
}
