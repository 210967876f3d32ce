/**
 * aic run MODEL [--target interp] [--input NAME=FILE]... [--output-dir DIR]
 * Writes DIR/<output name>.npy for every output (name sanitized to [A-Za-z0-9._-]).
 * The graph is optimized first (-O / --pipeline, default -O2: see RUN_DEFAULT_WHY).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor, diag, safeFileName, serializeNpy, writeFileAtomic, SHORT_NAME, type RValue } from '@aic/core';
import { checkFeed, run } from '@aic/interp';
import { TARGETS, buildC, closeWgsl, compileC, compileWasm, compileWgsl, findTarget, passTarget, prepareForRun, runC, runWasm, runWgsl } from '@aic/codegen';
import { loadModel, parseInputOptions, parseShapeOptions, readTensorFile } from '../model-io.ts';
import { shapeDataInputs } from '../analysis.ts';
import { c, note } from '../ui.ts';
import { optimize, type PipelineCliOptions } from '../pipeline-options.ts';
import { DEFAULT_OPT_LEVEL } from '@aic/passes';

export interface RunOptions extends PipelineCliOptions { target?: string; input?: string[]; outputDir?: string; inputShape?: string[] }

/** Why `aic run` optimizes by default (shown in --help). */
export const RUN_DEFAULT_WHY = `every -O${DEFAULT_OPT_LEVEL} pass is checked against the interpreter (model zoo within rtol 1e-3/atol 1e-4, random graphs, --verify-each=numeric), `
  + 'and fewer, fused nodes run faster; -O0 runs the graph exactly as imported';

export async function runCommand(model: string, opts: RunOptions): Promise<number> {
  const targetName = opts.target ?? 'interp';
  const target = findTarget(targetName);
  if (!target) throw diag.usage(`unknown target '${targetName}'; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
  if (!target.run) throw diag.unsupportedFeature(`running on target '${targetName}' (not implemented yet; available: ${TARGETS.filter((t) => t.run).map((t) => t.name).join(', ')})`);
  const g = await loadModel(model, parseShapeOptions(opts.inputShape));
  const files = parseInputOptions(opts.input, g);
  const feeds = new Map<string, RValue>();
  for (const v of g.inputs) {
    const f = files.get(v.name);
    if (!f) throw diag.missingInput(v.name);
    const x = readTensorFile(f, v.kind);
    if (x instanceof Tensor) {
      if (x.dtype !== v.dtype) throw diag.badInputData(v.name, `${f} holds ${x.dtype} but the model expects ${v.dtype}`);
    }
    feeds.set(v.name, x);
  }
  for (const s of shapeDataInputs(g)) {
    note(`input '${s.input.name}' decides a shape (${s.node.op} '${s.slot}'); its value is known before running, so it is treated as a constant`);
  }
  // compiled kernels trust their buffer sizes: every target gets the interpreter's feed checks
  for (const v of g.inputs) { const x = feeds.get(v.name); if (x instanceof Tensor) checkFeed(v, x); }
  const outDir = opts.outputDir ?? '.';
  if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) throw diag.usage(`--output-dir '${outDir}' is not a directory`);
  const { graph: og } = optimize(g, opts, DEFAULT_OPT_LEVEL, undefined, passTarget(targetName));
  let outs: Map<string, RValue>;
  let ms: number;
  if (targetName === 'c') {
    prepareForRun(og, feeds);
    const compiled = compileC(og, { version: '0.1.0', source: path.basename(model), sourceHash: '-' });
    const built = buildC(compiled.art, compiled.prog);
    note(`built ${built.exe}${built.cached ? ' (cached)' : ` in ${built.compileMs.toFixed(0)} ms`}`);
    const r = runC(built, compiled.art, compiled.prog, feeds);
    outs = r.outputs as Map<string, RValue>;
    ms = r.ms;
  } else if (targetName === 'wasm-simd' || targetName === 'wasm') {
    prepareForRun(og, feeds);
    const compiled = compileWasm(og, { simd: targetName === 'wasm-simd', version: '0.1.0', source: path.basename(model), sourceHash: '-' });
    const t0 = performance.now();
    outs = (await runWasm(compiled, feeds)) as Map<string, RValue>;
    ms = performance.now() - t0;
  } else if (targetName === 'wgsl') {
    prepareForRun(og, feeds);
    const compiled = compileWgsl(og, { version: '0.1.0', source: path.basename(model), sourceHash: '-' });
    try {
      const r = await runWgsl(compiled, feeds);
      outs = r.outputs as Map<string, RValue>;
      ms = r.ms;
      if (r.adapter) note(`WebGPU adapter: ${JSON.stringify(r.adapter)}`);
    } finally {
      closeWgsl();
    }
  } else {
    const t0 = performance.now();
    outs = run(og, feeds);
    ms = performance.now() - t0;
  }
  // serialize every output before writing any: no partial outputs
  const written: string[] = [];
  const pending: [string, Uint8Array][] = [];
  const used = new Set<string>();
  for (const v of g.outputs) {
    const val = outs.get(v.name);
    if (!(val instanceof Tensor)) throw diag.unsupportedFeature(`writing non-tensor output '${v.name}' (${v.kind}) to .npy`);
    let base = safeFileName(v.name) || 'output';
    while (used.has(base)) base += '_';
    used.add(base);
    const file = path.join(outDir, `${base}.npy`);
    written.push(`${file} ${c.dim(`${SHORT_NAME[val.dtype]}[${val.shape.join(', ')}]`)}`);
    pending.push([file, serializeNpy(val)]);
  }
  for (const [file, bytes] of pending) writeFileAtomic(file, bytes);
  process.stdout.write(`ran ${og.nodes.length} nodes on '${targetName}' in ${ms.toFixed(1)} ms\n`);
  for (const w of written) process.stdout.write(`  wrote ${w}\n`);
  return 0;
}
