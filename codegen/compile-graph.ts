/**
 * Preparing a graph for a compiled target: bind shape-deciding inputs to constants (when their
 * values are known, as `aic run` knows them), infer static shapes, and lower to a Program.
 */
import { Tensor, type Graph, type RValue, type Value } from '@aic/core';
import { getOp, inferGraph, validateGraph, type TargetCaps } from '@aic/ir-spec';
import { parsePipeline, runPipeline } from '@aic/passes';
import { lowerGraph, type Program } from './lower/program.ts';

/**
 * Graph inputs whose values decide a shape: those feeding a shape-data slot (Reshape's shape,
 * Range's limit...) directly or through other nodes (Cast, Sub...).
 */
export function shapeDeciding(g: Graph): Set<Value> {
  const inputs = new Set(g.inputs);
  const out = new Set<Value>();
  const seen = new Set<Value>();
  const visit = (v: Value | null) => {
    if (!v || seen.has(v)) return;
    seen.add(v);
    if (inputs.has(v)) { out.add(v); return; }
    if (v.producer) v.producer.inputs.forEach(visit);
  };
  for (const n of g.nodes) {
    const def = getOp(n.op, n.domain);
    if (!def) continue;
    n.inputs.forEach((v, i) => {
      const spec = def.inputs[Math.min(i, def.inputs.length - 1)];
      if (spec?.shapeData) visit(v);
    });
  }
  return out;
}

/** Turn the given graph inputs into constants with these values (mutates g), then re-infer. */
export function bindConstInputs(g: Graph, values: Map<string, Tensor>): void {
  for (const [name, t] of values) {
    const v = g.inputs.find((x) => x.name === name);
    if (!v) continue;
    g.inputs = g.inputs.filter((x) => x !== v);
    v.const = t;
    v.type = { dtype: t.dtype, shape: t.shape.slice() };
    g.constants.push(v);
  }
  inferGraph(g);
}

/**
 * For running: every shape-deciding input is bound from the feeds (mutates g: those inputs become
 * constants, and the shape arithmetic on them is folded so shapes become static).
 */
export function prepareForRun(g: Graph, feeds: Map<string, RValue>): Map<string, RValue> {
  validateGraph(g); // before folding rewrites anything
  const bind = new Map<string, Tensor>();
  for (const v of shapeDeciding(g)) {
    const t = feeds.get(v.name);
    if (t instanceof Tensor) bind.set(v.name, t);
  }
  if (bind.size) {
    bindConstInputs(g, bind);
    const folded = runPipeline(g, parsePipeline('fold-constants,eliminate-dead-nodes')).graph;
    g.inputs = folded.inputs; g.outputs = folded.outputs; g.nodes = folded.nodes; g.constants = folded.constants;
    for (const n of g.nodes) for (const o of n.outputs) o.producer = n;
  }
  return feeds;
}

export function compileGraph(g: Graph, caps: TargetCaps): Program {
  return lowerGraph(g, caps);
}
