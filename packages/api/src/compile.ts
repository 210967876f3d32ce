/**
 * Compiling a graph for a target: lower every node to a loop nest, schedule, plan memory and render.
 * The graph is compiled as given: optimize it first (optimize.ts) for the target.
 */
import { diag, type Graph } from '@aic/core';
import { compileC, compileWasm, compileWgsl, emitWat, writeCArtifact, writeWasmArtifact, writeWgslArtifact, type Program } from '@aic/codegen';
import { validateGraph } from '@aic/ir-spec';
import { ScheduleError, parseScheduleFile, printKernel, printSchedule, type Directive } from '@aic/loop-ir';
import { compileTargetOrThrow } from './targets.ts';
import { humanBytes } from './inspect.ts';

export const VERSION = '0.1.0';
export const EMIT_FORMS = ['loops', 'schedule', 'c', 'wat', 'wgsl'] as const;
export type EmitForm = typeof EMIT_FORMS[number];

export interface CompileGraphOptions {
  target: string;
  schedules?: Map<string, Directive[]>;
  plainLoops?: boolean;
  embedWeights?: boolean;
  source?: string;
  sourceHash?: string;
}

export interface CompiledGraph {
  target: string;
  prog: Program;
  memory: { arenaBytes: number; naiveBytes: number };
  /** text forms, rendered on demand */
  forms: Partial<Record<EmitForm, () => string>>;
  write(dir: string): string[];
  summary: string;
}

/** Schedule-file text (`kernel NAME { ... }` blocks) as directives; `where` names it in errors. */
export function parseSchedules(text: string, where: string): Map<string, Directive[]> {
  try {
    return parseScheduleFile(text);
  } catch (e) {
    if (e instanceof ScheduleError) throw diag.usage(`--schedule ${where}: ${e.message}`);
    throw e;
  }
}

/** Print a form of a compiled graph; a usage error names the forms the target has. */
export function emitForm(c: CompiledGraph, form: string): string {
  const f = c.forms[form as EmitForm];
  if (!(EMIT_FORMS as readonly string[]).includes(form)) throw diag.usage(`--emit '${form}': one of ${EMIT_FORMS.join(', ')}`);
  if (!f) throw diag.usage(`--emit ${form} is not a form of target '${c.target}' (forms: ${Object.keys(c.forms).join(', ')})`);
  return f();
}

export function compileGraph(g: Graph, opts: CompileGraphOptions): CompiledGraph {
  const name = opts.target;
  compileTargetOrThrow(name);
  validateGraph(g);
  const common = { version: VERSION, source: opts.source ?? g.name, sourceHash: opts.sourceHash ?? '-', schedules: opts.schedules, noSchedule: opts.plainLoops };
  const mem = (p: { arenaBytes: number; naiveBytes: number }) => `memory: peak activation bytes ${p.arenaBytes} (${humanBytes(p.arenaBytes)}), naive sum ${p.naiveBytes} (${humanBytes(p.naiveBytes)})`;
  const base = (prog: Program) => ({
    loops: () => prog.kernels.map(printKernel).join('\n'),
    schedule: () => [...prog.schedules.entries()].map(([k, d]) => printSchedule(k, d)).join('\n'),
  });
  // one backend per target: each lowers the same graph to the same loop IR and renders it
  if (name === 'c') {
    const c = compileC(g, common);
    return {
      target: name, prog: c.prog, memory: c.plan, forms: { ...base(c.prog), c: () => c.art.c },
      write: (dir) => writeCArtifact(dir, c.art),
      summary: `${mem(c.plan)}, ${c.plan.inPlace.size} in-place kernels\nkernels: ${c.prog.kernels.length}, weights ${humanBytes(c.art.weights?.length ?? 0)}\n`,
    };
  }
  if (name === 'wgsl') {
    const w = compileWgsl(g, common);
    return {
      target: name, prog: w.prog, memory: w.plan, forms: { ...base(w.prog), wgsl: () => w.wgsl },
      write: (dir) => writeWgslArtifact(dir, w),
      summary: `${mem(w.plan)}\nkernels: ${w.prog.kernels.length}, weights ${humanBytes(w.weights?.length ?? 0)}\n`,
    };
  }
  if (name === 'wasm-simd' || name === 'wasm') {
    const w = compileWasm(g, { ...common, simd: name === 'wasm-simd', embedWeights: opts.embedWeights });
    const wasmBytes = w.files.get('model.wasm');
    return {
      target: name, prog: w.prog, memory: w.plan, forms: { ...base(w.prog), wat: () => emitWat(w) },
      write: (dir) => writeWasmArtifact(dir, w),
      summary: `${mem(w.plan)}\nkernels: ${w.prog.kernels.length}, model.wasm ${humanBytes(typeof wasmBytes === 'string' ? wasmBytes.length : wasmBytes?.length ?? 0)}, compile ${w.compileMs.toFixed(0)} ms\n`,
    };
  }
  throw diag.unsupportedFeature(`compiling for target '${name}'`);
}
