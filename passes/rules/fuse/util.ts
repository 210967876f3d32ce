/** Helpers shared by the fusion rules: guards (consumers, dtype, static shapes, kernels) and constant math. */
import { AicError, Node, Tensor, Value, isStatic, type Attr, type Shape } from '@aic/core';
import { evalNode } from '@aic/interp';
import type { Pattern, Rule, RuleEnv } from '../../rewrite/pattern.ts';

export type Guard = true | string;

/** Ops whose result an epilogue (bias, residual, activation) can be fused into. */
export const PRODUCERS = ['Conv', 'Gemm', 'MatMul'];
export const FUSED_OF: Record<string, string> = { Conv: 'FusedConv', Gemm: 'FusedGemm', MatMul: 'FusedMatMul' };
export const BASE_OF: Record<string, string> = { FusedConv: 'Conv', FusedGemm: 'Gemm', FusedMatMul: 'MatMul' };

/** Floating dtypes whose results the fused kernels reproduce exactly. */
export const FLOAT_DTYPES = ['float32', 'float64', 'float16', 'bfloat16'];
/** dtypes for which folding weights at compile time loses no precision. */
export const FOLD_DTYPES = ['float32', 'float64'];

/** `v` feeds only nodes in `by` and is no graph output. */
export function onlyUsedBy(env: RuleEnv, v: Value, by: Node[]): Guard {
  if (env.graph.outputs.includes(v)) return `several consumers: ${v.name} is a graph output`;
  const u = env.uses(v);
  if (u.some((n) => !by.includes(n))) return `several consumers: ${v.name} has ${u.length} consumers`;
  return true;
}

export function dtypeIn(v: Value, allowed: string[]): Guard {
  return allowed.includes(v.dtype) ? true : `dtype ${v.dtype} not supported (${allowed.join(', ')})`;
}

export function staticShape(v: Value): Guard {
  return isStatic(v.shape) ? true : `unknown dim: ${v.name} has shape [${v.shape?.join(', ') ?? '*'}]`;
}

export function kernel(env: RuleEnv, op: string, domain = 'aic'): Guard {
  const t = env.target;
  if (t?.hasKernel && !t.hasKernel(op, domain)) return `no kernel for ${domain ? domain + '.' : ''}${op} on target ${t.name}`;
  return true;
}

/** The first failing guard, or true. */
export function all(...gs: (() => Guard)[]): Guard {
  for (const g of gs) { const r = g(); if (r !== true) return r; }
  return true;
}

/** Broadcasting `addend` onto `shape` leaves `shape` unchanged (unidirectional broadcast). */
export function broadcastsInto(addend: Shape, shape: Shape): Guard {
  if (!isStatic(addend) || !isStatic(shape)) return 'unknown dim: broadcast needs static shapes';
  if (addend.length > shape.length) return `addend [${addend.join(', ')}] has higher rank than [${shape.join(', ')}]`;
  const off = shape.length - addend.length;
  for (let i = 0; i < addend.length; i++) {
    if (addend[i] !== 1 && addend[i] !== shape[off + i]) return `addend [${addend.join(', ')}] does not broadcast into [${shape.join(', ')}]`;
  }
  return true;
}

/** Evaluate an op on constant tensors with its reference semantics (the interpreter's code). */
export function evalConst(op: string, inputs: (Tensor | null)[], attrs: Record<string, Attr> = {}): Tensor {
  const ins = inputs.map((t, i) => {
    if (!t) return null;
    const v = new Value(`c${i}`, { dtype: t.dtype, shape: t.shape.slice() });
    v.const = t;
    return v;
  });
  const out = new Value('r', { dtype: inputs[0]!.dtype, shape: undefined });
  const n = new Node({ op, inputs: ins, outputs: [out], attrs });
  const values = new Map<Value, Tensor>();
  for (const v of ins) if (v) values.set(v, v.const!);
  try {
    return evalNode(n, { values: values as Map<Value, Tensor | Tensor[] | null> })[0] as Tensor;
  } catch (e) {
    if (e instanceof AicError) throw new Error(`fuse: constant ${op} failed: ${e.message}`);
    throw e;
  }
}

export const scalarNear = (want: number, rel = 1e-3) => (t: Tensor) => t.size === 1 && Math.abs(t.num[0] - want) <= rel * Math.abs(want);
export const isScalar = (t: Tensor) => t.size === 1;
export const i64 = (vals: number[]) => Tensor.fromNumbers('int64', [vals.length], vals);
export const attrInt = (n: Node, k: string, dflt: number) => (n.attrs[k]?.value as number | undefined) ?? dflt;
export const attrStr = (n: Node, k: string, dflt: string) => (n.attrs[k]?.value as string | undefined) ?? dflt;

/** A fused producer that already carries an epilogue (activation or residual) takes no further one. */
export function hasEpilogue(n: Node): boolean {
  if (n.domain !== 'aic') return false;
  return attrStr(n, 'activation', '') !== '' || !!n.inputs[3];
}

/**
 * A binary-rooted rule in both operand orders, as two rules. A commutative pattern stops at the first
 * order that matches, so a guard rejecting that order (say, a producer with several consumers) would
 * hide a good match in the other order.
 */
export function bothOrders(r: Rule): Rule[] {
  const p = r.pattern;
  const [a, b] = p.inputs as [Pattern, Pattern];
  return [
    { ...r, pattern: { ...p, commutative: false, inputs: [a, b] } },
    { ...r, pattern: { ...p, commutative: false, inputs: [b, a] } },
  ];
}
