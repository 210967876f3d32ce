/**
 * Weight folding: BatchNormalization into the preceding Conv / ConvTranspose / Gemm / MatMul, a constant
 * bias Add into Conv's or ConvTranspose's B or Gemm's C, MatMul + Add into Gemm (2-D) or aic.FusedMatMul's bias (higher rank).
 * New weights are computed here with the ops' reference code (evalConst), in the weights' dtype.
 */
import { Tensor, type Attr, type Node } from '@aic/core';
import { P, type Match, type Rule, type RuleEnv } from '../../rewrite/pattern.ts';
import {
  FOLD_DTYPES, all, bothOrders, broadcastsInto, dtypeIn, evalConst, kernel, onlyUsedBy, staticShape, type Guard,
} from './util.ts';

const FAMILY = 'fuse';

/** BN's per-channel scale s = gamma / sqrt(var + eps) and shift t = beta - mean * s. */
function bnAffine(m: Match): { s: Tensor; t: Tensor } {
  const bn = m.nodes.bn;
  const eps = (bn.attrs.epsilon?.value as number | undefined) ?? 1e-5;
  const c = m.consts;
  const epsT = Tensor.fromNumbers(c.var.dtype, [], [eps]);
  const s = evalConst('Div', [c.scale, evalConst('Sqrt', [evalConst('Add', [c.var, epsT])])]);
  const t = evalConst('Sub', [c.bias, evalConst('Mul', [c.mean, s])]);
  return { s, t };
}

/** BN in inference form with 1-D constant parameters of X's dtype; prod (the node it folds into) feeds only it. */
function bnGuard(m: Match, env: RuleEnv, prod?: Node): Guard {
  const bn = m.nodes.bn;
  return all(
    () => (bn.outputs.length === 1 && !((bn.attrs.training_mode?.value as number | undefined) ?? 0) ? true : 'BatchNormalization in training mode'),
    () => (prod ? onlyUsedBy(env, prod.outputs[0], [bn]) : true),
    () => dtypeIn(bn.outputs[0], FOLD_DTYPES),
    () => (['scale', 'bias', 'mean', 'var'].every((k) => m.consts[k].rank === 1) ? true : 'BatchNormalization parameters are not 1-D'),
    // opset 15 lets scale/bias and mean/var have their own float types; the folded weights keep X's
    () => (['scale', 'bias', 'mean', 'var'].every((k) => m.consts[k].dtype === bn.outputs[0].dtype) ? true : 'BatchNormalization parameters have another dtype than X'),
  );
}

const bnInputs = (prod: ReturnType<typeof P.op>) =>
  [prod, P.const('scale'), P.const('bias'), P.const('mean'), P.const('var')];

/** Conv's output channels are W's axis 0; ConvTranspose's are axis 1 within each group (W is [C, M/group, k...]). */
const outChannels = (conv: Node) => (conv.op === 'Conv' ? conv.inputs[1]!.const!.shape[0] : conv.inputs[1]!.const!.shape[1] * ((conv.attrs.group?.value as number | undefined) ?? 1));

/**
 * W scaled by s per output channel, with Mul's reference semantics: W[m, ...] * s[m] (Conv);
 * ConvTranspose's W [C, M/group, k...] seen as [group, C/group, M/group, k...] times s as [group, 1, M/group, 1...].
 */
function scaleOutputChannels(conv: Node, W: Tensor, s: Tensor): Tensor {
  const ones = (n: number) => new Array<number>(n).fill(1);
  const k = W.shape.slice(2).length;
  if (conv.op === 'Conv') return evalConst('Mul', [W, s.reshape([s.size, ...ones(W.rank - 1)])]);
  const g = (conv.attrs.group?.value as number | undefined) ?? 1, [C, Mg] = W.shape;
  const Wg = W.reshape([g, C / g, Mg, ...W.shape.slice(2)]);
  return evalConst('Mul', [Wg, s.reshape([g, 1, Mg, ...ones(k)])]).reshape(W.shape);
}

const bnIntoConv: Rule = {
  name: 'bn-into-conv', family: FAMILY,
  summary: 'BatchNormalization(Conv|ConvTranspose(x, W, B)) -> Conv|ConvTranspose(x, W * s, (B - mean) * s + beta), s = gamma / sqrt(var + eps) per output channel',
  pattern: P.op('BatchNormalization', bnInputs(P.op(['Conv', 'ConvTranspose'], undefined, { bind: 'conv', shared: true })), { bind: 'bn' }),
  guard: (m, env) => {
    const conv = m.nodes.conv;
    return all(
      () => bnGuard(m, env, conv),
      () => (conv.inputs[1]?.const ? true : `${conv.op} weights are not constant`),
      () => (!conv.inputs[2] || conv.inputs[2].const ? true : `${conv.op} bias is not constant`),
      () => (conv.inputs[1]!.const!.rank >= 3 && outChannels(conv) === m.consts.scale.size ? true : 'channel count differs'),
    );
  },
  replace: (m, b) => {
    const conv = m.nodes.conv;
    const { s, t } = bnAffine(m);
    const W2 = scaleOutputChannels(conv, conv.inputs[1]!.const!, s);
    const B0 = conv.inputs[2]?.const;
    const B2 = B0 ? evalConst('Add', [evalConst('Mul', [B0, s]), t]) : t;
    return b.op(conv.op, [conv.inputs[0], b.constant(W2, `${conv.inputs[1]!.name}_bn`), b.constant(B2, `${conv.name || 'conv'}_bias_bn`)], { ...conv.attrs }, { name: conv.name || undefined });
  },
};

/** Gemm / MatMul as op(A) * op(B) + beta * C with constant B: fold a per-column affine into B and C. */
function gemmAffine(prodA: Node, isGemm: boolean): { transB: number; alpha: number; beta: number } {
  const a = (k: string, d: number) => (isGemm ? ((prodA.attrs[k]?.value as number | undefined) ?? d) : d);
  return { transB: a('transB', 0), alpha: a('alpha', 1), beta: a('beta', 1) };
}

/** C (absent, scalar, [N] or [1, N]) as a [N] row, or undefined when it varies over rows. */
function rowBias(C: Tensor | undefined, N: number, dtype: Tensor['dtype']): Tensor | undefined {
  if (!C) return new Tensor(dtype, [N]);
  if (C.rank === 2 && C.shape[0] !== 1) return undefined;
  return evalConst('Add', [new Tensor(dtype, [N]), C.reshape(C.size === 1 ? [] : [C.size])]);
}

const bnIntoGemm: Rule = {
  name: 'bn-into-gemm', family: FAMILY,
  summary: 'BatchNormalization(Gemm | MatMul 2-D with constant B) -> Gemm with B and C scaled per output column',
  pattern: P.op('BatchNormalization', bnInputs(P.op(['Gemm', 'MatMul'], undefined, { bind: 'mm', shared: true })), { bind: 'bn' }),
  guard: (m, env) => {
    const mm = m.nodes.mm;
    return all(
      () => bnGuard(m, env, mm),
      () => (mm.inputs[1]?.const?.rank === 2 ? true : `${mm.op} B is not a constant matrix`),
      () => (mm.outputs[0].shape?.length === 2 ? true : `${mm.op} result is not 2-D (BatchNormalization's channel axis would not be its columns)`),
      () => (mm.op === 'MatMul' || !mm.inputs[2] || mm.inputs[2].const ? true : 'Gemm C is not constant'),
      () => (mm.op === 'MatMul' || rowBias(mm.inputs[2]?.const, m.consts.scale.size, mm.outputs[0].dtype) ? true : 'Gemm C varies over rows'),
    );
  },
  replace: (m, b) => {
    const mm = m.nodes.mm, isGemm = mm.op === 'Gemm';
    const { transB, alpha, beta } = gemmAffine(mm, isGemm);
    const { s, t } = bnAffine(m);
    const B = mm.inputs[1]!.const!;
    const B2 = evalConst('Mul', [B, transB ? s.reshape([s.size, 1]) : s.reshape([1, s.size])]);
    const C0 = isGemm ? rowBias(mm.inputs[2]?.const, s.size, B.dtype)! : new Tensor(B.dtype, [s.size]);
    const C2 = evalConst('Add', [evalConst('Mul', [evalConst('Mul', [C0, Tensor.fromNumbers(B.dtype, [], [beta])]), s]), t]);
    const attrs: Record<string, Attr> = { ...(isGemm ? mm.attrs : {}), alpha: { type: 'float', value: alpha }, beta: { type: 'float', value: 1 } };
    return b.op('Gemm', [mm.inputs[0], b.constant(B2, `${mm.inputs[1]!.name}_bn`), b.constant(C2, `${mm.name || 'gemm'}_bias_bn`)], attrs, { name: mm.name || undefined });
  },
};

const biasIntoConv: Rule = {
  name: 'bias-into-conv', family: FAMILY,
  summary: 'Add(Conv|ConvTranspose(x, W, B), c) with c constant per channel -> Conv|ConvTranspose(x, W, B + c)',
  pattern: P.op('Add', [P.op(['Conv', 'ConvTranspose'], undefined, { bind: 'conv', shared: true }), P.const('c')], { commutative: true, bind: 'add' }),
  guard: (m, env) => {
    const conv = m.nodes.conv, c = m.consts.c, y = conv.outputs[0];
    return all(
      () => onlyUsedBy(env, y, [m.nodes.add]),
      () => dtypeIn(y, FOLD_DTYPES),
      () => (c.dtype === y.dtype ? true : 'dtype of the bias differs'),
      () => staticShape(y),
      () => (!conv.inputs[2] || conv.inputs[2].const ? true : `${conv.op} bias is not constant`),
      () => {
        const r = y.shape!.length;
        if (c.rank > r) return `bias [${c.shape.join(', ')}] has higher rank than the ${conv.op} result`;
        return c.shape.every((d, i) => d === 1 || (r - c.rank + i === 1 && d === y.shape![1])) ? true : `bias [${c.shape.join(', ')}] is not per channel`;
      },
    );
  },
  replace: (m, b) => {
    const conv = m.nodes.conv, c = m.consts.c, M = conv.outputs[0].shape![1] as number;
    const B0 = conv.inputs[2]?.const ?? new Tensor(c.dtype, [M]);
    const B2 = evalConst('Add', [B0, c.reshape(c.size === 1 ? [] : [M])]);
    return b.op(conv.op, [conv.inputs[0], conv.inputs[1], b.constant(B2, `${conv.name || 'conv'}_bias`)], { ...conv.attrs }, { name: conv.name || undefined });
  },
};

const biasIntoGemm: Rule = {
  name: 'bias-into-gemm', family: FAMILY,
  summary: 'Add(Gemm(A, B), c) -> Gemm(A, B, c) (or C folded with c when both are constant)',
  pattern: P.op('Add', [P.op('Gemm', undefined, { bind: 'mm', shared: true }), P.any('c')], { commutative: true, bind: 'add' }),
  guard: (m, env) => {
    const mm = m.nodes.mm, c = m.values.c, y = mm.outputs[0];
    return all(
      () => onlyUsedBy(env, y, [m.nodes.add]),
      () => dtypeIn(y, FOLD_DTYPES),
      () => (c.dtype === y.dtype ? true : 'dtype of the addend differs'),
      () => staticShape(y),
      () => staticShape(c),
      () => broadcastsInto(c.shape, y.shape),
      () => (!mm.inputs[2] || (mm.inputs[2].const && c.const) ? true : 'Gemm already has a C and the addend is not constant'),
    );
  },
  replace: (m, b) => {
    const mm = m.nodes.mm, c = m.values.c;
    const C0 = mm.inputs[2]?.const;
    let C = c;
    if (C0) {
      const beta = (mm.attrs.beta?.value as number | undefined) ?? 1;
      C = b.constant(evalConst('Add', [evalConst('Mul', [C0, Tensor.fromNumbers(C0.dtype, [], [beta])]), c.const!]), `${mm.name || 'gemm'}_bias`);
    }
    return b.op('Gemm', [mm.inputs[0], mm.inputs[1], C], { ...mm.attrs, beta: { type: 'float', value: 1 } }, { name: mm.name || undefined });
  },
};

const matmulAdd: Rule = {
  name: 'matmul-add', family: FAMILY,
  summary: 'Add(MatMul(A, B), c) -> Gemm(A, B, c) when 2-D, else aic.FusedMatMul(A, B, c); c must not change the shape',
  pattern: P.op('Add', [P.op('MatMul', undefined, { bind: 'mm', shared: true }), P.any('c')], { commutative: true, bind: 'add' }),
  guard: (m, env) => {
    const mm = m.nodes.mm, c = m.values.c, y = mm.outputs[0];
    const twoD = y.shape?.length === 2 && mm.inputs[0]?.shape?.length === 2 && mm.inputs[1]?.shape?.length === 2;
    return all(
      () => onlyUsedBy(env, y, [m.nodes.add]),
      () => dtypeIn(y, FOLD_DTYPES),
      () => (c.dtype === y.dtype ? true : 'dtype of the addend differs'),
      () => staticShape(y),
      () => staticShape(c),
      () => broadcastsInto(c.shape, y.shape),
      () => (twoD ? kernel(env, 'Gemm', '') : kernel(env, 'FusedMatMul')),
    );
  },
  replace: (m, b) => {
    const mm = m.nodes.mm, c = m.values.c, y = mm.outputs[0];
    const twoD = y.shape?.length === 2 && mm.inputs[0]?.shape?.length === 2 && mm.inputs[1]?.shape?.length === 2;
    if (twoD) return b.op('Gemm', [mm.inputs[0], mm.inputs[1], c], {}, { name: mm.name || undefined });
    return b.op('FusedMatMul', [mm.inputs[0], mm.inputs[1], c], {}, { domain: 'aic', name: mm.name || undefined });
  },
};

/**
 * A BatchNormalization no producer took (after a Concat, a pooling, a shared Conv: DenseNet's and
 * pre-activation ResNets' BN -> ReLU -> Conv) -> x * s + t with s, t per channel, shaped [1, C, 1...]:
 * plain elementwise ops the elementwise phase fuses with the activation that follows, and that run
 * channel-blocked at -O3. The BN kernel computed (x - mean) * (gamma / sqrt(var + eps)) + beta in
 * float64 per element, a division and a square root per element where the channel is a vector lane
 * (torchvision densenet121 at 64x64, C -O3: its 62 BN kernels 0.15-0.31 ms each vs 0.01-0.02 at -O2).
 * s and t are rounded to float32 once, as bn-into-conv rounds its weights.
 */
const bnToAffine: Rule = {
  name: 'bn-to-affine', family: FAMILY,
  summary: 'BatchNormalization(x) (inference, constant parameters, no producer to fold into) -> Add(Mul(x, s), t), s = gamma / sqrt(var + eps), t = beta - mean * s per channel',
  pattern: P.op('BatchNormalization', [P.any('x'), P.const('scale'), P.const('bias'), P.const('mean'), P.const('var')], { bind: 'bn' }),
  guard: (m, env) => {
    const x = m.values.x.shape;
    return all(
      () => bnGuard(m, env),
      () => (x && x.length >= 2 ? true : 'X rank unknown or below 2'),
      () => (x![1] === m.consts.scale.size ? true : 'channel count differs or is not static'),
    );
  },
  replace: (m, b) => {
    const { s, t } = bnAffine(m);
    const r = m.values.x.shape!.length;
    const perChannel = (v: Tensor) => v.reshape([1, v.size, ...new Array<number>(r - 2).fill(1)]);
    const name = m.nodes.bn.outputs[0]!.name;
    const [y] = b.op('Mul', [m.values.x, b.constant(perChannel(s), `${name}_bn_scale`)]);
    return b.op('Add', [y!, b.constant(perChannel(t), `${name}_bn_shift`)]);
  },
};

export const foldRules: Rule[] = [bnIntoConv, bnIntoGemm, biasIntoConv, ...bothOrders(biasIntoGemm), ...bothOrders(matmulAdd), bnToAffine];
