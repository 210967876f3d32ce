/**
 * Compiling a graph for a target: lower every node to a loop nest, schedule, plan memory and render.
 * The graph is compiled as given: optimize it first (optimize.ts) for the target.
 */
import { diag, type Graph } from '@aic/core';
import { algorithmStats, compileFor, type ExtentSpec, type Program, type SymbolicBatch } from '@aic/codegen';
import { validateGraph } from '@aic/ir-spec';
import { ScheduleError, parseScheduleFile, printKernel, printSchedule, type Directive } from '@aic/loop-ir';
import { compileTargetOrThrow, withWgslLimits } from './targets.ts';
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
  /** a symbolic batch (bindSymbolicBatch, before optimizing): the artifact takes any batch */
  batch?: SymbolicBatch;
  /** a symbolic dim as a run-time extent (codegen/lower/extents.ts): g is the model at its maximum */
  extents?: ExtentSpec;
  /** target wgsl: the device limits to compile for (default: WebGPU's guaranteed ones, which every device has) */
  wgslLimits?: Record<string, number>;
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
  const t = withWgslLimits(compileTargetOrThrow(name), opts.wgslLimits);
  validateGraph(g);
  // the one compile driver (codegen/driver.ts): lower, schedule, plan memory and render through the target's hooks
  const c = compileFor(t, g, {
    version: VERSION, source: opts.source ?? g.name, sourceHash: opts.sourceHash ?? '-', schedules: opts.schedules, noSchedule: opts.plainLoops, embedWeights: opts.embedWeights, batch: opts.batch, extents: opts.extents,
  });
  const prog = c.prog;
  const forms: Partial<Record<EmitForm, () => string>> = {
    loops: () => prog.kernels.map(printKernel).join('\n'),
    schedule: () => [...prog.schedules.entries()].map(([k, d]) => printSchedule(k, d)).join('\n'),
  };
  for (const f of t.forms) if (t.emit) forms[f as EmitForm] = () => t.emit!(c, f);
  return {
    target: name, prog, memory: c.plan, forms,
    write: (dir) => {
      if (!t.writeArtifact) throw diag.unsupportedFeature(`writing an artifact for target '${name}'`);
      return t.writeArtifact(dir, c);
    },
    summary: (t.stats ? t.stats(c, humanBytes) : '') + algorithmStats(prog),
  };
}
