/**
 * The driver's side of run-time extents (lower/extents.ts): compile a program for a symbolic dim on
 * targets whose hosts set the extent per run, and, for the runners, the extent of a run read from
 * its inputs (AIC0452 when they disagree or do not fit the static dims, AIC0450 beyond the maximum).
 */
import { Tensor, diag, type RValue } from '@aic/core';
import type { Directive } from '@aic/loop-ir';
import { lowerWithExtents, dimsAt, dimText, type ExtentSpec } from './lower/extents.ts';
import type { Program, ProgramBuffer } from './lower/program.ts';
import type { CompileOptions, Target } from './target.ts';

/** Targets whose artifacts take a run-time extent. */
const EXTENT_TARGETS = ['c', 'wasm-simd', 'wasm', 'wgsl'];

export function compileExtents(target: Target, spec: ExtentSpec, opts: CompileOptions): Program {
  if (!EXTENT_TARGETS.includes(target.name)) throw diag.extentUnsupported(spec.symbol, `is a run-time extent, which target ${target.name} does not take yet (targets: ${EXTENT_TARGETS.join(', ')})`);
  return lowerWithExtents(spec, {
    caps: target.caps!,
    // not on C: a vector loop under a branch makes GCC 12 warn (-Wmaybe-uninitialized, a false positive in the
    // vector helpers), and the C build takes warnings as errors
    hoistGuards: target.name !== 'c',
    grid: target.extentGrid,
    schedules: (prog) => {
      const chosen = opts.noSchedule || !target.defaultSchedules ? new Map<string, Directive[]>() : target.defaultSchedules(prog, opts.schedules);
      for (const [k, d] of opts.schedules ?? []) if (prog.sources.has(k) && (d.length === 0 || d.some((x) => x.d !== 'algorithm'))) chosen.set(k, d);
      return chosen;
    },
    finish: (p) => { target.finish?.(p); target.finishExtents?.(p); },
  });
}

/** The extent of a run: every input with a symbolic dim gives the same value, within [1, max]. The maximum for a static program. */
export function extentOf(prog: Program, feeds: Map<string, RValue>): number {
  const ext = prog.extents;
  if (!ext) return 0;
  let v: number | undefined, who = '';
  for (const b of prog.inputs) {
    const d = ext.dims[b.name];
    if (!d) continue;
    const t0 = feeds.get(b.value);
    if (!(t0 instanceof Tensor)) throw diag.missingInput(b.value);
    const t = feedShape(prog, b, t0);
    const k = d.findIndex((x) => typeof x !== 'number');
    const want = `[${d.map((x) => dimText(x, ext.symbol)).join(', ')}]`;
    if (t.shape.length !== d.length || d.some((x, i) => typeof x === 'number' && x !== t.shape[i])) throw diag.symbolMismatch(ext.symbol, `input '${b.value}' is [${t.shape.join(', ')}], expected ${want}`);
    // the value whose dims match the array (the symbol's dim is a polynomial of it; try the values up to max)
    let m: number | undefined;
    for (let s = 1; s <= 64 * ext.max && m === undefined; s++) if (dimsAt(ext, b, s).every((x, i) => x === t.shape[i])) m = s;
    if (m === undefined) throw diag.symbolMismatch(ext.symbol, `input '${b.value}' is [${t.shape.join(', ')}] (dim ${k}), which no value of ${ext.symbol} from 1 to ${ext.max} gives: ${want}`);
    if (m > ext.max) throw diag.symbolBeyondMax(ext.symbol, m, ext.max, 'running the compiled model');
    if (v !== undefined && m !== v) throw diag.symbolMismatch(ext.symbol, `input '${who}' gives ${v}, input '${b.value}' gives ${m}`);
    if (v === undefined) { v = m; who = b.value; }
  }
  return v ?? ext.max;
}

/** A feed's shape as one sample where the input is also batched (lower/batch-extent.ts): dim 0 as 1. */
function feedShape(prog: Program, b: ProgramBuffer, t: Tensor): { shape: readonly number[] } {
  return prog.batch?.inputs.includes(b.value) && t.shape.length ? { shape: [1, ...t.shape.slice(1)] } : t;
}

/** A buffer's shape at extent v (its static shape in a program without extents). */
export function shapeAtExtent(prog: Program, b: ProgramBuffer, v: number): number[] {
  return prog.extents ? dimsAt(prog.extents, b, v) : b.shape.slice();
}

/** An input/output's shape in a run at batch n and extent v (either, both or neither symbolic). */
export function runShape(prog: Program, b: ProgramBuffer, n: number, v: number): number[] {
  const s = shapeAtExtent(prog, b, v);
  return prog.batch && (b.role === 'input' ? prog.batch.inputs : prog.batch.outputs).includes(b.value) ? [n, ...s.slice(1)] : s;
}

/** How artifacts write a buffer's shape: symbolic dims as their polynomial. */
export function describeExtentShape(prog: Program, b: ProgramBuffer): string {
  const d = prog.extents?.dims[b.name];
  return `[${(d ?? b.shape).map((x) => dimText(x, prog.extents!.symbol)).join(', ')}]`;
}
