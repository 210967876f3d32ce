/** TensorProto <-> Tensor, including raw_data, typed fields and external data files. */
import {
  Tensor, UNSUPPORTED_ONNX_DTYPES, ONNX_DTYPE_CODE, bf16ToFloat, checkTensorBytes, diag, dtypeFromOnnx, elementWidth, halfToFloat,
  readModelData, sizeOf, tensorFromBytes, tensorToBytes, type DType, type RValue,
} from '@aic/core';
import { OptionalProto, SequenceProto, onnx, toNum, type ITensorProto } from './proto.ts';

/** Where a tensor's external data is looked for (and the model, for messages). */
export interface TensorSource {
  /** the folder external data paths resolve in, and must stay in (default: the working directory) */
  baseDir?: string;
  /** the model (or tensor) file */
  file?: string;
}

/** `what` describes the tensor in messages, e.g. "initializer 'w'" (default: its name). */
export function decodeTensor(tp: ITensorProto, src: TensorSource = {}, what?: string): Tensor {
  const code = tp.dataType ?? 0;
  const dtype = dtypeFromOnnx(code);
  /** how messages name it: what the caller says it is, else its own name */
  const label = what ?? (tp.name ? `tensor '${tp.name}'` : 'tensor');
  if (code === 0) throw diag.badTensor(label, 'no element type (data_type is 0/UNDEFINED)');
  if (!dtype) {
    throw diag.unsupportedDtype(label, UNSUPPORTED_ONNX_DTYPES[code] ?? `code ${code}`);
  }
  const shape = (tp.dims ?? []).map(toNum);
  checkTensorBytes(dtype, shape, label); // named, before anything is allocated
  if (tp.segment) throw diag.unsupportedFeature(`segmented ${label}`);
  if (tp.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    if (dtype === 'string') throw diag.badOnnx(src.file ?? '<model>', `${label}: string tensors cannot hold external data`);
    return readExternal(tp, dtype, shape, src, label);
  }
  // compare the data with the dims before allocating: the dims may claim far more than the file holds
  const n = shape.reduce((a, b) => a * b, 1);
  const count = (have: number, unit: string) => {
    if (have !== n) throw new Error(`has ${have} ${unit} for shape [${shape.join(', ')}] (${n} elements)`);
  };
  if (dtype === 'string') {
    const dec = new TextDecoder();
    count(tp.stringData?.length ?? 0, 'strings');
    return new Tensor('string', shape, (tp.stringData ?? []).map((b) => dec.decode(b)));
  }
  if (tp.rawData && tp.rawData.length > 0) {
    if (tp.rawData.length < n * elementWidth(dtype)) count(Math.floor(tp.rawData.length / elementWidth(dtype)), 'values in raw_data');
    return tensorFromBytes(dtype, shape, tp.rawData);
  }
  const [field, conv] = typedField(tp, dtype);
  count(field.length, 'values');
  const t = new Tensor(dtype, shape);
  const d = t.num;
  for (let i = 0; i < d.length; i++) d[i] = conv(field[i]);
  return t;
}

/** The TensorProto field holding a dtype's values when there is no raw_data, and its conversion. */
function typedField(tp: ITensorProto, dtype: DType): [ArrayLike<unknown>, (x: unknown) => number] {
  switch (dtype) {
    case 'float32': return [tp.floatData ?? [], Number];
    case 'float64': return [tp.doubleData ?? [], Number];
    case 'int64': return [tp.int64Data ?? [], toNum];
    case 'uint64': case 'uint32': return [tp.uint64Data ?? [], toNum];
    case 'float16': return [tp.int32Data ?? [], (x) => halfToFloat(Number(x))];
    case 'bfloat16': return [tp.int32Data ?? [], (x) => bf16ToFloat(Number(x))];
    default: return [tp.int32Data ?? [], Number];
  }
}

/** External data (`data_location: EXTERNAL`), read through the one confined reader. */
function readExternal(tp: ITensorProto, dtype: DType, shape: number[], src: TensorSource, what: string): Tensor {
  const kv = new Map((tp.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = kv.get('location') ?? '';
  const loc = src.file ? { file: src.file } : undefined;
  const need = sizeOf(shape) * elementWidth(dtype);
  const bytes = readModelData({ baseDir: src.baseDir ?? process.cwd(), location, what, loc }, kv.get('offset') ?? 0, kv.get('length'), need);
  return tensorFromBytes(dtype, shape, bytes);
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

/**
 * A TensorProto / SequenceProto / OptionalProto .pb file (ONNX test data) to a runtime value;
 * external data resolves in `src.baseDir` (the .pb file's folder).
 */
export function decodeValueFile(bytes: Uint8Array, kind: 'tensor' | 'sequence' | 'optional' = 'tensor', src: TensorSource = {}): RValue {
  if (kind === 'sequence') {
    const s = SequenceProto.decode(bytes) as unknown as { tensorValues?: Uint8Array[] };
    return (s.tensorValues ?? []).map((b) => decodeTensor(onnx.TensorProto.decode(b), src));
  }
  if (kind === 'optional') {
    const o = OptionalProto.decode(bytes) as unknown as { elemType?: number; tensorValue?: Uint8Array; sequenceValue?: Uint8Array };
    if (o.tensorValue && o.tensorValue.length) return decodeTensor(onnx.TensorProto.decode(o.tensorValue), src);
    if (o.sequenceValue && o.sequenceValue.length) return decodeValueFile(o.sequenceValue, 'sequence', src);
    return null;
  }
  return decodeTensor(onnx.TensorProto.decode(bytes), src);
}
