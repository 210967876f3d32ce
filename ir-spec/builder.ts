/**
 * GraphBuilder: adds nodes to a node list under construction and infers each node's output types
 * as it is added (OpDef.infer), so derivative rules (OpDef.vjp) can read the shapes of what they
 * build. Values get fresh names from `prefix`; constants are collected for the caller to attach.
 */
import { Tensor, Node, Value, nodeLocation, withLocation, type Attr, type DType, type Location } from '@aic/core';
import { checkArity, makeInferCtx } from './infer.ts';
import { getOp } from './registry.ts';
import type { AttrInit, GraphBuilder } from './types.ts';

export interface BuiltNodes extends GraphBuilder {
  readonly nodes: Node[];
  readonly constants: Value[];
}

function toAttr(a: AttrInit): Attr {
  if (typeof a === 'number') return Number.isInteger(a) ? { type: 'int', value: a } : { type: 'float', value: a };
  if (typeof a === 'string') return { type: 'string', value: a };
  if (Array.isArray(a)) return { type: 'ints', value: a };
  return a;
}

/**
 * A builder whose values are named `${prefix}${n}` and whose nodes carry `loc` (the forward node a
 * derivative comes from, so errors in the gradient graph point at the model).
 */
export function makeBuilder(prefix: string, taken: (name: string) => boolean, loc: () => Location = () => ({})): BuiltNodes {
  const nodes: Node[] = [];
  const constants: Value[] = [];
  let n = 0;
  const fresh = () => {
    let name: string;
    do name = `${prefix}${n++}`; while (taken(name));
    return name;
  };
  const b: BuiltNodes = {
    nodes,
    constants,
    op(op, inputs, attrs = {}, nOut = 1, domain = '') {
      const def = getOp(op, domain);
      if (!def) throw new Error(`GraphBuilder: no op ${op}`);
      const outs = Array.from({ length: nOut }, () => new Value(fresh(), { dtype: 'float32', shape: undefined }));
      const at: Record<string, Attr> = {};
      for (const [k, v] of Object.entries(attrs)) at[k] = toAttr(v);
      const node = new Node({ op, domain, name: outs[0].name, inputs: inputs.slice(), outputs: outs, attrs: at, loc: loc() });
      try {
        checkArity(node, def);
        const types = def.infer(makeInferCtx(node, def, (v) => v.const));
        outs.forEach((o, i) => { if (types[i]) o.type = { dtype: types[i].dtype, shape: types[i].shape }; });
      } catch (e) {
        throw withLocation(e, op, nodeLocation(node));
      }
      nodes.push(node);
      return outs;
    },
    op1(op, inputs, attrs) { return b.op(op, inputs, attrs, 1)[0]; },
    constant(t: Tensor) {
      const v = new Value(fresh(), { dtype: t.dtype, shape: t.shape.slice() });
      v.const = t;
      constants.push(v);
      return v;
    },
    scalar(x: number, dtype: DType) { return b.constant(Tensor.fromNumbers(dtype, [], [x])); },
    ints(xs) { return b.constant(Tensor.fromNumbers('int64', [xs.length], xs)); },
  };
  return b;
}
