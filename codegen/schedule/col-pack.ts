/**
 * Column-packed weights for narrow-vector targets (one vector < 64 bytes: WebAssembly SIMD128, SSE,
 * 16 registers), used by the default reduction schedule (defaults.ts): when the register tile's
 * vector operand is a constant weight read contiguously along the vector axis v in its LAST dim and
 * along the reduction in another (MatMul's B[k, n], k the reduction, n the vector axis), the weight is
 * packed [N/P, ..., K, P] (pack.ts, dim = last) with P = V * W lanes (V vectors of W lanes per tile
 * row). The tile then streams one contiguous P-float panel per reduction step instead of touching a
 * new cache line N floats away each step (tiny_bert's 128x512 / 512x128 FFN weights on wasm-simd).
 * Results are unchanged: each output element still sums its reduction in order.
 */
import type { Expr } from '@aic/loop-ir';
import type { KernelSource, Program } from '../lower/program.ts';
import { packable, peelIndex } from './pack.ts';

type Load = Extract<Expr, { k: 'load' }>;

/**
 * Most rows of a column-packed tile: 4-6 rows x 1 vector measured 14% faster than 8 x 1 on a
 * 64x128 @ 128x512 MatMul on wasm-simd (V8, x64; 2 vectors per row was slower).
 */
export const COL_PACK_ROWS = 6;

/** A param to pack along `dim` with `block` lanes (defaults.ts PackRequest). */
export interface ColPack { param: number; block: number; dim: number }

/**
 * The weights to column-pack for vector loads `vecLoads` over axis v with P-lane panels: each is a
 * packable weight whose last index is v itself (used nowhere else in the index), whose last dim has
 * extent vExtent divisible by P, and that some other index of which moves (the reduction).
 * Undefined when any vector-operand load is not such a weight (nothing to gain from packing part).
 */
export function colPackParams(prog: Program, src: KernelSource, vecLoads: Load[], v: string, vExtent: number, P: number, uses: (e: Expr, v: string) => boolean): ColPack[] | undefined {
  const out: ColPack[] = [];
  for (const l of vecLoads) {
    const p = src.params.findIndex((q) => q.name === l.buf);
    const param = src.params[p];
    if (p < 0 || !packable(prog, src, p)) return undefined;
    const idx = peelIndex(l.idx, param.shape);
    const last = param.shape.length - 1;
    if (!idx || idx[last].k !== 'var' || idx[last].name !== v || idx.slice(0, last).some((e) => uses(e, v))) return undefined;
    if (param.shape[last] !== vExtent || vExtent % P !== 0 || vExtent === P) return undefined;
    if (!out.some((q) => q.param === p)) out.push({ param: p, block: P, dim: last });
  }
  return out.length ? out : undefined;
}
