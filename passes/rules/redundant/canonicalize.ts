/**
 * Family 'canonicalize': a constant operand of a commutative binary op goes on the right, so the
 * other rules (and later passes) only need to look for constants there. The node is rewritten in
 * place: it keeps its name, output and location.
 */
import { allOps } from '@aic/ir-spec';
import { P, type Rule } from '../../rewrite/pattern.ts';

const FAMILY = 'canonicalize';

/** Commutative ops by domain, read from the op registry (`OpDef.commutative`). */
function commutativeOps(): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const d of allOps()) if (d.commutative) by.set(d.domain ?? '', [...(by.get(d.domain ?? '') ?? []), d.name]);
  return by;
}

export const canonicalizeRules: Rule[] = [...commutativeOps()].map(([domain, ops]): Rule => ({
  name: domain ? `constant-operand-right-${domain}` : 'constant-operand-right',
  family: FAMILY,
  summary: `commutative binary op (${ops.join(', ')}) with a constant left and a non-constant right operand: swap them`,
  pattern: P.op(ops, [P.const('c'), P.any('y')], { domain }),
  guard: (m) => {
    if (m.root.inputs.length !== 2) return `${m.root.inputs.length} operands`;
    return m.values.y.const ? 'both operands are constants' : true;
  },
  replace: (m) => {
    m.root.inputs = [m.values.y, m.values.c];
    return m.root.outputs;
  },
}));
