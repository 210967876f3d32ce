/**
 * float16 / bfloat16 variants of an ONNX model, built in the tests (no binary fixtures):
 * - 'weights': every float32 initializer stored as 16-bit and followed by a Cast back to float32
 *   (as fp16-compressed models ship: half the download, float32 activations);
 * - 'all': the whole model in 16 bits (initializers, inputs, outputs and every activation).
 */
import { loadOnnx, onnx } from '@aic/onnx';
import type { INodeProto, ITensorProto } from '../packages/onnx/src/proto.ts';
import { halfBits, halfValue } from '@aic/loop-ir';
import type { Graph, Tensor } from '@aic/core';
import { buildModel } from './onnx-builder.ts';

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
    // Constant nodes' float tensors (Clip bounds...) too
    for (const n of g.node) {
      for (const a of n.attribute ?? []) {
        if (n.opType === 'Constant' && a.t && a.t.dataType === FLOAT) { const v = floatsOf(a.t); a.t.dataType = elem; a.t.floatData = []; a.t.rawData = halfRaw(v, bf16); }
      }
    }
    for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) {
      if (v.type?.tensorType?.elemType === FLOAT) v.type.tensorType.elemType = elem;
    }
  }
  return onnx.ModelProto.encode(m).finish();
}

/** f32 values around every float16 rounding boundary: midpoints between neighbours, and one f32 ulp either side */
export function f16Boundaries(): number[] {
  const out: number[] = [0, -0, Infinity, -Infinity, NaN, 65504, 65519, 65520, 65536, 1e30, -1e-30, 2 ** -25, 2 ** -24, 3 * 2 ** -26, 2 ** -149];
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let b = 0; b < 0x7c00; b += 7) {
    const mid = (halfValue(b, 'f16') + halfValue(b + 1, 'f16')) / 2;
    f[0] = mid; const m = u[0];
    for (const d of [-1, 0, 1]) { u[0] = m + d; out.push(f[0], -f[0]); }
  }
  return out;
}

/** a one-node model: y = Cast(x) from ONNX type `from` to `to` */
export function castModel(from: number, to: number, n: number): Graph {
  return loadOnnx(buildModel([{ op: 'Cast', inputs: ['x'], outputs: ['y'], attrs: { to } }], [{ name: 'x', dtype: from, shape: [n] }], [{ name: 'y', dtype: to, shape: [n] }]));
}

/** first element whose value differs (NaN equals NaN, -0 differs from 0) */
export function sameBits(got: Tensor, want: Tensor): string | undefined {
  for (let i = 0; i < want.size; i++) {
    const a = got.num[i], b = want.num[i];
    if (!(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)))) return `[${i}] got ${a} want ${b}`;
  }
  return undefined;
}

/** worst |got - want| beyond atol + rtol |want| (<= 0 within tolerance) */
export function excess(got: Tensor, want: Tensor, rtol: number, atol: number): number {
  let worst = -Infinity;
  for (let i = 0; i < want.size; i++) worst = Math.max(worst, Math.abs(got.num[i] - want.num[i]) - (atol + rtol * Math.abs(want.num[i])));
  return Number.isNaN(worst) ? Infinity : worst;
}
