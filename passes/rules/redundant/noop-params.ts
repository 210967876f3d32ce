/**
 * Family 'noop-params': ops whose parameters make them do nothing — Cast to the input's type,
 * Reshape/Expand/Slice/Pad/Tile/Squeeze/Unsqueeze that keep the shape and data, identity Transpose,
 * 1x1 stride-1 unpadded pooling (and global pooling over 1x1), same-layout conversion. Replaced by
 * the input. Shapes are compared statically; symbolic dims only count where the op provably keeps
 * them (a Reshape entry 0 copies the dim, a Slice end >= INT32_MAX keeps any dim).
 */
import { dtypeFromOnnx } from '@aic/core';
import { P, type Rule } from '../../rewrite/pattern.ts';
import {
  all, allEqual, attrInt, attrInts, attrStr, canForward, constInput, extraOutputsUnused, isIdentityPerm, isOmitted,
  normAxis, numbers, staticShape, type GuardResult,
} from './util.ts';

const FAMILY = 'noop-params';
const BIG_END = 2 ** 31 - 1;

const forward: Rule['replace'] = (m) => [m.values.x];

function needConst(n: import('@aic/core').Node, i: number, what: string): import('@aic/core').Tensor | string {
  const t = constInput(n, i);
  return t ?? `${what} is not a constant`;
}

/** Reshape's spec keeps x's shape: same rank and each entry copies (0), repeats the static dim, or is the single -1. */
function reshapeKeeps(x: import('@aic/core').Shape, spec: number[], allowzero: boolean): GuardResult {
  if (!x) return 'input rank unknown';
  if (spec.length !== x.length) return `rank ${x.length} -> ${spec.length}`;
  let minus = 0;
  for (let i = 0; i < spec.length; i++) {
    const s = spec[i]!;
    if (s === 0 && !allowzero) continue;
    if (s === -1) { minus++; continue; }
    if (s !== x[i]) return `dim ${i}: ${String(x[i])} -> ${s}`;
  }
  return minus <= 1 ? true : 'several -1 entries';
}

export const noopParamRules: Rule[] = [
  {
    name: 'cast-same-type',
    family: FAMILY,
    summary: 'Cast(x, to = dtype of x) / CastLike(x, y) with the same dtype -> x',
    pattern: P.op(['Cast', 'CastLike'], [P.any('x')]),
    guard: (m, env) => {
      const x = m.values.x;
      const to = m.root.op === 'Cast' ? dtypeFromOnnx(attrInt(m.root, 'to', 0)) : m.root.inputs[1]?.dtype;
      if (to !== x.dtype) return `casts ${x.dtype} to ${to}`;
      return canForward(m, env, x);
    },
    replace: forward,
  },
  {
    name: 'reshape-same-shape',
    family: FAMILY,
    summary: 'Reshape(x, s) where s keeps the shape of x -> x',
    pattern: P.op('Reshape', [P.any('x'), P.const('s')]),
    guard: (m, env) => all(
      () => reshapeKeeps(m.values.x.shape, numbers(m.consts.s), attrInt(m.root, 'allowzero', 0) !== 0),
      () => canForward(m, env, m.values.x),
    ),
    replace: forward,
  },
  {
    name: 'expand-same-shape',
    family: FAMILY,
    summary: 'Expand(x, s) where s broadcasts to the shape of x -> x',
    pattern: P.op('Expand', [P.any('x'), P.const('s')]),
    guard: (m, env) => all(
      () => {
        const x = m.values.x.shape, s = numbers(m.consts.s);
        if (!x) return 'input rank unknown';
        if (s.length > x.length) return `expands rank ${x.length} to ${s.length}`;
        for (let i = 1; i <= s.length; i++) {
          const sd = s[s.length - i]!, xd = x[x.length - i]!;
          if (sd !== 1 && sd !== xd) return `dim ${x.length - i}: ${String(xd)} -> ${sd}`;
        }
        return true;
      },
      () => canForward(m, env, m.values.x),
    ),
    replace: forward,
  },
  {
    name: 'slice-everything',
    family: FAMILY,
    summary: 'Slice(x) taking every element of every sliced axis in order -> x',
    pattern: P.op('Slice', [P.any('x'), P.const('starts'), P.const('ends')]),
    guard: (m, env) => all(
      () => {
        const n = m.root, x = m.values.x.shape;
        if (!x) return 'input rank unknown';
        const starts = numbers(m.consts.starts), ends = numbers(m.consts.ends);
        let axes: number[] = starts.map((_, i) => i), steps: number[] = starts.map(() => 1);
        if (!isOmitted(n, 3)) { const t = needConst(n, 3, 'axes'); if (typeof t === 'string') return t; axes = numbers(t); }
        if (!isOmitted(n, 4)) { const t = needConst(n, 4, 'steps'); if (typeof t === 'string') return t; steps = numbers(t); }
        if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) return 'argument lengths differ';
        for (let i = 0; i < starts.length; i++) {
          const a = normAxis(axes[i]!, x.length), d = x[a];
          if (a < 0 || a >= x.length) return `axis ${axes[i]} out of range`;
          if (steps[i] !== 1) return `step ${steps[i]} on axis ${a}`;
          const st = starts[i]!, en = ends[i]!;
          const startsAt0 = st === 0 || (typeof d === 'number' && st < 0 && st + d <= 0);
          const endsAtEnd = en >= BIG_END || (typeof d === 'number' && en >= d);
          if (!startsAt0 || !endsAtEnd) return `axis ${a} keeps [${st}, ${en}) of ${String(d)}`;
        }
        return true;
      },
      () => canForward(m, env, m.values.x),
    ),
    replace: forward,
  },
  {
    name: 'pad-zero',
    family: FAMILY,
    summary: 'Pad(x) with all pads 0 -> x',
    pattern: P.op('Pad', [P.any('x'), P.const('pads', (t) => allEqual(t, 0))]),
    guard: (m, env) => canForward(m, env, m.values.x),
    replace: forward,
  },
  {
    name: 'tile-ones',
    family: FAMILY,
    summary: 'Tile(x, repeats) with every repeat 1 -> x',
    pattern: P.op('Tile', [P.any('x'), P.const('r', (t) => allEqual(t, 1))]),
    guard: (m, env) => canForward(m, env, m.values.x),
    replace: forward,
  },
  {
    name: 'transpose-identity',
    family: FAMILY,
    summary: 'Transpose(x, perm = [0, 1, ...]) (or a reversing Transpose of rank <= 1) -> x',
    pattern: P.op('Transpose', [P.any('x')]),
    guard: (m, env) => {
      const perm = attrInts(m.root, 'perm');
      const r = m.values.x.shape?.length;
      if (perm ? !isIdentityPerm(perm.map((a) => (r === undefined ? a : normAxis(a, r)))) : !(r !== undefined && r <= 1)) return 'not the identity permutation';
      return canForward(m, env, m.values.x);
    },
    replace: forward,
  },
  {
    name: 'pool-1x1',
    family: FAMILY,
    summary: 'MaxPool/AveragePool with a 1x1 kernel, stride 1 and no padding -> x (MaxPool Indices unused)',
    pattern: P.op(['MaxPool', 'AveragePool'], [P.any('x')]),
    guard: (m, env) => all(
      () => {
        const n = m.root;
        const k = attrInts(n, 'kernel_shape') ?? [];
        if (!k.length || k.some((d) => d !== 1)) return `kernel [${k.join(', ')}]`;
        const s = attrInts(n, 'strides');
        if (s && s.some((d) => d !== 1)) return `strides [${s.join(', ')}]`;
        const p = attrInts(n, 'pads');
        if (p && p.some((d) => d !== 0)) return `pads [${p.join(', ')}]`;
        const x = m.values.x.shape;
        if (x && x.length !== k.length + 2) return 'kernel rank does not match the input';
        // a 1-wide window with stride 1 needs no padding under any auto_pad mode
        return true;
      },
      () => extraOutputsUnused(m.root, env),
      () => canForward(m, env, m.values.x),
    ),
    replace: forward,
  },
  {
    name: 'global-pool-1x1',
    family: FAMILY,
    summary: 'GlobalAveragePool/GlobalMaxPool of an input whose spatial dims are all 1 -> x',
    pattern: P.op(['GlobalAveragePool', 'GlobalMaxPool'], [P.any('x')]),
    guard: (m, env) => {
      const x = m.values.x.shape;
      if (!x || x.length < 3 || x.slice(2).some((d) => d !== 1)) return `spatial dims [${x?.slice(2).join(', ') ?? '?'}] are not all 1`;
      return canForward(m, env, m.values.x);
    },
    replace: forward,
  },
  {
    name: 'squeeze-nothing',
    family: FAMILY,
    summary: 'Squeeze(x) that removes no dim (no axes given and no static 1 in a static shape) -> x',
    pattern: P.op('Squeeze', [P.any('x')]),
    guard: (m, env) => {
      const n = m.root;
      const xs = staticShape(m.values.x);
      if (!isOmitted(n, 1)) {
        const a = constInput(n, 1);
        if (!a || a.size !== 0) return 'squeezes axes';
      }
      if (!xs) return 'input shape not static';
      if (xs.includes(1)) return `shape [${xs.join(', ')}] has size-1 dims`;
      return canForward(m, env, m.values.x);
    },
    replace: forward,
  },
  {
    name: 'unsqueeze-nothing',
    family: FAMILY,
    summary: 'Unsqueeze(x, axes = []) -> x',
    pattern: P.op('Unsqueeze', [P.any('x'), P.const('axes', (t) => t.size === 0)]),
    guard: (m, env) => canForward(m, env, m.values.x),
    replace: forward,
  },
  {
    name: 'layout-convert-same',
    family: FAMILY,
    summary: 'aic.LayoutConvert(x, from = L, to = L) -> x',
    pattern: P.op('LayoutConvert', [P.any('x')], { domain: 'aic' }),
    guard: (m, env) => {
      const from = attrStr(m.root, 'from', ''), to = attrStr(m.root, 'to', '');
      if (from === '' || from !== to) return `converts ${from} to ${to}`;
      return canForward(m, env, m.values.x);
    },
    replace: forward,
  },
];
