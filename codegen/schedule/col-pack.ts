/**
 * Column-packed weights for narrow-vector targets (one vector < 64 bytes: WebAssembly SIMD128, SSE,
 * 16 registers), and on wide ones (C) for a weight larger than L1 (defaults.ts COL_PACK_WIDE_BYTES),
 * used by the default reduction schedule (defaults.ts): when the register tile's
 * vector operand is a constant weight read contiguously along the vector axis v in its LAST dim and
 * along the reduction in another (MatMul's B[k, n], k the reduction, n the vector axis), the weight is
 * packed [N/P, ..., K, P] (pack.ts, dim = last) with P = V * W lanes (V vectors of W lanes per tile
 * row; the kernel-level `panel P` directive, a schedule parameter the tuner searches). The tile then
 * streams one contiguous P-float panel per reduction step instead of touching a new cache line N
 * floats away each step (tiny_bert's 128x512 / 512x128 FFN weights on wasm-simd).
 * Results are unchanged: each output element still sums its reduction in order.
 */
import type { Expr } from '@aic/loop-ir';
import type { KernelSource, Program } from '../lower/program.ts';
import { packable, peelIndex } from './pack.ts';

type Load = Extract<Expr, { k: 'load' }>;

/**
 * Vectors per row of a column-packed tile (the panel is V x W lanes; a `panel` directive picks one).
 * Defaults (defaults.ts): 2, or 4 when the tile has at most 2 rows. On wasm-simd (V8, x64), MatMuls
 * [M, K] @ [K, N] vs one vector per row: 64x128 @ 128x512 0.236 -> 0.187 ms with 2, 32x1024 @ 1024x4096
 * 9.40 -> 7.45, 197x768 @ 768x768 6.32 -> 5.65, 1x768 @ 768x768 0.120 -> 0.063 with 2 and 0.045 with
 * 4; 2x768 @ 768x768 0.075 (8 lanes) -> 0.060 (16), while 3 rows keep 8 lanes (0.087 vs 0.138 with 16)
 * (benchmarks/wasm-schedule-ab.ts on one-MatMul models).
 */
export const PANEL_VECTORS = [1, 2, 4];

/**
 * Most rows of a column-packed tile of V vectors per row: 6 x 1, 4 x 2, 2 x 4 (8 accumulators and the
 * panel's vectors within 16 registers; 8 x 1 was 14% slower than 4-6 x 1 on a 64x128 @ 128x512
 * MatMul, 6 x 2 up to 13% slower than 4 x 2).
 */
export function colPackRows(V: number): number {
  return V === 1 ? 6 : V === 2 ? 4 : 2;
}

/**
 * ... on wide targets (32 registers) for a product of many rows, whose tile reuses each panel vector
 * over its rows: 8 x 1, 12 x 2 (wide-tile.ts maxTileRows), 6 x 4 (24 accumulators, 4 panel vectors
 * and a broadcast).
 */
export function colPackRowsWide(V: number): number {
  return V === 1 ? 8 : V === 2 ? 12 : 6;
}

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
