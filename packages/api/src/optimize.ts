/** Optimizing a graph with a pass pipeline: -O level or an explicit pipeline, for a target. */
import { diag, type Graph } from '@aic/core';
import {
  DEFAULT_OPT_LEVEL, PIPELINES, formatStep, parsePipeline, runPipeline,
  type ExplainRecord, type PassReport, type PipelineOptions, type PipelineStep,
} from '@aic/passes';
import { passTarget } from '@aic/codegen';
import { printGraph } from '@aic/dsl';
import { targetOrThrow } from './targets.ts';

export const LEVELS = Object.keys(PIPELINES).map(Number).sort((a, b) => a - b);

export interface PipelineChoice { level?: number | string; pipeline?: string }

/** The pipeline a level or pipeline text selects, and a label for messages ("-O2" or the pipeline text). */
export function resolvePipeline(opts: PipelineChoice, defaultLevel = DEFAULT_OPT_LEVEL): { steps: PipelineStep[]; label: string } {
  if (opts.level !== undefined && opts.pipeline !== undefined) {
    throw diag.usage('-O and --pipeline are mutually exclusive: use -O N for a predefined pipeline, or --pipeline P for an explicit pass list');
  }
  if (opts.pipeline !== undefined) {
    const steps = parsePipeline(opts.pipeline);
    return { steps, label: `--pipeline ${steps.map(formatStep).join(',') || '(empty)'}` };
  }
  const raw = String(opts.level ?? defaultLevel).replace(/^O/, '');
  if (!/^\d+$/.test(raw) || !PIPELINES[Number(raw)]) {
    throw diag.usage(`-O '${opts.level}': expected an optimization level ${LEVELS.join(', ')}`);
  }
  const level = Number(raw);
  return { steps: parsePipeline(PIPELINES[level].join(',')), label: `-O${level}` };
}

/** The DSL of a graph for IR printing: constants above 16 elements print as weights("<not written>", offset = N). */
export function printIr(g: Graph): string {
  return printGraph(g, { sidecar: { file: '<not written>', chunks: [] } });
}

export interface OptimizeGraphOptions extends PipelineChoice {
  /** a target name, or what the passes need to know of it (codegen's passTarget) */
  target?: string | PipelineOptions['target'];
  verifyEach?: false | 'structure' | 'numeric';
  seed?: number;
  explain?: (r: ExplainRecord) => void;
  printIrBefore?: Set<string> | 'all';
  printIrAfter?: Set<string> | 'all';
  /** where IR printing and verification reports go (default: stderr) */
  out?: (s: string) => void;
}

export interface OptimizeGraphResult { graph: Graph; reports: PassReport[]; label: string; steps: PipelineStep[] }

/** Run the selected pipeline on g (g itself is left as it was: passes clone). Usage errors come before any work. */
export function optimizeGraph(g: Graph, opts: OptimizeGraphOptions = {}, defaultLevel = DEFAULT_OPT_LEVEL): OptimizeGraphResult {
  const { steps, label } = resolvePipeline(opts, defaultLevel);
  if (typeof opts.target === 'string') targetOrThrow(opts.target);
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed)) throw diag.usage(`--seed '${opts.seed}': expected an integer`);
  const popts: PipelineOptions = {
    printIrBefore: opts.printIrBefore, printIrAfter: opts.printIrAfter, printer: printIr,
    out: opts.out ?? ((s) => { process.stderr.write(s); }),
    verifyEach: opts.verifyEach ?? false,
    explain: opts.explain,
    seed,
    target: typeof opts.target === 'string' ? passTarget(opts.target) : opts.target,
  };
  const { graph, reports } = runPipeline(g, steps, popts);
  return { graph, reports, label, steps };
}
