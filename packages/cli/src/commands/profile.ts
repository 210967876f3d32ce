/**
 * aic profile MODEL --target c|wasm-simd|wasm [--runs N] [--json FILE] [-O N | --pipeline P]
 * Compiles the model, runs it N times and reports every kernel call's median time, its share of the
 * run, GFLOP/s, GB/s and % of the machine's measured peak (profile/peak.ts), slowest first.
 * C: the model built with -DAIC_PROFILE (clock_gettime around every kernel call, codegen/c/render.ts);
 * wasm: every kernel exported and called one by one from JavaScript (codegen/wasm/profile.ts).
 */
import * as path from 'node:path';
import { BYTE_SIZE, diag, readFileOrThrow, reportProgress, writeFileAtomic, type RValue } from '@aic/core';
import {
  TARGETS, buildC, compileC, compileWasm, defaultCFlags, dtypeOfScalar, findTarget, passTarget, prepareForRun, runC, timeWasmSteps, type Program,
} from '@aic/codegen';
import { validateGraph } from '@aic/ir-spec';
import { parseSchedules } from '@aic/api/internal';
import { randomFeeds } from '@aic/passes';
import { numel } from '@aic/loop-ir';
import { loadModel, parseInputOptions, parseShapeOptions } from '../model-io.ts';
import { bindShapesFromInputs } from '../input-shapes.ts';
import { readInputFile } from '../tensor-files.ts';
import { optimize, resolvePipeline, type PipelineCliOptions } from '../pipeline-options.ts';
import { nodeFlops } from '../stats.ts';
import { finishKernels, formatProfile, PROFILE_FORMAT, type KernelTime, type ProfileReport } from '../profile/report.ts';
import { machinePeak } from '../profile/peak.ts';
import { note } from '../ui.ts';
import { withTuningLogs } from './tuning-log.ts';

export interface ProfileOptions extends PipelineCliOptions {
  target?: string; runs?: string; json?: string; top?: string; input?: string[]; seed?: string; inputShape?: string[]; remeasurePeak?: boolean; tuningLog?: string[]; schedule?: string;
}

export const PROFILE_TARGETS = ['c', 'wasm-simd', 'wasm'];

/** Bytes each step reads and writes at least once: every argument buffer, once. */
function stepBytes(prog: Program): number[] {
  const size = new Map<string, number>();
  for (const b of [...prog.inputs, ...prog.outputs, ...prog.weights, ...prog.temps]) size.set(b.name, numel(b.shape) * (BYTE_SIZE[dtypeOfScalar(b.dtype)] ?? 8));
  return prog.steps.map((st) => st.args.reduce((a, n) => a + (size.get(n) ?? 0), 0));
}

/** Median ms per step over `runs` runs after a warm-up (-DAIC_PROFILE prints one `#STEP median ...` row per step). */
function timeCSteps(c: ReturnType<typeof compileC>, feeds: Map<string, RValue>, runs: number): number[] {
  const built = buildC(c.art, c.prog, { cflags: [...defaultCFlags(), '-DAIC_PROFILE', '-DAIC_PROFILE_WARMUP=1'] });
  note(`built ${built.exe}${built.cached ? ' (cached)' : ` in ${built.compileMs.toFixed(0)} ms`}`);
  reportProgress('running', 0, 1, `${runs + 1} times`);
  const { stderr } = runC(built, c.art, c.prog, feeds, runs + 1);
  reportProgress('running', 1, 1);
  const ms = c.prog.steps.map(() => NaN);
  for (const m of stderr.matchAll(/^#(\d+)\s+([\d.]+)/gm)) ms[Number(m[1])] = Number(m[2]);
  if (ms.some((x) => Number.isNaN(x))) throw diag.toolFailed('the profiled model', 'to print its per-kernel table', stderr);
  return ms;
}

export async function profileCommand(model: string, opts: ProfileOptions): Promise<number> {
  const { label } = resolvePipeline(opts);
  const targetName = opts.target ?? 'c';
  const target = findTarget(targetName);
  if (!target) throw diag.usage(`unknown target '${targetName}'; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
  if (!PROFILE_TARGETS.includes(targetName)) throw diag.unsupportedFeature(`profiling target '${targetName}' (profile targets: ${PROFILE_TARGETS.join(', ')})`);
  const runs = Number(opts.runs ?? 20), top = Number(opts.top ?? 25), seed = Number(opts.seed ?? 1);
  if (!Number.isInteger(runs) || runs < 1 || runs > 100000) throw diag.usage(`--runs '${opts.runs}': expected an integer from 1 to 100000`);
  if (!Number.isInteger(top) || top < 0) throw diag.usage(`--top '${opts.top}': expected a non-negative integer`);
  if (!Number.isInteger(seed)) throw diag.usage(`--seed '${opts.seed}': expected an integer`);
  const explicitShapes = parseShapeOptions(opts.inputShape);
  const g = await loadModel(model);
  const given = parseInputOptions(opts.input, g);
  const read = new Map<string, RValue>();
  for (const v of g.inputs) { const f = given.get(v.name); if (f) read.set(v.name, readInputFile(v, f, note)); }
  bindShapesFromInputs(g, read, given, explicitShapes, note);
  validateGraph(g);
  const feeds = randomFeeds(g, seed);
  for (const [k, v] of read) feeds.set(k, v);
  const { graph } = optimize(g, opts, undefined, undefined, passTarget(targetName));
  prepareForRun(graph, feeds);
  const version = '0.1.0', source = path.basename(model), sourceHash = '-';
  let prog: Program, ms: number[];
  const overrides = opts.schedule === undefined ? undefined : parseSchedules(new TextDecoder().decode(readFileOrThrow(opts.schedule)), opts.schedule);
  const schedules = withTuningLogs(graph, targetName, opts.tuningLog, overrides);
  if (targetName === 'c') {
    const c = compileC(graph, { version, source, sourceHash, schedules });
    prog = c.prog;
    ms = timeCSteps(c, feeds, runs);
  } else {
    const w = compileWasm(graph, { simd: targetName === 'wasm-simd', version, source, sourceHash, exportKernels: true, schedules });
    prog = w.prog;
    reportProgress('running', 0, 1, `${runs + 2} times`);
    ms = timeWasmSteps(w, feeds, runs);
    reportProgress('running', 1, 1);
  }
  let peak = machinePeak(targetName, (m) => note(m), opts.remeasurePeak ? 'replace' : 'cached');
  const byLabel = new Map(graph.nodes.map((n) => [n.label, n]));
  const bytes = stepBytes(prog);
  const raw: Omit<KernelTime, 'share'>[] = prog.steps.map((st, i) => {
    const n = byLabel.get(st.node);
    const f = n ? nodeFlops(n) : undefined;
    return { step: i, kernel: st.kernel, node: st.node, ...(st.op ? { op: st.op } : {}), ms: ms[i], ...(f ? { flops: f } : {}), bytes: bytes[i] };
  });
  let { kernels, totalMs } = finishKernels(raw, peak);
  // a kernel past the FLOP peak: the cached peak was measured on a busy machine
  if (kernels.some((k) => (k.gflops ?? 0) > peak.gflops)) {
    peak = machinePeak(targetName, (m) => note(m), 'raise');
    ({ kernels, totalMs } = finishKernels(raw, peak));
  }
  const report: ProfileReport = { format: PROFILE_FORMAT, model, target: targetName, pipeline: label, runs, totalMs, peak, kernels };
  if (opts.json) writeFileAtomic(opts.json, new TextEncoder().encode(JSON.stringify(report, null, 2) + '\n'));
  process.stdout.write(formatProfile(report, top));
  if (opts.json) process.stdout.write(`wrote ${opts.json}\n`);
  return 0;
}
