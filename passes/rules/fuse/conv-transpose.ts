/**
 * ConvTranspose as stride-phase convolution (issue 11 item 5), once the `fold` phase has folded
 * BatchNormalization and a bias into it (bn-into-conv, bias-into-conv).
 *
 * A 2-D ConvTranspose with stride s, kernel K, begin pad p (dilation 1) computes, with K padded with
 * zeros up to T*s taps (T = ceil(K/s)) and o + p = q*s + r (0 <= r < s):
 *     Y[o] = sum over t < T of X[q - t] * W[r + s*t]
 * i.e. for each output phase r a stride-1 convolution of X with the flipped sub-kernel
 * V_r[j] = W[r + s*(T-1-j)]. All s*s phases of all M channels are ONE Conv with M*s*s output
 * channels ordered (m, r_h, r_w) (groups stay contiguous, so `group` carries over), its results
 * interleaved by DepthToSpace (CRD, blocksize s) and cropped by a Slice to the ConvTranspose's
 * output: the Conv then runs on the scheduled Conv kernels (GEMM for T = 1, direct/blocked else)
 * instead of the gather loop with s*s*K*K guarded taps per output that ConvTranspose lowers to.
 * An activation right after the ConvTranspose is moved before the (pure data movement)
 * DepthToSpace/Slice, where the epilogue phase fuses it into the Conv.
 *
 * The Conv's begin pad is T-1-lead, lead = min(T-1, floor(p/s)), so the Slice starts at
 * p - lead*s >= 0; its end pad is what it takes for the interleaved result to cover the output
 * (output_padding and K < s give rows that only the bias reaches: the Conv's zero padding makes them).
 */
import { Tensor, type Attr, type Node } from '@aic/core';
import { convTransposeGeometry, getOp, makeAttrReader } from '@aic/ir-spec';
import { P, type Builder, type Match, type Rule, type RuleEnv } from '../../rewrite/pattern.ts';
import { FLOAT_DTYPES, all, dtypeIn, i64, kernel, staticShape, type Guard } from './util.ts';

const FAMILY = 'fuse';

interface Plan {
  N: number; C: number; M: number; group: number; K: [number, number]; s: [number, number];
  T: [number, number]; lead: [number, number]; padEnd: [number, number]; sliceStart: [number, number]; out: [number, number];
}

/** The stride-phase plan of a ConvTranspose node, or why it has none. */
function planOf(ct: Node): Plan | string {
  const x = ct.inputs[0]!, w = ct.inputs[1]?.const, y = ct.outputs[0];
  if (!w) return 'ConvTranspose weights are not constant';
  if (ct.inputs[2] && !ct.inputs[2].const) return 'ConvTranspose bias is not constant';
  if (w.rank !== 4 || x.shape?.length !== 4) return 'not a 2-D ConvTranspose';
  const st = staticShape(x);
  if (st !== true) return st;
  const st2 = staticShape(y);
  if (st2 !== true) return st2;
  const attrs = makeAttrReader(getOp('ConvTranspose', '')!, ct.attrs);
  const [N, C, H, W] = x.shape as number[];
  const K: [number, number] = [w.shape[2], w.shape[3]];
  const g = convTransposeGeometry('ConvTranspose', [H, W], K, attrs, {});
  if (g.dilations.some((d) => d !== 1)) return 'dilated ConvTranspose';
  const group = attrs.int('group');
  const out = g.out as number[], I = [H, W];
  if (out[0] !== y.shape![2] || out[1] !== y.shape![3]) return 'output shape disagrees with the geometry';
  if (g.padBegin.some((p) => !(p >= 0))) return 'negative begin pad';
  const s = g.strides as [number, number];
  const T = [0, 1].map((a) => Math.ceil(K[a] / s[a])) as [number, number];
  const lead = [0, 1].map((a) => Math.min(T[a] - 1, Math.floor(g.padBegin[a] / s[a]))) as [number, number];
  const padEnd = [0, 1].map((a) => Math.max(0, Math.ceil((g.padBegin[a] + out[a]) / s[a]) - I[a])) as [number, number];
  const sliceStart = [0, 1].map((a) => g.padBegin[a] - lead[a] * s[a]) as [number, number];
  return { N, C, M: w.shape[1] * group, group, K, s, T, lead, padEnd, sliceStart, out: out as [number, number] };
}

/** V[(m, rh, rw), c, jh, jw] = W[g*Cg + c, m - g*Mg, rh + s*(T-1-jh), rw + s*(T-1-jw)], zero past K. */
function phaseWeights(w: Tensor, p: Plan): Tensor {
  const [C, Mg, KH, KW] = w.shape, Cg = C / p.group, [sh, sw] = p.s, [TH, TW] = p.T;
  const v = new Tensor(w.dtype, [p.M * sh * sw, Cg, TH, TW]);
  const src = w.num, dst = v.num;
  for (let m = 0; m < p.M; m++) {
    const gi = Math.floor(m / Mg), mm = m - gi * Mg;
    for (let rh = 0; rh < sh; rh++) for (let rw = 0; rw < sw; rw++) {
      const oc = (m * sh + rh) * sw + rw;
      for (let c = 0; c < Cg; c++) for (let jh = 0; jh < TH; jh++) for (let jw = 0; jw < TW; jw++) {
        const kh = rh + sh * (TH - 1 - jh), kw = rw + sw * (TW - 1 - jw);
        if (kh >= KH || kw >= KW) continue;
        dst[((oc * Cg + c) * TH + jh) * TW + jw] = src[(((gi * Cg + c) * Mg + mm) * KH + kh) * KW + kw];
      }
    }
  }
  return v;
}

/** Each of the M biases repeated for the s*s phases of its channel. */
function phaseBias(b: Tensor, p: Plan): Tensor {
  const ss = p.s[0] * p.s[1], v = new Tensor(b.dtype, [p.M * ss]);
  for (let m = 0; m < p.M; m++) for (let k = 0; k < ss; k++) v.num[m * ss + k] = b.num[m];
  return v;
}

/** Conv -> (activation) -> DepthToSpace -> Slice replacing ConvTranspose `ct` (and `act` after it). */
function build(b: Builder, ct: Node, p: Plan, act?: Node) {
  const name = ct.name || 'conv_transpose';
  const ins = [ct.inputs[0], b.constant(phaseWeights(ct.inputs[1]!.const!, p), `${ct.inputs[1]!.name}_phases`)];
  if (ct.inputs[2]) ins.push(b.constant(phaseBias(ct.inputs[2].const!, p), `${ct.inputs[2].name}_phases`));
  const attrs: Record<string, Attr> = {
    kernel_shape: { type: 'ints', value: [...p.T] },
    pads: { type: 'ints', value: [p.T[0] - 1 - p.lead[0], p.T[1] - 1 - p.lead[1], p.padEnd[0], p.padEnd[1]] },
    group: { type: 'int', value: p.group },
  };
  let [y] = b.op('Conv', ins, attrs, { name: `${name}_phases` });
  if (act) [y] = b.op(act.op, [y, ...act.inputs.slice(1)], { ...act.attrs }, { domain: act.domain || undefined, name: act.name || undefined });
  if (p.s[0] > 1) [y] = b.op('DepthToSpace', [y], { blocksize: { type: 'int', value: p.s[0] }, mode: { type: 'string', value: 'CRD' } });
  const full = y.shape as number[];
  if (p.sliceStart[0] === 0 && p.sliceStart[1] === 0 && full[2] === p.out[0] && full[3] === p.out[1]) return [y];
  const starts = b.constant(i64(p.sliceStart), `${name}_crop_starts`);
  const ends = b.constant(i64([p.sliceStart[0] + p.out[0], p.sliceStart[1] + p.out[1]]), `${name}_crop_ends`);
  const axes = b.constant(i64([2, 3]), `${name}_crop_axes`);
  return b.op('Slice', [y, starts, ends, axes], {});
}

function phaseGuard(m: Match, env: RuleEnv): Guard {
  const ct = m.nodes.ct;
  return all(
    () => dtypeIn(ct.outputs[0], FLOAT_DTYPES),
    () => { const p = planOf(ct); return typeof p === 'string' ? p : true; },
    () => { const p = planOf(ct) as Plan; return p.s[0] === p.s[1] ? true : 'strides differ per axis (DepthToSpace takes one blocksize)'; },
    () => kernel(env, 'Conv', ''),
    () => kernel(env, 'DepthToSpace', ''),
    () => kernel(env, 'Slice', ''),
  );
}

/** Elementwise unary activations: they commute with DepthToSpace and Slice (pure data movement). */
const ACTIVATIONS = ['Relu', 'LeakyRelu', 'Clip', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Softplus', 'Mish', 'Gelu'];
/** the activation's parameter inputs (Clip's min/max) are constant scalars */
const actParams = (n: Node) => n.inputs.slice(1).every((v) => !v || (v.const && v.const.size === 1));

const convTransposePhases: Rule = {
  name: 'conv-transpose-phases', family: FAMILY,
  summary: 'ConvTranspose(x, W const) 2-D -> Slice(DepthToSpace(Conv(x, flipped stride-phase sub-kernels)))',
  pattern: P.op('ConvTranspose', undefined, { bind: 'ct' }),
  guard: (m, env) => all(
    () => phaseGuard(m, env),
    () => {
      const u = env.uses(m.nodes.ct.outputs[0]);
      return u.length === 1 && !env.graph.outputs.includes(m.nodes.ct.outputs[0]) && ACTIVATIONS.includes(u[0].op) && u[0].domain === '' && actParams(u[0])
        ? 'left to the form that takes the activation after it' : true;
    },
  ),
  replace: (m, b) => build(b, m.nodes.ct, planOf(m.nodes.ct) as Plan),
};

const convTransposePhasesAct: Rule = {
  name: 'conv-transpose-phases', family: FAMILY,
  summary: 'Act(ConvTranspose(x, W const)) -> Slice(DepthToSpace(Act(Conv(...)))): the activation becomes the Conv\'s epilogue',
  pattern: P.op(ACTIVATIONS, [P.op('ConvTranspose', undefined, { bind: 'ct' })], { bind: 'act' }),
  guard: (m, env) => all(
    () => phaseGuard(m, env),
    () => (actParams(m.nodes.act) ? true : 'activation parameters are not constant scalars'),
  ),
  replace: (m, b) => build(b, m.nodes.ct, planOf(m.nodes.ct) as Plan, m.nodes.act),
};

/** The stride-phase rewrite (its own phase, after folding, before epilogues). */
export const convTransposeRules: Rule[] = [convTransposePhasesAct, convTransposePhases];
