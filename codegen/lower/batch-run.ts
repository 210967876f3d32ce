/**
 * Running a symbolic-batch program (lower/symbolic.ts) from a host: the batch of a call, read from
 * the batched inputs' leading dims (AIC0452 when they disagree, AIC0450 beyond --max-shape), and the
 * shapes of a buffer at that batch. Shared by the C and wasm runners; the generated loaders do the same.
 */
import { Tensor, diag, type RValue } from '@aic/core';
import type { Program, ProgramBuffer } from './program.ts';
import type { SymbolicBatch } from './symbolic.ts';
import { describeExtentShape } from '../extents-run.ts';
import { BATCH_EXTENT_TARGETS, describeBoth } from './batch-extent.ts';

/** Targets whose hosts run a program per sample (C aic_model_run_batch, the wasm loader, the WGSL host). */
const BATCH_TARGETS = ['c', 'wasm', 'wasm-simd', 'wgsl'];

/** Attach the batch to the program the artifact is rendered from; data-dependent sizes do not combine with it yet. */
export function attachBatch(prog: Program, batch: SymbolicBatch, target: string): void {
  if (!BATCH_TARGETS.includes(target)) throw diag.symbolUnsupported(batch.symbol, `is a run-time batch, which target ${target} does not take yet (targets: ${BATCH_TARGETS.join(', ')})`);
  const ext = prog.outputs.find((b) => b.extent);
  if (ext) throw diag.symbolUnsupported(batch.symbol, `meets output '${ext.value}', whose size the data decides (not yet combined with a symbolic batch)`);
  if (prog.extents && !BATCH_EXTENT_TARGETS.includes(target)) throw diag.batchExtentUnsupported(batch.symbol, prog.extents.symbol, target, BATCH_EXTENT_TARGETS.join(', '));
  prog.batch = batch;
}

/** Is this buffer (a graph input or output) batched? */
export function isBatched(prog: Program, b: ProgramBuffer): boolean {
  const bt = prog.batch;
  return !!bt && (b.role === 'input' ? bt.inputs.includes(b.value) : b.role === 'output' && bt.outputs.includes(b.value));
}

/** b's shape at batch n (its one-sample shape when not batched). */
export function shapeAt(prog: Program, b: ProgramBuffer, n: number): number[] {
  return isBatched(prog, b) ? [n, ...b.shape.slice(1)] : b.shape.slice();
}

/** The batch of a call: every batched input's dim 0, the same for all, within the maximum. 1 for a static program. */
export function batchOf(prog: Program, feeds: Map<string, RValue>): number {
  const bt = prog.batch;
  if (!bt) return 1;
  let n: number | undefined, who = '';
  for (const b of prog.inputs) {
    if (!isBatched(prog, b)) continue;
    const t = feeds.get(b.value);
    if (!(t instanceof Tensor)) throw diag.missingInput(b.value);
    const rest = b.shape.slice(1);
    // with a run-time extent too, extentOf checks the other dims (extents-run.ts)
    if (t.shape.length !== b.shape.length || (!prog.extents && rest.some((d, k) => d !== t.shape[k + 1]))) {
      throw diag.symbolMismatch(bt.symbol, `input '${b.value}' is [${t.shape.join(', ')}], expected [${bt.symbol}, ${rest.join(', ')}]`);
    }
    const m = t.shape[0]!;
    if (n !== undefined && m !== n) throw diag.symbolMismatch(bt.symbol, `input '${who}' gives ${n}, input '${b.value}' gives ${m}`);
    if (n === undefined) { n = m; who = b.value; }
  }
  n ??= 1;
  if (n < 1) throw diag.symbolMismatch(bt.symbol, `the batch is ${n}; a run needs at least one sample`);
  if (bt.max !== undefined && n > bt.max) throw diag.symbolBeyondMax(bt.symbol, n, bt.max, 'running the compiled model');
  return n;
}

/** How artifacts write a buffer's shape: the batch dim as its symbol. */
export function describeShape(prog: Program, b: ProgramBuffer): string {
  if (prog.extents && isBatched(prog, b)) return describeBoth(prog, b, true);
  if (prog.extents?.dims[b.name]) return describeExtentShape(prog, b);
  const s = isBatched(prog, b) ? [prog.batch!.symbol, ...b.shape.slice(1)] : b.shape;
  return `[${s.join(', ')}]`;
}

/** One line saying what the symbol accepts. */
export function describeBatch(batch: SymbolicBatch): string {
  return `'${batch.symbol}' is the batch, known when the model runs: any value from 1${batch.max !== undefined ? ` to ${batch.max} (--max-shape)` : ''}; `
    + 'the kernels are specialized for one sample and run once per sample, in one sample\'s activation memory';
}
