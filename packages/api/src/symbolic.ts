/**
 * Symbolic dims for compiling: the one place that turns a loaded model with symbolic input dims into
 * the graph to compile and what the artifact takes at run time. Used by `aic compile` (--input-shape
 * x=Nx3x224x224, --max-shape N=8) and the library API's `compile(model, { symbolic })`.
 *
 * - a leading symbol (a batch): bindSymbolicBatch binds it to 1 before optimizing; the artifact runs the
 *   one-sample program per sample (codegen/lower/symbolic.ts);
 * - one symbol at another dim (a sequence length): a run-time extent, the model bound and optimized at
 *   several values and merged (codegen/lower/extents.ts);
 * - both (a batch at dim 0 and another symbol): the batch bound to 1 and run per sample, the other symbol
 *   a run-time extent of the one-sample model (codegen/lower/batch-extent.ts);
 * - none: the model optimized as it is.
 * The optimizer runs inside: an extent needs the model optimized at each value.
 */
import { cloneGraph, diag, type Dim, type Graph, type Tensor } from '@aic/core';
import { validateGraph } from '@aic/ir-spec';
import { batchAndExtent, batchOrExtent, bindBatchBesideExtent, maxNeeded, bindExtentAt, extentSpec, extentSymbol, type ExtentSpec, type SymbolicBatch } from '@aic/codegen';
import { bindConstants } from './load.ts';
import { optimizeGraph, resolvePipeline } from './optimize.ts';
import type { SymbolicCompileOptions } from './types.ts';

export interface SymbolicDims {
  /** input dims that name symbols, by input name ('' = the only input): { x: ['N', 3, 224, 224] } */
  shapes?: Record<string, Dim[]>;
  /** each symbol's maximum: { N: 8 } (required for a run-time extent) */
  max?: Record<string, number>;
  /** inputs whose values decide shapes, bound after the symbols (read then: their errors come after the symbols') */
  consts?: () => Map<string, Tensor>;
  note?: (s: string) => void;
}

export interface SymbolicGraph {
  /** the optimized graph to compile (for an extent: at its maximum) */
  graph: Graph;
  batch?: SymbolicBatch;
  extents?: ExtentSpec;
}

/**
 * g as loaded (validated, not optimized; its input types are rewritten here), optimized with `optimize`
 * once, or at each value of a run-time extent. Errors: AIC0450-0454 (codegen/lower).
 */
export function optimizeSymbolic(g: Graph, dims: SymbolicDims, optimize: (g: Graph) => Graph): SymbolicGraph {
  const shapes = dims.shapes ?? {}, max = dims.max ?? {};
  const both = batchAndExtent(g, shapes, max);
  const two = both && extentOfBoth(g, both, shapes, max, dims.note);
  let ext = two ? two.ext : extentSymbol(g, shapes, max);
  let batch = two?.batch;
  if (!two && !ext) ({ batch, ext } = batchOrExtent(g, shapes, max, dims.note));
  const consts = dims.consts?.();
  if (consts?.size) bindConstants(g, consts);
  const extents = ext && extentSpec(ext.symbol, ext.max, (v) => optimize(bindExtentAt(g, ext.symbol, v)));
  const graph = extents ? extents.graphAt(extents.max) : optimize(g);
  return { graph, batch, extents };
}

/** Both symbols: the batch bound (and checked at the extent's maximum), then the extent found on the one-sample model. */
function extentOfBoth(g: Graph, both: { batch: string; extent: string }, shapes: Record<string, Dim[]>, max: Record<string, number>, note?: (s: string) => void) {
  const m = max[both.extent];
  if (m === undefined) throw maxNeeded(both.extent);
  const batch = bindBatchBesideExtent(g, both, shapes, max, m, note);
  return { ext: extentSymbol(g, {}, { [both.extent]: m })!, batch };
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** Dims as text ('Nx3x224x224' or 'N,3,224,224') or a list; `where` names them in a usage error. */
export function parseDims(dims: string | readonly Dim[], where: string): Dim[] {
  if (typeof dims !== 'string' && !Array.isArray(dims)) throw diag.usage(`${where}: expected dims as text ('Nx3x224x224') or a list (['N', 3, 224, 224])`);
  const list = typeof dims === 'string' ? dims.split(/[x,]/).map((s) => s.trim()) : dims.map(String);
  if (list.some((d) => !/^\d+$/.test(d) && !NAME.test(d))) throw diag.usage(`${where}: expected NAME=D1xD2x... with non-negative integers or dim names`);
  return list.map((d) => (/^\d+$/.test(d) ? Number(d) : d));
}

/** Is this a dim name (not a number)? */
export const isDimName = (d: string): boolean => NAME.test(d);

/** The API's symbolic compile: a copy of the model (left as it was), validated, optimized for the target. */
export function symbolicForApi(model: Graph, target: string, opts: SymbolicCompileOptions): SymbolicGraph {
  if (typeof opts !== 'object' || opts === null) throw diag.usage('compile: options.symbolic must be an object { shapes?, max?, level?, pipeline? }');
  const shapes = Object.fromEntries(Object.entries(opts.shapes ?? {}).map(([k, d]) => [k, parseDims(d, `compile: symbolic.shapes.${k || "''"} '${String(d)}'`)]));
  for (const [k, n] of Object.entries(opts.max ?? {})) {
    if (!NAME.test(k) || !Number.isInteger(n) || n < 1) throw diag.usage(`compile: symbolic.max.${k} = ${n}: expected a dim name and an integer >= 1 (e.g. { N: 8 })`);
  }
  const { level, pipeline } = opts;
  resolvePipeline({ level, pipeline }); // usage errors before any work
  const g = cloneGraph(model);
  validateGraph(g);
  return optimizeSymbolic(g, { shapes, max: opts.max, note: opts.onNote }, (x) => optimizeGraph(x, { level, pipeline, target, out: () => {} }).graph);
}
