/**
 * Recognizers for decomposed standard patterns: LayerNorm -> LayerNormalization, Erf-GELU / tanh-GELU ->
 * Gelu, scaled-dot-product attention -> aic.Attention, ReduceMean over H, W -> GlobalAveragePool, and
 * Slices that partition an axis -> one Split.
 */
import { Tensor, isStatic, type Value } from '@aic/core';
import { replaceAllUses } from '../../graph-utils.ts';
import { P, type Match, type Pattern, type Rule, type RuleEnv } from '../../rewrite/pattern.ts';
import {
  FLOAT_DTYPES, all, attrInt, broadcastsInto, dtypeIn, evalConst, i64, isScalar, kernel, onlyUsedBy,
  scalarNear, staticShape, type Guard,
} from './util.ts';

const FAMILY = 'fuse';

// ---- LayerNorm ------------------------------------------------------------------------------------

/** Reduced axes of a ReduceMean (axes input, keepdims=1): trailing and contiguous -> first axis. */
function trailingAxes(n: Match['root'], rank: number): number | string {
  if (attrInt(n, 'keepdims', 1) !== 1) return 'ReduceMean without keepdims';
  const ax = n.inputs[1]?.const;
  if (!ax) return 'ReduceMean axes are not constant';
  const axes = ax.toNumbers().map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
  if (!axes.length) return 'ReduceMean over no axes';
  if (axes.some((a, i) => a !== rank - axes.length + i)) return `ReduceMean axes [${axes.join(', ')}] are not the trailing axes`;
  return axes[0];
}

const layerNorm = (variance: 'pow' | 'mul'): Rule => ({
  name: 'layernorm', family: FAMILY,
  summary: 'Div(x - mean(x), Sqrt(mean((x - mean(x))^2) + eps)) -> LayerNormalization(x, 1, axis, eps)',
  pattern: P.op('Div', [
    P.op('Sub', [P.any('x'), P.op('ReduceMean', [P.any('x'), P.any('ax1')], { bind: 'rm1' })], { bind: 'sub', shared: true }),
    P.op('Sqrt', [P.op('Add', [
      P.op('ReduceMean', [
        variance === 'pow' ? P.op('Pow', [P.any('d'), P.const('two', scalarNear(2, 0))], { bind: 'sq' })
          : P.op('Mul', [P.any('d'), P.any('d')], { bind: 'sq' }),
        P.any('ax2')], { bind: 'rm2' }),
      P.const('eps', isScalar)], { commutative: true })]),
  ], { bind: 'div' }),
  guard: (m, env) => {
    const x = m.values.x, sub = m.nodes.sub;
    const rank = x.shape?.length;
    return all(
      () => (m.values.d === sub.outputs[0] ? true : 'the squared value is not x - mean(x)'),
      () => onlyUsedBy(env, sub.outputs[0], [m.nodes.sq, m.nodes.div]),
      () => dtypeIn(x, FLOAT_DTYPES),
      () => (rank === undefined ? `unknown dim: rank of ${x.name} unknown` : true),
      () => { const a = trailingAxes(m.nodes.rm1, rank!); return typeof a === 'string' ? a : true; },
      () => { const a = trailingAxes(m.nodes.rm2, rank!); return typeof a === 'string' ? a : true; },
      () => (trailingAxes(m.nodes.rm1, rank!) === trailingAxes(m.nodes.rm2, rank!) ? true : 'the two ReduceMeans reduce different axes'),
      () => staticShape(x),
      () => kernel(env, 'LayerNormalization', ''),
    );
  },
  replace: (m, b) => {
    const x = m.values.x;
    const axis = trailingAxes(m.nodes.rm1, x.shape!.length) as number;
    const norm = (x.shape as number[]).slice(axis);
    const ones = evalConst('Add', [new Tensor(x.dtype, norm), Tensor.fromNumbers(x.dtype, [], [1])]);
    return b.op('LayerNormalization', [x, b.constant(ones, 'layernorm_scale')],
      { axis: { type: 'int', value: axis }, epsilon: { type: 'float', value: m.consts.eps.num[0] } });
  },
});

/** LayerNormalization without bias, then Mul by a constant / Add of a constant: absorb it. */
const lnAffine = (op: 'Mul' | 'Add'): Rule => ({
  name: op === 'Mul' ? 'layernorm-scale' : 'layernorm-bias', family: FAMILY,
  summary: op === 'Mul' ? 'Mul(LayerNormalization(x, s), g) -> LayerNormalization(x, s * g)' : 'Add(LayerNormalization(x, s, B?), c) -> LayerNormalization(x, s, B + c)',
  pattern: P.op(op, [P.op('LayerNormalization', [P.any('x'), P.const('s')], { bind: 'ln', shared: true }), P.const('c')], { commutative: true, bind: 'root' }),
  guard: (m, env) => {
    const ln = m.nodes.ln, y = ln.outputs[0];
    return all(
      () => (ln.outputs.length === 1 ? true : 'LayerNormalization statistics are used'),
      () => onlyUsedBy(env, y, [m.nodes.root]),
      () => (op === 'Mul' && ln.inputs[2] ? 'LayerNormalization already has a bias' : true),
      () => (ln.inputs[2] && !ln.inputs[2].const ? 'LayerNormalization bias is not constant' : true),
      () => dtypeIn(y, FLOAT_DTYPES),
      () => (m.consts.c.dtype === y.dtype ? true : 'dtype differs'),
      () => staticShape(y),
      () => {
        const axis = attrInt(ln, 'axis', -1), r = y.shape!.length;
        const norm = (y.shape as number[]).slice(axis < 0 ? axis + r : axis);
        return broadcastsInto(m.consts.c.shape.slice(), norm);
      },
    );
  },
  replace: (m, b) => {
    const ln = m.nodes.ln, c = m.consts.c;
    if (op === 'Mul') {
      const s = evalConst('Mul', [m.consts.s, c]);
      return b.op('LayerNormalization', [m.values.x, b.constant(s, 'layernorm_scale')], { ...ln.attrs });
    }
    const B = ln.inputs[2]?.const ? evalConst('Add', [ln.inputs[2].const, c]) : c;
    return b.op('LayerNormalization', [m.values.x, ln.inputs[1], b.constant(B, 'layernorm_bias')], { ...ln.attrs });
  },
});

// ---- GELU -----------------------------------------------------------------------------------------

const c = (v: number, bind?: string) => P.const(bind, scalarNear(v));
const mulC = (x: Pattern, v: number) => P.op('Mul', [x, c(v)], { commutative: true });

/** the variants of 0.5 * x * inner, with x bound as 'x' */
function halfTimes(inner: Pattern): Pattern[] {
  const x = P.any('x');
  return [
    P.op('Mul', [P.op('Mul', [x, inner], { commutative: true }), c(0.5)], { commutative: true }),   // (x * inner) * 0.5
    P.op('Mul', [mulC(x, 0.5), inner], { commutative: true }),                                        // (x * 0.5) * inner
    P.op('Mul', [x, mulC(inner, 0.5)], { commutative: true }),                                        // x * (inner * 0.5)
    P.op('Div', [P.op('Mul', [x, inner], { commutative: true }), c(2)]),                              // (x * inner) / 2
  ];
}

const onePlus = (t: Pattern) => P.op('Add', [t, c(1)], { commutative: true });
const erfArgs = [P.op('Div', [P.any('x'), c(Math.SQRT2)]), mulC(P.any('x'), Math.SQRT1_2)];
const cubes = [
  P.op('Pow', [P.any('x'), c(3)]),
  P.op('Mul', [P.any('x'), P.op('Mul', [P.any('x'), P.any('x')])], { commutative: true }),
];
const tanhInner = (cube: Pattern) => mulC(P.op('Add', [P.any('x'), mulC(cube, 0.044715)], { commutative: true }), Math.sqrt(2 / Math.PI));

function geluRules(): Rule[] {
  const rules: Rule[] = [];
  const mk = (pattern: Pattern, approx: 'none' | 'tanh'): Rule => ({
    name: approx === 'none' ? 'gelu-erf' : 'gelu-tanh', family: FAMILY,
    summary: approx === 'none' ? '0.5 * x * (1 + Erf(x / sqrt 2)) -> Gelu(x)' : '0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 x^3))) -> Gelu(x, approximate=tanh)',
    pattern: pattern as Rule['pattern'],
    guard: (m, env) => all(() => dtypeIn(m.values.x, FLOAT_DTYPES), () => kernel(env, 'Gelu', '')),
    replace: (m, b) => b.op('Gelu', [m.values.x], approx === 'tanh' ? { approximate: { type: 'string', value: 'tanh' } } : {}),
  });
  for (const arg of erfArgs) for (const p of halfTimes(onePlus(P.op('Erf', [arg])))) rules.push(mk(p, 'none'));
  for (const cube of cubes) for (const p of halfTimes(onePlus(P.op('Tanh', [tanhInner(cube)])))) rules.push(mk(p, 'tanh'));
  return rules;
}

// ---- attention ------------------------------------------------------------------------------------

function attentionRules(): Rule[] {
  const rules: Rule[] = [];
  const scaleVariants: { at: 'none' | 'q' | 'scores'; div: number; wrapQ: (q: Pattern) => Pattern; wrapS: (s: Pattern) => Pattern }[] = [
    { at: 'q', div: 0, wrapQ: (q) => P.op('Mul', [q, P.const('scale', isScalar)], { commutative: true }), wrapS: (s) => s },
    { at: 'q', div: 1, wrapQ: (q) => P.op('Div', [q, P.const('scale', isScalar)]), wrapS: (s) => s },
    { at: 'scores', div: 0, wrapQ: (q) => q, wrapS: (s) => P.op('Mul', [s, P.const('scale', isScalar)], { commutative: true }) },
    { at: 'scores', div: 1, wrapQ: (q) => q, wrapS: (s) => P.op('Div', [s, P.const('scale', isScalar)]) },
    // last: a scaled form must not be taken as an unscaled one with the scaling inside Q
    { at: 'none', div: 0, wrapQ: (q) => q, wrapS: (s) => s },
  ];
  for (const v of scaleVariants) {
    for (const masked of [false, true]) {
      const scores = v.wrapS(P.op('MatMul', [v.wrapQ(P.any('q')), P.any('k')], { bind: 'qk' }));
      const sm = P.op('Softmax', [masked ? P.op('Add', [scores, P.any('mask')], { commutative: true, bind: 'madd' }) : scores], { bind: 'sm' });
      rules.push({
        name: 'attention', family: FAMILY,
        summary: 'MatMul(Softmax(MatMul(Q, K) scaled [+ mask]), V) -> aic.Attention(Q, K, V, mask)',
        pattern: P.op('MatMul', [sm, P.any('v')], { bind: 'root' }),
        guard: (m, env) => {
          const q = m.values.q, s = m.nodes.qk.outputs[0];
          const r = s.shape?.length;
          return all(
            () => dtypeIn(q, FLOAT_DTYPES),
            () => (r === undefined ? 'unknown dim: rank of the scores unknown' : true),
            () => { const a = attrInt(m.nodes.sm, 'axis', -1); return a === -1 || a === r! - 1 ? true : `Softmax over axis ${a}, not the last`; },
            () => (m.consts.scale && m.consts.scale.dtype !== q.dtype ? 'dtype of the scale differs' : true),
            () => (masked ? (m.values.mask.shape && s.shape && isStatic(s.shape) ? broadcastsInto(m.values.mask.shape, s.shape) : 'unknown dim: mask or scores shape') : true),
            () => kernel(env, 'Attention'),
          );
        },
        replace: (m, b) => b.op('Attention', [m.values.q, m.values.k, m.values.v, ...(masked ? [m.values.mask] : [])], {
          scale: { type: 'float', value: m.consts.scale ? m.consts.scale.num[0] : 1 },
          scale_at: { type: 'string', value: v.at },
          scale_divides: { type: 'int', value: v.div },
        }, { domain: 'aic' }),
      });
    }
  }
  return rules;
}

// ---- GlobalAveragePool ----------------------------------------------------------------------------

const gap: Rule = {
  name: 'reducemean-to-gap', family: FAMILY,
  summary: 'ReduceMean(x, axes = all spatial axes of an N, C, H, W... image, keepdims = 1) -> GlobalAveragePool(x)',
  pattern: P.op('ReduceMean', [P.any('x'), P.const('axes')], { bind: 'rm' }),
  guard: (m, env) => {
    const x = m.values.x, r = x.shape?.length;
    return all(
      () => dtypeIn(x, FLOAT_DTYPES),
      () => (r === undefined ? `unknown dim: rank of ${x.name} unknown` : r < 4 ? `rank ${r}: not an image (N, C, H, W...)` : true),
      () => (attrInt(m.nodes.rm, 'keepdims', 1) === 1 ? true : 'keepdims = 0 (GlobalAveragePool keeps the axes)'),
      () => {
        const axes = m.consts.axes.toNumbers().map((a) => (a < 0 ? a + r! : a)).sort((a, b) => a - b);
        return axes.length === r! - 2 && axes.every((a, i) => a === i + 2) ? true : `axes [${axes.join(', ')}] are not all spatial axes`;
      },
      () => kernel(env, 'GlobalAveragePool', ''),
    );
  },
  replace: (m, b) => b.op('GlobalAveragePool', [m.values.x]),
};

// ---- Slices -> Split ------------------------------------------------------------------------------

interface SliceInfo { node: Match['root']; axis: number; start: number; end: number }

function sliceInfo(n: Match['root'], x: Value): SliceInfo | string {
  const r = x.shape?.length;
  if (r === undefined || !isStatic(x.shape)) return `unknown dim: shape of ${x.name}`;
  const k = (i: number) => n.inputs[i]?.const;
  if (!k(1) || !k(2) || (n.inputs[3] && !k(3)) || (n.inputs[4] && !k(4))) return 'Slice parameters are not constant';
  if (k(1)!.size !== 1 || k(2)!.size !== 1) return 'Slice over several axes';
  if (k(4) && k(4)!.num[0] !== 1) return 'Slice with a step';
  let axis = k(3) ? k(3)!.num[0] : 0;
  if (axis < 0) axis += r;
  const dim = x.shape[axis] as number;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
  return { node: n, axis, start: clamp(k(1)!.num[0]), end: clamp(k(2)!.num[0]) };
}

/** The slices of x on the same axis that tile it exactly, in order, or why not. */
function partition(m: Match, env: RuleEnv): SliceInfo[] | string {
  const x = m.values.x;
  const me = sliceInfo(m.root, x);
  if (typeof me === 'string') return me;
  const sibs = env.uses(x).filter((n) => n.op === 'Slice' && n.domain === '' && n.inputs[0] === x)
    .map((n) => sliceInfo(n, x)).filter((s): s is SliceInfo => typeof s !== 'string' && s.axis === me.axis && s.end > s.start)
    .sort((a, b) => a.start - b.start);
  if (sibs.length < 2) return 'no sibling Slices to merge';
  const dim = x.shape![me.axis] as number;
  let at = 0;
  for (const s of sibs) { if (s.start !== at) return 'the Slices do not tile the axis'; at = s.end; }
  if (at !== dim) return 'the Slices do not cover the axis';
  if (sibs.some((s) => env.graph.outputs.includes(s.node.outputs[0]))) return 'a Slice result is a graph output';
  return sibs;
}

const slicesToSplit: Rule = {
  name: 'slices-to-split', family: FAMILY,
  summary: 'Slices of x that tile one axis -> one Split(x) with all the parts',
  pattern: P.op('Slice', [P.any('x')]),
  guard: (m, env): Guard => {
    const p = partition(m, env);
    return typeof p === 'string' ? p : kernel(env, 'Split', '');
  },
  replace: (m, b, env) => {
    const parts = partition(m, env) as SliceInfo[];
    const outs = b.op('Split', [m.values.x, b.constant(i64(parts.map((s) => s.end - s.start)), 'split_sizes')],
      { axis: { type: 'int', value: parts[0].axis } }, { outputs: parts.length });
    parts.forEach((s, i) => { if (s.node !== m.root) replaceAllUses(env.graph, s.node.outputs[0], outs[i]); });
    return [outs[parts.findIndex((s) => s.node === m.root)]];
  },
};

export const patternRules: Rule[] = [
  layerNorm('pow'), layerNorm('mul'), lnAffine('Mul'), lnAffine('Add'),
  ...geluRules(), ...attentionRules(), gap, slicesToSplit,
];
