/**
 * float16 / bfloat16 variants of an ONNX model, built in the tests (no binary fixtures):
 * - 'weights': every float32 initializer stored as 16-bit and followed by a Cast back to float32
 *   (as fp16-compressed models ship: half the download, float32 activations);
 * - 'all': the whole model in 16 bits (initializers, inputs, outputs and every activation).
 */
import { onnx } from '@aic/onnx';
import type { INodeProto, ITensorProto } from '../packages/onnx/src/proto.ts';
import { halfBits } from '@aic/loop-ir';

const FLOAT = 1, FLOAT16 = 10, BFLOAT16 = 16;

function floatsOf(t: ITensorProto): number[] {
  if (t.floatData && t.floatData.length) return Array.from(t.floatData);
  const raw = t.rawData!;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Array.from({ length: raw.byteLength / 4 }, (_, i) => dv.getFloat32(4 * i, true));
}

/** the 16-bit bit patterns (little-endian raw data) of float values */
export function halfRaw(values: ArrayLike<number>, bf16 = false): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) dv.setUint16(2 * i, halfBits(values[i], bf16 ? 'bf16' : 'f16'), true);
  return out;
}

export function toHalfModel(bytes: Uint8Array, mode: 'weights' | 'all', bf16 = false): Uint8Array {
  const elem = bf16 ? BFLOAT16 : FLOAT16;
  const m = onnx.ModelProto.decode(bytes);
  const g = m.graph!;
  const casts: INodeProto[] = [];
  for (const t of g.initializer ?? []) {
    if (t.dataType !== FLOAT) continue;
    const v = floatsOf(t);
    t.dataType = elem;
    t.floatData = [];
    t.rawData = halfRaw(v, bf16);
    if (mode === 'weights') {
      const orig = t.name!;
      t.name = `${orig}_h`;
      casts.push({ opType: 'Cast', input: [t.name], output: [orig], name: `cast_${orig}`, attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }] });
    }
  }
  g.node = [...casts, ...(g.node ?? [])];
  if (mode === 'all') {
    for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) {
      if (v.type?.tensorType?.elemType === FLOAT) v.type.tensorType.elemType = elem;
    }
  }
  return onnx.ModelProto.encode(m).finish();
}
