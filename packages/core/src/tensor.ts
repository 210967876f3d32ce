import { checkTensorBytes } from './limits.ts';
import { allocData, castScalar, roundBf16, roundF16, type DType, type NumericArray, type TensorData } from './dtype.ts';

/** A concrete tensor: dtype, static shape, row-major data (storage per dtype.ts). */
export class Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorData;

  constructor(dtype: DType, shape: readonly number[], data?: TensorData) {
    this.dtype = dtype;
    this.shape = shape.slice();
    const n = sizeOf(shape);
    if (data === undefined) {
      checkTensorBytes(dtype, shape, 'tensor'); // before allocating: a named error, not a RangeError
      this.data = allocData(dtype, n);
    } else {
      if (data.length !== n) {
        throw new Error(`tensor data has ${data.length} elements but shape [${shape.join(', ')}] needs ${n}`);
      }
      this.data = data;
    }
  }

  get size(): number { return this.data.length; }
  get rank(): number { return this.shape.length; }

  /** Numeric view of the data (throws for string tensors). */
  get num(): NumericArray {
    if (Array.isArray(this.data)) throw new Error('string tensor has no numeric data');
    return this.data as NumericArray;
  }

  /** Elements as JS numbers (copy). */
  toNumbers(): number[] {
    return Array.from(this.num as ArrayLike<number>);
  }

  /** The single element of a scalar or one-element tensor. */
  scalar(): number {
    if (this.size !== 1) throw new Error(`expected one element, got shape [${this.shape.join(', ')}]`);
    return this.num[0]!;
  }

  reshape(shape: readonly number[]): Tensor {
    return new Tensor(this.dtype, shape, this.data);
  }

  static fromNumbers(dtype: DType, shape: readonly number[], values: ArrayLike<number>): Tensor {
    const t = new Tensor(dtype, shape);
    const d = t.num;
    for (let i = 0; i < values.length; i++) d[i] = castScalar(values[i]!, dtype);
    return t;
  }
  static scalarOf(dtype: DType, v: number): Tensor {
    return Tensor.fromNumbers(dtype, [], [v]);
  }
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]!; }
  return s;
}

/** Round float16/bfloat16 storage in place so stored values are representable. */
export function normalizeInPlace(t: Tensor): void {
  if (t.dtype === 'float16') { const d = t.num; for (let i = 0; i < d.length; i++) d[i] = roundF16(d[i]!); }
  else if (t.dtype === 'bfloat16') { const d = t.num; for (let i = 0; i < d.length; i++) d[i] = roundBf16(d[i]!); }
  else if (t.dtype === 'bool') { const d = t.num; for (let i = 0; i < d.length; i++) d[i] = d[i] ? 1 : 0; }
}

/** Cast a tensor to another dtype with C-like semantics (float->int truncates). */
export function castTensor(t: Tensor, to: DType): Tensor {
  if (t.dtype === to) return t;
  if (to === 'string') {
    return new Tensor('string', t.shape, Array.from(t.num as ArrayLike<number>, (v) => String(v)));
  }
  if (t.dtype === 'string') {
    const out = new Tensor(to, t.shape);
    const src = t.data as string[];
    const d = out.num;
    for (let i = 0; i < src.length; i++) d[i] = castScalar(Number(src[i]), to);
    return out;
  }
  const out = new Tensor(to, t.shape);
  const s = t.num, d = out.num;
  for (let i = 0; i < s.length; i++) d[i] = castScalar(s[i]!, to);
  return out;
}

export function formatShape(shape: readonly (number | string)[] | undefined): string {
  return shape === undefined ? '[?]' : `[${shape.join(', ')}]`;
}

/** A runtime value: a tensor, a sequence of tensors, or an empty optional (null). */
export type RValue = Tensor | Tensor[] | null;
