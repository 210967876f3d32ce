/**
 * eliminate-common-subexpressions: nodes with the same op, attributes and operands compute the same
 * value; keep the first. Operands of commutative ops are sorted first. Equal constants are merged.
 */
import { cloneGraph, subgraphsOf, type Attr, type Graph, type Tensor, type Value } from '@aic/core';
import { getOp } from '@aic/ir-spec';
import { definePass } from './pass.ts';
import { removeDead, replaceAllUses } from './graph-utils.ts';

function attrKey(a: Attr): string {
  switch (a.type) {
    case 'tensor': return `T${tensorKey(a.value)}`;
    case 'tensors': return `Ts${a.value.map(tensorKey).join(';')}`;
    case 'graph': case 'graphs': return `G${Math.random()}`; // subgraphs are never considered equal
    default: return `${a.type}:${JSON.stringify(a.value)}`;
  }
}
function tensorKey(t: Tensor): string {
  if (t.size > 4096) return `big${Math.random()}`;
  return `${t.dtype}[${t.shape.join(',')}]${Array.isArray(t.data) ? JSON.stringify(t.data) : Array.from(t.num as ArrayLike<number>, (x) => (Object.is(x, -0) ? '-0' : String(x))).join(',')}`;
}

export default definePass({
  name: 'eliminate-common-subexpressions',
  summary: 'merge nodes that compute the same value (commutative operands sorted) and equal constants',
  options: {},
  statistics: ['nodes-merged', 'constants-merged'],
  run(g0, ctx) {
    const g = cloneGraph(g0);
    ctx.stats['nodes-merged'] = 0;
    ctx.stats['constants-merged'] = 0;
    cse(g, ctx.stats);
    return g;
  },
});

function cse(g: Graph, stats: Record<string, number>): void {
  const ids = new Map<Value, number>();
  let next = 0;
  const id = (v: Value | null) => {
    if (!v) return -1;
    let i = ids.get(v);
    if (i === undefined) { i = next++; ids.set(v, i); }
    return i;
  };
  // constants: merge equal small tensors (graph outputs keep their own value)
  const byData = new Map<string, Value>();
  for (const c of g.constants) {
    if (g.outputs.includes(c)) continue;
    const k = `${c.type.layout ?? ''}|${tensorKey(c.const!)}`;
    if (k.startsWith('big')) continue;
    const prev = byData.get(k);
    if (prev) { replaceAllUses(g, c, prev); stats['constants-merged']++; }
    else byData.set(k, c);
  }
  const seen = new Map<string, Value[]>();
  for (const n of g.nodes) {
    subgraphsOf(n).forEach((sg) => cse(sg, stats));
    const def = getOp(n.op, n.domain);
    if (!def || def.nondeterministic || subgraphsOf(n).length) continue;
    let operands = n.inputs.map(id);
    if (def.commutative && operands.length === 2) operands = operands.slice().sort((a, b) => a - b);
    const key = `${n.domain}::${n.op}(${operands.join(',')})#${n.outputs.length}{${Object.keys(n.attrs).sort().map((k) => `${k}=${attrKey(n.attrs[k])}`).join(';')}}`;
    const prev = seen.get(key);
    // a graph output keeps its own value (two outputs computing the same thing stay two outputs)
    if (prev && !n.outputs.some((o) => g.outputs.includes(o))) {
      n.outputs.forEach((o, i) => replaceAllUses(g, o, prev[i]));
      stats['nodes-merged']++;
    } else seen.set(key, n.outputs);
  }
  removeDead(g);
}
