/**
 * Loops that build a list, as exporters write them (`outs.append(y)` in a scripted loop, a greedy
 * decoder that breaks on data): a loop-carried sequence that starts empty and only has one element
 * appended per iteration is a scan output. appendsAsScans rewrites the Loop so (expand-sequences.ts
 * then keeps it a Loop instead of unrolling it); iterationBound finds how many iterations a loop whose
 * condition is computed in its body can run at most (TorchScript's `for i in range(n)` with a
 * `break` exports as `i + 1 < n and not done`), so its scan outputs get a static bound and a run-time
 * length (lower/control.ts). Only structure is read here; no data is computed.
 */
import { Node, Value, isStatic, subgraphsOf, type Graph } from '@aic/core';

/** A value's integer when it is a model constant (folded, or a Constant node left by -O0). */
export function constInt(v: Value | null | undefined): number | undefined {
  if (!v) return undefined;
  if (v.const && v.const.shape.length <= 1 && v.const.num.length === 1) return Number(v.const.num[0]);
  const k = v.producer?.op === 'Constant' && !v.producer.domain ? v.producer.attrs['value'] : undefined;
  if (k?.type === 'tensor' && k.value.num.length === 1) return Number(k.value.num[0]);
  return undefined;
}

/** Every node of g and of the subgraphs inside it. */
function allNodes(g: Graph): Node[] {
  return g.nodes.flatMap((n) => [n, ...subgraphsOf(n).flatMap(allNodes)]);
}

/**
 * The carried values of Loop `n` that are append-only sequences: `isEmpty(k)` says the initial value
 * of carried value k is an empty sequence; in the body, its input is read only by one SequenceInsert
 * (no position: an append) of a tensor of static shape, whose result is read only as the body's
 * output for it. Returns their indices (among the carried values).
 */
export function appendOnly(n: Node, isEmpty: (k: number) => boolean): number[] {
  const b = n.attrs['body']?.value as Graph | undefined;
  if (n.op !== 'Loop' || !b) return [];
  const nCarried = n.inputs.length - 2;
  if (n.outputs.length !== b.outputs.length - 1) return []; // every output present, so a scan output can be appended
  const nodes = allNodes(b);
  const readers = (v: Value) => nodes.filter((x) => x.inputs.includes(v));
  const ks: number[] = [];
  for (let k = 0; k < nCarried; k++) {
    const bi = b.inputs[2 + k], bo = b.outputs[1 + k];
    if (!bi || !bo || bi.kind !== 'sequence' || !isEmpty(k)) continue;
    const r = readers(bi);
    const ins = r[0];
    if (r.length !== 1 || ins?.op !== 'SequenceInsert' || ins.domain || !b.nodes.includes(ins) || ins.inputs[2] || ins.inputs[0] !== bi) continue;
    const e = ins.inputs[1];
    if (!e || e.kind !== 'tensor' || !isStatic(e.shape) || ins.outputs[0] !== bo || readers(bo).length) continue;
    if (b.outputs.filter((o) => o === bo).length !== 1) continue;
    ks.push(k);
  }
  return ks;
}

/**
 * Rewrite Loop `n` (in place): each append-only carried sequence k (appendOnly) becomes a scan output
 * of the appended tensor. Returns, per rewritten sequence output of the node, the new scan output
 * (its elements stacked along a new axis 0).
 */
export function appendsAsScans(n: Node, ks: number[], fresh: (base: string) => string): Map<Value, Value> {
  const b = n.attrs['body']!.value as Graph;
  const map = new Map<Value, Value>();
  const scans: { seqOut: Value; e: Value }[] = [];
  for (const k of [...ks].sort((x, y) => y - x)) {
    const ins = b.nodes.find((x) => x.op === 'SequenceInsert' && x.inputs[0] === b.inputs[2 + k])!;
    let e = ins.inputs[1]!;
    b.nodes = b.nodes.filter((x) => x !== ins);
    if (!b.nodes.some((x) => x.outputs.includes(e))) { // a body input or an outer-scope value: a body value of its own
      const c = new Value(fresh(`${e.name}_elem`), { dtype: e.dtype, shape: e.shape?.slice() });
      b.nodes.push(new Node({ op: 'Identity', name: fresh(`${c.name}_id`), inputs: [e], outputs: [c] }));
      c.producer = b.nodes[b.nodes.length - 1]!;
      e = c;
    }
    b.inputs.splice(2 + k, 1);
    b.outputs.splice(1 + k, 1);
    n.inputs.splice(2 + k, 1);
    const [seqOut] = n.outputs.splice(k, 1);
    scans.unshift({ seqOut: seqOut!, e });
  }
  for (const { seqOut, e } of scans) {
    b.outputs.push(e);
    const sv = new Value(fresh(`${seqOut.name}_stacked`), { dtype: e.dtype, shape: undefined });
    sv.producer = n;
    n.outputs.push(sv);
    map.set(seqOut, sv);
  }
  return map;
}

const COMPARE: Record<string, { flip: boolean; strict: boolean }> = {
  Less: { flip: false, strict: true }, LessOrEqual: { flip: false, strict: false },
  Greater: { flip: true, strict: true }, GreaterOrEqual: { flip: true, strict: false },
};

/**
 * At most how many iterations Loop `n` runs, from its body's condition: a conjunct `x < B` (or `<=`,
 * or `B > x`...) where x counts iterations (x = i + c at iteration i: the iteration number, or a
 * carried counter with a constant start stepped by 1 each iteration, plus or minus constants) and B
 * is a value of the enclosing graph whose integer `outer(B)` gives (a constant, or an input `aic run`
 * was given). Undefined when no such conjunct is found.
 */
export function iterationBound(n: Node, outer: (v: Value) => number | undefined): number | undefined {
  const b = n.attrs['body']?.value as Graph | undefined;
  if (n.op !== 'Loop' || !b) return undefined;
  const inBody = new Set<Value>([...b.inputs, ...b.nodes.flatMap((x) => x.outputs)]);
  const producer = (v: Value) => b.nodes.find((x) => x.outputs.includes(v));
  const through = (v: Value): Value => {
    for (let p = producer(v); p && (p.op === 'Identity' || (p.op === 'Cast' && /int/.test(v.dtype))) && p.inputs[0]; p = producer(v)) v = p.inputs[0]!;
    return v;
  };
  // x at iteration i is i + offset(x)
  const offset = (x0: Value, depth = 0): number | undefined => {
    const x = through(x0);
    if (depth > 8) return undefined;
    if (x === b.inputs[0]) return 0;
    const k = b.inputs.indexOf(x) - 2;
    if (k >= 0) {
      const start = constInt(n.inputs[2 + k]);
      const next = through(b.outputs[1 + k]!);
      const p = producer(next);
      const step = p?.op === 'Add' ? (p.inputs[0] && through(p.inputs[0]) === x ? constInt(p.inputs[1]) : p.inputs[1] && through(p.inputs[1]) === x ? constInt(p.inputs[0]) : undefined) : undefined;
      return start !== undefined && step === 1 ? start : undefined;
    }
    const p = producer(x);
    if (!p || p.domain || (p.op !== 'Add' && p.op !== 'Sub')) return undefined;
    const [l, r] = p.inputs;
    if (!l || !r) return undefined;
    const cr = constInt(r), cl = constInt(l);
    if (cr !== undefined) { const o = offset(l, depth + 1); return o === undefined ? undefined : p.op === 'Add' ? o + cr : o - cr; }
    if (cl !== undefined && p.op === 'Add') { const o = offset(r, depth + 1); return o === undefined ? undefined : o + cl; }
    return undefined;
  };
  const conjuncts = (v0: Value, out: Value[] = []): Value[] => {
    const v = through(v0);
    const p = producer(v);
    if (p?.op === 'And' && !p.domain) {
      for (const x of p.inputs) if (x) conjuncts(x, out);
    } else out.push(v);
    return out;
  };
  let best: number | undefined;
  for (const c of conjuncts(b.outputs[0]!)) {
    const p = producer(c);
    const cmp = p && !p.domain ? COMPARE[p.op] : undefined;
    if (!cmp || !p!.inputs[0] || !p!.inputs[1]) continue;
    const [x, B] = cmp.flip ? [p!.inputs[1], p!.inputs[0]] : [p!.inputs[0], p!.inputs[1]];
    const off = offset(x!);
    if (off === undefined || inBody.has(through(B!))) continue;
    const bound = constInt(B) ?? outer(B!);
    if (bound === undefined) continue;
    // the condition after iteration i is i + off < bound: iteration i + 1 runs only if i <= bound - off - 1
    const most = Math.max(1, bound - off + (cmp.strict ? 1 : 2));
    best = best === undefined ? most : Math.min(best, most);
  }
  return best;
}
