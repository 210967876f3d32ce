/**
 * Layouts for compiled targets. Kernels are generated from compute definitions written over
 * logical (NCHW) indices; values the layout pass stored as NC4HW4 or packed weights are
 * materialized in their logical layout here (constants unpacked at compile time, conversions become
 * copies). The renderers' own register/vector blocking takes the role NC4HW4 plays in the
 * interpreter, so -O3 graphs compile to the same code as -O2 plus layout copies.
 */
import { cloneGraph, isPhysicalLayout, toLogical, type Graph } from '@aic/core';

export function materializeLogical(g0: Graph): Graph {
  const hasLayout = [...g0.definedValues()].some((v) => isPhysicalLayout(v.type.layout));
  if (!hasLayout) return g0;
  const g = cloneGraph(g0);
  for (const v of g.definedValues()) {
    const layout = v.type.layout;
    if (!isPhysicalLayout(layout)) continue;
    if (v.const) v.const = toLogical(v.const, layout, v.type.shape);
    v.type = { dtype: v.type.dtype, shape: v.type.shape };
  }
  return g;
}
