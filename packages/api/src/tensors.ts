/** Tensors handed to the API (feeds, constant inputs) as aic's Tensor: checked, converted, never trusted. */
import { SHORT_NAME, Tensor, diag, sizeOf, type DType } from '@aic/core';

export interface TensorInitLike { dtype: string; shape: readonly number[]; data: ArrayLike<number> | ArrayLike<bigint> | readonly string[] }

/** `x` as a Tensor; `what` names it in errors ("feed 'input'"). */
export function toTensor(x: unknown, what: string): Tensor {
  if (x instanceof Tensor) return x;
  const t = x as Partial<TensorInitLike> | null;
  if (!t || typeof t !== 'object' || typeof t.dtype !== 'string' || !Array.isArray(t.shape) || t.data === undefined || typeof t.data !== 'object') {
    throw diag.apiBadTensor(what, 'expected a Tensor or { dtype, shape, data }');
  }
  const dtype = t.dtype as DType;
  if (!(dtype in SHORT_NAME)) throw diag.apiBadTensor(what, `unknown dtype '${t.dtype}'`);
  if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw diag.apiBadTensor(what, `shape [${t.shape.join(', ')}] must be non-negative integers`);
  const n = sizeOf(t.shape);
  if (t.data.length !== n) throw diag.apiBadTensor(what, `data has ${t.data.length} elements but shape [${t.shape.join(', ')}] needs ${n}`);
  if (dtype === 'string') {
    const s = Array.from(t.data as ArrayLike<unknown>);
    if (!s.every((v) => typeof v === 'string')) throw diag.apiBadTensor(what, 'a string tensor needs string elements');
    return new Tensor('string', t.shape, s as string[]);
  }
  const nums = Array.from(t.data as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : v));
  if (!nums.every((v) => typeof v === 'number')) throw diag.apiBadTensor(what, `a ${dtype} tensor needs numeric elements`);
  return Tensor.fromNumbers(dtype, t.shape, nums as number[]);
}

export function toTensorMap(x: Record<string, unknown> | Map<string, unknown> | undefined, what: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  if (x === undefined) return out;
  const entries = x instanceof Map ? [...x] : Object.entries(x);
  for (const [k, v] of entries) out.set(k, toTensor(v, `${what} '${k}'`));
  return out;
}
