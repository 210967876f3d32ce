/**
 * Imported quantized ops -> the same fused integer ops, bit-exact:
 *   QLinearConv(x, xs, xz, w, ws, wz, ys, yz, B?)  -> aic.QConv   (w - wz as int8, B - xz * sum(w - wz))
 *   QLinearMatMul(a, as, az, b, bs, bz, ys, yz)     -> aic.QMatMul (b a 2-D constant)
 * Both use f32(f32(x_scale * w_scale) / y_scale) as the multiplier, as the fused ops do, and the
 * integer accumulator is the same number, so results are identical.
 */
import { Tensor, type Value } from '@aic/core';
import { P, type Match, type Rule, type RuleEnv } from '../../rewrite/pattern.ts';
import { kernel, type Guard } from '../fuse/util.ts';
import { Q8, constOperands, firstReason, foldWeights, scalarParam, weightParam, wzOperand, type Folded, type QParam } from './params.ts';

interface Plan { x: QParam; y: QParam; f: Folded }

function plan(m: Match, env: RuleEnv, conv: boolean): Plan | string {
  const n = m.root, [xq, xs, xz, wq, ws, wz, ys, yz, B] = n.inputs;
  const out = n.outputs[0]!;
  if (!xq || !Q8.includes(xq.dtype)) return 'x is not int8/uint8';
  const x = scalarParam(xs ?? undefined, xz ?? undefined, xq.dtype);
  const y = scalarParam(ys ?? undefined, yz ?? undefined, out.dtype);
  if (typeof x === 'string') return `x: ${x}`;
  if (typeof y === 'string') return `y: ${y}`;
  if (!wq?.const) return 'weights are not constant';
  if (!conv && wq.const.shape.length !== 2) return 'b is not 2-D';
  const wp = weightParam(ws ?? undefined, wz ?? undefined, conv ? 0 : 1, conv ? 0 : 1, wq.const.shape.length);
  if (typeof wp === 'string') return wp;
  let bias: number[] | undefined;
  if (B) {
    if (!B.const) return 'B is not constant';
    bias = Array.from(B.const.num);
  }
  const f = foldWeights(wq.const, wp, conv ? 0 : 1, bias, x, y, !conv);
  if (typeof f === 'string') return f;
  const k = kernel(env, conv ? 'QConv' : 'QMatMul');
  return k === true ? { x, y, f } : k;
}

function rule(op: string, conv: boolean): Rule {
  return {
    name: `qlinear-${conv ? 'conv' : 'matmul'}`, family: 'fuse-qdq',
    summary: `${op} with constant weights and parameters -> aic.${conv ? 'QConv' : 'QMatMul'} (bit-exact)`,
    pattern: P.op(op, [P.any('x')]),
    guard: (m, env): Guard => firstReason(plan(m, env, conv)),
    replace: (m, b, env) => {
      const p = plan(m, env, conv);
      if (typeof p === 'string') return null;
      const n = m.root;
      const ins: Value[] = [n.inputs[0]!, ...constOperands(b, p.f, p.y)];
      if (conv) ins.push(b.constant(Tensor.scalarOf(p.x.dtype, p.x.zp), 'qxzp'));
      const wz = wzOperand(b, p.f);
      const all: (Value | null)[] = wz ? [...ins, null, null, null, wz] : ins;
      const attrs = conv ? n.attrs : {};
      return b.op(conv ? 'QConv' : 'QMatMul', all, { ...attrs, zp_before_round: { type: 'int', value: 1 } }, { domain: 'aic', name: n.name || undefined });
    },
  };
}

export const qlinearRules: Rule[] = [rule('QLinearConv', true), rule('QLinearMatMul', false)];
