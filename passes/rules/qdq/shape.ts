/**
 * QuantizeLinear(op(DequantizeLinear(x, s, z), ...), s, z) -> op(x, ...) for ops that only move or
 * select values (MaxPool, Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat of inputs that all
 * share s and z): they commute with the monotone, elementwise dequantization, and Q(DQ(v)) = v for
 * equal parameters, so the int8 values pass through unchanged. GlobalAveragePool is not here: its
 * mean needs a requantization (rounding) step the QDQ graph does in float.
 */
import type { Node, Value } from '@aic/core';
import { P, type Match, type Pattern, type Rule } from '../../rewrite/pattern.ts';
import { attrInt, type Guard } from '../fuse/util.ts';
import { Q8, scalarParam } from './params.ts';

const MOVERS = ['MaxPool', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze'];

const dq = (i: number): Pattern => P.op('DequantizeLinear', [P.any(`x${i}`), P.any(`s${i}`), P.any(`z${i}`)], { bind: `dq${i}`, shared: true });

function sameParams(m: Match, n: number, rest: number): Guard {
  const q = m.root, out = q.outputs[0]!;
  if (m.nodes.op!.inputs.length > n + rest) return 'an input the pattern does not dequantize';
  if (!Q8.includes(out.dtype)) return `output dtype ${out.dtype} is not int8/uint8`;
  if (attrInt(q, 'block_size', 0) !== 0) return 'blocked quantization';
  const y = scalarParam(q.inputs[1] ?? undefined, q.inputs[2] ?? undefined, out.dtype);
  if (typeof y === 'string') return y;
  for (let i = 0; i < n; i++) {
    const xv = m.values[`x${i}`]!, d: Node = m.nodes[`dq${i}`]!;
    if (attrInt(d, 'block_size', 0) !== 0) return 'blocked quantization';
    const p = scalarParam(m.values[`s${i}`], m.values[`z${i}`], xv.dtype);
    if (typeof p === 'string') return p;
    if (p.scale !== y.scale || p.zp !== y.zp || p.dtype !== y.dtype || xv.dtype !== y.dtype) return 'scales, zero points or dtypes differ';
  }
  const op = m.nodes.op!;
  if (op.op === 'MaxPool' && op.outputs.length > 1) return 'MaxPool with Indices';
  return true;
}

function rules(): Rule[] {
  const out: Rule[] = [];
  const mk = (opName: string, n: number, rest: number) => {
    const ins = [...Array.from({ length: n }, (_, i) => dq(i)), ...Array.from({ length: rest }, (_, i) => P.any(`r${i}`))];
    out.push({
      name: 'qdq-passthrough', family: 'fuse-qdq',
      summary: `QuantizeLinear(${opName}(DequantizeLinear(x, s, z)...), s, z) -> ${opName}(x...)`,
      pattern: P.op('QuantizeLinear', [P.op(opName, ins, { bind: 'op' }), P.any('ys'), P.any('yz')]),
      guard: (m) => sameParams(m, n, rest),
      replace: (m, b) => {
        const op = m.nodes.op!;
        const xs: (Value | null)[] = Array.from({ length: n }, (_, i) => m.values[`x${i}`]!);
        return b.op(op.op, [...xs, ...op.inputs.slice(n)], { ...op.attrs }, { name: op.name || undefined });
      },
    });
  };
  for (const op of MOVERS) mk(op, 1, op === 'Reshape' || op === 'Squeeze' || op === 'Unsqueeze' ? 1 : 0);
  for (let n = 2; n <= 4; n++) mk('Concat', n, 0);
  return out;
}

export const qdqShapeRules: Rule[] = rules();
