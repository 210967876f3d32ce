/**
 * aic compile MODEL --target T -o DIR: optimize (-O2 by default), lower every node to a loop nest,
 * schedule, plan memory and render the target. --emit prints an intermediate form instead.
 * The work is the library API's (packages/api: loadGraph, optimize, compileGraph).
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { Tensor, diag, readFileOrThrow, type Graph } from '@aic/core';
import { TARGETS, expandSequences, passTarget, prepareForRun } from '@aic/codegen';
import { EMIT_FORMS, VERSION, compileGraph, compileTargetOrThrow, emitForm, loadGraph, optimizeSymbolic, parseSchedules } from '@aic/api/internal';
import type { Directive } from '@aic/loop-ir';
import { withTuningLogs } from './tuning-log.ts';
import { readTensorFile } from '../model-io.ts';
import { parseMaxShapes, splitShapeOptions } from '../symbolic-shapes.ts';
import { optimize, resolvePipeline, type PipelineCliOptions } from '../pipeline-options.ts';
import { note } from '../ui.ts';
import { parseWgslLimits } from '../wgsl-limits.ts';
import { layoutConversionStats } from '../layout-stats.ts';

export { VERSION };

export interface CompileOptions extends PipelineCliOptions {
  target?: string; output?: string; listTargets?: boolean; emit?: string; schedule?: string;
  constInput?: string[]; inputShape?: string[]; plainLoops?: boolean; maxShape?: string[]; embedWeights?: boolean; tuningLog?: string[]; wgslLimit?: string[];
}

export function targetTable(): string {
  const w = Math.max(...TARGETS.map((t) => t.name.length));
  return TARGETS.map((t) => `  ${t.name.padEnd(w)}  ${t.compile ? 'compile' : t.run ? 'run only' : 'planned '}  ${t.summary}`).join('\n');
}

/** --const-input NAME=FILE... as tensors by input name. */
function constInputs(list: string[] | undefined, g: Graph): Map<string, Tensor> {
  const consts = new Map<string, Tensor>();
  for (const ci of list ?? []) {
    const eq = ci.indexOf('=');
    if (eq <= 0) throw diag.usage(`--const-input '${ci}': expected NAME=FILE`);
    const nm = ci.slice(0, eq);
    if (!g.inputs.some((v) => v.name === nm)) throw diag.usage(`--const-input: the model has no input '${nm}'; inputs: ${g.inputs.map((v) => v.name).join(', ')}`);
    const x = readTensorFile(ci.slice(eq + 1));
    if (!(x instanceof Tensor)) throw diag.badTensorFile(ci.slice(eq + 1), 'expected a tensor');
    consts.set(nm, x);
  }
  return consts;
}

export async function compileCommand(model: string | undefined, opts: CompileOptions): Promise<number> {
  const available = TARGETS.filter((t) => t.compile).map((t) => t.name);
  if (opts.listTargets || !model) {
    process.stdout.write(`targets:\n${targetTable()}\ncompile targets available so far: ${available.length ? available.join(', ') : 'none'}\n`);
    return model || opts.listTargets ? 0 : 2;
  }
  resolvePipeline(opts);
  const name = opts.target;
  if (!name) throw diag.usage(`compile needs --target; compile targets: ${available.join(', ') || 'none'} (see aic compile --list-targets)`);
  compileTargetOrThrow(name);
  const wgslLimits = parseWgslLimits(opts.wgslLimit);
  if (opts.emit !== undefined && !(EMIT_FORMS as readonly string[]).includes(opts.emit)) throw diag.usage(`--emit '${opts.emit}': one of ${EMIT_FORMS.join(', ')}`);
  if (!opts.emit && !opts.output) throw diag.usage('compile needs -o DIR (or --emit c|loops|schedule to print)');
  const schedules = opts.schedule === undefined ? undefined : parseSchedules(new TextDecoder().decode(readFileOrThrow(opts.schedule)), opts.schedule);

  const { graph, compiled } = await compileModel(model, name, opts, schedules, wgslLimits);
  if (opts.emit) {
    process.stdout.write(emitForm(compiled, opts.emit));
    return 0;
  }
  if (opts.stats) process.stderr.write(compiled.summary + layoutConversionStats(graph));
  if (fs.existsSync(opts.output!) && !fs.statSync(opts.output!).isDirectory()) throw diag.usage(`-o '${opts.output}' exists and is not a directory`);
  const files = compiled.write(opts.output!);
  process.stdout.write(`compiled ${model} for '${name}' (${compiled.prog.kernels.length} kernels)\n${files.map((f) => `  wrote ${f}`).join('\n')}\n`);
  return 0;
}

/**
 * MODEL through every step of `aic compile` short of writing: load and validate, optimize (per symbolic
 * value when dims stay symbolic), expand sequences, inline decided Ifs, apply tuning logs, lower,
 * schedule and render. `aic check --target` runs it too, so check refuses what compile refuses.
 */
export async function compileModel(model: string, name: string, opts: CompileOptions, schedules?: Map<string, Directive[]>, wgslLimits?: ReturnType<typeof parseWgslLimits>): Promise<{ graph: Graph; compiled: ReturnType<typeof compileGraph> }> {
  // validated before any pass rewrites it; --const-input: shape-deciding inputs bound to their values
  const shapes = splitShapeOptions(opts.inputShape);
  const g = await loadGraph(model, { inputShapes: shapes.numeric, onNote: note, validate: true });
  // dims left symbolic (in the model, or named in --input-shape): a run-time batch, or a run-time extent
  // (a sequence length), the model optimized at each value lowered: the API's optimizeSymbolic (packages/api/src/symbolic.ts)
  const { graph, batch, extents } = optimizeSymbolic(g, { shapes: shapes.symbolic, max: parseMaxShapes(opts.maxShape), note, consts: () => constInputs(opts.constInput, g) },
    (x) => optimize(x, opts, undefined, undefined, passTarget(name)).graph);
  // sequences and optionals whose structure the model and --const-input decide become tensors (codegen/expand-sequences.ts)
  if (!batch && !extents) expandSequences(graph, new Map(), note);
  // --const-input decided an If whose branches differ in shape: its taken branch replaces it (codegen/inline-if.ts)
  if (opts.constInput?.length && !batch && !extents) prepareForRun(graph, new Map());
  const sourceHash = createHash('sha256').update(readFileOrThrow(model)).digest('hex').slice(0, 16);
  const tuned = withTuningLogs(graph, name, opts.tuningLog, schedules);
  const compiled = compileGraph(graph, { target: name, source: model.split('/').pop() ?? model, sourceHash, schedules: tuned, plainLoops: opts.plainLoops, embedWeights: opts.embedWeights, batch, extents, wgslLimits });
  return { graph, compiled };
}
