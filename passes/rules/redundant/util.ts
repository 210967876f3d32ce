/** Guards and small helpers shared by the eliminate-redundant rule families. */
import type { Node, Shape, Tensor, Value } from '@aic/core';
import type { Match, RuleEnv } from '../../rewrite/pattern.ts';

export type GuardResult = true | string;

/** The first failing guard, or true. */
export function all(...checks: (() => GuardResult)[]): GuardResult {
  for (const c of checks) {
    const r = c();
    if (r !== true) return r;
  }
  return true;
}

export function attrInt(n: Node, name: string, dflt: number): number {
  const a = n.attrs[name];
  return a && a.type === 'int' ? a.value : dflt;
}
export function attrInts(n: Node, name: string): number[] | undefined {
  const a = n.attrs[name];
  return a && a.type === 'ints' ? a.value : undefined;
}
export function attrStr(n: Node, name: string, dflt: string): string {
  const a = n.attrs[name];
  return a && a.type === 'string' ? a.value : dflt;
}

/** The values of a constant input (undefined when the input is absent). */
export function constInput(n: Node, i: number): Tensor | undefined {
  return n.inputs[i]?.const;
}
export function isOmitted(n: Node, i: number): boolean {
  return n.inputs[i] === undefined || n.inputs[i] === null;
}
export function numbers(t: Tensor): number[] {
  return Array.isArray(t.data) ? [] : t.toNumbers();
}
/** Every element equals v (a string tensor never does). */
export function allEqual(t: Tensor, v: number): boolean {
  if (Array.isArray(t.data)) return false;
  const d = t.num;
  for (let i = 0; i < d.length; i++) if (d[i] !== v) return false;
  return true;
}
export function tensorsEqual(a: Tensor, b: Tensor): boolean {
  if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join()) return false;
  if (Array.isArray(a.data) || Array.isArray(b.data)) return false;
  const x = a.num, y = b.num;
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
  return true;
}

export function isIdentityPerm(p: number[]): boolean {
  return p.every((a, i) => a === i);
}
export function normAxis(a: number, rank: number): number {
  return a < 0 ? a + rank : a;
}

/** `a` and `b` can describe the same tensor: same rank, equal where both dims are static. */
export function shapesCompatible(a: Shape, b: Shape): boolean {
  if (a === undefined || b === undefined) return true;
  return a.length === b.length && a.every((d, i) => typeof d !== 'number' || typeof b[i] !== 'number' || d === b[i]);
}

/**
 * Broadcasting a constant of shape `c` against `x` leaves x's shape unchanged: c is no longer and
 * every aligned dim of c is 1 or the same static size as x's.
 */
export function broadcastsInto(c: readonly number[], x: Shape): GuardResult {
  if (x === undefined) return c.length === 0 ? true : 'operand rank unknown';
  if (c.length > x.length) return `constant [${c.join(', ')}] has a higher rank than the operand [${x.join(', ')}]`;
  for (let i = 0; i < c.length; i++) {
    const cd = c[c.length - 1 - i]!, xd = x[x.length - 1 - i]!;
    if (cd !== 1 && cd !== xd) return `constant [${c.join(', ')}] broadcasts the operand [${x.join(', ')}] to a larger shape`;
  }
  return true;
}

/** Outputs of the root other than the first have no consumers and are not graph outputs. */
export function extraOutputsUnused(n: Node, env: RuleEnv): GuardResult {
  for (const o of n.outputs.slice(1)) {
    if (env.uses(o).length || env.graph.outputs.includes(o)) return `output '${o.name}' is used`;
  }
  return true;
}

/**
 * The root's first output can be replaced by the existing value `to`: same element type and kind,
 * compatible shapes, and when the output is a graph output, `to` can take over its name (it is a
 * node result of this graph that is not itself a graph input or output); otherwise the rewrite would
 * only trade the node for an Identity.
 */
export function canForward(m: Match, env: RuleEnv, to: Value | undefined, from: Value = m.root.outputs[0]!): GuardResult {
  if (!to) return 'no value to forward';
  if (to.kind !== from.kind) return `kind ${to.kind} != ${from.kind}`;
  if (to.dtype !== from.dtype) return `dtype ${to.dtype} != ${from.dtype}`;
  const lt = to.type.layout ?? 'NCHW', lf = from.type.layout ?? 'NCHW';
  if (lt !== lf) return `layout ${lt} != ${lf}`;
  if (!shapesCompatible(to.shape, from.shape)) return `shape [${to.shape?.join(', ')}] != [${from.shape?.join(', ')}]`;
  if (env.graph.outputs.includes(from)) {
    const producedHere = to.producer !== undefined && env.graph.nodes.includes(to.producer);
    if (!producedHere || env.graph.outputs.includes(to) || env.graph.inputs.includes(to)) {
      return `'${from.name}' is a graph output and '${to.name}' cannot take its name (an Identity would remain)`;
    }
  }
  return true;
}

/** Static shape of a value, or undefined. */
export function staticShape(v: Value | null | undefined): number[] | undefined {
  const s = v?.shape;
  return s && s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
}
