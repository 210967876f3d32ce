/**
 * A batch that ops move and merge (a transformer's attention: [B, S, D] transposed to [S, B, D] and
 * reshaped to [S, B*H, d]) is still run per sample when no op mixes samples. lower/symbolic.ts keeps the
 * batch at dim 0 of every value; where that fails, this follows it through the model instead: shapes
 * are inferred at batch 2 and 3, and the dim that grows by 3/2 holds the batch as its outermost factor
 * (B*k). Each op it reaches must keep samples apart:
 * - with the batch at dim 0 in and out, any op whose axes (axis / axes / reduction over all) leave dim 0;
 * - elementwise ops (broadcast: the batch at the same dim from the right), Cast, Identity, Dropout;
 * - Transpose (the batch goes where perm puts it); Reshape, Flatten, Squeeze, Unsqueeze when the dims
 *   before the batch keep their product (each sample's elements stay one run, in order, at the same place);
 * - reductions, Softmax and LayerNormalization (over its axis and every dim after), Gather, Slice, Concat,
 *   Split along other dims; MatMul and Gemm with the batch in rows of A, columns of B or their batch dims.
 * Graph outputs must hold it at dim 0 again. Anything else is refused (the caller's AIC0451).
 */
import { cloneGraph, type Graph, type Node } from '@aic/core';
import { getOp, inferGraph, makeAttrReader } from '@aic/ir-spec';
import { foldNodesWhere } from '@aic/passes';
import { opAxes } from './symbolic.ts';

const MOVES = new Set(['Transpose']);
const RESHAPES = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);
const SAME = new Set(['Cast', 'Identity', 'Dropout', 'CastLike']);
const ALONG = new Set(['Softmax', 'LogSoftmax', 'Hardmax', 'LayerNormalization']); // over axis..end (old opsets, LayerNorm)
const AXIS_OPS = new Set(['Gather', 'Slice', 'Concat', 'Split']);
const SHAPE_ONLY = new Set(['Shape', 'Size']);

/** Why the batch cannot be run per sample, or undefined when it can (g: the model with the batch symbol in its inputs, other dims static). */
export function batchMixedBy(g: Graph, symbol: string): string | undefined {
  // the model at batch b, its shape arithmetic folded (so reshapes get their static shapes)
  const at = (b: number) => {
    const c = cloneGraph(g);
    for (const x of c.inputs) if (x.shape?.[0] === symbol) x.type = { ...x.type, shape: [b, ...x.shape.slice(1)] };
    for (const n of c.nodes) for (const o of n.outputs) o.type = { ...o.type, shape: undefined };
    for (let k = 0, count = -1; k < 16 && c.nodes.length !== count; k++) { count = c.nodes.length; inferGraph(c); foldNodesWhere(c, () => true); }
    inferGraph(c);
    return { c, shapes: new Map([...c.inputs, ...c.constants, ...c.nodes.flatMap((n) => n.outputs)].map((v) => [v.name, v.shape])) };
  };
  let m2: ReturnType<typeof at>, m3: ReturnType<typeof at>;
  try { m2 = at(2); m3 = at(3); } catch (e) { return `its shapes cannot be inferred at batch 2 and 3 (${(e as Error).message})`; }
  const s2 = m2.shapes, s3 = m3.shapes;
  const dimOf = (name: string): number | undefined | 'mixed' => {
    const a = s2.get(name), b = s3.get(name);
    if (!a || !b || a.length !== b.length || [...a, ...b].some((d) => typeof d !== 'number')) return 'mixed';
    const diff = a.map((d, k) => (d !== b[k] ? k : -1)).filter((k) => k >= 0);
    if (!diff.length) return undefined;
    const k = diff[0]!;
    return diff.length === 1 && (a[k] as number) * 3 === (b[k] as number) * 2 ? k : 'mixed';
  };
  // where a batched value holds the batch: dim d of size o * B * q (o: the outer factor, q: the inner one)
  const fac = new Map<string, Factors>(m2.c.inputs.filter((v) => dimOf(v.name) === 0).map((v) => [v.name, { o: 1, q: 1 }]));
  for (const n of m2.c.nodes) {
    if (SHAPE_ONLY.has(n.op)) continue; // shape arithmetic: per sample it reads the sample's shape
    const ins = n.inputs.map((v) => (v ? dimOf(v.name) : undefined));
    const outs = n.outputs.map((v) => dimOf(v.name));
    const bad = [...ins, ...outs].findIndex((d) => d === 'mixed');
    if (bad >= 0) return `${n.op} '${n.label}' has a value whose shape does not keep the batch as one dim's factor`;
    const why = opKeepsSamples(n, ins as (number | undefined)[], outs as (number | undefined)[], s2);
    if (why) return `${n.op} '${n.label}' ${why}`;
    const f = factorsOut(n, ins as (number | undefined)[], outs[0] as number | undefined, s2, fac);
    if (typeof f === 'string') return `${n.op} '${n.label}' ${f}`;
    if (f) for (const o of n.outputs) fac.set(o.name, f);
  }
  const out = m2.c.outputs.find((o) => dimOf(o.name) !== 0 || (fac.get(o.name) && (fac.get(o.name)!.o !== 1 || fac.get(o.name)!.q !== 1)));
  return out ? `output '${out.name}' does not hold the batch alone at dim 0` : undefined;
}

interface Factors { o: number; q: number }
type Shapes = Map<string, readonly (number | string)[] | undefined>;
const prod = (s: readonly (number | string)[], from: number, to: number) => s.slice(from, to).reduce((a: number, x) => a * (x as number), 1);

/**
 * The factors of n's batched output: a reshape keeps each sample's elements where they were (the same
 * number of elements before and after the batch), anything else the factors of its batched inputs (which
 * must agree: two values with samples laid out differently do not combine). Undefined: not known (a
 * value made from shapes alone, constant per sample).
 */
function factorsOut(n: Node, ins: (number | undefined)[], out: number | undefined, s2: Shapes, fac: Map<string, Factors>): Factors | string | undefined {
  if (out === undefined) return undefined;
  const known = n.inputs.map((v, i) => (v && ins[i] !== undefined ? fac.get(v.name) : undefined)).filter((f): f is Factors => !!f);
  if (!RESHAPES.has(n.op)) {
    if (known.some((f) => f.o !== known[0]!.o || f.q !== known[0]!.q)) return 'combines values whose samples are laid out differently';
    return known[0];
  }
  const f = n.inputs[0] && fac.get(n.inputs[0].name);
  if (!f) return undefined;
  const a = s2.get(n.inputs[0]!.name)!, b = s2.get(n.outputs[0]!.name)!, d = ins[0]!;
  const before = prod(a, 0, d) * f.o, after = f.q * prod(a, d + 1, a.length);
  const o = before / prod(b, 0, out), q = (b[out] as number) / (2 * o);
  return Number.isInteger(o) && Number.isInteger(q) && q * prod(b, out + 1, b.length) === after ? { o, q } : 'splits a sample across the batch (a reshape that reorders samples)';
}

function opKeepsSamples(n: Node, ins: (number | undefined)[], outs: (number | undefined)[], shapes: Map<string, readonly (number | string)[] | undefined>): string | undefined {
  const batched = ins.map((d, i) => [d, i] as const).filter(([d]) => d !== undefined) as (readonly [number, number])[];
  const rankIn = (i: number) => shapes.get(n.inputs[i]!.name)!.length;
  const out = outs[0], rankOut = n.outputs[0] ? shapes.get(n.outputs[0].name)?.length ?? 0 : 0;
  if (!batched.length) return outs.some((d) => d !== undefined) && !['ConstantOfShape', 'Expand'].includes(n.op) ? 'makes a batched value from unbatched ones' : undefined;
  if (outs.some((d) => d === undefined)) return 'loses the batch (works across samples)';
  const def = getOp(n.op, n.domain);
  if (!def) return 'is an op aic does not know';
  // the batch at dim 0 everywhere: any op whose axes leave dim 0 (lower/symbolic.ts's rule)
  const axes = () => opAxes(n, rankIn(batched[0]![1]), '');
  if (batched.every(([d]) => d === 0) && outs.every((d) => d === 0) && !MOVES.has(n.op) && !RESHAPES.has(n.op) && !axes().includes(0)) return undefined;
  const [d0, i0] = batched[0]!;
  if (def.category === 'elementwise' || SAME.has(n.op)) {
    return batched.every(([d, i]) => rankOut - rankIn(i) + d === out) ? undefined : 'broadcasts the batch against another dim';
  }
  if (MOVES.has(n.op)) return makeAttrReader(def, n.attrs).ints('perm')[out!] === d0 ? undefined : 'moves the batch';
  if (RESHAPES.has(n.op)) {
    return i0 === 0 && batched.length === 1 ? undefined : 'reshapes by a batched shape'; // the layout: factorsOut
  }
  if (def.category === 'reduce' || ALONG.has(n.op) || AXIS_OPS.has(n.op)) {
    if (batched.length > 1 && n.op !== 'Concat') return 'takes two batched inputs';
    if (n.op === 'Concat' && batched.length !== n.inputs.length) return 'concatenates batched and unbatched values';
    if (n.op === 'Slice' && !n.inputs[3]) return 'slices without axes (every leading dim)';
    if (AXIS_OPS.has(n.op) && i0 !== 0) return out === d0 + 0 || n.op === 'Gather' ? undefined : 'moves the batch';
    const ax = axes();
    const along = ALONG.has(n.op) ? Array.from({ length: rankIn(i0) - ax[0]! }, (_, k) => ax[0]! + k) : ax;
    return along.includes(d0) ? 'works along the batch' : undefined;
  }
  if (n.op === 'MatMul' || n.op === 'Gemm') {
    const attrs = makeAttrReader(def, n.attrs);
    const ok = (d: number, i: number) => {
      const r = rankIn(i);
      if (n.op === 'MatMul') return r >= 2 && (i === 0 ? d !== r - 1 : d !== r - 2);
      if (i === 2) return true; // the bias: elementwise
      const t = i === 0 ? attrs.int('transA') : attrs.int('transB');
      return i === 0 ? d === (t ? 1 : 0) : d === (t ? 0 : 1);
    };
    return batched.every(([d, i]) => ok(d, i)) ? undefined : 'contracts along the batch';
  }
  return 'is not known to keep samples apart when the batch is not dim 0';
}
