/**
 * fold-constants: evaluate every node whose inputs are all known at compile time, with the op's
 * ir-spec reference semantics (the same code the interpreter runs), to a fixpoint. Inputs the op
 * only reads the shape of (Shape, Size...) count as known when their shape is static. A size cap
 * keeps folding from blowing up constants: a result is kept only when it is at most `max-elements`
 * or no bigger than the constants it replaces (its constant inputs and tensor attributes).
 */
import { AicError, Tensor, Value, cloneGraph, isStatic, sizeOf, subgraphsOf, type Graph, type Node } from '@aic/core';
import { getOp, inferGraph } from '@aic/ir-spec';
import { evalNode } from '@aic/interp';
import { definePass } from './pass.ts';
import { removeDead, replaceAllUses, uniqueNamer } from './graph-utils.ts';

export default definePass({
  name: 'fold-constants',
  summary: 'evaluate all-constant subgraphs (and shape queries on static shapes) at compile time',
  options: {
    'max-elements': { type: 'number', default: 1 << 20, doc: 'largest folded result (elements) allowed to grow the model' },
  },
  statistics: ['nodes-folded', 'elements-created'],
  run(g0, ctx) {
    const g = cloneGraph(g0);
    ctx.stats['nodes-folded'] = 0;
    ctx.stats['elements-created'] = 0;
    foldGraph(g, Number(ctx.options['max-elements']), ctx.stats);
    return g;
  },
});

/**
 * Fold, in place, only the nodes `pick` accepts (whose inputs are all known): `aic run` folds the
 * shape arithmetic between the inputs it binds and the shape slots they feed, and nothing else.
 */
export function foldNodesWhere(g: Graph, pick: (n: Node) => boolean): void {
  foldGraph(g, 1 << 20, { 'nodes-folded': 0, 'elements-created': 0 }, pick);
}

function foldGraph(g: Graph, cap: number, stats: Record<string, number>, pick?: (n: Node) => boolean): void {
  const fresh = uniqueNamer(g);
  let changed = true;
  while (changed) {
    changed = false;
    for (const n of g.nodes.slice()) {
      if (pick && !pick(n)) continue;
      const outs = tryFold(n, cap);
      if (!outs) continue;
      n.outputs.forEach((o, i) => {
        const t = outs[i];
        const c = new Value(fresh(`${o.name || 'c'}_folded`), o.type.layout ? { ...o.type } : { dtype: t.dtype, shape: t.shape.slice() });
        c.const = t;
        g.constants.push(c);
        // a folded graph output becomes a constant output under its own name (no Identity: that
        // would be folded again, forever)
        const outIdx = g.outputs.indexOf(o);
        if (outIdx >= 0 && !g.outputs.includes(c)) {
          c.name = o.name;
          g.outputs = g.outputs.map((v) => (v === o ? c : v));
        }
        replaceAllUses(g, o, c);
        stats['elements-created'] += t.size;
      });
      g.nodes.splice(g.nodes.indexOf(n), 1);
      stats['nodes-folded']++;
      changed = true;
    }
    // folded constants can make downstream shapes static, which enables more folding
    if (changed) inferGraph(g);
  }
  // bodies after their enclosing graph: values they capture from it are constants by now
  if (!pick) for (const n of g.nodes) subgraphsOf(n).forEach((sg) => foldGraph(sg, cap, stats));
  removeDead(g);
}

/** The folded outputs of n, or undefined when n cannot (or should not) be folded. */
function tryFold(n: Node, cap: number): Tensor[] | undefined {
  const def = getOp(n.op, n.domain);
  if (!def || def.nondeterministic || subgraphsOf(n).length) return undefined;
  if (n.outputs.some((o) => o.kind !== 'tensor')) return undefined;
  // tensors the node already holds (Constant's value) count as constants it replaces: a Constant of
  // any size becomes a graph constant (left a node, it lowered to a store per element)
  let inputElems = Object.values(n.attrs).reduce((a, at) => a + (at.type === 'tensor' && at.value instanceof Tensor ? at.value.size : 0), 0);
  const values = new Map<Value, Tensor>();
  for (let i = 0; i < n.inputs.length; i++) {
    const v = n.inputs[i];
    if (!v) continue;
    if (v.const) { values.set(v, v.const); inputElems += v.const.size; continue; }
    const spec = def.inputs[Math.min(i, def.inputs.length - 1)];
    if (spec?.shapeOnly && v.kind === 'tensor' && isStatic(v.shape) && v.dtype !== 'string') {
      values.set(v, new Tensor(v.dtype, v.shape as number[]));
      continue;
    }
    return undefined;
  }
  // results known to be too big are not even computed (a large ConstantOfShape stays a node)
  const known = n.outputs.every((o) => isStatic(o.shape));
  const planned = n.outputs.reduce((a, o) => a + (isStatic(o.shape) ? sizeOf(o.shape) : 0), 0);
  if (known && planned > cap && planned > inputElems) return undefined;
  let outs;
  try {
    outs = evalNode(n, { values: values as Map<Value, Tensor | Tensor[] | null> });
  } catch (e) {
    if (e instanceof AicError) return undefined; // leave it for the runtime to report
    throw e;
  }
  if (!outs.every((t): t is Tensor => t instanceof Tensor)) return undefined;
  const size = outs.reduce((a, t) => a + t.size, 0);
  if (size > cap && size > inputElems) return undefined;
  return outs;
}
