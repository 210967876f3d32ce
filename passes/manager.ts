/**
 * The pass manager: runs a pipeline, printing IR before/after chosen passes, collecting statistics
 * and verifying after each pass (structure, or numerically against the interpreter).
 */
import {
  AicError, Tensor, diag, isStatic, reportProgress, verifyStructure, type Graph, type Node, type RValue,
} from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { formatStep, type ExplainRecord, type PassContext, type PipelineStep } from './pass.ts';

export interface PassReport {
  pass: string;
  ms: number;
  nodesBefore: number;
  nodesAfter: number;
  stats: Record<string, number>;
}

export interface PipelineOptions {
  /** pass names (or 'all') to print the IR before / after */
  printIrBefore?: Set<string> | 'all';
  printIrAfter?: Set<string> | 'all';
  /** how to print IR (the DSL printer); required when printing */
  printer?: (g: Graph) => string;
  /** where printed IR goes (default stderr) */
  out?: (text: string) => void;
  verifyEach?: false | 'structure' | 'numeric';
  explain?: (r: ExplainRecord) => void;
  target?: PassContext['target'];
  /** seed for --verify-each=numeric inputs */
  seed?: number;
}

export function countNodes(g: Graph): number { return g.nodes.length; }

export function runPipeline(g: Graph, steps: PipelineStep[], opts: PipelineOptions = {}): { graph: Graph; reports: PassReport[] } {
  const out = opts.out ?? ((s: string) => process.stderr.write(s));
  const wants = (set: Set<string> | 'all' | undefined, name: string) => set === 'all' || (set?.has(name) ?? false);
  const print = (label: string, gr: Graph) => {
    if (!opts.printer) throw new Error('runPipeline: printing IR needs a printer');
    out(`// ----- IR ${label} -----\n${opts.printer(gr)}\n`);
  };
  let feeds: Map<string, RValue> | undefined;
  let reference: Map<string, RValue> | undefined;
  if (opts.verifyEach === 'numeric') {
    feeds = randomFeeds(g, opts.seed ?? 1);
    reference = run(g, feeds);
  }
  const reports: PassReport[] = [];
  let cur = g;
  for (const [i, step] of steps.entries()) {
    const name = step.pass.name;
    reportProgress('optimizing', i, steps.length, name);
    if (wants(opts.printIrBefore, name)) print(`before ${formatStep(step)}`, cur);
    const ctx: PassContext = { options: step.options, stats: {}, explain: opts.explain, target: opts.target };
    const t0 = performance.now();
    const next = step.pass.run(cur, ctx);
    const ms = performance.now() - t0;
    reports.push({ pass: formatStep(step), ms, nodesBefore: countNodes(cur), nodesAfter: countNodes(next), stats: ctx.stats });
    if (opts.verifyEach) {
      try {
        verifyStructure(next);
        inferGraph(next);
      } catch (e) {
        const msg = e instanceof AicError ? e.format() : String(e);
        throw diag.verify('pass manager', `IR invalid after pass '${name}': ${msg}`);
      }
      if (opts.verifyEach === 'numeric') {
        const why = compareRuns(cur, next, feeds!, reference!);
        if (why) throw diag.verify('pass manager', `pass '${name}' changed the results: ${why}`);
      }
    }
    if (wants(opts.printIrAfter, name)) print(`after ${formatStep(step)}`, next);
    cur = next;
  }
  reportProgress('optimizing', steps.length, steps.length);
  return { graph: cur, reports };
}

/** Seeded inputs for numeric checks: floats in [-1, 1), ints in [0, 4), bools. Symbolic dims -> 1. */
export function randomFeeds(g: Graph, seed: number): Map<string, RValue> {
  let s = seed >>> 0 || 1;
  const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
  const feeds = new Map<string, RValue>();
  for (const v of g.inputs) {
    const shape = (v.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
    const t = new Tensor(v.dtype, shape);
    const d = t.num;
    for (let i = 0; i < d.length; i++) {
      d[i] = v.dtype.startsWith('float') || v.dtype === 'bfloat16' ? rnd() * 2 - 1 : v.dtype === 'bool' ? (rnd() < 0.5 ? 1 : 0) : Math.floor(rnd() * 4);
    }
    feeds.set(v.name, t);
  }
  return feeds;
}

export function compareOutputs(got: Map<string, RValue>, want: Map<string, RValue>, names: string[], rtol = 1e-3, atol = 1e-4): string | undefined {
  for (const name of names) {
    const a = got.get(name), b = want.get(name);
    if (!(a instanceof Tensor) || !(b instanceof Tensor)) continue;
    const w = tensorDiff(a, b, rtol, atol);
    if (w) return `output '${name}' ${w}`;
  }
  return undefined;
}

export function tensorDiff(a: Tensor, b: Tensor, rtol = 1e-3, atol = 1e-4): string | undefined {
  if (a.shape.join() !== b.shape.join()) return `shape [${a.shape.join(', ')}] != [${b.shape.join(', ')}]`;
  if (a.dtype === 'string' || b.dtype === 'string') return undefined;
  const x = a.num, y = b.num;
  for (let i = 0; i < y.length; i++) {
    if (Number.isNaN(y[i]) && Number.isNaN(x[i])) continue;
    if (!(Math.abs(x[i] - y[i]) <= atol + rtol * Math.abs(y[i]))) return `[${i}] ${x[i]} != ${y[i]}`;
  }
  return undefined;
}

/** Compare `after` with the reference outputs; on a difference, name the first node that differs. */
function compareRuns(before: Graph, after: Graph, feeds: Map<string, RValue>, reference: Map<string, RValue>): string | undefined {
  const got = run(after, feeds);
  const why = compareOutputs(got, reference, after.outputs.map((v) => v.name));
  if (!why) return undefined;
  return `${why}${firstDifferingNode(before, after, feeds)}`;
}

/** Intermediate values with the same name in both graphs, compared in the optimized graph's order. */
export function firstDifferingNode(before: Graph, after: Graph, feeds: Map<string, RValue>): string {
  const vals = new Map<string, Tensor>();
  run(before, feeds, { keepAll: true, onNode: (n, outs) => n.outputs.forEach((o, i) => { const t = outs[i]; if (t instanceof Tensor && o.name) vals.set(o.name, t); }) });
  let found: { node: Node; name: string; why: string } | undefined;
  try {
    run(after, feeds, {
      keepAll: true,
      onNode: (n, outs) => {
        if (found) return;
        n.outputs.forEach((o, i) => {
          const t = outs[i], r = vals.get(o.name);
          if (found || !(t instanceof Tensor) || !r || !isStatic(o.shape ?? [])) return;
          if (t.dtype !== r.dtype) return;
          const w = tensorDiff(t, r);
          if (w) found = { node: n, name: o.name, why: w };
        });
      },
    });
  } catch { /* the optimized graph may fail later; what we found so far still helps */ }
  return found ? `; first differing value '${found.name}' ${found.why}, produced by node '${found.node.label}' (${found.node.op})` : '';
}
