/**
 * The schedule space of a kernel, as data: a candidate is a directive list (what `--schedule` files
 * and `--emit schedule` hold), reached from the analytic default (schedule/defaults.ts) by mutations:
 * - algorithm: another applicable conv algorithm (direct, gemm for 1x1, Winograd F(2,3) / F(4,3)),
 *   with that algorithm's default schedule;
 * - factor: a split's factor changed (register-tile rows, vector width, channel blocks): f +- 1,
 *   f * 2, f / 2, the split's tail kept; not of a split with tail 'pad' or 'store', whose factor is the
 *   block its buffers are padded or its weight packed to (another would read past them);
 * - unroll: an unrolled loop kept rolled, or an inner loop unrolled;
 * - reorder: two loops of a reorder (any stage's) swapped, unless both are reduction loops: the
 *   summation order of every output element stays the reference's, so a candidate changes no result
 *   bit (Winograd and gemm, algorithms, round differently and are checked against the default with a
 *   tolerance);
 * - kblock (K / cache blocking): the outermost reduction loop of a reorder split by kc (a power of two
 *   below its extent) and the one or two output loops just outside it moved between its blocks:
 *   `r_o, i3_o, r_i, ...` — a block of weights is reused across those output loops, whose
 *   accumulators then live in a larger local tile; per output element the summation order is unchanged.
 * - pad-copy: a padded grouped conv's input copied whole before the conv instead of one plane at a time
 *   inside it (schedule/pad-planes.ts), or back; drawn on 1 in 8 mutations of such a kernel, before the others.
 * - accumulate: an int8 grouped / depthwise conv's integer sum in f32 or int32 lanes (schedule/float-sum.ts;
 *   the same integers either way); drawn on 1 in 8 mutations of a kernel whose sum f32 holds exactly.
 * - lanes: a reduction split into blocks and lanes (r_o, r_i: a blocked conv's input channels) runs
 *   its lanes outside or inside its blocks (the two loops trade places), or its lanes and the window
 *   tap just outside them become one loop (`fuse kw, r_i`) or two again: the choices schedule/blocked.ts
 *   makes by rule on wasm-simd (TargetCaps.loopEntryCost). These reassociate the sum (rounding only),
 *   like algorithms; every candidate is checked against the default with a tolerance (agree.ts).
 * - panel: a column-packed weight (a MatMul's B on wasm-simd: schedule/col-pack.ts) packed in panels of
 *   another width, with that width's default loops (1, 2 or 4 vectors per tile row); drawn on 1 in 8
 *   mutations of such a kernel. The same bits at every width.
 * GPU kernels (wgsl) have their own mutations (space-gpu.ts).
 * Candidates that do not realize (a loop a directive names is gone) are rejected by the driver
 * (ScheduleError) and counted.
 */
import type { Directive } from '@aic/loop-ir';
import type { TargetCaps } from '@aic/ir-spec';
import { panelWidths } from '../schedule/defaults.ts';
import type { Program } from '../lower/program.ts';
import { convInfo, qconvInfo } from '../schedule/algorithms/conv-info.ts';
import { floatSumStage } from '../schedule/float-sum.ts';
import { qconv1x1 } from '../schedule/algorithms/gemm1x1.ts';
import { qWinogradApplies, qWinogradFits } from '../schedule/algorithms/qwinograd.ts';
import { algorithmCosts, toDirective } from '../schedule/algorithms/choose.ts';
import type { Rng } from './rng.ts';
import { featuresGpu, mutateGpu } from './space-gpu.ts';

type Algo = Extract<Directive, { d: 'algorithm' }>;

export interface KernelSpace {
  /** reduction loop names (before splits: i5 covers i5_o, i5_i, i5_o_i...) */
  reduce: string[];
  /** extent of each reduction loop (before splits) */
  reduceExtent: Record<string, number>;
  /** every applicable algorithm (direct first); one entry: no choice */
  algorithms: Algo[];
  /** a GPU kernel (wgsl): workgroup / thread-tile mutations (space-gpu.ts) */
  gpu?: boolean;
  /** the innermost output axis of a one-stage kernel (GPU vec4 mutations) */
  inner?: { axis: string; extent: number };
  /** a padded grouped conv: its padded input copy can be per plane or whole (`pad-copy`) */
  padCopy?: boolean;
  /** an int8 grouped conv whose integer sum f32 holds exactly: f32 or int32 lanes (`accumulate`) */
  accumulate?: boolean;
  /** a column-packed weight: the panel widths it can be packed in, the default's first (`panel`; needs the target's caps; one: no choice, but a record naming it applies) */
  panels?: number[];
}

/**
 * What a kernel of a freshly lowered program allows (call before algorithms rewrite it). The
 * algorithms are those the cost model of schedule/algorithms/choose.ts weighs for the kernel (the CPU
 * targets'; GPU schedules have no algorithm choice). With the target's caps, the panel widths of a
 * column-packed weight too.
 */
export function kernelSpace(prog: Program, kernel: string, gpu = false, caps?: TargetCaps): KernelSpace {
  const src = prog.sources.get(kernel)!;
  const reduce: string[] = [];
  const reduceExtent: Record<string, number> = {};
  const walk = (e: unknown): void => {
    if (!e || typeof e !== 'object') return;
    const x = e as { k?: string; axes?: { name: string; extent: number }[] };
    if (x.k === 'reduce' && x.axes) for (const a of x.axes) if (!reduce.includes(a.name)) { reduce.push(a.name); reduceExtent[a.name] = a.extent; }
    for (const v of Object.values(e)) if (v && typeof v === 'object') walk(v);
  };
  for (const st of src.stages) if (st.kind === 'compute') walk(st.body);
  const c = gpu ? undefined : convInfo(prog, kernel);
  // a conv on channel-blocked buffers (-O3) too: its algorithms are those chooseAlgorithms weighs for
  // it (direct, gemm for 1x1, Winograd), at the target's vector width when the caps are known
  const cb = c ?? (gpu ? undefined : convInfo(prog, kernel, true));
  // an int8 1x1 QConv: direct or over the flattened map (gemm1x1.ts), which the default takes
  const q = !c && !gpu && qconv1x1(prog, kernel);
  // an int8 3x3 stride-1 QConv: direct or Winograd F(2,3) in integers (qwinograd.ts), where it fits
  const qc = !c && !q && !gpu ? qconvInfo(prog, kernel) : undefined;
  const qw = !!qc && qWinogradApplies(qc) && qWinogradFits(prog, kernel, qc);
  const algorithms: Algo[] = cb ? algorithmCosts(cb, caps?.vectorLanes).map((x) => toDirective(x.alg)) : q ? [{ d: 'algorithm', name: 'direct' }, { d: 'algorithm', name: 'gemm' }] : qw ? [{ d: 'algorithm', name: 'direct' }, { d: 'algorithm', name: 'winograd', params: [2, 3] }] : [{ d: 'algorithm', name: 'direct' }];
  const comp = src.stages.filter((st) => st.kind === 'compute');
  const last = comp.length === 1 && comp[0].kind === 'compute' ? comp[0] : undefined;
  const inner = last?.axes.length ? { axis: last.axes.at(-1)!, extent: last.out.shape.at(-1)! } : undefined;
  const padCopy = !!c && c.group > 1 && c.pads.some((p) => p > 0);
  const accumulate = !gpu && (qconvInfo(prog, kernel)?.group ?? 1) > 1 && floatSumStage(prog, kernel) >= 0;
  const panels = !gpu && caps ? panelWidths(src, caps, prog) : [];
  return { reduce, reduceExtent, algorithms, ...(padCopy ? { padCopy } : {}), ...(accumulate ? { accumulate } : {}), ...(panels.length ? { panels } : {}), ...(gpu ? { gpu, ...(inner ? { inner } : {}) } : {}) };
}

const baseOf = (axis: string) => axis.replace(/(_[oi])+$/, '');
export const algoOf = (dirs: readonly Directive[]): Algo => dirs.find((d): d is Algo => d.d === 'algorithm') ?? { d: 'algorithm', name: 'direct' };
export const algoText = (a: Algo) => `${a.name}${a.params ? `(${a.params.join(',')})` : ''}`;

/** One random mutation of a candidate (undefined: the drawn mutation does not apply to it). */
export function mutate(dirs: readonly Directive[], space: KernelSpace, rng: Rng): Directive[] | undefined {
  if (space.gpu) return mutateGpu(dirs, space, rng);
  if (space.padCopy && rng.next() < 0.125) {
    const whole = dirs.some((d) => d.d === 'pad-copy' && d.mode === 'whole');
    return [...dirs.filter((d) => d.d !== 'pad-copy'), ...(whole ? [] : [{ d: 'pad-copy' as const, mode: 'whole' as const }])];
  }
  if (space.accumulate && rng.next() < 0.125) {
    const cur = dirs.find((d): d is Extract<Directive, { d: 'accumulate' }> => d.d === 'accumulate');
    const type = cur ? (cur.type === 'f32' ? 'i32' : 'f32') : rng.pick(['f32', 'i32'] as const);
    return [...dirs.filter((d) => d.d !== 'accumulate'), { d: 'accumulate', type }];
  }
  if (space.panels && space.panels.length > 1 && rng.next() < 0.125) {
    const cur = dirs.find((d): d is Extract<Directive, { d: 'panel' }> => d.d === 'panel')?.lanes ?? space.panels[0];
    const others = space.panels.filter((p) => p !== cur);
    // that width's default loops (kernel-level directives alone merge with the default schedule)
    return [...dirs.filter((d) => d.d === 'algorithm'), { d: 'panel', lanes: rng.pick(others) }];
  }
  const kind = rng.pick(['algorithm', 'factor', 'factor', 'factor', 'unroll', 'reorder', 'kblock', 'lanes'] as const);
  const out = dirs.map((d) => ({ ...d })) as Directive[];
  const vectorized = new Set(out.filter((d) => d.d === 'vectorize').map((d) => (d as { axis: string }).axis));
  const unrolled = new Set(out.filter((d) => d.d === 'unroll').map((d) => (d as { axis: string }).axis));
  switch (kind) {
    case 'algorithm': {
      if (space.algorithms.length < 2) return undefined;
      const cur = algoText(algoOf(dirs));
      const others = space.algorithms.filter((a) => algoText(a) !== cur);
      return [rng.pick(others)]; // that algorithm's default schedule
    }
    case 'factor': {
      const splits = out.map((d, i) => [d, i] as const).filter(([d]) => d.d === 'split' && d.tail !== 'pad' && d.tail !== 'store');
      if (!splits.length) return undefined;
      const [d, i] = rng.pick(splits) as [Extract<Directive, { d: 'split' }>, number];
      const f = d.factor;
      const vec = vectorized.has(`${d.axis}_i`);
      const options = (vec ? [f * 2, f / 2] : [f + 1, f - 1, f * 2, f / 2]).filter((x) => Number.isInteger(x) && x >= (vec ? 2 : 1) && x <= 64 && x !== f);
      if (!options.length) return undefined;
      out[i] = { ...d, factor: rng.pick(options) };
      return out;
    }
    case 'unroll': {
      const inner = new Set<string>();
      for (const x of out) if (x.d === 'split') inner.add(`${x.axis}_i`);
      for (const x of out) if (x.d === 'split') inner.delete(x.axis); // split again: not a leaf
      const addable = [...inner].filter((a) => !vectorized.has(a) && !unrolled.has(a));
      const removable = [...unrolled];
      if (removable.length && (!addable.length || rng.next() < 0.5)) {
        const a = rng.pick(removable);
        return out.filter((x) => !(x.d === 'unroll' && x.axis === a));
      }
      if (!addable.length) return undefined;
      out.push({ d: 'unroll', axis: rng.pick(addable) });
      return out;
    }
    case 'reorder': {
      const ri = pickReorder(out, rng);
      if (ri < 0) return undefined;
      const order = (out[ri] as Extract<Directive, { d: 'reorder' }>).order.slice();
      if (order.length < 2) return undefined;
      const a = rng.int(order.length - 1);
      const isRed = (n: string) => space.reduce.includes(baseOf(n));
      if (isRed(order[a]) && isRed(order[a + 1])) return undefined;
      [order[a], order[a + 1]] = [order[a + 1], order[a]];
      out[ri] = { d: 'reorder', order };
      return out;
    }
    case 'kblock': return kblock(out, space, rng);
    case 'lanes': return laneOrder(out, space, rng);
  }
}

/** The `lanes` mutation (see the file comment): undefined when no reorder holds both parts of a split reduction. */
function laneOrder(out: Directive[], space: KernelSpace, rng: Rng): Directive[] | undefined {
  const fused = out.findIndex((d) => d.d === 'fuse' && space.reduce.includes(baseOf(d.axes[1])) && d.axes[1].endsWith('_i'));
  if (fused >= 0 && rng.next() < 0.5) return out.filter((_, i) => i !== fused);
  const ri = pickReorder(out, rng);
  if (ri < 0) return undefined;
  const order = (out[ri] as Extract<Directive, { d: 'reorder' }>).order;
  const pairs = order.filter((n) => n.endsWith('_o') && space.reduce.includes(n.slice(0, -2)) && order.includes(`${n.slice(0, -2)}_i`)).map((n) => n.slice(0, -2));
  if (!pairs.length) return undefined;
  const r = rng.pick(pairs);
  const io = order.indexOf(`${r}_o`), ii = order.indexOf(`${r}_i`);
  // the window tap just outside the lanes (lanes inside blocks), not split, longer than one step
  const tap = ii > 0 ? order[ii - 1] : undefined;
  const canFuse = fused < 0 && io < ii && !!tap && space.reduce.includes(tap) && (space.reduceExtent[tap] ?? 1) > 1;
  if (canFuse && rng.next() < 0.5) return [...out.slice(0, ri + 1), { d: 'fuse', axes: [tap!, `${r}_i`] }, ...out.slice(ri + 1)];
  if (fused >= 0) return undefined; // a fused lane loop keeps its place
  const next = order.slice();
  [next[io], next[ii]] = [next[ii], next[io]];
  out[ri] = { d: 'reorder', order: next };
  return out;
}

/** index of a random reorder directive (a kernel of several stages has one per stage), -1 when none */
function pickReorder(dirs: readonly Directive[], rng: Rng): number {
  const at = dirs.map((d, i) => (d.d === 'reorder' ? i : -1)).filter((i) => i >= 0);
  return at.length ? rng.pick(at) : -1;
}

/** K blocking (see the file comment): undefined when the reorder has no unsplit reduction loop with output loops outside it. */
function kblock(out: Directive[], space: KernelSpace, rng: Rng): Directive[] | undefined {
  const ri = pickReorder(out, rng);
  if (ri < 0) return undefined;
  const order = (out[ri] as Extract<Directive, { d: 'reorder' }>).order;
  const j = order.findIndex((n) => space.reduce.includes(baseOf(n)));
  const r = order[j];
  const ext = space.reduceExtent[r];
  if (j < 1 || !ext) return undefined; // split already (r_o), or no output loop outside it
  const kcs = [2, 4, 8, 16, 32, 64].filter((k) => k < ext);
  if (!kcs.length) return undefined;
  const kc = rng.pick(kcs);
  const m = Math.min(j, rng.next() < 0.7 ? 1 : 2);
  const moved = order.slice(j - m, j);
  const next: Directive = { d: 'reorder', order: [...order.slice(0, j - m), `${r}_o`, ...moved, `${r}_i`, ...order.slice(j + 1)] };
  return [...out.slice(0, ri), { d: 'split', axis: r, factor: kc }, next, ...out.slice(ri + 1)];
}

/**
 * Features of a candidate for the cost model (cost-model.ts), from its loop structure: algorithm
 * (one-hot), vector lanes, register-tile size (unrolled x vectorized extents), unroll and split
 * counts, depth of the first reduction loop in the reorder.
 */
export function features(dirs: readonly Directive[], space: KernelSpace): number[] {
  if (space.gpu) return featuresGpu(dirs, space);
  const a = algoText(algoOf(dirs));
  const factor = new Map<string, number>();
  for (const d of dirs) if (d.d === 'split') factor.set(`${d.axis}_i`, d.factor);
  const vec = dirs.filter((d) => d.d === 'vectorize').map((d) => factor.get((d as { axis: string }).axis) ?? 1);
  const unr = dirs.filter((d) => d.d === 'unroll').map((d) => factor.get((d as { axis: string }).axis) ?? 1);
  const lanes = Math.max(1, ...vec);
  const tile = unr.reduce((p, x) => p * x, 1) * lanes;
  const order = (dirs.find((d) => d.d === 'reorder') as Extract<Directive, { d: 'reorder' }> | undefined)?.order ?? [];
  const firstRed = order.findIndex((n) => space.reduce.includes(baseOf(n)));
  const lt = Math.log2(tile);
  // K blocking: the block's size (log2), 0 when the first reduction loop is whole
  const kb = dirs.find((d): d is Extract<Directive, { d: 'split' }> => d.d === 'split' && space.reduce.includes(d.axis));
  const panel = dirs.find((d): d is Extract<Directive, { d: 'panel' }> => d.d === 'panel');
  return [
    1, a === 'direct' ? 1 : 0, a === 'gemm' ? 1 : 0, a === 'im2col' ? 1 : 0, a === 'winograd(2,3)' ? 1 : 0, a === 'winograd(4,3)' ? 1 : 0,
    Math.log2(lanes), lt, lt * lt / 8, unr.length, dirs.filter((d) => d.d === 'split').length,
    order.length ? (firstRed < 0 ? 1 : firstRed / order.length) : 0, kb ? Math.log2(kb.factor) : 0,
    panel ? Math.log2(panel.lanes) : 0,
  ];
}
