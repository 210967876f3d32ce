/**
 * aic as a library: `import { load, optimize, compile, run, inspect, quantize } from 'aic'`.
 *
 *   const model = await load('model.onnx', { inputShapes: { input: [1, 3, 224, 224] } });
 *   const { model: fast } = optimize(model, { level: 2, target: 'wasm-simd' });
 *   compile(fast, { target: 'wasm-simd' }).write('out/');
 *
 * The command line (packages/cli) is a thin layer over these functions. Errors are thrown as
 * AicDiagnostic (a catalog code and the CLI's exit code). Signatures use only the types of
 * types.ts, so the published index.d.ts needs nothing else.
 */
import { AicError, Graph, Tensor as CoreTensor, type DType as CoreDType, type RValue } from '@aic/core';
import type { ExplainRecord as CoreExplainRecord, PassReport as CorePassReport } from '@aic/passes';
import { loadGraph } from './load.ts';
import { optimizeGraph } from './optimize.ts';
import { EMIT_FORMS, compileGraph, emitForm, parseSchedules, VERSION } from './compile.ts';
import { runGraph } from './run.ts';
import { symbolicForApi } from './symbolic.ts';
import { compileTargetOrThrow } from './targets.ts';
import { inspectGraph } from './inspect.ts';
import { describeTargets } from './targets.ts';
import { toTensor, toTensorMap } from './tensors.ts';
import { diag } from '@aic/core';
import { quantize as quant } from '@aic/passes';
import type {
  CompiledModel, CompileOptions, EmitForm, LoadOptions, Model, ModelInfo, OptimizeOptions, OptimizeResult,
  RunOptions, RunResult, TargetDescription, Tensor, TensorInit, AicDiagnostic, DType, PassReport, ExplainRecord,
  QuantizeOptions, QuantizeResult,
} from './types.ts';

export type * from './types.ts';

/** aic's version. */
export const version: string = VERSION;

function graphOf(m: Model, fn: string): Graph {
  if (!(m instanceof Graph)) throw diag.apiNotAModel(fn);
  return m;
}

/** Load an ONNX model (a path or its bytes) or an .aic DSL file into aic's graph IR. */
export async function load(source: string | Uint8Array, opts: LoadOptions = {}): Promise<Model> {
  return loadGraph(source, {
    format: opts.format, inputShapes: opts.inputShapes, onNote: opts.onNote,
    constInputs: opts.constInputs ? toTensorMap(opts.constInputs, 'constant input') : undefined,
  });
}

/** Run a pass pipeline (-O level, default 2, or an explicit pipeline) on a model; returns a new model. */
export function optimize(model: Model, opts: OptimizeOptions = {}): OptimizeResult {
  const r = optimizeGraph(graphOf(model, 'optimize'), {
    level: opts.level, pipeline: opts.pipeline, target: opts.target, verifyEach: opts.verifyEach, seed: opts.seed, explain: opts.explain,
  });
  return { model: r.graph, label: r.label, passes: r.reports };
}

/**
 * Compile a model for a target (as given: optimize it first; with `symbolic`, as loaded: it is optimized
 * here, keeping symbolic dims). Nothing is written until `write(dir)`.
 */
export function compile(model: Model, opts: CompileOptions): CompiledModel {
  if (!opts || typeof opts.target !== 'string') throw diag.usage('compile: options.target is required (see targets())');
  const g = graphOf(model, 'compile');
  const schedules = opts.schedules === undefined ? undefined : parseSchedules(opts.schedules, '(schedules)');
  compileTargetOrThrow(opts.target);
  const sym = opts.symbolic === undefined ? { graph: g } : symbolicForApi(g, opts.target, opts.symbolic);
  const c = compileGraph(sym.graph, {
    target: opts.target, plainLoops: opts.plainLoops, embedWeights: opts.embedWeights, source: opts.source, sourceHash: opts.sourceHash,
    schedules, batch: sym.batch, extents: sym.extents, wgslLimits: opts.wgslLimits,
  });
  const symbols = [
    ...(sym.batch ? [{ symbol: sym.batch.symbol, kind: 'batch' as const, ...(sym.batch.max === undefined ? {} : { max: sym.batch.max }) }] : []),
    ...(sym.extents ? [{ symbol: sym.extents.symbol, kind: 'extent' as const, max: sym.extents.max }] : []),
  ];
  return {
    ...(symbols.length ? { symbolic: symbols[0]!, symbols } : {}),
    target: c.target, kernels: c.prog.kernels.length,
    memory: { arenaBytes: c.memory.arenaBytes, naiveBytes: c.memory.naiveBytes },
    forms: EMIT_FORMS.filter((f) => c.forms[f]),
    emit: (form: EmitForm) => emitForm(c, form),
    write: (dir: string) => c.write(dir),
    summary: c.summary,
  };
}

/** A feed: a tensor, a sequence of tensors, or null (an empty optional). */
export type Feed = Tensor | TensorInit | (Tensor | TensorInit)[] | null;

/** Run a model on a target (default: the reference interpreter) with feeds by input name. */
export async function run(model: Model, feeds: Record<string, Feed>, opts: RunOptions = {}): Promise<RunResult> {
  const g = graphOf(model, 'run');
  const given = new Map<string, RValue>();
  for (const [k, v] of Object.entries(feeds ?? {})) {
    given.set(k, v === null ? null : Array.isArray(v) ? v.map((x, i) => toTensor(x, `feed '${k}'[${i}]`)) : toTensor(v, `feed '${k}'`));
  }
  const r = await runGraph(g, given, { target: opts.target, onNote: opts.onNote, wgslLimits: opts.wgslLimits });
  const values = Object.fromEntries(r.outputs) as RunResult['values'];
  const outputs = Object.fromEntries([...r.outputs].filter(([, v]) => v instanceof CoreTensor)) as RunResult['outputs'];
  return { outputs, values, ms: r.ms };
}

/** Quantize a model to int8 QDQ form, calibrating on `samples` (one feed map per sample). */
export function quantize(model: Model, samples: Record<string, Tensor | TensorInit>[], opts: QuantizeOptions = {}): QuantizeResult {
  if (!Array.isArray(samples) || samples.length === 0) throw diag.apiBadTensor('quantize: samples', 'expected at least one sample (a record of tensors by input name)');
  const feeds = samples.map((s, k) => toTensorMap(s, `sample ${k}`));
  const r = quant.quantizeGraph(graphOf(model, 'quantize'), feeds, opts);
  return { model: r.graph, layers: r.layers.map((l) => l.name), ...(r.report ? { report: r.report } : {}) };
}

/** Inputs/outputs, node count, op histogram, parameters and FLOPs of a model. */
export function inspect(model: Model): ModelInfo {
  return inspectGraph(graphOf(model, 'inspect'));
}

/** The targets aic knows and what each can do. */
export function targets(): TargetDescription[] {
  return describeTargets();
}

/** Is `e` an error aic reported (with a catalog code and exit code)? */
export function isAicDiagnostic(e: unknown): e is AicDiagnostic {
  return e instanceof AicError;
}

// compile-time checks: aic's own objects still have the shapes types.ts promises users
const _graphIsModel = (g: Graph): Model => g;
const _tensorIsTensor = (t: CoreTensor): Tensor => t;
const _errorIsDiagnostic = (e: AicError): AicDiagnostic => e;
const _dtypes = (d: CoreDType): DType => d;
const _dtypesBack = (d: DType): CoreDType => d;
const _report = (r: CorePassReport): PassReport => r;
const _explain = (r: CoreExplainRecord): ExplainRecord => r;
void _graphIsModel; void _tensorIsTensor; void _errorIsDiagnostic; void _dtypes; void _dtypesBack; void _report; void _explain;
