/**
 * aic run MODEL [--target interp] [--input NAME=FILE]... [--output-dir DIR] [--tuning-log FILE]...
 * Writes DIR/<output name>.npy for every output (name sanitized to [A-Za-z0-9._-]); a sequence output
 * of N tensors as <name>_0.npy ... <name>_{N-1}.npy.
 * The graph is optimized first (-O / --pipeline, default -O2: see RUN_DEFAULT_WHY), then run by the
 * library API's runGraph (packages/api/src/run.ts).
 */
import * as fs from 'node:fs';
import { Tensor, diag, writeFileAtomic, SHORT_NAME, type RValue } from '@aic/core';
import { checkFeed } from '@aic/interp';
import { findTarget, passTarget } from '@aic/codegen';
import { runGraph, runTargetOrThrow } from '@aic/api/internal';
import { loadModel, parseInputOptions, parseShapeOptions } from '../model-io.ts';
import { bindShapesFromInputs } from '../input-shapes.ts';
import { outputFiles, outputNpy, readInputFile } from '../tensor-files.ts';
import { c, note } from '../ui.ts';
import { optimize, type PipelineCliOptions } from '../pipeline-options.ts';
import { withTuningLogs } from './tuning-log.ts';
import { DEFAULT_OPT_LEVEL } from '@aic/passes';
import { validateGraph } from '@aic/ir-spec';
import { parseWgslLimits } from '../wgsl-limits.ts';

export interface RunOptions extends PipelineCliOptions { target?: string; input?: string[]; outputDir?: string; inputShape?: string[]; tuningLog?: string[]; wgslLimit?: string[] }

/** Why `aic run` optimizes by default (shown in --help). */
export const RUN_DEFAULT_WHY = `every -O${DEFAULT_OPT_LEVEL} pass is checked against the interpreter (model zoo within rtol 1e-3/atol 1e-4, random graphs, --verify-each=numeric), `
  + 'and fewer, fused nodes run faster; -O0 runs the graph exactly as imported';

export async function runCommand(model: string, opts: RunOptions): Promise<number> {
  const targetName = opts.target ?? 'interp';
  runTargetOrThrow(targetName);
  const target = findTarget(targetName);
  const wgslLimits = parseWgslLimits(opts.wgslLimit);
  if (opts.tuningLog?.length && target && !target.caps) throw diag.usage(`--tuning-log: target '${targetName}' has no kernel schedules (use a compiled target: aic compile --list-targets)`);
  const explicitShapes = parseShapeOptions(opts.inputShape);
  const g = await loadModel(model);
  const files = parseInputOptions(opts.input, g);
  const feeds = new Map<string, RValue>();
  for (const v of g.inputs) {
    const f = files.get(v.name);
    if (!f) throw diag.missingInput(v.name);
    feeds.set(v.name, readInputFile(v, f, note));
  }
  bindShapesFromInputs(g, feeds, files, explicitShapes, note); // symbolic dims take the arrays' sizes
  validateGraph(g); // every target refuses what the interpreter refuses, before any pass rewrites it
  // compiled kernels trust their buffer sizes: every target gets the interpreter's feed checks
  for (const v of g.inputs) { const x = feeds.get(v.name); if (x instanceof Tensor) checkFeed(v, x); }
  const outDir = opts.outputDir ?? '.';
  if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) throw diag.usage(`--output-dir '${outDir}' is not a directory`);
  const { graph: og } = optimize(g, opts, DEFAULT_OPT_LEVEL, undefined, passTarget(targetName));
  const { outputs: outs, ms, nodes } = await runGraph(og, feeds, { target: targetName, source: model, onNote: note, schedules: (pg) => withTuningLogs(pg, targetName, opts.tuningLog), wgslLimits });
  // write only after the whole run succeeded, and only once every output is serialized: no partial outputs
  // a sequence output of N tensors is written as NAME_0.npy ... NAME_{N-1}.npy; an empty optional writes nothing
  const flat: [string, Tensor][] = [];
  for (const v of g.outputs) {
    const val = outs.get(v.name);
    if (val instanceof Tensor) flat.push([v.name, val]);
    else if (Array.isArray(val)) val.forEach((t, i) => flat.push([`${v.name}_${i}`, t]));
    else if (val === null) note(`output '${v.name}' is an empty optional: no file written`);
    else throw diag.unsupportedFeature(`writing output '${v.name}' (${v.kind}) to .npy`);
  }
  const outFiles = outputFiles(outDir, flat.map(([n]) => n));
  const encoded = flat.map(([name, val], i) => ({ file: outFiles[i], val, ...outputNpy(name, val) }));
  const written: string[] = [];
  for (const o of encoded) {
    if (o.note) process.stderr.write(`note: ${o.note}\n`);
    writeFileAtomic(o.file, o.bytes);
    written.push(`${o.file} ${c.dim(`${SHORT_NAME[o.val.dtype]}[${o.val.shape.join(', ')}]`)}`);
  }
  process.stdout.write(`ran ${nodes} nodes on '${targetName}' in ${ms.toFixed(1)} ms\n`);
  for (const w of written) process.stdout.write(`  wrote ${w}\n`);
  return 0;
}
