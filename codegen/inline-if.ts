/**
 * If nodes whose condition is a constant once a run's shape-deciding inputs are bound (prepareForRun):
 * the taken branch's nodes replace the If in the enclosing graph. A real voice-activity detector
 * branches on its sample-rate input, and its branches give outputs of different shapes (a 16 kHz and
 * an 8 kHz front end), so no compiled If could hold them; with the rate known, only one branch runs.
 * Only top-level Ifs are inlined, repeatedly (a nested If becomes top-level when its parent is).
 */
import { subgraphsOf, type Graph, type Node } from '@aic/core';
import { replaceAllUses, uniqueNamer } from '@aic/passes';

/** Inline every top-level If of g with a constant condition; returns how many were inlined. */
export function inlineConstantIfs(g: Graph, which: (n: Node) => boolean = () => true): number {
  let count = 0;
  const fresh = uniqueNamer(g);
  for (let i = 0; i < g.nodes.length; i++) {
    const n = g.nodes[i]!;
    const cond = n.inputs[0]?.const;
    if (n.op !== 'If' || n.domain || !cond || cond.size !== 1 || !which(n)) continue;
    const branch = n.attrs[cond.num[0] ? 'then_branch' : 'else_branch']?.value as Graph | undefined;
    if (!branch || branch.outputs.length !== n.outputs.length) continue;
    // branch names are unique within the model in ONNX, but keep the enclosing graph's names unique anyway
    const taken = new Set([...g.definedValues()].map((v) => v.name));
    for (const v of [...branch.constants, ...branch.nodes.flatMap((m) => m.outputs)]) if (taken.has(v.name)) v.name = fresh(v.name);
    for (const m of branch.nodes) for (const sg of subgraphsOf(m)) sg.parent = g;
    g.constants.push(...branch.constants);
    g.nodes.splice(i, 1, ...branch.nodes);
    n.outputs.forEach((o, k) => replaceAllUses(g, o, branch.outputs[k]!));
    i += branch.nodes.length - 1;
    count++;
  }
  return count;
}
