/**
 * Node order on import. ONNX requires a graph's nodes in topological order, but real exported
 * models sometimes list a node before the producers of its inputs (ONNX Runtime sorts them), so
 * the importer sorts too, keeping the listed order wherever it is valid.
 */
import type { IGraphProto, INodeProto } from './proto.ts';

/** The graphs held by a node's attributes (If branches, Loop/Scan bodies). */
export function subgraphsOf(n: INodeProto): IGraphProto[] {
  const out: IGraphProto[] = [];
  for (const a of n.attribute ?? []) {
    if (a.g) out.push(a.g);
    for (const g of a.graphs ?? []) out.push(g);
  }
  return out;
}

const freeMemo = new WeakMap<IGraphProto, Set<string>>();

/** Names a graph (with its nested graphs) uses without defining them: values of enclosing scopes. */
function freeNames(gp: IGraphProto): Set<string> {
  const memo = freeMemo.get(gp);
  if (memo) return memo;
  const defined = new Set<string>();
  for (const t of gp.initializer ?? []) defined.add(t.name ?? '');
  for (const t of gp.sparseInitializer ?? []) defined.add(t.values?.name ?? '');
  for (const vi of gp.input ?? []) defined.add(vi.name ?? '');
  for (const n of gp.node ?? []) for (const o of n.output ?? []) defined.add(o);
  const free = new Set<string>();
  const use = (x: string) => { if (x && !defined.has(x)) free.add(x); };
  for (const n of gp.node ?? []) {
    (n.input ?? []).forEach(use);
    for (const sg of subgraphsOf(n)) freeNames(sg).forEach(use);
  }
  for (const vi of gp.output ?? []) use(vi.name ?? '');
  freeMemo.set(gp, free);
  return free;
}

/** `late`: how many nodes were listed before a producer of their inputs. */
export type NodeOrder = { order: number[]; late: number } | { cycle: number[] };

/**
 * The indices of `gp`'s nodes with every node after the producers of the values it uses (its
 * inputs and what its subgraphs use from outside). `isDefined` says which names exist before any
 * node runs (initializers, graph inputs, enclosing scopes): those never wait for a producer. Names
 * defined nowhere add no constraint (the importer reports them). A cycle returns its nodes, each
 * using an output of the next.
 */
export function topoOrder(gp: IGraphProto, isDefined: (name: string) => boolean): NodeOrder {
  const nodes = gp.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) if (o && !producer.has(o)) producer.set(o, i);
  });
  const deps = nodes.map((n) => {
    const used = [...(n.input ?? [])];
    for (const sg of subgraphsOf(n)) used.push(...freeNames(sg));
    const out: number[] = [];
    for (const name of used) {
      const p = name && !isDefined(name) ? producer.get(name) : undefined;
      if (p !== undefined && !out.includes(p)) out.push(p);
    }
    return out;
  });
  // Kahn's algorithm taking the lowest listed index first: a valid order comes out as listed, and
  // nodes that need not move keep their relative order
  const waiting = deps.map((d) => d.length);
  const consumers: number[][] = nodes.map(() => []);
  deps.forEach((d, i) => d.forEach((p) => consumers[p]!.push(i)));
  const ready = new MinHeap();
  waiting.forEach((w, i) => { if (w === 0) ready.push(i); });
  const order: number[] = [];
  while (ready.size) {
    const i = ready.pop();
    order.push(i);
    for (const c of consumers[i]!) if (--waiting[c]! === 0) ready.push(c);
  }
  if (order.length === nodes.length) return { order, late: deps.filter((d, i) => d.some((p) => p > i)).length };
  // every node left waits for another node left: follow producers until one repeats
  const path: number[] = [];
  const seen = new Map<number, number>();
  let i = waiting.findIndex((w) => w > 0);
  while (!seen.has(i)) {
    seen.set(i, path.length);
    path.push(i);
    i = deps[i]!.find((p) => waiting[p]! > 0)!;
  }
  return { cycle: path.slice(seen.get(i)) };
}

/** A binary min-heap of node indices. */
class MinHeap {
  private a: number[] = [];
  get size(): number { return this.a.length; }
  push(x: number): void {
    const a = this.a;
    let i = a.push(x) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= x) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = x;
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= a.length) break;
        if (c + 1 < a.length && a[c + 1]! < a[c]!) c++;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
