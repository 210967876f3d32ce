/**
 * Flatten(x) (or a Reshape of x to [d0, d1 * d2 * ...]) feeding Gemm's A operand ->
 * aic.FusedGemm(x, ..., flatten_a = 1): the Gemm reads x's elements in the order the copy would have
 * written them (the classifier of VGG / AlexNet-style CNNs: pooling -> Flatten -> Linear).
 */
import type { Node } from '@aic/core';
import { P, type Match, type Rule, type RuleEnv } from '../../rewrite/pattern.ts';
import { FLOAT_DTYPES, all, attrInt, dtypeIn, kernel, staticShape, type Guard } from './util.ts';

const GEMMS: [string, string][] = [['Gemm', ''], ['FusedGemm', 'aic']];

function guard(m: Match, env: RuleEnv): Guard {
  const g = m.root, f = m.nodes.f, x = m.values.x, a = f.outputs[0];
  return all(
    () => dtypeIn(x, FLOAT_DTYPES),
    () => staticShape(x),
    () => staticShape(a),
    () => (x.shape!.length > 2 ? true : 'A is already 2-D'),
    () => (attrInt(g, 'transA', 0) === 0 ? true : 'transA = 1'),
    () => (attrInt(g, 'flatten_a', 0) === 0 ? true : 'already flattens A'),
    () => (f.op === 'Flatten' && attrInt(f, 'axis', 1) !== 1 ? `Flatten axis ${attrInt(f, 'axis', 1)}` : true),
    () => {
      const xs = x.shape as number[], as = a.shape as number[];
      return as.length === 2 && as[0] === xs[0] && as[1] === xs.slice(1).reduce((p, d) => p * d, 1) ? true : `[${as.join(', ')}] is not x flattened at axis 1`;
    },
    () => kernel(env, 'FusedGemm'),
  );
}

function rules(): Rule[] {
  const out: Rule[] = [];
  for (const [op, domain] of GEMMS) {
    for (const flat of ['Flatten', 'Reshape']) {
      out.push({
        name: 'flatten-into-gemm', family: 'fuse',
        summary: `${op}(${flat}(x) to [d0, d1 * ...], B, C) -> aic.FusedGemm(x, B, C, flatten_a = 1)`,
        pattern: P.op(op, [P.op(flat, [P.any('x')], { bind: 'f' }), P.any('b'), P.any('c'), P.any('z')], { domain }),
        guard,
        replace: (m, b) => {
          const g: Node = m.root;
          return b.op('FusedGemm', [m.values.x, ...g.inputs.slice(1)], { ...g.attrs, flatten_a: { type: 'int', value: 1 } }, { domain: 'aic', name: g.name || undefined });
        },
      });
    }
  }
  return out;
}

export const flattenGemmRules: Rule[] = rules();
