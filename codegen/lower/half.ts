/**
 * Legalization for 16-bit float buffers (float16/bfloat16 storage, loop-ir half.ts), run on every
 * realized kernel: a store of `cast(x, f32)` into a 16-bit buffer where x is wider than f32 (f64,
 * 32/64-bit integers) stores `cast(x, f64)` instead, so the value is rounded once to the 16-bit
 * format from the double, as the interpreter's Cast does (never through f32).
 * Renderers convert at every load and store, vector ones included (c/half.ts, wasm/half.ts, wgsl/half.ts).
 */
import { isHalfT, mapStmt, type Buffer, type Kernel, type Stmt } from '@aic/loop-ir';

const WIDE = new Set(['f64', 'i32', 'u32', 'i64', 'u64']);

export function legalizeHalf(k: Kernel): Kernel {
  return { ...k, body: legalizeHalfBody(k.body, k.params) };
}

/** legalizeHalf on a kernel body whose buffers are `params` */
export function legalizeHalfBody(body: Stmt, params: readonly Buffer[]): Stmt {
  const half = new Set(params.filter((p) => isHalfT(p.dtype)).map((p) => p.name));
  if (!half.size) return body;
  return mapStmt(body, (e) => e, (s) => {
    if (s.k === 'store' && half.has(s.buf) && s.val.k === 'cast' && s.val.t === 'f32' && WIDE.has(s.val.x.t)) {
      const x = s.val.x;
      return { ...s, val: x.t === 'f64' ? x : { k: 'cast', x, t: 'f64', lanes: x.lanes } };
    }
    return s;
  });
}
