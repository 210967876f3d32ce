/**
 * Forward mode: the Jacobian-vector product J t of the model's float outputs for a tangent t of some
 * of its values, built from the reverse-mode rules by transposition. The vector-Jacobian product
 * u -> J^T u (reverse mode, seeded with a placeholder cotangent u) is linear in u, so <J^T u, t> is a
 * scalar whose reverse-mode gradient with respect to u is J t. Both passes are plain graph IR, so the
 * result is optimized and compiled like any graph; u's value never matters (it is zero).
 */
import { Node, Tensor, Value, diag, isFloat, type Graph } from '@aic/core';
import { appendGradients, appendVjp, graphBuilder, inferGraph } from '@aic/ir-spec';
import { removeDead } from '../graph-utils.ts';
import { addInput, resolveWrt, staticCopy } from './grad.ts';

/** One tangent: the direction for value `name`, a constant, or (undefined) an input `<name>_tangent`. */
export interface Tangent { name: string; value?: Tensor }

/** The JVP model of g0: its inputs (plus `<name>_tangent` for tangents without a value); outputs y..., then `<y>_tangent`. */
export function jvpModel(g0: Graph, tangents: readonly Tangent[]): Graph {
  const g = staticCopy(g0);
  const xs = resolveWrt(g, tangents.map((t) => t.name));
  const ys = g.outputs.filter((y) => y.kind === 'tensor' && isFloat(y.dtype));
  if (!ys.length) throw diag.gradBadLoss('(forward mode)', 'the model has no float tensor output');
  const b = graphBuilder(g, 'jvp_');
  const us = ys.map((y) => b.constant(new Tensor(y.dtype, y.shape as number[])));
  const ts = tangents.map((t, i) => {
    const x = xs[i]!;
    if (!t.value) return addInput(g, `${x.name}_tangent`, x.dtype, x.shape?.slice());
    if (t.value.dtype !== x.dtype || t.value.shape.join(',') !== (x.shape as number[]).join(',')) {
      throw diag.gradBadWrt(t.name, `the tangent is ${t.value.dtype}[${t.value.shape.join(', ')}] but the value is ${x.dtype}[${(x.shape ?? []).join(', ')}]`);
    }
    return b.constant(t.value);
  });
  b.flush();
  const vjps = appendVjp(g, new Map(ys.map((y, j) => [y, us[j]!])), xs);
  const terms = vjps.map((d, i) => b.op1('ReduceSum', [b.op1('Mul', [d, ts[i]!])], { keepdims: 0 }));
  const s = terms.length === 1 ? terms[0]! : b.op1('Sum', terms);
  b.flush();
  const jt = appendGradients(g, s, us);
  const outs = jt.map((d, j) => {
    const name = `${ys[j]!.name}_tangent`;
    const id = new Node({ op: 'Identity', name, inputs: [d], outputs: [new Value(name, d.type)] });
    g.nodes.push(id);
    return id.outputs[0]!;
  });
  g.outputs = [...ys, ...outs];
  removeDead(g);
  inferGraph(g);
  return g;
}
