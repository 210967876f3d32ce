/**
 * aic compile MODEL --target T -o DIR: optimize (-O2 by default), lower every node to a loop nest,
 * schedule, plan memory and render the target. --emit prints an intermediate form instead.
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { Tensor, diag, readFileOrThrow } from '@aic/core';
import {
  TARGETS, algorithmStats, bindConstInputs, compileC, compileWasm, compileWgsl, emitWat, findTarget, passTarget, writeCArtifact, writeWasmArtifact, writeWgslArtifact, type Program,
} from '@aic/codegen';
import { validateGraph } from '@aic/ir-spec';
import { ScheduleError, parseScheduleFile, printKernel, printSchedule, type Directive } from '@aic/loop-ir';
import { loadModel, parseShapeOptions, readTensorFile } from '../model-io.ts';
import { optimize, resolvePipeline, type PipelineCliOptions } from '../pipeline-options.ts';
import { humanBytes } from '../stats.ts';

export const VERSION = '0.1.0';
const EMITS = ['c', 'wgsl', 'wat', 'loops', 'schedule'] as const;

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
  if (opts.emit !== undefined && !EMITS.includes(opts.emit as typeof EMITS[number])) throw diag.usage(`--emit '${opts.emit}': one of ${EMITS.join(', ')}`);
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
  const { graph } = optimize(g, opts, undefined, undefined, passTarget(name));
  const sourceHash = createHash('sha256').update(readFileOrThrow(model)).digest('hex').slice(0, 16);
  const common = { version: VERSION, source: model.split('/').pop() ?? model, sourceHash, schedules, noSchedule: opts.plainLoops };
  // one backend per target: each lowers the same graph to the same loop IR and renders it
  let prog: Program;
  let text: Partial<Record<typeof EMITS[number], string>>;
  let write: (dir: string) => string[];
  let stats: string;
  if (name === 'c') {
    const c = compileC(graph, common);
    prog = c.prog;
    text = { c: c.art.c };
    write = (dir) => writeCArtifact(dir, c.art);
    stats = `memory: peak activation bytes ${c.plan.arenaBytes} (${humanBytes(c.plan.arenaBytes)}), naive sum ${c.plan.naiveBytes} (${humanBytes(c.plan.naiveBytes)}), ${c.plan.inPlace.size} in-place kernels\nkernels: ${prog.kernels.length}, weights ${humanBytes(c.art.weights?.length ?? 0)}\n`;
  } else if (name === 'wgsl') {
    const w = compileWgsl(graph, common);
    prog = w.prog;
    text = { wgsl: w.wgsl };
    write = (dir) => writeWgslArtifact(dir, w);
    stats = `memory: peak activation bytes ${w.plan.arenaBytes} (${humanBytes(w.plan.arenaBytes)}), naive sum ${w.plan.naiveBytes} (${humanBytes(w.plan.naiveBytes)})\nkernels: ${prog.kernels.length}, weights ${humanBytes(w.weights?.length ?? 0)}\n`;
  } else if (name === 'wasm-simd' || name === 'wasm') {
    const w = compileWasm(graph, { ...common, simd: name === 'wasm-simd', embedWeights: opts.embedWeights });
    prog = w.prog;
    text = { wat: emitWat(w) };
    write = (dir) => writeWasmArtifact(dir, w);
    const wasmBytes = w.files.get('model.wasm');
    stats = `memory: peak activation bytes ${w.plan.arenaBytes} (${humanBytes(w.plan.arenaBytes)}), naive sum ${w.plan.naiveBytes} (${humanBytes(w.plan.naiveBytes)})\nkernels: ${prog.kernels.length}, model.wasm ${humanBytes(typeof wasmBytes === 'string' ? wasmBytes.length : wasmBytes?.length ?? 0)}, compile ${w.compileMs.toFixed(0)} ms\n`;
  } else {
    throw diag.unsupportedFeature(`compiling for target '${name}'`);
  }
  if (opts.emit === 'loops') { process.stdout.write(prog.kernels.map(printKernel).join('\n')); return 0; }
  if (opts.emit === 'schedule') {
    process.stdout.write([...prog.schedules.entries()].map(([k, d]) => printSchedule(k, d)).join('\n'));
    return 0;
  }
  if (opts.emit) {
    const t = text[opts.emit as typeof EMITS[number]];
    if (t === undefined) throw diag.usage(`--emit ${opts.emit} is not a form of target '${name}' (forms: loops, schedule, ${Object.keys(text).join(', ')})`);
    process.stdout.write(t);
    return 0;
  }
  if (opts.stats) process.stderr.write(stats + algorithmStats(prog));
  if (fs.existsSync(opts.output!) && !fs.statSync(opts.output!).isDirectory()) throw diag.usage(`-o '${opts.output}' exists and is not a directory`);
  const files = write(opts.output!);
  process.stdout.write(`compiled ${model} for '${name}' (${prog.kernels.length} kernels)\n${files.map((f) => `  wrote ${f}`).join('\n')}\n`);
  return 0;
}
