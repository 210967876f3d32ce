/**
 * QDQ compute patterns -> fused integer ops:
 *   QuantizeLinear( [Relu|Clip]( [Add( ., DequantizeLinear(r))]( Conv|MatMul|Gemm(
 *     DequantizeLinear(x_q), DequantizeLinear(w_q const), bias?) ) ) )
 *   -> aic.QConv / aic.QMatMul(x_q, w', bias', multiplier, y_zp[, r_q, r_multiplier, r_zp])
 * The patterns are generated as data (producer x epilogue form); one guard checks what the pattern
 * cannot say (constant per-tensor activations, per-channel weights on the output-channel axis, a bias
 * in accumulator units, int8-representable weights, attributes the fused op covers).
 * An activation between the producer and a residual Add is not fused (the clamp acts on the sum).
 */
import { Tensor, isStatic, type Node, type Value } from '@aic/core';
import { P, type Match, type OpPattern, type Pattern, type Rule, type RuleEnv } from '../../rewrite/pattern.ts';
import { attrInt, kernel, type Guard } from '../fuse/util.ts';
import {
  Q8, biasInts, clampBounds, clipAttrs, constOperands, firstReason, foldWeights, scalarParam, weightParam, wzOperand,
  type Folded, type QParam,
} from './params.ts';

type Producer = 'Conv' | 'MatMul' | 'Gemm';
const FUSED: Record<Producer, string> = { Conv: 'QConv', MatMul: 'QMatMul', Gemm: 'QMatMul' };
const CONV_ATTRS = ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'];

const dq = (bind: string, q: Pattern, s: string, z: string): Pattern =>
  P.op('DequantizeLinear', [q, P.any(s), P.any(z)], { bind, shared: true });

function producer(op: Producer): OpPattern {
  const ins = [dq('dqx', P.any('xq'), 'xs', 'xz'), dq('dqw', P.const('wq'), 'ws', 'wz')];
  return P.op(op, op === 'MatMul' ? ins : [...ins, P.any('b')], { bind: 'core' });
}

/** Every epilogue form around a producer: none, act, residual (both orders), residual then act. */
function forms(op: Producer): { tag: string; pat: Pattern }[] {
  const acts = (inner: Pattern) => [
    P.op('Relu', [inner], { bind: 'act' }),
    P.op('Clip', [inner, P.any('cmin'), P.any('cmax')], { bind: 'act' }),
  ];
  const core = producer(op);
  const r = dq('dqr', P.any('rq'), 'rs', 'rz');
  const adds = [P.op('Add', [core, r], { bind: 'add' }), P.op('Add', [r, core], { bind: 'add' })];
  return [
    { tag: '', pat: core },
    ...acts(core).map((pat) => ({ tag: '+act', pat })),
    ...adds.map((pat) => ({ tag: '+residual', pat })),
    ...adds.flatMap((a) => acts(a)).map((pat) => ({ tag: '+residual+act', pat })),
  ];
}

interface Plan { xq: Value; x: QParam; y: QParam; f: Folded; clip: { lo?: number; hi?: number }; res?: { rq: Value; rm: number; r: QParam } }

const blocked = (n: Node) => attrInt(n, 'block_size', 0) !== 0;

function plan(m: Match, op: Producer, env: RuleEnv): Plan | string {
  const q = m.root, core = m.nodes.core, dqw = m.nodes.dqw, act = m.nodes.act, add = m.nodes.add;
  const xq = m.values.xq, ys = q.inputs[1]!, yz = q.inputs[2] ?? undefined;
  const out = q.outputs[0]!;
  if (!Q8.includes(out.dtype)) return `output dtype ${out.dtype} is not int8/uint8`;
  if (!Q8.includes(xq.dtype)) return `input dtype ${xq.dtype} is not int8/uint8`;
  if (core.outputs[0]!.dtype !== 'float32') return 'the producer is not float32';
  if ([q, m.nodes.dqx, dqw, m.nodes.dqr].some((n) => n && blocked(n))) return 'blocked quantization (block_size)';
  const x = scalarParam(m.values.xs, m.values.xz, xq.dtype);
  const y = scalarParam(ys, yz, out.dtype);
  if (typeof x === 'string') return `x: ${x}`;
  if (typeof y === 'string') return `y: ${y}`;
  if (act?.op === 'Clip' && (act.attrs.min || act.attrs.max)) return 'Clip with min/max attributes (opset < 11)';
  const clip = clampBounds(act ? { op: act.op, min: m.values.cmin, max: m.values.cmax } : undefined, ys, yz);
  if (typeof clip === 'string') return clip;
  let wq = m.consts.wq;
  if (!Q8.includes(wq.dtype)) return `weight dtype ${wq.dtype} is not int8/uint8`;
  let wantAxis = 0, channelAxis: 0 | 1 = 0;
  if (op === 'Conv') {
    if (xq.shape && (xq.shape.length < 3 || xq.shape.length > 5)) return 'Conv rank outside 3..5';
  } else {
    if (wq.shape.length !== 2) return 'weight is not 2-D';
    if (op === 'Gemm') {
      if (attrInt(core, 'transA', 0) !== 0) return 'Gemm transA = 1';
      for (const k of ['alpha', 'beta']) if (core.attrs[k] && core.attrs[k]!.value !== 1) return `Gemm ${k} != 1`;
    }
    const transB = op === 'Gemm' && attrInt(core, 'transB', 0) === 1;
    wantAxis = transB ? 0 : 1;
    channelAxis = 1;
  }
  const wp = weightParam(m.values.ws, m.values.wz, attrInt(dqw, 'axis', 1), wantAxis, wq.shape.length);
  if (typeof wp === 'string') return wp;
  if (wantAxis === 0 && channelAxis === 1) wq = transpose(wq);
  const M = channelAxis === 0 ? wq.shape[0]! : wq.shape[1]!;
  if (wp.scale.length !== 1 && wp.scale.length !== M) return 'weight scale size is not the channel count';
  const bias = biasInts(m.values.b, M, x, wp);
  if (typeof bias === 'string') return bias;
  const f = foldWeights(wq, wp, channelAxis, bias, x, y, op !== 'Conv');
  if (typeof f === 'string') return f;
  let res: Plan['res'];
  if (add) {
    const rq = m.values.rq, r = scalarParam(m.values.rs, m.values.rz, rq.dtype);
    if (typeof r === 'string') return `residual: ${r}`;
    if (rq.dtype !== out.dtype) return `residual dtype ${rq.dtype} differs from the output's ${out.dtype}`;
    if (!isStatic(rq.shape) || !isStatic(out.shape) || rq.shape!.join() !== out.shape!.join()) return 'residual shape differs from the output shape (broadcast)';
    res = { rq, r, rm: Math.fround(r.scale / y.scale) };
  }
  const k = kernel(env, FUSED[op]);
  if (k !== true) return k;
  return { xq, x, y, f, clip, res };
}

function transpose(t: Tensor): Tensor {
  const [R, C] = t.shape as [number, number];
  const o = new Tensor(t.dtype, [C, R]), od = o.num, d = t.num;
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) od[c * R + r] = d[r * C + c]!;
  return o;
}

function rules(): Rule[] {
  const out: Rule[] = [];
  for (const op of ['Conv', 'MatMul', 'Gemm'] as Producer[]) {
    for (const { tag, pat } of forms(op)) {
      out.push({
        name: `qdq-${op.toLowerCase()}`, family: 'fuse-qdq',
        summary: `QuantizeLinear(${op}${tag}(DequantizeLinear(x_q), DequantizeLinear(w_q))) -> aic.${FUSED[op]}`,
        pattern: P.op('QuantizeLinear', [pat, P.const('ys'), P.any('yz')]),
        guard: (m, env): Guard => { const p = plan(m, op, env); return typeof p === 'string' ? p : firstReason(p); },
        replace: (m, b, env) => {
          const p = plan(m, op, env);
          if (typeof p === 'string') return null;
          const ins: (Value | null)[] = [p.xq, ...constOperands(b, p.f, p.y)];
          if (op === 'Conv') ins.push(b.constant(Tensor.scalarOf(p.x.dtype, p.x.zp), 'qxzp'));
          if (p.res) ins.push(p.res.rq, b.constant(Tensor.scalarOf('float32', p.res.rm), 'qrmult'), b.constant(Tensor.scalarOf(p.res.r.dtype, p.res.r.zp), 'qrzp'));
          const wz = wzOperand(b, p.f);
          if (wz) ins.push(...(p.res ? [] : [null, null, null]), wz);
          const core = m.nodes.core;
          const attrs = op === 'Conv' ? Object.fromEntries(CONV_ATTRS.filter((k) => core.attrs[k]).map((k) => [k, core.attrs[k]!])) : {};
          return b.op(FUSED[op], ins, { ...attrs, ...clipAttrs(p.clip) }, { domain: 'aic', name: core.name || undefined });
        },
      });
    }
  }
  return out;
}

/**
 * MatMul|Gemm(DequantizeLinear(x_q), DequantizeLinear(w_q const), bias?) whose float result is not
 * quantized again (a classifier's last Gemm) -> aic.QMatMulF: the int8 product with a float epilogue,
 * f32(acc) * x_scale * w_scale[n] (+ a float bias that is not a multiple of that unit). Not bit-exact
 * with the float reference (the sum is exact in integers, then scaled once): within float tolerance.
 */
function floatPlan(m: Match, op: 'MatMul' | 'Gemm', env: RuleEnv): { xq: Value; f: Folded; fbias?: Tensor } | string {
  const core = m.root, dqw = m.nodes.dqw, xq = m.values.xq;
  if (core.outputs[0]!.dtype !== 'float32') return 'the product is not float32';
  // the quantized forms (qdq-matmul / qdq-gemm: an activation, a residual Add, then QuantizeLinear) come first
  const quantized = (v: Value, depth: number): boolean => env.uses(v).some((n) => n.op === 'QuantizeLinear'
    || (depth > 0 && ['Relu', 'Clip', 'Add'].includes(n.op) && quantized(n.outputs[0]!, depth - 1)));
  if (quantized(core.outputs[0]!, 2)) return 'its result is quantized (qdq-matmul / qdq-gemm)';
  if (!Q8.includes(xq.dtype)) return `input dtype ${xq.dtype} is not int8/uint8`;
  if ([m.nodes.dqx, dqw].some((n) => n && blocked(n))) return 'blocked quantization (block_size)';
  const x = scalarParam(m.values.xs, m.values.xz, xq.dtype);
  if (typeof x === 'string') return `x: ${x}`;
  let wq = m.consts.wq;
  if (!Q8.includes(wq.dtype)) return `weight dtype ${wq.dtype} is not int8/uint8`;
  if (wq.shape.length !== 2) return 'weight is not 2-D';
  if (op === 'Gemm') {
    if (attrInt(core, 'transA', 0) !== 0) return 'Gemm transA = 1';
    for (const k of ['alpha', 'beta']) if (core.attrs[k] && core.attrs[k]!.value !== 1) return `Gemm ${k} != 1`;
  }
  const transB = op === 'Gemm' && attrInt(core, 'transB', 0) === 1;
  const wp = weightParam(m.values.ws, m.values.wz, attrInt(dqw, 'axis', 1), transB ? 0 : 1, 2);
  if (typeof wp === 'string') return wp;
  if (transB) wq = transpose(wq);
  const N = wq.shape[1]!;
  if (wp.scale.length !== 1 && wp.scale.length !== N) return 'weight scale size is not the channel count';
  // a bias in accumulator units joins the integer sum; a float constant bias [N] (or scalar) is added after
  const b = m.values.b;
  let ints = biasInts(b, N, x, wp), fbias: Tensor | undefined;
  if (typeof ints === 'string') {
    const c = b?.const;
    if (!c || c.dtype !== 'float32' || (c.size !== 1 && c.size !== N)) return ints;
    fbias = Tensor.fromNumbers('float32', [N], Array.from({ length: N }, (_, n) => c.num[c.size === 1 ? 0 : n]!));
    ints = undefined;
  }
  // the unit scale: folding with y_scale 1 makes the multiplier f32(f32(x_scale * w_scale) / 1)
  const f = foldWeights(wq, wp, 1, ints, x, { scale: 1, zp: 0, dtype: 'float32' }, true);
  if (typeof f === 'string') return f;
  const k = kernel(env, 'QMatMulF');
  if (k !== true) return k;
  return { xq, f, ...(fbias ? { fbias } : {}) };
}

function floatRules(): Rule[] {
  return (['MatMul', 'Gemm'] as const).map((op): Rule => ({
    name: `qdq-${op.toLowerCase()}-float`, family: 'fuse-qdq',
    summary: `${op}(DequantizeLinear(x_q), DequantizeLinear(w_q)) with a float result -> aic.QMatMulF`,
    pattern: producer(op),
    guard: (m, env): Guard => { const p = floatPlan(m, op, env); return typeof p === 'string' ? p : true; },
    replace: (m, b, env) => {
      const p = floatPlan(m, op, env);
      if (typeof p === 'string') return null;
      const ins: (Value | null)[] = [p.xq, b.constant(p.f.w, 'qw'), b.constant(p.f.bias, 'qbias'), b.constant(p.f.mult, 'qmult'), p.fbias ? b.constant(p.fbias, 'qfbias') : null];
      const wz = wzOperand(b, p.f);
      if (wz) ins.push(wz);
      while (ins.at(-1) === null) ins.pop();
      return b.op('QMatMulF', ins, {}, { domain: 'aic', name: m.root.name || undefined });
    },
  }));
}

export const qdqComputeRules: Rule[] = [...rules(), ...floatRules()];
