/**
 * Preparing a graph for a compiled target: bind shape-deciding inputs to constants (when their
 * values are known, as `aic run` knows them), infer static shapes, and lower to a Program.
 * Data is never computed here: only the shape arithmetic that feeds shape slots is folded.
 */
import { Tensor, isStatic, type Graph, type Node, type RValue, type Value } from '@aic/core';
import { inferGraph, validateGraph, type TargetCaps } from '@aic/ir-spec';
import { foldNodesWhere } from '@aic/passes';
import { shapeInputs, type ShapeInput } from './shape-inputs.ts';
import { inlineConstantIfs } from './inline-if.ts';
import { lowerGraph, type Program } from './lower/program.ts';

/** Graph inputs a run binds (see shape-inputs.ts): those feeding a shape slot through shape arithmetic only. */
export function shapeDeciding(g: Graph): Set<Value> {
  return new Set(shapeInputs(g).inputs.map((s) => s.input));
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
 * For running: every input that decides a shape (shape-inputs.ts) is bound from the feeds (mutates g:
 * those inputs become constants, and only the shape arithmetic between them and their slots is
 * folded, so shapes become static while every op that computes data stays a kernel). `onBind` hears
 * each bound input (`aic run --verbose` names them).
 */
export function prepareForRun(g: Graph, feeds: Map<string, RValue>, onBind?: (s: ShapeInput) => void): Map<string, RValue> {
  validateGraph(g); // before folding rewrites anything
  // an If whose condition a bound input decides is replaced by its taken branch (inline-if.ts), which
  // may expose more shape slots (a nested If): bind and fold again until nothing changes
  for (let round = 0; ; round++) {
    const { inputs, chain } = shapeInputs(g);
    const bind = new Map<string, Tensor>();
    for (const s of inputs) {
      const t = feeds.get(s.input.name);
      if (!(t instanceof Tensor)) continue;
      bind.set(s.input.name, t);
      onBind?.(s);
    }
    if (bind.size) bindConstInputs(g, bind);
    if (bind.size || round > 0 || chain.size) {
      foldNodesWhere(g, (n) => chain.has(n));
      for (const n of g.nodes) for (const o of n.outputs) o.producer = n;
    }
    const undecided = (n: Node) => n.outputs.some((o) => !isStatic(o.shape));
    if (!inlineConstantIfs(g, undecided)) break;
    inferGraph(g);
  }
  return feeds;
}

export function compileGraph(g: Graph, caps: TargetCaps): Program {
  return lowerGraph(g, caps);
}
