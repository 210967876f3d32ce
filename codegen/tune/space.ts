/**
 * The schedule space of a kernel, as data: a candidate is a directive list (what `--schedule` files
 * and `--emit schedule` hold), reached from the analytic default (schedule/defaults.ts) by mutations:
 * - algorithm: another applicable conv algorithm (direct, gemm for 1x1, Winograd F(2,3) / F(4,3)),
 *   with that algorithm's default schedule;
 * - factor: a split's factor changed (register-tile rows, vector width, channel blocks): f +- 1,
 *   f * 2, f / 2, the split's tail kept;
 * - unroll: an unrolled loop kept rolled, or an inner loop unrolled;
 * - reorder: two loops of a reorder swapped, unless both are reduction loops: the summation order of
 *   every output element stays the reference's, so a candidate changes no result bit (Winograd and
 *   gemm, algorithms, round differently and are checked against the default with a tolerance).
 * Candidates that do not realize (a loop a directive names is gone) are rejected by the driver
 * (ScheduleError) and counted.
 */
import type { Directive } from '@aic/loop-ir';
import type { Program } from '../lower/program.ts';
import { convInfo } from '../schedule/algorithms/conv-info.ts';
import { winogradApplies } from '../schedule/algorithms/winograd.ts';
import { gemm1x1Applies } from '../schedule/algorithms/gemm1x1.ts';
import type { Rng } from './rng.ts';

type Algo = Extract<Directive, { d: 'algorithm' }>;

export interface KernelSpace {
  /** reduction loop names (before splits: i5 covers i5_o, i5_i, i5_o_i...) */
  reduce: string[];
  /** every applicable algorithm (direct first); one entry: no choice */
  algorithms: Algo[];
}

/** What a kernel of a freshly lowered program allows (call before algorithms rewrite it). */
export function kernelSpace(prog: Program, kernel: string): KernelSpace {
  const src = prog.sources.get(kernel)!;
  const reduce: string[] = [];
  const walk = (e: unknown): void => {
    if (!e || typeof e !== 'object') return;
    const x = e as { k?: string; axes?: { name: string }[] };
    if (x.k === 'reduce' && x.axes) for (const a of x.axes) if (!reduce.includes(a.name)) reduce.push(a.name);
    for (const v of Object.values(e)) if (v && typeof v === 'object') walk(v);
  };
  for (const st of src.stages) if (st.kind === 'compute') walk(st.body);
  const algorithms: Algo[] = [{ d: 'algorithm', name: 'direct' }];
  const c = convInfo(prog, kernel);
  if (c && gemm1x1Applies(c)) algorithms.push({ d: 'algorithm', name: 'gemm' });
  if (c && winogradApplies(c) && c.C >= 8 && c.M >= 8) algorithms.push({ d: 'algorithm', name: 'winograd', params: [2, 3] }, { d: 'algorithm', name: 'winograd', params: [4, 3] });
  return { reduce, algorithms };
}

const baseOf = (axis: string) => axis.replace(/(_[oi])+$/, '');
export const algoOf = (dirs: readonly Directive[]): Algo => dirs.find((d): d is Algo => d.d === 'algorithm') ?? { d: 'algorithm', name: 'direct' };
export const algoText = (a: Algo) => `${a.name}${a.params ? `(${a.params.join(',')})` : ''}`;

/** One random mutation of a candidate (undefined: the drawn mutation does not apply to it). */
export function mutate(dirs: readonly Directive[], space: KernelSpace, rng: Rng): Directive[] | undefined {
  const kind = rng.pick(['algorithm', 'factor', 'factor', 'factor', 'unroll', 'reorder'] as const);
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
      const splits = out.map((d, i) => [d, i] as const).filter(([d]) => d.d === 'split');
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
      const ri = out.findIndex((x) => x.d === 'reorder');
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
  }
}

/**
 * Features of a candidate for the cost model (cost-model.ts), from its loop structure: algorithm
 * (one-hot), vector lanes, register-tile size (unrolled x vectorized extents), unroll and split
 * counts, depth of the first reduction loop in the reorder.
 */
export function features(dirs: readonly Directive[], space: KernelSpace): number[] {
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
  return [
    1, a === 'direct' ? 1 : 0, a === 'gemm' ? 1 : 0, a === 'winograd(2,3)' ? 1 : 0, a === 'winograd(4,3)' ? 1 : 0,
    Math.log2(lanes), lt, lt * lt / 8, unr.length, dirs.filter((d) => d.d === 'split').length,
    order.length ? (firstRed < 0 ? 1 : firstRed / order.length) : 0,
  ];
}
