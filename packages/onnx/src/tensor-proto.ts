/** TensorProto <-> Tensor, including raw_data, typed fields and external data files. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Tensor, UNSUPPORTED_ONNX_DTYPES, ONNX_DTYPE_CODE, bf16ToFloat, diag, dtypeFromOnnx, halfToFloat,
  elementWidth, tensorFromBytes, tensorToBytes, type DType, type RValue,
} from '@aic/core';
import { OptionalProto, SequenceProto, onnx, toNum, type ITensorProto } from './proto.ts';

export function decodeTensor(tp: ITensorProto, baseDir?: string, what = 'tensor'): Tensor {
  const code = tp.dataType ?? 0;
  const dtype = dtypeFromOnnx(code);
  const name = tp.name || what;
  if (!dtype) {
    throw diag.unsupportedDtype(`tensor '${name}'`, UNSUPPORTED_ONNX_DTYPES[code] ?? `code ${code}`);
  }
  const shape = (tp.dims ?? []).map(toNum);
  const bad = shape.find((d) => !Number.isSafeInteger(d) || d < 0);
  if (bad !== undefined) throw new Error(`tensor '${name}' has an invalid dim ${bad} in [${shape.join(', ')}]`);
  if (tp.segment) throw diag.unsupportedFeature(`segmented tensor '${name}'`);
  if (tp.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    return readExternal(tp, dtype, shape, baseDir, name);
  }
  // compare the data with the dims before allocating: the dims may claim far more than the file holds
  const n = shape.reduce((a, b) => a * b, 1);
  const count = (have: number, unit: string) => {
    if (have !== n) throw new Error(`tensor '${name}' has ${have} ${unit} for shape [${shape.join(', ')}] (${n} elements)`);
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
  const [src, conv] = typedField(tp, dtype);
  count(src.length, 'values');
  const t = new Tensor(dtype, shape);
  const d = t.num;
  for (let i = 0; i < d.length; i++) d[i] = conv(src[i]);
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
