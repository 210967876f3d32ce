/**
 * Options shared by the commands that optimize a graph (opt, run, compile, bisect): -O / --pipeline,
 * IR printing, --stats, --verify-each, --explain, --list-passes. The library API's optimizeGraph
 * (packages/api/src/optimize.ts) does the work; this file turns command-line options into its options and prints reports.
 */
import { Option, type Command } from 'commander';
import { diag, type Graph } from '@aic/core';
import {
  DEFAULT_OPT_LEVEL, PIPELINES, allPasses, getPass, type ExplainRecord, type PassReport, type PipelineOptions, type PipelineStep,
} from '@aic/passes';
import { LEVELS, optimizeGraph, resolvePipeline as resolveApiPipeline } from '@aic/api/internal';
import { c } from './ui.ts';

export interface PipelineCliOptions {
  /** -O <0-3> (commander gives the string) */
  optLevel?: string | number;
  /** --pipeline "a,b{k=v},c" */
  pipeline?: string;
  /** --print-ir-before / --print-ir-after: pass names (comma-separated, repeatable) or 'all' */
  printIrBefore?: string[];
  printIrAfter?: string[];
  stats?: boolean;
  /** --verify-each (true / 'structure') or --verify-each=numeric */
  verifyEach?: boolean | string;
  explain?: boolean;
  listPasses?: boolean;
  /** seed for --verify-each=numeric inputs */
  seed?: string | number;
}

const collect = (v: string, prev: string[] = []) => prev.concat([v]);

/** Add the shared optimization options to a command. `defaultWhy` explains its default -O level. */
export function addPipelineOptions(cmd: Command, defaultLevel = DEFAULT_OPT_LEVEL, defaultWhy = ''): Command {
  return cmd
    .addOption(new Option('-O, --opt-level <level>', `optimization level ${LEVELS[0]}-${LEVELS[LEVELS.length - 1]} (default: ${defaultLevel}${defaultWhy ? `; ${defaultWhy}` : ''})`))
    .addOption(new Option('--pipeline <passes>', 'explicit pass list instead of -O, e.g. "fold-constants,fuse,eliminate-dead-nodes" (options: pass{key=value})'))
    .addOption(new Option('--print-ir-before <pass|all>', 'print the IR (DSL) to stderr before this pass (comma list, repeatable)').argParser(collect))
    .addOption(new Option('--print-ir-after <pass|all>', 'print the IR (DSL) to stderr after this pass (comma list, repeatable)').argParser(collect))
    .option('--stats', 'print per pass: time, nodes before/after, its statistics counters (non-zero ones by name) (stderr)')
    .addOption(new Option('--verify-each [mode]', 'verify the IR (structure, types) after every pass; --verify-each=numeric also runs the interpreter on seeded random inputs and names the first pass and node that changes the results'))
    .option('--explain', 'print every fusion/rewrite candidate considered: applied, or rejected with the reason (stderr)')
    .option('--list-passes', 'list the passes, their options and statistics, and the -O pipelines, then exit');
}

/** The pipeline the options ask for, and a label for messages ("-O2" or the pipeline text). */
export function resolvePipeline(opts: PipelineCliOptions, defaultLevel = DEFAULT_OPT_LEVEL): { steps: PipelineStep[]; label: string } {
  return resolveApiPipeline({ level: opts.optLevel, pipeline: opts.pipeline }, defaultLevel);
}

function passSet(list: string[] | undefined, flag: string): Set<string> | 'all' | undefined {
  if (!list || list.length === 0) return undefined;
  const names = list.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (names.includes('all')) return 'all';
  for (const n of names) {
    if (!getPass(n)) throw diag.usage(`${flag} '${n}': no such pass; passes: ${allPasses().map((p) => p.name).join(', ')} (or 'all')`);
  }
  return new Set(names);
}

export { printIr } from '@aic/api/internal';

export function verifyMode(v: boolean | string | undefined): false | 'structure' | 'numeric' {
  if (v === undefined || v === false) return false;
  if (v === true || v === '' || v === 'structure') return 'structure';
  if (v === 'numeric') return 'numeric';
  throw diag.usage(`--verify-each='${v}': expected --verify-each (structure) or --verify-each=numeric`);
}

export interface OptimizeResult {
  graph: Graph;
  reports: PassReport[];
  explained: ExplainRecord[];
  label: string;
  steps: PipelineStep[];
}

/**
 * Run the pipeline the options select on `g`, printing IR, statistics and explanations to `err`
 * (stderr by default). Throws usage errors before touching the graph.
 */
export function optimize(g: Graph, opts: PipelineCliOptions, defaultLevel = DEFAULT_OPT_LEVEL,
  err: (s: string) => void = (s) => { process.stderr.write(s); }, target?: PipelineOptions['target']): OptimizeResult {
  const { steps, label } = resolvePipeline(opts, defaultLevel);
  const printIrBefore = passSet(opts.printIrBefore, '--print-ir-before');
  const printIrAfter = passSet(opts.printIrAfter, '--print-ir-after');
  for (const [flag, set] of [['--print-ir-before', printIrBefore], ['--print-ir-after', printIrAfter]] as const) {
    if (set instanceof Set) {
      for (const n of set) if (!steps.some((s) => s.pass.name === n)) err(c.warn(`warning: ${flag} ${n}: pass '${n}' is not in the pipeline (${label})`) + '\n');
    }
  }
  const explained: ExplainRecord[] = [];
  if (opts.seed !== undefined && !Number.isInteger(Number(opts.seed))) throw diag.usage(`--seed '${opts.seed}': expected an integer`);
  const { graph, reports } = optimizeGraph(g, {
    level: opts.optLevel, pipeline: opts.pipeline, target,
    printIrBefore, printIrAfter, out: err,
    verifyEach: verifyMode(opts.verifyEach),
    explain: opts.explain ? (r) => { explained.push(r); err(formatExplain(r) + '\n'); } : undefined,
    seed: opts.seed === undefined ? undefined : Number(opts.seed),
  }, defaultLevel);
  if (opts.explain) {
    const applied = explained.filter((r) => r.outcome === 'applied').length;
    err(explained.length
      ? `explain: ${explained.length} candidates considered: ${applied} applied, ${explained.length - applied} rejected\n`
      : `explain: no fusion/rewrite candidates were considered by ${label}\n`);
  }
  if (opts.stats) err(formatStats(reports, steps, label));
  return { graph, reports, explained, label, steps };
}

export function formatExplain(r: ExplainRecord): string {
  const what = r.outcome === 'applied' ? c.ok('applied') : `${c.warn('rejected')}${r.reason ? `: ${r.reason}` : ''}`;
  return `explain: [${r.pass}] ${r.rule} at node '${r.node}': ${what}`;
}

/** The --stats table: one row per pass run, counters listed after the node counts. */
export function formatStats(reports: PassReport[], steps: PipelineStep[], label: string): string {
  const lines: string[] = [`statistics (${label}):`];
  const w = Math.max(4, ...reports.map((r) => r.pass.length));
  lines.push(`  ${'pass'.padEnd(w)}  ${'ms'.padStart(8)}  ${'nodes'.padStart(6)} -> ${'after'.padEnd(6)}  counters`);
  let total = 0;
  reports.forEach((r, i) => {
    total += r.ms;
    const counters: Record<string, number> = {};
    for (const k of steps[i]?.pass.statistics ?? []) counters[k] = 0;
    Object.assign(counters, r.stats);
    // non-zero counters by name; the zero ones only counted (eliminate-redundant alone has dozens)
    const all = Object.entries(counters);
    const nonzero = all.filter(([, v]) => v !== 0);
    const zeros = all.length - nonzero.length;
    const cs = [nonzero.map(([k, v]) => `${k}=${v}`).join(' '), zeros ? c.dim(nonzero.length ? `(${zeros} more at 0)` : `(all ${zeros} at 0)`) : ''].filter(Boolean).join(' ');
    lines.push(`  ${r.pass.padEnd(w)}  ${r.ms.toFixed(2).padStart(8)}  ${String(r.nodesBefore).padStart(6)} -> ${String(r.nodesAfter).padEnd(6)}  ${cs || c.dim('-')}`.trimEnd());
  });
  const first = reports[0]?.nodesBefore, last = reports[reports.length - 1]?.nodesAfter;
  lines.push(`  ${'total'.padEnd(w)}  ${total.toFixed(2).padStart(8)}  ${String(first ?? '-').padStart(6)} -> ${String(last ?? '-')}`);
  return lines.join('\n') + '\n';
}

/** --list-passes: every registered pass with its options and counters, then the -O pipelines. */
export function listPassesText(): string {
  const out: string[] = ['passes:'];
  const passes = allPasses();
  const w = Math.max(...passes.map((p) => p.name.length));
  for (const p of passes) {
    out.push(`  ${c.name(p.name.padEnd(w))}  ${p.summary}`);
    for (const [k, o] of Object.entries(p.options)) out.push(`  ${' '.repeat(w)}    option ${k}: ${o.type} = ${o.default}  ${c.dim(o.doc)}`);
    if (p.statistics.length) out.push(`  ${' '.repeat(w)}    counters: ${p.statistics.join(', ')}`);
  }
  out.push('pipelines:');
  for (const l of LEVELS) out.push(`  -O${l}${l === DEFAULT_OPT_LEVEL ? ' (default)' : ''}: ${PIPELINES[l].join(',') || '(no passes)'}`);
  return out.join('\n') + '\n';
}
