/**
 * ConvTranspose as stride-phase convolution (issue 11 item 5), once the `fold` phase has folded
 * BatchNormalization and a bias into it (bn-into-conv, bias-into-conv).
 *
 * A ConvTranspose with stride s, kernel K, begin pad p (dilation 1) computes along each spatial axis,
 * with K padded with zeros up to T*s taps (T = ceil(K/s)) and o + p = q*s + r (0 <= r < s):
 *     Y[o] = sum over t < T of X[q - t] * W[r + s*t]
 * i.e. for each output phase r a stride-1 convolution of X with the flipped sub-kernel
 * V_r[j] = W[r + s*(T-1-j)]. All phases of all M channels are ONE Conv with M*prod(s) output
 * channels ordered (m, r_0, r_1, ...) (groups stay contiguous, so `group` carries over), its results
 * interleaved (DepthToSpace CRD for equal 2-D strides; else Reshape -> Transpose -> Reshape) and
 * cropped by a Slice to the ConvTranspose's output: the Conv then runs on the scheduled Conv kernels
 * (GEMM for T = 1, direct/blocked/Winograd else) instead of the gather loop with prod(K) guarded
 * taps per output that ConvTranspose lowers to. 1-D (audio upsamplers), 2-D and 3-D.
 * An activation right after the ConvTranspose is moved before the (pure data movement)
 * interleave/Slice, where the epilogue phase fuses it into the Conv.
 *
 * The Conv's begin pad is T-1-lead, lead = min(T-1, floor(p/s)), so the Slice starts at
 * p - lead*s >= 0; its end pad is what it takes for the interleaved result to cover the output
 * (output_padding and K < s give positions that only the bias reaches: the Conv's zero padding makes them).
 */
import { Tensor, type Attr, type Node, type Value } from '@aic/core';
import { convTransposeGeometry, getOp, makeAttrReader } from '@aic/ir-spec';
import { P, type Builder, type Match, type Rule, type RuleEnv } from '../../rewrite/pattern.ts';
import { FLOAT_DTYPES, all, dtypeIn, i64, kernel, staticShape, type Guard } from './util.ts';

const FAMILY = 'fuse';
const prod = (a: readonly number[]) => a.reduce((x, y) => x * y, 1);

/** Per spatial axis a: kernel K, stride s, taps per phase T, lead, Conv end pad, Slice start, output size. */
interface Plan {
  N: number; M: number; group: number; K: number[]; s: number[]; T: number[];
  lead: number[]; padEnd: number[]; sliceStart: number[]; out: number[];
}

/** The stride-phase plan of a ConvTranspose node, or why it has none. */
function planOf(ct: Node): Plan | string {
  const x = ct.inputs[0]!, w = ct.inputs[1]?.const, y = ct.outputs[0];
  if (!w) return 'ConvTranspose weights are not constant';
  if (ct.inputs[2] && !ct.inputs[2].const) return 'ConvTranspose bias is not constant';
  const r = x.shape?.length;
  if (r === undefined || r < 3 || r > 5 || w.rank !== r) return 'not a 1-D, 2-D or 3-D ConvTranspose';
  const st = staticShape(x);
  if (st !== true) return st;
  const st2 = staticShape(y);
  if (st2 !== true) return st2;
  const attrs = makeAttrReader(getOp('ConvTranspose', '')!, ct.attrs);
  const xs = x.shape as number[], I = xs.slice(2), K = w.shape.slice(2), n = I.length;
  const g = convTransposeGeometry('ConvTranspose', I, K, attrs, {});
  if (g.dilations.some((d) => d !== 1)) return 'dilated ConvTranspose';
  const group = attrs.int('group');
  const out = g.out as number[];
  if (out.some((o, a) => o !== y.shape![2 + a])) return 'output shape disagrees with the geometry';
  if (g.padBegin.some((p) => !(p >= 0))) return 'negative begin pad';
  const s = g.strides, ax = Array.from({ length: n }, (_, a) => a);
  const T = ax.map((a) => Math.ceil(K[a] / s[a]));
  const lead = ax.map((a) => Math.min(T[a] - 1, Math.floor(g.padBegin[a] / s[a])));
  const padEnd = ax.map((a) => Math.max(0, Math.ceil((g.padBegin[a] + out[a]) / s[a]) - I[a]));
  const sliceStart = ax.map((a) => g.padBegin[a] - lead[a] * s[a]);
  return { N: xs[0], M: w.shape[1] * group, group, K, s, T, lead, padEnd, sliceStart, out };
}

/** Row-major multi-indices of `shape`. */
function* indices(shape: readonly number[]): Generator<number[]> {
  const i = shape.map(() => 0);
  if (shape.some((d) => d === 0)) return;
  for (;;) {
    yield i.slice();
    let a = shape.length - 1;
    while (a >= 0 && ++i[a] === shape[a]) i[a--] = 0;
    if (a < 0) return;
  }
}

/** V[(m, r...), c, j...] = W[g*Cg + c, m - g*Mg, r + s*(T-1-j) per axis], zero past K. */
function phaseWeights(w: Tensor, p: Plan): Tensor {
  const [C, Mg] = w.shape, Cg = C / p.group, ss = prod(p.s), tt = prod(p.T), kk = prod(p.K);
  const v = new Tensor(w.dtype, [p.M * ss, Cg, ...p.T]);
  const src = w.num, dst = v.num;
  const phases = [...indices(p.s)], taps = [...indices(p.T)];
  for (let m = 0; m < p.M; m++) {
    const gi = Math.floor(m / Mg), mm = m - gi * Mg;
    phases.forEach((r, ri) => {
      const oc = m * ss + ri;
      taps.forEach((j, ji) => {
        const k = r.map((ra, a) => ra + p.s[a] * (p.T[a] - 1 - j[a]));
        if (k.some((ka, a) => ka >= p.K[a])) return;
        const kf = k.reduce((f, ka, a) => f * p.K[a] + ka, 0);
        for (let c = 0; c < Cg; c++) dst[(oc * Cg + c) * tt + ji] = src[((gi * Cg + c) * Mg + mm) * kk + kf];
      });
    });
  }
  return v;
}

/** Each of the M biases repeated for the phases of its channel. */
function phaseBias(b: Tensor, p: Plan): Tensor {
  const ss = prod(p.s), v = new Tensor(b.dtype, [p.M * ss]);
  for (let m = 0; m < p.M; m++) for (let k = 0; k < ss; k++) v.num[m * ss + k] = b.num[m];
  return v;
}

/** [N, M*prod(s), U...] -> [N, M, U_0*s_0, ...]: the phases of each channel interleaved. */
function interleave(b: Builder, y: Value, p: Plan, name: string): Value {
  const n = p.s.length, U = (y.shape as number[]).slice(2);
  if (p.s.every((v) => v === 1)) return y;
  if (n === 2 && p.s[0] === p.s[1]) {
    return b.op('DepthToSpace', [y], { blocksize: { type: 'int', value: p.s[0] }, mode: { type: 'string', value: 'CRD' } })[0];
  }
  const split = b.constant(i64([p.N, p.M, ...p.s, ...U]), `${name}_phase_split`);
  const [v] = b.op('Reshape', [y, split], {});
  const perm = [0, 1, ...p.s.flatMap((_, a) => [2 + n + a, 2 + a])];
  const [t] = b.op('Transpose', [v], { perm: { type: 'ints', value: perm } });
  const merged = b.constant(i64([p.N, p.M, ...U.map((u, a) => u * p.s[a])]), `${name}_phase_merge`);
  return b.op('Reshape', [t, merged], {})[0];
}

/** Conv -> (activation) -> interleave -> Slice replacing ConvTranspose `ct` (and `act` after it). */
function build(b: Builder, ct: Node, p: Plan, act?: Node) {
  const name = ct.name || 'conv_transpose', n = p.s.length;
  const ins = [ct.inputs[0], b.constant(phaseWeights(ct.inputs[1]!.const!, p), `${ct.inputs[1]!.name}_phases`)];
  if (ct.inputs[2]) ins.push(b.constant(phaseBias(ct.inputs[2].const!, p), `${ct.inputs[2].name}_phases`));
  const attrs: Record<string, Attr> = {
    kernel_shape: { type: 'ints', value: [...p.T] },
    pads: { type: 'ints', value: [...p.T.map((t, a) => t - 1 - p.lead[a]), ...p.padEnd] },
    group: { type: 'int', value: p.group },
  };
  let [y] = b.op('Conv', ins, attrs, { name: `${name}_phases` });
  if (act) [y] = b.op(act.op, [y, ...act.inputs.slice(1)], { ...act.attrs }, { domain: act.domain || undefined, name: act.name || undefined });
  y = interleave(b, y, p, name);
  const full = (y.shape as number[]).slice(2);
  if (p.sliceStart.every((v) => v === 0) && full.every((d, a) => d === p.out[a])) return [y];
  const axes = Array.from({ length: n }, (_, a) => 2 + a);
  const starts = b.constant(i64(p.sliceStart), `${name}_crop_starts`);
  const ends = b.constant(i64(p.sliceStart.map((v, a) => v + p.out[a])), `${name}_crop_ends`);
  return b.op('Slice', [y, starts, ends, b.constant(i64(axes), `${name}_crop_axes`)], {});
}

function phaseGuard(m: Match, env: RuleEnv): Guard {
  const ct = m.nodes.ct;
  const p = planOf(ct);
  const d2s = typeof p !== 'string' && p.s.length === 2 && p.s[0] === p.s[1];
  return all(
    () => dtypeIn(ct.outputs[0], FLOAT_DTYPES),
    () => (typeof p === 'string' ? p : true),
    () => kernel(env, 'Conv', ''),
    () => (d2s ? kernel(env, 'DepthToSpace', '') : kernel(env, 'Transpose', '')),
    () => kernel(env, 'Slice', ''),
  );
}

/** Elementwise unary activations: they commute with the interleave and the Slice (pure data movement). */
const ACTIVATIONS = ['Relu', 'LeakyRelu', 'Clip', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Softplus', 'Mish', 'Gelu'];
/** the activation's parameter inputs (Clip's min/max) are constant scalars */
const actParams = (n: Node) => n.inputs.slice(1).every((v) => !v || (v.const && v.const.size === 1));

const convTransposePhases: Rule = {
  name: 'conv-transpose-phases', family: FAMILY,
  summary: 'ConvTranspose(x, W const) 1-3-D -> Slice(interleave(Conv(x, flipped stride-phase sub-kernels))), interleave = DepthToSpace or Reshape-Transpose-Reshape',
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
  summary: 'Act(ConvTranspose(x, W const)) -> Slice(interleave(Act(Conv(...)))): the activation becomes the Conv\'s epilogue',
  pattern: P.op(ACTIVATIONS, [P.op('ConvTranspose', undefined, { bind: 'ct' })], { bind: 'act' }),
  guard: (m, env) => all(
    () => phaseGuard(m, env),
    () => (actParams(m.nodes.act) ? true : 'activation parameters are not constant scalars'),
  ),
  replace: (m, b) => build(b, m.nodes.ct, planOf(m.nodes.ct) as Plan, m.nodes.act),
};

/** The stride-phase rewrite (its own phase, after folding, before epilogues). */
export const convTransposeRules: Rule[] = [convTransposePhasesAct, convTransposePhases];
