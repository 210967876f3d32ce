/**
 * Two symbolic dims at once: a batch (a symbol only ever at dim 0 of the inputs) and one other symbol
 * (a sequence length) as a run-time extent. The batch is handled as alone (lower/symbolic.ts: bound to
 * 1, the artifact runs the one-sample program per sample), the other symbol as alone (lower/extents.ts:
 * the one-sample model lowered at several values and merged). A run sets the extent, then runs each
 * sample, the batched inputs and outputs addressed at sample n with one sample's run-time size.
 */
import { diag, type Dim, type Graph } from '@aic/core';
import type { Program, ProgramBuffer } from './program.ts';
import { dimText } from './extents.ts';

/** Targets whose hosts take a batch and a run-time extent together. */
export const BATCH_EXTENT_TARGETS = ['c', 'wasm', 'wasm-simd'];

/**
 * The batch and extent symbols of g's inputs (the --input-shape dims in place of the model's), when
 * there are both: one symbol only at dim 0 and one elsewhere. Undefined otherwise (one symbol or
 * none: lower/symbolic.ts or lower/extent-symbol.ts alone). `max` must name only these two.
 */
export function batchAndExtent(g: Graph, shapes: Record<string, Dim[]>, max: Record<string, number>): { batch: string; extent: string } | undefined {
  const dimsOf = (v: Graph['inputs'][number]) => shapes[v.name] ?? (g.inputs.length === 1 ? shapes[''] : undefined) ?? v.shape ?? [];
  const leading = new Set<string>(), inner = new Set<string>();
  for (const v of g.inputs) dimsOf(v).forEach((d, i) => { if (typeof d === 'string') (i === 0 ? leading : inner).add(d); });
  for (const s of inner) leading.delete(s);
  if (leading.size !== 1 || inner.size !== 1) return undefined;
  const batch = [...leading][0]!, extent = [...inner][0]!;
  for (const name of Object.keys(max)) if (name !== batch && name !== extent) throw diag.usage(`--max-shape ${name}: the model's symbolic dims are '${batch}' (the batch) and '${extent}'`);
  return { batch, extent };
}

/** Is this a program of both (a batch and a run-time extent)? */
export const hasBoth = (prog: Program): boolean => !!prog.batch && !!prog.extents;

/** How artifacts write b's shape: the batch symbol at dim 0 where batched, the extent's polynomials elsewhere. */
export function describeBoth(prog: Program, b: ProgramBuffer, batched: boolean): string {
  const ext = prog.extents!;
  const d = (ext.dims[b.name] ?? b.shape).map((x) => dimText(x, ext.symbol));
  return `[${(batched ? [prog.batch!.symbol, ...d.slice(1)] : d).join(', ')}]`;
}
