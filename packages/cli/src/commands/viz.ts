/**
 * aic viz MODEL [-O N | --pipeline P] [--target T] [--profile PROFILE.json] -o graph.html
 * One self-contained HTML page drawing the graph before and after optimization (see viz/page.ts).
 */
import * as path from 'node:path';
import { diag, readFileOrThrow, writeFileAtomic } from '@aic/core';
import { TARGETS, findTarget, passTarget } from '@aic/codegen';
import { loadModel, parseShapeOptions } from '../model-io.ts';
import { optimize, type PipelineCliOptions } from '../pipeline-options.ts';
import { vizGraph, type VizData, type VizProfileEntry } from '../viz/graph-data.ts';
import { renderPage } from '../viz/page.ts';
import { PROFILE_FORMAT, type ProfileReport } from '../profile/report.ts';
import { c } from '../ui.ts';

export interface VizOptions extends PipelineCliOptions { output?: string; profile?: string; target?: string; inputShape?: string[] }

function readProfile(file: string): ProfileReport {
  let p: ProfileReport;
  try {
    p = JSON.parse(new TextDecoder().decode(readFileOrThrow(file))) as ProfileReport;
  } catch (e) {
    if (e instanceof SyntaxError) throw diag.badProfile(file, `not JSON (${e.message})`);
    throw e;
  }
  if (p?.format !== PROFILE_FORMAT || !Array.isArray(p.kernels)) throw diag.badProfile(file, `not an 'aic profile --json' file (format '${PROFILE_FORMAT}')`);
  return p;
}

/** Per node of the optimized graph (by label: name, else op): its kernels' time and share (kernels of nodes the graph lacks are listed apart). */
function profileByNode(p: ProfileReport, names: Set<string>): { nodes: VizProfileEntry[]; unmatched: string[] } {
  const by = new Map<string, VizProfileEntry & { flops: number; bytes: number }>();
  const unmatched: string[] = [];
  for (const k of p.kernels) {
    if (!names.has(k.node)) { unmatched.push(`${k.kernel} (${k.node})`); continue; }
    const e = by.get(k.node) ?? { node: k.node, kernels: [], ms: 0, share: 0, flops: 0, bytes: 0 };
    e.kernels.push(k.kernel); e.ms += k.ms; e.share += k.share; e.flops += k.flops ?? 0; e.bytes += k.bytes ?? 0;
    by.set(k.node, e);
  }
  const nodes = [...by.values()].map(({ flops, bytes, ...e }) => ({
    ...e, ...(flops && e.ms > 0 ? { gflops: flops / e.ms / 1e6 } : {}), ...(bytes && e.ms > 0 ? { gbps: bytes / e.ms / 1e6 } : {}),
  }));
  return { nodes, unmatched };
}

export async function vizCommand(model: string, opts: VizOptions): Promise<number> {
  const out = opts.output;
  if (!out) throw diag.usage('viz needs -o FILE.html');
  const profile = opts.profile ? readProfile(opts.profile) : undefined;
  const targetName = opts.target ?? profile?.target ?? 'c';
  if (!findTarget(targetName)) throw diag.usage(`unknown target '${targetName}'; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
  if (profile && opts.optLevel === undefined && opts.pipeline === undefined && profile.pipeline) {
    // draw the graph the profile measured
    if (/^-O\d$/.test(profile.pipeline)) opts = { ...opts, optLevel: profile.pipeline.slice(2) };
    else if (profile.pipeline.startsWith('--pipeline ')) opts = { ...opts, pipeline: profile.pipeline.slice('--pipeline '.length) };
  }
  const g = await loadModel(model, parseShapeOptions(opts.inputShape));
  const before = vizGraph(g, 'before optimization');
  const { graph, label } = optimize(g, opts, undefined, undefined, passTarget(targetName));
  const after = vizGraph(graph, `after ${label}`);
  const data: VizData = { model, title: path.basename(model), before, after, pipeline: `${label}, target ${targetName}` };
  if (profile) {
    const { nodes, unmatched } = profileByNode(profile, new Set(graph.nodes.map((n) => n.label)));
    data.profile = { target: profile.target, totalMs: profile.totalMs, runs: profile.runs, nodes, unmatched };
    if (unmatched.length) {
      process.stderr.write(c.warn(`warning: ${unmatched.length} profiled kernel(s) name nodes this graph lacks (profiled with other options?): ${unmatched.slice(0, 3).join(', ')}${unmatched.length > 3 ? ', ...' : ''}`) + '\n');
    }
  }
  writeFileAtomic(out, new TextEncoder().encode(renderPage(data)));
  process.stdout.write(`wrote ${out}: ${before.nodes.length} nodes before, ${after.nodes.length} after ${label}${profile ? `, profile of ${profile.target}` : ''}\n`);
  return 0;
}
