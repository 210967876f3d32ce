/**
 * Which symbolic dim of a model becomes a run-time extent (lower/extents.ts), and the model bound
 * at one of its values. A symbol at a dim other than the first of some input (a sequence length)
 * takes this path; symbols only at dim 0 stay a run-time batch (lower/symbolic.ts).
 */
import { cloneGraph, diag, type Dim, type Graph } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';

/**
 * Apply --input-shape dims that name symbols, and find the one symbol at a non-leading input dim
 * (undefined when none: a static model or a leading batch). Mutates g's input types.
 */
export function extentSymbol(g: Graph, shapes: Record<string, Dim[]>, max: Record<string, number>): { symbol: string; max: number } | undefined {
  const named = (v: Graph['inputs'][number]) => (v.shape ?? []).some((d, i) => typeof d === 'string' && i > 0);
  const given = Object.entries(shapes).map(([n, dims]) => ({ v: n === '' && g.inputs.length === 1 ? g.inputs[0] : g.inputs.find((x) => x.name === n), dims }));
  if (!g.inputs.some(named) && !given.some(({ dims }) => dims.some((d, i) => typeof d === 'string' && i > 0))) return undefined;
  for (const { v, dims } of given) {
    if (!v) return undefined; // bindSymbolicBatch reports it
    if (v.shape && v.shape.length !== dims.length) throw diag.usage(`--input-shape ${v.name}: the model declares rank ${v.shape.length} [${v.shape.join(', ')}], got ${dims.length} dims`);
    v.type = { ...v.type, shape: dims.map((d, i) => (typeof d === 'string' && typeof v.shape?.[i] === 'number' && v.shape[i] !== 1 ? failFixed(d, v.name, i, v.shape[i] as number) : d)) };
  }
  const symbols = new Set(g.inputs.flatMap((v) => (v.shape ?? []).filter((d): d is string => typeof d === 'string')));
  if (symbols.size > 1) throw diag.extentUnsupported([...symbols].join("', '"), 'are several symbols: a compiled artifact takes one run-time extent (bind the others with --input-shape, e.g. a batch of 1)');
  const symbol = [...symbols][0]!;
  for (const name of Object.keys(max)) if (name !== symbol) throw diag.usage(`--max-shape ${name}: the model's symbolic dim is '${symbol}'`);
  const m = max[symbol];
  if (m === undefined) throw maxNeeded(symbol);
  return { symbol, max: m };
}

/** AIC0453: a run-time extent without its --max-shape */
export const maxNeeded = (symbol: string) => diag.extentMaxNeeded(symbol, `is a run-time extent: declare its maximum with --max-shape ${symbol}=N (buffers are sized for it)`);

function failFixed(d: string, input: string, i: number, n: number): never {
  throw diag.symbolUnsupported(d, `is given for dim ${i} of input '${input}', which the model fixes to ${n}`);
}

/** A copy of g with the symbol bound to v in its inputs, shapes re-inferred. */
export function bindExtentAt(g: Graph, symbol: string, v: number): Graph {
  const c = cloneGraph(g);
  for (const x of c.inputs) if (x.shape?.includes(symbol)) x.type = { ...x.type, shape: x.shape.map((d) => (d === symbol ? v : d)) };
  for (const n of c.nodes) for (const o of n.outputs) if (o.shape?.some((d) => typeof d === 'string')) o.type = { ...o.type, shape: undefined };
  inferGraph(c);
  return c;
}
