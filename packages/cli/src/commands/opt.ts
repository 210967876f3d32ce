/**
 * aic opt MODEL [-O N | --pipeline P] -o OUT.aic | OUT.onnx
 * Runs the optimization pipeline and writes the result: DSL text + .bin weights sidecar, or ONNX
 * (only when every op of the result is a standard ONNX op; fused 'aic' ops are not).
 */
import * as path from 'node:path';
import { Graph, Value, diag, subgraphsOf, writeFileAtomic, type Node } from '@aic/core';
import { getOp, normalizeDomain } from '@aic/ir-spec';
import { printGraph, saveDsl } from '@aic/dsl';
import * as onnxPkg from '@aic/onnx';
import { loadModel, parseShapeOptions } from '../model-io.ts';
import { optimize, type PipelineCliOptions } from '../pipeline-options.ts';
import { DEFAULT_OPT_LEVEL } from '@aic/passes';

export interface OptOptions extends PipelineCliOptions { output?: string; inputShape?: string[] }

/** Nodes (also in subgraphs) whose op has no standard ONNX mapping, grouped as 'domain::Op'. */
export function nonOnnxOps(g: Graph): Map<string, Node[]> {
  const out = new Map<string, Node[]>();
  const visit = (gr: Graph) => {
    for (const n of gr.nodes) {
      const domain = normalizeDomain(n.domain);
      const def = getOp(n.op, domain);
      if (domain === 'aic' || !def?.onnx) {
        const key = `${domain || 'ai.onnx'}::${n.op}`;
        out.set(key, [...(out.get(key) ?? []), n]);
      }
      subgraphsOf(n).forEach(visit);
    }
  };
  visit(g);
  return out;
}

/** Values (also in subgraphs) stored in a physical layout other than plain NCHW, as 'name (LAYOUT)'. */
export function laidOutValues(g: Graph): string[] {
  const out: string[] = [];
  const visit = (gr: Graph) => {
    for (const v of gr.definedValues()) if (v.type.layout && v.type.layout !== 'NCHW') out.push(`'${v.name}' (${v.type.layout})`);
    for (const n of gr.nodes) subgraphsOf(n).forEach(visit);
  };
  visit(g);
  return out;
}

/** Does the DSL printer write value layouts? (Probed, so this guard goes away once it does.) */
function dslPrintsLayouts(): boolean {
  const g = new Graph('probe');
  const v = new Value('x', { dtype: 'float32', shape: [1, 4, 1, 1], layout: 'NC4HW4' });
  g.inputs.push(v);
  g.outputs.push(v);
  return printGraph(g).includes('NC4HW4');
}

export async function optCommand(model: string, opts: OptOptions): Promise<number> {
  if (!opts.output) throw diag.usage('opt needs -o OUT.aic (DSL + .bin weights) or -o OUT.onnx');
  const ext = path.extname(opts.output).toLowerCase();
  if (ext !== '.aic' && ext !== '.onnx') throw diag.usage(`-o '${opts.output}': the extension must be .aic (DSL + .bin sidecar) or .onnx`);
  const g = await loadModel(model, parseShapeOptions(opts.inputShape));
  const before = g.nodes.length;
  const { graph, label } = optimize(g, opts, DEFAULT_OPT_LEVEL);
  const summary = `optimized ${model} with ${label}: ${before} -> ${graph.nodes.length} nodes`;
  if (ext === '.onnx') {
    const bad = nonOnnxOps(graph);
    if (bad.size) {
      const list = [...bad].map(([op, ns]) => `${op} (${ns.length} node${ns.length > 1 ? 's' : ''}: ${ns.slice(0, 3).map((n) => `'${n.label}'`).join(', ')}${ns.length > 3 ? ', ...' : ''})`);
      throw diag.unsupportedFeature(`writing '${opts.output}': the optimized graph uses ops with no standard ONNX equivalent: ${list.join('; ')}. `
        + `Write the DSL instead (-o ${opts.output.replace(/\.onnx$/i, '.aic')}), or choose a pipeline without fusion (-O1) for an ONNX result`);
    }
    const laid = laidOutValues(graph);
    if (laid.length) {
      throw diag.unsupportedFeature(`writing '${opts.output}': ${laid.length} values of the optimized graph are stored in physical layouts `
        + `(${laid.slice(0, 3).join(', ')}${laid.length > 3 ? ', ...' : ''}) that ONNX cannot express; use a pipeline without layout-nc4hw4`);
    }
    const exportOnnx = (onnxPkg as unknown as { exportOnnx?: (g: Graph) => Uint8Array }).exportOnnx;
    if (typeof exportOnnx !== 'function') {
      throw diag.unsupportedFeature(`writing '${opts.output}': ONNX export is not implemented yet; write the DSL instead (-o ${opts.output.replace(/\.onnx$/i, '.aic')})`);
    }
    const bytes = exportOnnx(graph);
    writeFileAtomic(opts.output, bytes);
    process.stdout.write(`${summary}\nwrote ${opts.output} (${bytes.length} bytes)\n`);
  } else {
    const laid = laidOutValues(graph);
    if (laid.length && !dslPrintsLayouts()) {
      // the .aic would load back with plain layouts and compute wrong results: refuse, write nothing
      throw diag.unsupportedFeature(`writing '${opts.output}': ${laid.length} values of the optimized graph are stored in physical layouts `
        + `(${laid.slice(0, 3).join(', ')}${laid.length > 3 ? ', ...' : ''}) that the DSL cannot express yet; `
        + 'use a pipeline without layout-nc4hw4 (-O2) for a .aic result');
    }
    const r = saveDsl(graph, opts.output);
    process.stdout.write(`${summary}\nwrote ${[r.text, r.weights].filter(Boolean).join(', ')}\n`);
  }
  return 0;
}
