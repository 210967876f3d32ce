/**
 * Family 'inverse-pairs': a node undone (or composed) by the next one — Transpose pairs, Squeeze /
 * Unsqueeze of the same axes, inverse aic.LayoutConvert pairs, DequantizeLinear -> QuantizeLinear
 * with identical constant parameters. (QuantizeLinear -> DequantizeLinear rounds: never removed.)
 */
import type { DType, Node, Shape, Tensor } from '@aic/core';
import { P, type Match, type Rule } from '../../rewrite/pattern.ts';
import {
  all, allEqual, attrInt, attrInts, attrStr, canForward, isIdentityPerm, isOmitted, normAxis, numbers, staticShape,
  tensorsEqual, type GuardResult,
} from './util.ts';

const FAMILY = 'inverse-pairs';

/** A Transpose's permutation resolved against its input rank (default: reverse). */
function permOf(n: Node, rank: number | undefined): number[] | undefined {
  const p = attrInts(n, 'perm');
  if (p) return rank === undefined ? (p.some((a) => a < 0) ? undefined : p) : p.map((a) => normAxis(a, rank));
  return rank === undefined ? undefined : Array.from({ length: rank }, (_, i) => rank - 1 - i);
}
/** Transpose(Transpose(x, p1), p2) == Transpose(x, q) with q[i] = p1[p2[i]]. */
function composedPerm(m: Match): number[] | string {
  const rank = m.values.x.shape?.length;
  const p1 = permOf(m.nodes.inner, rank), p2 = permOf(m.root, rank ?? attrInts(m.nodes.inner, 'perm')?.length);
  if (!p1 || !p2) return 'permutation rank unknown';
  if (p1.length !== p2.length) return 'permutation ranks differ';
  return p2.map((a) => p1[a]!);
}

/** The set of axes a Squeeze removes from x (explicit constant axes, or the static 1s). */
function squeezedAxes(n: Node, x: Shape): number[] | string {
  if (!x) return 'input rank unknown';
  if (isOmitted(n, 1)) {
    if (!x.every((d) => typeof d === 'number')) return 'squeezes all 1s of a non-static shape';
    return x.flatMap((d, i) => (d === 1 ? [i] : []));
  }
  const a = n.inputs[1]!.const;
  if (!a) return 'axes are not a constant';
  if (a.size === 0) return 'empty axes';
  return numbers(a).map((v) => normAxis(v, x.length)).sort((p, q) => p - q);
}
function unsqueezedAxes(n: Node, outRank: number | undefined): number[] | string {
  const a = n.inputs[1]?.const;
  if (!a) return 'axes are not a constant';
  if (outRank === undefined) return 'rank unknown';
  return numbers(a).map((v) => normAxis(v, outRank)).sort((p, q) => p - q);
}
const sameAxes = (a: number[] | string, b: number[] | string): GuardResult =>
  typeof a === 'string' ? a : typeof b === 'string' ? b : a.join() === b.join() ? true : `axes [${a.join(', ')}] != [${b.join(', ')}]`;

/**
 * DequantizeLinear -> QuantizeLinear is exact when both use the same constant scale and zero point:
 * q = rint(((x - zp) * s) / s) + zp recovers x as long as the two roundings of k * s / s stay below
 * 0.5 for |k| <= the quantized range: float32/float64 scales with 8/16-bit integers, float16 scales
 * with 8-bit integers only; scales must be finite, non-zero and far from overflow / subnormals.
 */
function dqqExact(m: Match): GuardResult {
  const q = m.root, dq = m.nodes.dq;
  const x = m.values.x;
  const qd = q.outputs[0]!.dtype;
  if (qd !== x.dtype) return `quantizes to ${qd}, dequantized ${x.dtype}`;
  const s1 = m.consts.s1, s2 = m.consts.s2;
  if (!tensorsEqual(s1, s2)) return 'scales differ';
  const bits: Partial<Record<DType, number>> = { int8: 8, uint8: 8, int16: 16, uint16: 16 };
  const nb = bits[x.dtype];
  if (!nb) return `quantized type ${x.dtype}`;
  if (!(s1.dtype === 'float32' || s1.dtype === 'float64' || (s1.dtype === 'float16' && nb === 8))) return `${s1.dtype} scale with ${x.dtype}`;
  const [lo, hi] = s1.dtype === 'float16' ? [2 ** -14, 64] : [2 ** -100, 2 ** 100];
  if (!numbers(s1).every((v) => Math.abs(v) >= lo && Math.abs(v) <= hi)) return 'scale is zero, not finite, or too small / large';
  const z1 = dq.inputs[2]?.const, z2 = q.inputs[2]?.const;
  if ((dq.inputs[2] && !z1) || (q.inputs[2] && !z2)) return 'zero point is not a constant';
  const zeroOk = (z: Tensor | undefined, other: Tensor | undefined) => (z ? (other ? tensorsEqual(z, other) : allEqual(z, 0)) : other ? allEqual(other, 0) : true);
  if (!zeroOk(z1, z2)) return 'zero points differ';
  if (attrInt(q, 'block_size', 0) !== attrInt(dq, 'block_size', 0)) return 'block sizes differ';
  if (s1.size > 1 || attrInt(q, 'block_size', 0) !== 0) {
    const r = x.shape?.length;
    if (r === undefined) return 'rank unknown for a per-axis scale';
    if (normAxis(attrInt(q, 'axis', 1), r) !== normAxis(attrInt(dq, 'axis', 1), r)) return 'axes differ';
  }
  return true;
}

export const inversePairRules: Rule[] = [
  {
    name: 'transpose-pair-cancel',
    family: FAMILY,
    summary: 'Transpose(Transpose(x, p1), p2) -> x when p2 undoes p1',
    pattern: P.op('Transpose', [P.op('Transpose', [P.any('x')], { bind: 'inner', shared: true })]),
    guard: (m, env) => {
      const q = composedPerm(m);
      if (typeof q === 'string') return q;
      if (!isIdentityPerm(q)) return `composed permutation [${q.join(', ')}] is not the identity`;
      return canForward(m, env, m.values.x);
    },
    replace: (m) => [m.values.x],
  },
  {
    name: 'transpose-pair-compose',
    family: FAMILY,
    summary: 'Transpose(Transpose(x, p1), p2) -> Transpose(x, p1 o p2)',
    pattern: P.op('Transpose', [P.op('Transpose', [P.any('x')], { bind: 'inner' })]),
    guard: (m) => {
      const q = composedPerm(m);
      if (typeof q === 'string') return q;
      return isIdentityPerm(q) ? 'the pair cancels (transpose-pair-cancel)' : true;
    },
    replace: (m, b) => b.op('Transpose', [m.values.x], { perm: { type: 'ints', value: composedPerm(m) as number[] } }),
  },
  {
    name: 'squeeze-unsqueeze',
    family: FAMILY,
    summary: 'Unsqueeze(Squeeze(x, a), a) -> x',
    pattern: P.op('Unsqueeze', [P.op('Squeeze', [P.any('x')], { bind: 'inner', shared: true })]),
    guard: (m, env) => all(
      () => sameAxes(squeezedAxes(m.nodes.inner, m.values.x.shape), unsqueezedAxes(m.root, m.values.x.shape?.length)),
      () => canForward(m, env, m.values.x),
    ),
    replace: (m) => [m.values.x],
  },
  {
    name: 'unsqueeze-squeeze',
    family: FAMILY,
    summary: 'Squeeze(Unsqueeze(x, a), a) -> x',
    pattern: P.op('Squeeze', [P.op('Unsqueeze', [P.any('x')], { bind: 'inner', shared: true })]),
    guard: (m, env) => all(
      () => {
        const mid = m.nodes.inner.outputs[0]!.shape;
        const ua = unsqueezedAxes(m.nodes.inner, mid?.length);
        if (isOmitted(m.root, 1)) {
          // Squeeze without axes also drops x's own 1s: only when x has none
          const xs = staticShape(m.values.x);
          if (!xs || xs.includes(1)) return 'Squeeze without axes would also remove size-1 dims of x';
          return typeof ua === 'string' ? ua : true;
        }
        return sameAxes(squeezedAxes(m.root, mid), ua);
      },
      () => canForward(m, env, m.values.x),
    ),
    replace: (m) => [m.values.x],
  },
  {
    name: 'layout-convert-pair',
    family: FAMILY,
    summary: 'aic.LayoutConvert(aic.LayoutConvert(x, from = A, to = B), from = B, to = A) -> x',
    pattern: P.op('LayoutConvert', [P.op('LayoutConvert', [P.any('x')], { bind: 'inner', domain: 'aic', shared: true })], { domain: 'aic' }),
    guard: (m, env) => {
      const a = attrStr(m.nodes.inner, 'from', ''), b = attrStr(m.nodes.inner, 'to', '');
      const c = attrStr(m.root, 'from', ''), d = attrStr(m.root, 'to', '');
      if (!a || b !== c || d !== a) return `${a} -> ${b}, ${c} -> ${d} is not a round trip`;
      return canForward(m, env, m.values.x);
    },
    replace: (m) => [m.values.x],
  },
  {
    name: 'dequantize-quantize',
    family: FAMILY,
    summary: 'QuantizeLinear(DequantizeLinear(x, s, zp), s, zp) -> x for identical constant scale / zero point / axis',
    pattern: P.op('QuantizeLinear', [P.op('DequantizeLinear', [P.any('x'), P.const('s1')], { bind: 'dq', shared: true }), P.const('s2')]),
    guard: (m, env) => all(() => dqqExact(m), () => canForward(m, env, m.values.x)),
    replace: (m) => [m.values.x],
  },
];
