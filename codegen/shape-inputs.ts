/**
 * Which graph inputs a run may bind to constants for a compiled target: those that feed a shape
 * slot (Reshape's shape, Slice's starts, Expand's shape, TopK's K, Range's bounds...) directly, or
 * through pure shape arithmetic on the input itself (Cast, Concat, Gather, Unsqueeze...). A slot
 * computed through a data op (MatMul, Relu, NonZero...) binds nothing, and data that decides only
 * how many elements an output has (NonZero's X, Unique's X, NonMaxSuppression's inputs, Compress's
 * condition: InputSpec.countData) is never bound: the compiled program computes it. An If's condition
 * is a shape slot when the If's outputs have no static shape (its branches give different shapes).
 */
import { isStatic, type Graph, type Node, type Value } from '@aic/core';
import { getOp } from '@aic/ir-spec';

/** Ops that only rearrange or do arithmetic on (small) shape vectors. */
const SHAPE_ARITHMETIC = new Set([
  'Constant', 'Identity', 'Cast', 'CastLike', 'Concat', 'Gather', 'Unsqueeze', 'Squeeze', 'Reshape', 'Flatten', 'Slice', 'Split',
  'Add', 'Sub', 'Mul', 'Div', 'Mod', 'Neg', 'Abs', 'Min', 'Max', 'Floor', 'Ceil', 'Round', 'Sqrt', 'Clip', 'Sign',
  'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Where',
  'ReduceProd', 'ReduceSum', 'ReduceMin', 'ReduceMax', 'Shape', 'Size',
]);

/** A bound input: the slot it decides (op and input name) and the shape arithmetic in between. */
export interface ShapeInput { input: Value; node: Node; slot: string; via: string[] }

export interface ShapeInputs {
  inputs: ShapeInput[];
  /** the shape-arithmetic nodes between bound inputs (or constants) and the slots: folded once bound */
  chain: Set<Node>;
}

export function shapeInputs(g: Graph): ShapeInputs {
  const graphInputs = new Set(g.inputs);
  const ok = new Map<Value, boolean>();
  const chain = new Set<Node>();
  /** can v be known before running from inputs and constants through shape arithmetic only? */
  const known = (v: Value): boolean => {
    const memo = ok.get(v);
    if (memo !== undefined) return memo;
    ok.set(v, false); // cycles (none in a valid graph) are not known
    let r = !!v.const || graphInputs.has(v);
    const p = v.producer;
    if (!r && p && !p.domain && SHAPE_ARITHMETIC.has(p.op)) {
      const def = getOp(p.op, p.domain);
      r = !!def && p.inputs.every((x, i) => !x || def.inputs[Math.min(i, def.inputs.length - 1)]?.shapeOnly || known(x));
      if (r) chain.add(p);
    }
    ok.set(v, r);
    return r;
  };
  const inputs: ShapeInput[] = [];
  const seen = new Set<Value>();
  /** the inputs behind a known value, with the ops in between */
  const collect = (v: Value, node: Node, slot: string, via: string[]) => {
    if (graphInputs.has(v)) {
      if (!seen.has(v)) { seen.add(v); inputs.push({ input: v, node, slot, via }); }
      return;
    }
    const p = v.producer;
    if (!p || v.const) return;
    const def = getOp(p.op, p.domain)!;
    p.inputs.forEach((x, i) => {
      if (x && !def.inputs[Math.min(i, def.inputs.length - 1)]?.shapeOnly) collect(x, node, slot, [p.op, ...via]);
    });
  };
  for (const n of g.nodes) {
    const def = getOp(n.op, n.domain);
    if (!def) continue;
    // an If whose branches decide an output's shape (different shapes per branch): its condition is a shape slot
    if (n.op === 'If' && !n.domain && n.inputs[0] && !n.inputs[0].const && n.outputs.some((o) => !isStatic(o.shape)) && known(n.inputs[0])) {
      collect(n.inputs[0], n, 'cond', []);
    }
    n.inputs.forEach((v, i) => {
      const spec = def.inputs[Math.min(i, def.inputs.length - 1)];
      if (v && spec?.shapeData && !spec.countData && known(v)) collect(v, n, spec.name, []);
    });
  }
  return { inputs, chain };
}

/** How `aic run --verbose` words a bound input. */
export function describeShapeInput(s: ShapeInput): string {
  const via = s.via.length ? ` through ${s.via.join(' -> ')}` : '';
  return `input '${s.input.name}' decides a shape (${s.node.op} '${s.slot}'${via}); its value is known before running, so it is compiled as a constant`;
}
