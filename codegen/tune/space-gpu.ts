/**
 * The schedule space of a GPU (wgsl) kernel, reached from its default (codegen/wgsl/schedule.ts) by
 * mutations of the directive list:
 * - workgroup: the workgroup size of a one-invocation-per-element stage (the split whose inner loop is
 *   bound to local_invocation_id) x2 or /2, 1..256;
 * - tile: one factor of a 2-D output tile (GEMM / convolution: `tile p, q by tp, tq`, p_i / q_i bound to
 *   local ids) x2 or /2, at most 256 invocations;
 * - chunk: the reduction chunk staged through workgroup memory (`split r by kc` + `cache ... at r_o`)
 *   x2 or /2;
 * - thread tile: each invocation computes t outputs of the tile instead of one: `split p_i by t`, p_i_o
 *   bound where p_i was, p_i_i a register tile inside the reduction (unrolled; over q, t = 4: one vec4);
 *   or a thread tile's t changed, or removed;
 * - vec4: an elementwise stage's innermost axis computed as vec2 / vec4 per invocation, or not.
 * Reductions keep their order per output element (no mutation reorders reduction loops), so a
 * candidate changes no result bit; each is still checked against the default on random inputs.
 * Candidates the WGSL renderer or the device refuse (too much workgroup memory, too many invocations,
 * a grid past the dispatch limit) fail to build and are rejected.
 */
import type { Directive } from '@aic/loop-ir';
import type { KernelSpace } from './space.ts';
import type { Rng } from './rng.ts';

type Split = Extract<Directive, { d: 'split' }>;
type Bind = Extract<Directive, { d: 'bind' }>;
type Tile = Extract<Directive, { d: 'tile' }>;

const pow2Step = (f: number, rng: Rng, lo: number, hi: number) => {
  const opts = [f * 2, f / 2].filter((x) => Number.isInteger(x) && x >= lo && x <= hi);
  return opts.length ? rng.pick(opts) : undefined;
};
const isLocal = (d: Directive, axis?: string): d is Bind => d.d === 'bind' && d.to.axis === 'local' && (axis === undefined || d.axis === axis);
/** rename loop `from` to `to` in every directive after index `at` (names are `_`-joined tokens) */
function rename(dirs: Directive[], at: number, from: string, to: string): Directive[] {
  const re = new RegExp(`(^|_)${from}(?=_|$)`);
  const r = (n: string) => n.replace(re, `$1${to}`);
  return dirs.map((d, i) => {
    if (i <= at) return d;
    switch (d.d) {
      case 'split': case 'vectorize': case 'unroll': case 'bind': case 'parallel': return { ...d, axis: r(d.axis) };
      case 'fuse': return { ...d, axes: [r(d.axes[0]), r(d.axes[1])] };
      case 'tile': return { ...d, axes: [r(d.axes[0]), r(d.axes[1])] };
      case 'reorder': return { ...d, order: d.order.map(r) };
      case 'cache': return { ...d, at: r(d.at) };
      default: return d;
    }
  });
}

/** One random mutation (undefined: the drawn one does not apply). */
export function mutateGpu(dirs: readonly Directive[], space: KernelSpace, rng: Rng): Directive[] | undefined {
  const out = dirs.map((d) => ({ ...d })) as Directive[];
  const kind = rng.pick(['workgroup', 'tile', 'tile', 'chunk', 'thread', 'thread', 'vec'] as const);
  const tiles = out.map((d, i) => [d, i] as const).filter(([d]) => d.d === 'tile') as [Tile, number][];
  switch (kind) {
    case 'workgroup': {
      const at = out.map((d, i) => [d, i] as const).filter(([d]) => d.d === 'split' && out.some((b) => isLocal(b, `${(d as Split).axis}_i`)));
      if (!at.length) return undefined;
      const [d, i] = rng.pick(at) as [Split, number];
      const f = pow2Step(d.factor, rng, 1, 256);
      if (f === undefined) return undefined;
      out[i] = { ...d, factor: f };
      return out;
    }
    case 'tile': {
      if (!tiles.length) return undefined;
      const [t, i] = rng.pick(tiles);
      const k = rng.int(2);
      const f = pow2Step(t.factors[k], rng, 1, 256);
      if (f === undefined || f * t.factors[1 - k] > 256) return undefined;
      const factors: [number, number] = [t.factors[0], t.factors[1]];
      factors[k] = f;
      out[i] = { ...t, factors };
      return out;
    }
    case 'chunk': {
      const at = out.map((d, i) => [d, i] as const).filter(([d]) => d.d === 'split' && space.reduce.includes(d.axis));
      if (!at.length) return undefined;
      const [d, i] = rng.pick(at) as [Split, number];
      const f = pow2Step(d.factor, rng, 1, Math.max(1, space.reduceExtent[d.axis] ?? 64));
      if (f === undefined) return undefined;
      out[i] = { ...d, factor: f };
      return out;
    }
    case 'thread': return threadTile(out, tiles, space, rng);
    case 'vec': return vec(out, space, rng);
  }
}

/** reduction leaves as the schedule names them (a split reduction axis: its _o, _i) */
function reductionLeaves(dirs: readonly Directive[], space: KernelSpace): string[] {
  const split = new Set(dirs.filter((d): d is Split => d.d === 'split').map((d) => d.axis));
  return space.reduce.flatMap((r) => (split.has(r) ? [`${r}_o`, `${r}_i`] : [r]));
}

/** add, change or remove a per-invocation register tile over p_i or q_i of a 2-D tile */
function threadTile(out: Directive[], tiles: [Tile, number][], space: KernelSpace, rng: Rng): Directive[] | undefined {
  if (!tiles.length || !space.reduce.length) return undefined;
  const [t, ti] = rng.pick(tiles);
  const k = rng.int(2);
  const ax = `${t.axes[k]}_i`;
  const si = out.findIndex((d) => d.d === 'split' && d.axis === ax);
  if (si >= 0) { // a thread tile already: change t, or remove it
    const s = out[si] as Split;
    const f = rng.next() < 0.3 ? 1 : pow2Step(s.factor, rng, 2, t.factors[k]);
    if (f === undefined) return undefined;
    if (f > 1) { out[si] = { ...s, factor: f }; return out; }
    const rest = out.filter((d, i) => i !== si && !(d.d === 'reorder' && d.order.includes(`${ax}_i`)) && !((d.d === 'unroll' || d.d === 'vectorize') && d.axis === `${ax}_i`));
    return rest.map((d) => (isLocal(d, `${ax}_o`) ? { ...d, axis: ax } : d));
  }
  const bi = out.findIndex((d) => isLocal(d, ax));
  if (bi < 0) return undefined;
  const f = k === 1 && rng.next() < 0.5 ? 4 : rng.pick([2, 4, 8]);
  if (t.factors[k] % f !== 0 || t.factors[k] === f) return undefined;
  const inner = `${ax}_i`;
  const res = out.slice();
  res[bi] = { ...(out[bi] as Bind), axis: `${ax}_o` };
  res.splice(ti + 1, 0, { d: 'split', axis: ax, factor: f });
  // the reduction loops move before the new inner loop; the loops bound to local ids stay outside them
  const bound = res.filter((d): d is Bind => isLocal(d)).map((d) => d.axis);
  res.push({ d: 'reorder', order: [...bound, ...reductionLeaves(res, space), inner] }, k === 1 && f === 4 ? { d: 'vectorize', axis: inner } : { d: 'unroll', axis: inner });
  return res;
}

/** toggle vec lanes on the innermost output axis of an elementwise stage (split by L + vectorize) */
function vec(out: Directive[], space: KernelSpace, rng: Rng): Directive[] | undefined {
  if (!space.inner || space.reduce.length) return undefined;
  const { axis, extent } = space.inner;
  const vi = out.findIndex((d) => d.d === 'vectorize' && d.axis === `${axis}_i`);
  const si = out.findIndex((d) => d.d === 'split' && d.axis === axis);
  if (vi >= 0 && si >= 0) {
    const s = out[si] as Split;
    if (rng.next() < 0.5) {
      const f = s.factor === 4 ? 2 : 4;
      if (extent % f) return undefined;
      out[si] = { ...s, factor: f };
      return out;
    }
    return rename(out.filter((_, i) => i !== si && i !== vi), -1, `${axis}_o`, axis);
  }
  if (si >= 0 || extent % 4) return undefined;
  const f = extent % 4 === 0 && rng.next() < 0.7 ? 4 : 2;
  return [{ d: 'split', axis, factor: f }, { d: 'vectorize', axis: `${axis}_i` }, ...rename(out, -1, axis, `${axis}_o`)];
}

/**
 * Features for the cost model: invocations per workgroup (log2), outputs per invocation (log2),
 * vector lanes, reduction chunk (log2), staged buffers, a 2-D tile or not.
 */
export function featuresGpu(dirs: readonly Directive[], space: KernelSpace): number[] {
  const factor = new Map<string, number>();
  for (const d of dirs) {
    if (d.d === 'split') {
      factor.set(`${d.axis}_i`, d.factor);
      const e = factor.get(d.axis);
      if (e) factor.set(`${d.axis}_o`, Math.max(1, Math.ceil(e / d.factor)));
    }
    if (d.d === 'tile') { factor.set(`${d.axes[0]}_i`, d.factors[0]); factor.set(`${d.axes[1]}_i`, d.factors[1]); }
  }
  const local = dirs.filter((d) => isLocal(d)).map((d) => factor.get((d as Bind).axis) ?? 1);
  const inv = local.reduce((a, b) => a * b, 1);
  const per = dirs.filter((d) => d.d === 'unroll' || d.d === 'vectorize').map((d) => factor.get((d as { axis: string }).axis) ?? 1).reduce((a, b) => a * b, 1);
  const lanes = Math.max(1, ...dirs.filter((d) => d.d === 'vectorize').map((d) => factor.get((d as { axis: string }).axis) ?? 1));
  const kc = dirs.find((d): d is Split => d.d === 'split' && space.reduce.includes(d.axis));
  const li = Math.log2(Math.max(1, inv));
  return [1, li, li * li / 8, Math.log2(per), Math.log2(lanes), kc ? Math.log2(kc.factor) : 0, dirs.filter((d) => d.d === 'cache').length, dirs.some((d) => d.d === 'tile') ? 1 : 0];
}
