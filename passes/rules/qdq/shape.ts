/**
 * op(DequantizeLinear(x, s, z), ...) -> DequantizeLinear(op(x, ...), s, z) for ops that only move or
 * select values (MaxPool, Reshape, Flatten, Transpose, Squeeze, Unsqueeze, and Concat of inputs that
 * all share one per-tensor s and z): they commute exactly with the monotone elementwise dequantization,
 * and they then move int8 instead of float. Where a QuantizeLinear with the same parameters follows,
 * eliminate-redundant's dequantize-quantize rule (run here too) cancels the pair, so chains like
 * DQ -> MaxPool -> Flatten -> Q keep int8 end to end. GlobalAveragePool is not here: its mean needs
 * a requantization (rounding) step the QDQ graph does in float.
 */
import type { Value } from '@aic/core';
import { P, type Match, type Pattern, type Rule } from '../../rewrite/pattern.ts';
import { inversePairRules } from '../redundant/inverse-pairs.ts';
import { attrInt, type Guard } from '../fuse/util.ts';
import { Q8, scalarParam } from './params.ts';

/** mover -> how many trailing non-data inputs it takes */
const MOVERS: Record<string, number> = { MaxPool: 0, Reshape: 1, Flatten: 0, Transpose: 0, Squeeze: 1, Unsqueeze: 1 };

const dq = (i: number): Pattern => P.op('DequantizeLinear', [P.any(`x${i}`), P.any(`s${i}`), P.any(`z${i}`)], { bind: `dq${i}` });

function sameParams(m: Match, n: number, rest: number): Guard {
  const op = m.root;
  if (op.inputs.length > n + rest) return 'an input the pattern does not dequantize';
  if (op.op === 'MaxPool' && op.outputs.length > 1) return 'MaxPool with Indices';
  let first: { scale: number; zp: number; dtype: string } | undefined;
  for (let i = 0; i < n; i++) {
    const xv = m.values[`x${i}`]!;
    if (!Q8.includes(xv.dtype)) return `dtype ${xv.dtype} is not int8/uint8`;
    if (attrInt(m.nodes[`dq${i}`]!, 'block_size', 0) !== 0) return 'blocked quantization';
    const p = scalarParam(m.values[`s${i}`], m.values[`z${i}`], xv.dtype);
    if (typeof p === 'string') return p;
    first ??= p;
    if (p.scale !== first.scale || p.zp !== first.zp || p.dtype !== first.dtype) return 'inputs have different scales or zero points';
  }
  return true;
}

function rules(): Rule[] {
  const out: Rule[] = [];
  const mk = (opName: string, n: number, rest: number) => {
    const ins = [...Array.from({ length: n }, (_, i) => dq(i)), ...Array.from({ length: rest }, (_, i) => P.any(`r${i}`))];
    out.push({
      name: 'dq-sink', family: 'fuse-qdq',
      summary: `${opName}(DequantizeLinear(x, s, z)...) -> DequantizeLinear(${opName}(x...), s, z)`,
      pattern: P.op(opName, ins),
      guard: (m) => sameParams(m, n, rest),
      replace: (m, b) => {
        const op = m.root, d = m.nodes.dq0!;
        const xs: (Value | null)[] = Array.from({ length: n }, (_, i) => m.values[`x${i}`]!);
        const [moved] = b.op(op.op, [...xs, ...op.inputs.slice(n)], { ...op.attrs }, { name: op.name ? `${op.name}_q` : undefined });
        return b.op('DequantizeLinear', [moved!, ...d.inputs.slice(1)], { ...d.attrs });
      },
    });
  };
  for (const [op, rest] of Object.entries(MOVERS)) mk(op, 1, rest);
  for (let n = 2; n <= 4; n++) mk('Concat', n, 0);
  return out;
}

export const qdqShapeRules: Rule[] = [...rules(), ...inversePairRules.filter((r) => r.name === 'dequantize-quantize')];
