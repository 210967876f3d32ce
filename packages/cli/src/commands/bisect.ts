/**
 * aic bisect MODEL [-O N | --pipeline P] [--input NAME=FILE]... [--seed N]
 * Finds the first pass of a pipeline that changes a model's results. Every prefix of the pipeline is
 * checked (pass i runs on the output of prefix i-1, so each pass runs once): its IR is verified, run
 * by the interpreter and compared with the unoptimized graph's outputs on the given inputs (seeded
 * random values for inputs not given). A linear scan, not a binary search: pipelines are short, and
 * a later pass can hide an earlier pass's damage (dead-code elimination of a broken branch), which a
 * binary search over prefixes would miss.
 * Exit 0: no pass changes the results; exit 1: the report names the pass and the first differing node.
 */
import { AicError, Tensor, diag, verifyStructure, type Graph, type RValue } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { DEFAULT_OPT_LEVEL, compareOutputs, firstDifferingNode, formatStep, randomFeeds, runPipeline } from '@aic/passes';
import { loadModel, parseInputOptions, parseShapeOptions } from '../model-io.ts';
import { readInputFile } from '../tensor-files.ts';
import { bindShapesFromInputs } from '../input-shapes.ts';
import { resolvePipeline, type PipelineCliOptions } from '../pipeline-options.ts';
import { c } from '../ui.ts';

export interface BisectOptions extends PipelineCliOptions {
  input?: string[];
  inputShape?: string[];
  rtol?: string | number;
  atol?: string | number;
  /** where the report goes (stdout by default); tests capture it */
  out?: (s: string) => void;
}

export interface BisectResult {
  /** index (0-based) and name of the first pass that changes the results, if any */
  failing?: { index: number; pass: string; why: string; node: string };
  passes: string[];
}

export async function bisectCommand(model: string, opts: BisectOptions): Promise<number> {
  const r = await bisect(model, opts);
  return r.failing ? 1 : 0;
}

const msg = (e: unknown) => (e instanceof AicError ? e.format() : e instanceof Error ? e.message : String(e));

export async function bisect(model: string, opts: BisectOptions): Promise<BisectResult> {
  const out = opts.out ?? ((s: string) => { process.stdout.write(s); });
  const { steps, label } = resolvePipeline(opts, DEFAULT_OPT_LEVEL);
  const rtol = Number(opts.rtol ?? 1e-3), atol = Number(opts.atol ?? 1e-4);
  if (!(rtol >= 0) || !(atol >= 0)) throw diag.usage('--rtol / --atol need non-negative numbers');
  const seed = Number(opts.seed ?? 1);
  if (!Number.isInteger(seed)) throw diag.usage(`--seed '${opts.seed}': expected an integer`);
  const explicitShapes = parseShapeOptions(opts.inputShape);
  const g = await loadModel(model);

  // inputs: the given files (their shapes bind symbolic dims), seeded random values for the rest
  const given = parseInputOptions(opts.input, g);
  const read = new Map<string, RValue>();
  for (const v of g.inputs) {
    const f = given.get(v.name);
    if (f) read.set(v.name, readInputFile(v, f, () => {}));
  }
  bindShapesFromInputs(g, read, given, explicitShapes, () => {});
  const feeds = randomFeeds(g, seed);
  for (const [name, x] of read) feeds.set(name, x);
  const random = g.inputs.filter((v) => !given.has(v.name)).map((v) => v.name);
  out(`bisect ${model}: ${label} (${steps.length} passes), inputs: ${given.size ? [...given].map(([k, f]) => `${k}=${f}`).join(', ') : ''}${given.size && random.length ? '; ' : ''}${random.length ? `seeded random (seed ${seed}) for ${random.join(', ')}` : ''}\n`);

  const names = g.outputs.map((v) => v.name);
  const reference: Map<string, RValue> = run(g, feeds);
  const passes = steps.map(formatStep);
  let cur: Graph = g;
  for (let i = 0; i < steps.length; i++) {
    const name = passes[i];
    const fail = (why: string, node = ''): BisectResult => {
      out(`${c.err('FAIL')} pass ${i + 1}/${steps.length} '${name}' changes the results: ${why}${node}\n`);
      if (i > 0) out(`  the prefix before it (${passes.slice(0, i).join(',')}) still matches the unoptimized graph\n`);
      out(`  reproduce: --pipeline ${passes.slice(0, i + 1).join(',')} --print-ir-before ${steps[i].pass.name} --print-ir-after ${steps[i].pass.name}\n`);
      return { failing: { index: i, pass: name, why, node: node.replace(/^; /, '') }, passes };
    };
    let next: Graph;
    try {
      next = runPipeline(cur, [steps[i]]).graph;
    } catch (e) {
      return fail(`the pass failed: ${msg(e)}`);
    }
    try {
      verifyStructure(next);
      inferGraph(next);
    } catch (e) {
      return fail(`invalid IR: ${msg(e)}`);
    }
    let got: Map<string, RValue>;
    try {
      got = run(next, feeds);
    } catch (e) {
      return fail(`the optimized graph fails to run: ${msg(e)}`, firstDifferingNode(cur, next, feeds));
    }
    const why = compareOutputs(got, reference, names, rtol, atol);
    if (why) return fail(why, firstDifferingNode(cur, next, feeds));
    out(`  ${c.ok('ok')}  ${String(i + 1).padStart(2)} ${name} (${cur.nodes.length} -> ${next.nodes.length} nodes)\n`);
    cur = next;
  }
  out(`${c.ok('no pass changes the results')} (${steps.length} passes of ${label}, rtol ${rtol}, atol ${atol})\n`);
  return { passes };
}
