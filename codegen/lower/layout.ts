/**
 * Layouts for compiled targets. A graph value the layout pass stored as NC4HW4 (or a packed weight
 * layout) becomes a program buffer that keeps that physical layout: the buffer's shape is the stored
 * shape and its `layout` maps the logical indices compute definitions use to physical offsets
 * (packages/loop-ir/src/layout.ts). Constants were packed at compile time by the graph pass (one
 * weight-packing mechanism: the graph layout decides). aic.LayoutConvert lowers to a copy through
 * both index maps.
 *
 * Graph inputs and outputs are fed and read in their logical layout by every runner; a graph whose
 * inputs or outputs themselves carry a physical layout (hand-written IR) is materialized logically.
 */
import { Tensor, cloneGraph, isPhysicalLayout, layoutBlock, toLogical, type Graph, type Layout } from '@aic/core';
import { blockedChannels, type BufferLayout } from '@aic/loop-ir';

/** The loop-IR layout of a graph layout for a value of logical shape `shape` (undefined: row-major). */
export function bufferLayoutOf(layout: Layout | undefined, shape: number[]): BufferLayout | undefined {
  if (!isPhysicalLayout(layout)) return undefined;
  const w = (dim: number) => ({ dim, part: 'whole' as const });
  const x = layoutBlock(layout);
  const o = (dim: number) => ({ dim, part: 'outer' as const, block: x });
  const i = (dim: number) => ({ dim, part: 'inner' as const, block: x });
  if (layout === 'NHWC') return { name: layout, logical: shape.slice(), dims: [w(0), w(2), w(3), w(1)] };
  if (layout.startsWith('NC')) return blockedChannels(shape, x, layout);
  if (/i\d+o$/.test(layout)) return { name: layout, logical: shape.slice(), dims: [o(0), o(1), w(2), w(3), i(1), i(0)] };
  return { name: layout, logical: shape.slice(), dims: [o(0), w(1), w(2), w(3), i(0)] };
}

/** Graph inputs/outputs with a physical layout: materialize every value logically (as before). */
export function materializeBoundaries(g0: Graph): Graph {
  const boundary = [...g0.inputs, ...g0.outputs].some((v) => isPhysicalLayout(v.type.layout));
  if (!boundary) return g0;
  const g = cloneGraph(g0);
  for (const v of g.definedValues()) {
    const layout = v.type.layout;
    if (!isPhysicalLayout(layout)) continue;
    if (v.const) v.const = toLogical(v.const, layout, v.type.shape);
    v.type = { dtype: v.type.dtype, shape: v.type.shape };
  }
  return g;
}

/**
 * Per-channel constants ([C] or [C, 1, 1]) read by kernels with channel-blocked outputs, when C is
 * not a whole number of blocks (f32 scales and biases, int32 biases): stored zero-padded to whole blocks (logical shape unchanged), so a
 * blocked schedule may compute the padding lanes of the last block without a guard (split tail 'pad').
 */
export function paddedChannelConstant(shape: number[], data: Tensor, block: number): { layout: BufferLayout; data: Tensor } | undefined {
  const C = shape[0];
  if (!(shape.length === 1 || (shape.length === 3 && shape[1] === 1 && shape[2] === 1)) || C % block === 0 || (data.dtype !== 'float32' && data.dtype !== 'int32')) return undefined;
  const Cp = Math.ceil(C / block) * block;
  const layout: BufferLayout = { name: `padded${block}`, logical: shape.slice(), dims: shape.map((_, d) => ({ dim: d, part: 'whole' as const, ...(d === 0 ? { extent: Cp } : {}) })) };
  const padded = new Tensor(data.dtype, [Cp, ...shape.slice(1)]);
  for (let i = 0; i < C; i++) padded.num[i] = data.num[i];
  return { layout, data: padded };
}
