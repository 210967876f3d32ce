/**
 * Interleaved rows for a reduction stage no vector register tile fits (defaults.ts found no vector
 * axis: LayerNorm's mean and variance, softmax's max and sum, rows read at a stride): R output rows
 * are computed together with the reduction loops outside them, so R independent scalar accumulator
 * chains hide the add (or compare) latency: [outer..., a_o, reduction..., a_i], a_i unrolled. Each
 * output still reduces in its own order, so results are unchanged. a is the innermost output axis of
 * extent >= 2; a tail that does not divide is clamped (the last rows recomputed, same values).
 * Used by the targets that ask for it (wasm: a call per reduction step costs more than on C; C: 8 rows
 * for reductions of >= 32 elements: squeeze-excite's global means over 28x28 to 112x112 planes, 2.3 ->
 * 1.5 ms over efficientnet_b0's 16; LayerNorm's statistics over 96 channels [3136 x 96] 0.416 ->
 * 0.195 ms, Softmax over 197 [2364 x 197] 0.895 -> 0.604 and over 49 0.820 -> 0.665 ms
 * (benchmarks/c-schedule-ab.ts -O 3 on one-op models); torchvision swin_t's 29 LayerNorms 6.11 ->
 * 2.43 ms and 5 Softmaxes 5.21 -> 2.34 ms (aic profile -O3)).
 */
import { walkExpr, type ComputeStage, type Directive, type Expr } from '@aic/loop-ir';

const ROWS = 4;

export function interleavedRows(st: ComputeStage, rows = ROWS, minReduce = 0): Directive[] {
  const reds: Extract<Expr, { k: 'reduce' }>[] = [];
  walkExpr(st.body, (x) => { if (x.k === 'reduce' && !reds.some((r) => JSON.stringify(r) === JSON.stringify(x))) reds.push(x); });
  if (reds.length !== 1) return [];
  if (reds[0]!.axes.reduce((a, r) => a * r.extent, 1) < minReduce) return [];
  const i = st.out.shape.map((n, d) => (n >= 2 ? d : -1)).filter((d) => d >= 0).pop();
  if (i === undefined) return [];
  const a = st.axes[i]!, n = st.out.shape[i]!;
  const R = Math.min(rows, n);
  const order = st.axes.map((x) => (x === a ? `${a}_o` : x));
  return [
    { d: 'split', axis: a, factor: R, ...(n % R ? { tail: 'clamp' as const } : {}) },
    { d: 'reorder', order: [...order, ...reds[0]!.axes.map((r) => r.name), `${a}_i`] },
    { d: 'unroll', axis: `${a}_i` },
  ];
}
