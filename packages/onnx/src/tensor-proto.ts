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
  const name = tp.name || what || 'tensor';
  if (code === 0) throw diag.badTensor(`tensor '${name}'`, 'no element type (data_type is 0/UNDEFINED)');
  if (!dtype) {
    throw diag.unsupportedDtype(`tensor '${name}'`, UNSUPPORTED_ONNX_DTYPES[code] ?? `code ${code}`);
  }
  const shape = (tp.dims ?? []).map(toNum);
  checkTensorBytes(dtype, shape, `tensor '${name}'`); // named, before anything is allocated
  if (tp.segment) throw diag.unsupportedFeature(`segmented tensor '${name}'`);
  if (tp.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    if (dtype === 'string') throw diag.badOnnx(src.file ?? '<model>', `${what ?? `tensor '${name}'`}: string tensors cannot hold external data`);
    return readExternal(tp, dtype, shape, src, what ?? `tensor '${name}'`);
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
