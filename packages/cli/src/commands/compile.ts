/**
 * aic compile MODEL --target T -o DIR: optimize (-O2 by default), lower every node to a loop nest,
 * schedule, plan memory and render the target. --emit prints an intermediate form instead.
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { Tensor, diag, readFileOrThrow } from '@aic/core';
import { TARGETS, algorithmStats, bindConstInputs, compileFor, findTarget, passTargetOf } from '@aic/codegen';
import { validateGraph } from '@aic/ir-spec';
import { ScheduleError, parseScheduleFile, printKernel, printSchedule, type Directive } from '@aic/loop-ir';
import { loadModel, parseShapeOptions, readTensorFile } from '../model-io.ts';
import { optimize, resolvePipeline, type PipelineCliOptions } from '../pipeline-options.ts';
import { humanBytes } from '../stats.ts';
import { layoutConversionStats } from '../layout-stats.ts';

export const VERSION = '0.1.0';
/** --emit forms: the loop IR and schedules of every target, and each target's own forms */
const EMITS: readonly string[] = [...new Set(TARGETS.flatMap((t) => t.forms)), 'loops', 'schedule'];

export interface CompileOptions extends PipelineCliOptions {
  target?: string; output?: string; listTargets?: boolean; emit?: string; schedule?: string;
  constInput?: string[]; inputShape?: string[]; plainLoops?: boolean; embedWeights?: boolean;
}

export function targetTable(): string {
  const w = Math.max(...TARGETS.map((t) => t.name.length));
  return TARGETS.map((t) => `  ${t.name.padEnd(w)}  ${t.compile ? 'compile' : t.run ? 'run only' : 'planned '}  ${t.summary}`).join('\n');
}

function readSchedules(file: string | undefined): Map<string, Directive[]> | undefined {
  if (!file) return undefined;
  const text = new TextDecoder().decode(readFileOrThrow(file));
  try {
    return parseScheduleFile(text);
  } catch (e) {
    if (e instanceof ScheduleError) throw diag.usage(`--schedule ${file}: ${e.message}`);
    throw e;
  }
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
  const t = findTarget(name);
  if (!t) throw diag.usage(`unknown target '${name}'; targets: ${TARGETS.map((x) => x.name).join(', ')}`);
  if (!t.compile) throw diag.unsupportedFeature(`compiling for target '${name}' (not implemented yet; compile targets available: ${available.join(', ') || 'none'})`);
  if (opts.emit !== undefined && !EMITS.includes(opts.emit)) throw diag.usage(`--emit '${opts.emit}': one of ${EMITS.join(', ')}`);
  if (!opts.emit && !opts.output) throw diag.usage('compile needs -o DIR (or --emit c|loops|schedule to print)');
  const schedules = readSchedules(opts.schedule);

  const g = await loadModel(model, parseShapeOptions(opts.inputShape));
  validateGraph(g); // what the interpreter refuses, no target compiles: checked before any pass rewrites it
  // --const-input: shape-deciding inputs bound to their values
  const consts = new Map<string, Tensor>();
  for (const ci of opts.constInput ?? []) {
    const eq = ci.indexOf('=');
    if (eq <= 0) throw diag.usage(`--const-input '${ci}': expected NAME=FILE`);
    const nm = ci.slice(0, eq);
    if (!g.inputs.some((v) => v.name === nm)) throw diag.usage(`--const-input: the model has no input '${nm}'; inputs: ${g.inputs.map((v) => v.name).join(', ')}`);
    const x = readTensorFile(ci.slice(eq + 1));
    if (!(x instanceof Tensor)) throw diag.badTensorFile(ci.slice(eq + 1), 'expected a tensor');
    consts.set(nm, x);
  }
  if (consts.size) bindConstInputs(g, consts);
  const { graph } = optimize(g, opts, undefined, undefined, passTargetOf(t));
  const sourceHash = createHash('sha256').update(readFileOrThrow(model)).digest('hex').slice(0, 16);
  // one driver for every target: lower, schedule, plan memory and render through the target's hooks
  const compiled = compileFor(t, graph, { version: VERSION, source: model.split('/').pop() ?? model, sourceHash, schedules, noSchedule: opts.plainLoops, embedWeights: opts.embedWeights });
  const prog = compiled.prog;
  if (opts.emit === 'loops') { process.stdout.write(prog.kernels.map(printKernel).join('\n')); return 0; }
  if (opts.emit === 'schedule') {
    process.stdout.write([...prog.schedules.entries()].map(([k, d]) => printSchedule(k, d)).join('\n'));
    return 0;
  }
  if (opts.emit) {
    if (!t.forms.includes(opts.emit) || !t.emit) throw diag.usage(`--emit ${opts.emit} is not a form of target '${name}' (forms: loops, schedule${t.forms.map((f) => `, ${f}`).join('')})`);
    process.stdout.write(t.emit(compiled, opts.emit));
    return 0;
  }
  if (opts.stats) process.stderr.write((t.stats ? t.stats(compiled, humanBytes) : '') + algorithmStats(prog) + layoutConversionStats(graph));
  if (fs.existsSync(opts.output!) && !fs.statSync(opts.output!).isDirectory()) throw diag.usage(`-o '${opts.output}' exists and is not a directory`);
  if (!t.writeArtifact) throw diag.unsupportedFeature(`writing an artifact for target '${name}'`);
  const files = t.writeArtifact(opts.output!, compiled);
  process.stdout.write(`compiled ${model} for '${name}' (${prog.kernels.length} kernels)\n${files.map((f) => `  wrote ${f}`).join('\n')}\n`);
  return 0;
}
