/**
 * Two symbolic dims at once: a batch (a symbol only ever at dim 0 of the inputs) and one other symbol
 * (a sequence length) as a run-time extent. The batch is handled as alone (lower/symbolic.ts: bound to
 * 1, the artifact runs the one-sample program per sample), the other symbol as alone (lower/extents.ts:
 * the one-sample model lowered at several values and merged). A run sets the extent, then runs each
 * sample, the batched inputs and outputs addressed at sample n with one sample's run-time size.
 */
import { AicError, diag, type Dim, type Graph } from '@aic/core';
import { batchMixes, bindSymbolicBatch, type SymbolicBatch } from './symbolic.ts';
import type { Program, ProgramBuffer } from './program.ts';
import { dimText } from './extents.ts';

/** Targets whose hosts take a batch and a run-time extent together. */
export const BATCH_EXTENT_TARGETS = ['c', 'wasm', 'wasm-simd', 'wgsl'];

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

/**
 * A leading symbol alone: a batch run per sample (lower/symbolic.ts), or, where ops mix samples (its
 * AIC0451) and --max-shape gives its maximum, a run-time extent like a sequence length (lower/extents.ts).
 */
export function batchOrExtent(g: Graph, shapes: Record<string, Dim[]>, max: Record<string, number>, note?: (s: string) => void): { batch?: SymbolicBatch; ext?: { symbol: string; max: number } } {
  try {
    return { batch: bindSymbolicBatch(g, { shapes, max, note }) };
  } catch (e) {
    if (!batchMixes(e)) throw e;
    const symbol = g.inputs.map((v) => v.shape?.[0]).find((d): d is string => typeof d === 'string')!;
    const m = max[symbol];
    if (m === undefined) throw new AicError(e.code, `${e.message}; or --max-shape ${symbol}=N (N >= 8) makes it a run-time extent instead`, e.exitCode, e.loc);
    note?.(`'${symbol}': ops mix the samples, so it is a run-time extent (the code reads it; buffers sized for ${m}), not a per-sample batch`);
    return { ext: { symbol, max: m } };
  }
}

/** Both: the batch bound (checked at the extent's maximum); a batch that ops mix is AIC0476 (it cannot be a second extent). */
export function bindBatchBesideExtent(g: Graph, both: { batch: string; extent: string }, shapes: Record<string, Dim[]>, max: Record<string, number>, at: number, note?: (s: string) => void): SymbolicBatch {
  const bmax: Record<string, number> = max[both.batch] === undefined ? {} : { [both.batch]: max[both.batch]! };
  try {
    return bindSymbolicBatch(g, { shapes, max: bmax, note, extent: { symbol: both.extent, at } })!;
  } catch (e) {
    if (!batchMixes(e)) throw e;
    throw diag.batchMixesBesideExtent(both.batch, both.extent, e.message.slice(e.message.lastIndexOf('followed through')));
  }
}
