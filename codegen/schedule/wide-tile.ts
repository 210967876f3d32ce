/**
 * Register tiles for wide-vector targets (one vector holds >= 64 bytes: AVX-512, 32 vector registers),
 * used by the default reduction schedule (defaults.ts), the GEMM micro-kernel of 1x1 convs, MatMul,
 * Gemm and direct convolution:
 *
 * - two vectors per row over a contiguous vector axis as well as a packed one (a 2W block, clamped
 *   when it does not divide), and up to 12 rows (24 accumulators + 2 vector operands + a broadcast
 *   fit 32 registers; narrower targets keep 6 x 2 / 6 x 1);
 * - row-packed weights: when every reduction load that depends on the row axis is a constant weight
 *   indexed by that axis in its dim 0 (a conv's output channels, when the vector runs over space), the
 *   weight is packed [D0/R, rest..., R] (pack.ts) with R rows per block, R dividing D0, so the R
 *   scalars a tile broadcasts per reduction step are adjacent in memory: one stream instead of R
 *   streams R*K apart (measured on squeezenet's 512->1000 classifier, 12 x 32 packed: 147 GFLOP/s,
 *   8 x 16 unpacked: 75).
 * Results are unchanged: each output element still sums its reduction in order.
 */
import type { Expr } from '@aic/loop-ir';

type Load = Extract<Expr, { k: 'load' }>;

/** a vector of W lanes of `bytes`-byte elements is wide (>= 64 bytes: 32-register AVX-512 class) */
export const isWide = (W: number, bytes: number) => W * bytes >= 64;

/**
 * Most rows of a register tile: 12 with two wide vectors per row, else the narrow defaults: 6 x 2,
 * and 8 x 1 on wide targets (`targetWide`: 32 registers, whatever this tile's vector width) but 4 x 2
 * / 7 x 1 on narrow ones (V8 on x64, 16 vector registers: 8 accumulators with their 8 broadcast
 * weights and the vector operand spill; wasm-simd by benchmarks/wasm-schedule-ab.ts: mobilenet_v2's
 * 1-vector GEMM tiles 8 -> 6 rows 22.5 -> 15.7 ms; at most 7 rather than 6, resnet18 47.6 -> 46.3,
 * mobilenet_v2 15.2 -> 14.9).
 */
export function maxTileRows(V: number, wide: boolean, targetWide = wide): number {
  if (V === 2) return wide ? 12 : targetWide ? 6 : 4;
  return targetWide ? 8 : 7;
}

/**
 * Two vectors per row over a contiguous (unpacked) axis of extent n with vectors of W lanes? On wide
 * vectors, and on a narrow target (16 registers: 4 x 2 tiles, maxTileRows).
 */
export function twoContiguousVectors(n: number, W: number, wide: boolean, targetWide = wide): boolean {
  return (wide || !targetWide) && n >= 2 * W;
}

/** The largest divisor of n in [ceil(max / 2), max] (rows of a packed weight block), or 0. */
export function packedRows(n: number, max: number): number {
  for (let r = Math.min(n, max); r >= Math.max(2, Math.ceil(max / 2)); r--) if (n % r === 0) return r;
  return 0;
}

/**
 * The params to row-pack: every reduction load depending on the row axis is a packable weight whose
 * dim 0 index is the row axis itself and whose other indices do not use it. Undefined when any is not.
 */
export function rowPackParams(rowLoads: Load[], row: string, paramOf: (l: Load) => { p: number; idx?: Expr[]; packable: boolean }, uses: (e: Expr, v: string) => boolean): number[] | undefined {
  const out: number[] = [];
  for (const l of rowLoads) {
    const { p, idx, packable } = paramOf(l);
    if (!packable || !idx || idx[0].k !== 'var' || idx[0].name !== row || idx.slice(1).some((e) => uses(e, row))) return undefined;
    if (!out.includes(p)) out.push(p);
  }
  return out.length ? out : undefined;
}
