/**
 * Legalization for 16-bit float buffers (float16/bfloat16 storage, loop-ir half.ts), run on every
 * realized kernel: a store of `cast(x, f32)` into a 16-bit buffer where x is wider than f32 (f64,
 * 32/64-bit integers) stores `cast(x, f64)` instead, so the value is rounded once to the 16-bit
 * format from the double, as the interpreter's Cast does (never through f32).
 * Renderers convert at every load and store, vector ones included (c/half.ts, wasm/half.ts, wgsl/half.ts).
 */
import type { Tensor } from '@aic/core';
import { E, S, isHalfT, mapStmt, numel, roundHalf, walkExpr, walkStmt, type Buffer, type Expr, type HalfType, type ScalarType, type Kernel, type Stmt } from '@aic/loop-ir';

const WIDE = new Set(['f64', 'i32', 'u32', 'i64', 'u64']);

export function legalizeHalf(k: Kernel): Kernel {
  return widenReusedHalf({ ...k, body: legalizeHalfBody(k.body, k.params) });
}

/**
 * CPU targets: a 16-bit input the kernel reads more than twice per element (a conv's or matmul's
 * weights and activations) is converted once into an f32 scratch copy at the kernel's start, and
 * every load reads the copy (the same values: conversions are exact), so inner loops do no
 * conversions. Elementwise kernels keep converting as they load.
 */
export function widenReusedHalf(k: Kernel): Kernel {
  const written = new Set<string>();
  walkStmt(k.body, (s) => { if (s.k === 'store') written.add(s.buf); });
  const cands = k.params.filter((p) => isHalfT(p.dtype) && !written.has(p.name));
  if (!cands.length) return k;
  const reads = new Map<string, number>();
  const count = (e: Expr, mult: number) => walkExpr(e, (x) => { if (x.k === 'load') reads.set(x.buf, (reads.get(x.buf) ?? 0) + mult); });
  const visit = (s: Stmt, mult: number): void => {
    switch (s.k) {
      case 'for': visit(s.body, mult * (s.ext.k === 'const' ? Math.max(1, s.ext.v) : 1)); return;
      case 'store': count(s.idx, mult); count(s.val, mult); return;
      case 'let': count(s.val, mult); visit(s.body, mult); return;
      case 'if': count(s.c, mult); visit(s.then, mult); if (s.else) visit(s.else, mult); return;
      case 'alloc': visit(s.body, mult); return;
      case 'seq': s.body.forEach((b) => visit(b, mult)); return;
      default: return;
    }
  };
  visit(k.body, 1);
  let body = k.body;
  cands.forEach((p, j) => {
    const n = Math.max(1, numel(p.shape));
    if ((reads.get(p.name) ?? 0) <= 2 * n) return;
    const copy: Buffer = { name: `${p.name}_f32`, dtype: 'f32', shape: [n], scope: 'local', role: 'scratch' };
    const v = `aic_hw${j}`;
    const redirected = mapStmt(body, (e) => (e.k === 'load' && e.buf === p.name ? { ...e, buf: copy.name } : e));
    body = S.alloc(copy, S.seq(S.for(v, n, S.store(copy.name, E.v(v), E.load(p.name, E.v(v), 'f32'))), redirected));
  });
  return body === k.body ? k : { ...k, body };
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

/**
 * The storage type of a float32 weight: f16 (else bf16) when every value is exactly a float16 (else
 * a bfloat16), as the weights of an fp16-compressed model are after fold-constants turned their
 * Cast(float16 -> float32) into float32 constants: loads convert exactly, so the results are those of
 * float32 storage, and the artifact and the memory hold 16 bits per weight.
 */
export function weightStorage(t: Tensor, st: ScalarType): ScalarType {
  if (st !== 'f32' || t.size === 0) return st;
  const d = t.num;
  const exact = (h: HalfType) => {
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (!Object.is(roundHalf(v, h), v) && !Number.isNaN(v)) return false;
    }
    return true;
  };
  return exact('f16') ? 'f16' : exact('bf16') ? 'bf16' : st;
}
