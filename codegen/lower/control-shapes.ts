/**
 * Shapes of control-flow values before lowering (codegen/lower/control.ts): If outputs from their
 * branches, loop-carried values and Scan states from their initial values. Compiled control flow
 * needs one static shape per value; shapes that differ are refused (AIC0391).
 */
import { diag, isStatic, nodeLocation, type Node, type Value } from '@aic/core';
import { getOp, inferGraph, makeAttrReader } from '@aic/ir-spec';

export const shapeText = (s: readonly (number | string)[] | undefined) => (s ? `[${s.join(', ')}]` : '[?]');

export const CONTROL_OPS: ReadonlySet<string> = new Set(['If', 'Loop', 'Scan', 'Scan8']);
export const isControl = (n: Node): boolean => n.domain === '' && CONTROL_OPS.has(n.op);

/**
 * Loop-carried values and Scan states whose body inputs have no static shape (ONNX bodies often
 * declare none) take their initial value's shape, and the body is inferred again; when every carried
 * body output then has that same shape, the shape holds in every iteration, and the node's outputs
 * get it too. Anything else is left as it is (lowering then says which value has no static shape).
 */
export function refineControlShapes(n: Node, target: string): void {
  if (!isControl(n)) return;
  const a = makeAttrReader(getOp(n.op, n.domain)!, n.attrs, nodeLocation(n));
  const label = `${n.op} '${n.label}'`, loc = nodeLocation(n);
  const settle = (o: Value | undefined, what: string, x: Value | undefined, y: Value | undefined) => {
    if (!x || !y || !isStatic(x.shape) || !isStatic(y.shape)) return;
    if (shapeText(x.shape) !== shapeText(y.shape)) throw diag.controlShapeChanges(label, what, shapeText(x.shape), shapeText(y.shape), target, loc);
    if (o && !isStatic(o.shape)) o.type = { ...o.type, shape: (x.shape as number[]).slice() };
  };
  if (n.op === 'If') {
    const t = a.graph('then_branch'), e = a.graph('else_branch');
    n.outputs.forEach((o, i) => settle(o, `output ${i} ('${o.name}') of its branches`, t.outputs[i], e.outputs[i]));
    return;
  }
  const g = a.graph('body');
  const first = n.op === 'Loop' ? 2 : n.op === 'Scan8' ? 1 : 0; // where carried values start among the node inputs
  const bodyFirst = n.op === 'Loop' ? 2 : 0, outFirst = n.op === 'Loop' ? 1 : 0;
  const nCarried = n.op === 'Loop' ? Math.max(0, n.inputs.length - 2) : n.inputs.length - first - a.int('num_scan_inputs');
  const drop = (sh: readonly (number | string)[]) => (n.op === 'Scan8' ? sh.slice(1) : sh.slice());
  let changed = false;
  if (n.op === 'Loop') { // the iteration number and the condition are scalars (ONNX Loop)
    for (const v of g.inputs.slice(0, 2)) if (!isStatic(v.shape)) { v.type = { ...v.type, shape: [] }; changed = true; }
  }
  for (let i = 0; i < nCarried; i++) {
    const v0 = n.inputs[first + i], bi = g.inputs[bodyFirst + i];
    if (!v0 || !bi || isStatic(bi.shape) || !isStatic(v0.shape)) continue;
    bi.type = { ...bi.type, shape: drop(v0.shape as number[]) };
    changed = true;
  }
  if (changed) inferGraph(g);
  if (n.op === 'Loop') {
    n.outputs.slice(nCarried).forEach((o, j) => {
      // a constant trip count with a condition computed from data: rows up to the trip count (Loop's maxShape)
      const bounded = !!n.inputs[0]?.const && !!o.shape?.length && isStatic(o.shape.slice(1));
      if (o.name && !isStatic(o.shape) && !bounded) {
        throw diag.controlUnsupported(label, `scan output ${j} ('${o.name}') has shape ${shapeText(o.shape)}: as many rows as the loop runs, known only when the model runs `
          + '(a constant trip count, or a declared output shape, gives it one)', target, loc);
      }
    });
  }
  for (let i = 0; i < nCarried; i++) {
    const bi = g.inputs[bodyFirst + i]!;
    settle(n.op === 'Scan8' ? undefined : n.outputs[i], `loop-carried value ${i} ('${bi.name}'), body input and body output`, bi, g.outputs[outFirst + i]);
  }
}
