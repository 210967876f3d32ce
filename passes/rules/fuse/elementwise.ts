/**
 * Elementwise chains -> aic.FusedElementwise: a producer elementwise op (or an already fused chain)
 * whose only consumer is another elementwise op is merged with it into one kernel whose `body`
 * attribute holds the ops as a self-contained subgraph. Only when every shape involved is static and
 * the intermediate is as large as the result (fusing must not recompute a broadcast operand per
 * element of the result). Per-tensor QuantizeLinear / DequantizeLinear (constant scalar scale and zero
 * point, int8 / uint8 data) are elementwise too: a quantized residual Add, DQ(a) + DQ(r) -> Relu -> Q,
 * becomes one kernel reading and writing int8 instead of four passes over float copies.
 */
import { Graph, Node, Value, shapeEquals } from '@aic/core';
import { P, type Match, type Rule, type RuleEnv } from '../../rewrite/pattern.ts';
import { FLOAT_DTYPES, all, dtypeIn, kernel, onlyUsedBy, staticShape, type Guard } from './util.ts';

const UNARY = ['Relu', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Sqrt', 'Abs', 'Neg', 'Erf', 'Reciprocal', 'Gelu', 'LeakyRelu',
  'HardSigmoid', 'HardSwish', 'Softplus', 'Elu', 'Floor', 'Ceil', 'Sin', 'Cos'];
const BINARY = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min'];
export const ELEMENTWISE = [...UNARY, ...BINARY];
const QDQ = ['QuantizeLinear', 'DequantizeLinear'];
const Q8 = ['int8', 'uint8'];

/** QuantizeLinear / DequantizeLinear with constant scalar scale and zero point on int8 / uint8 data. */
function isScalarQdq(n: Node): boolean {
  if (n.domain !== '' || !QDQ.includes(n.op) || n.outputs.length !== 1 || n.inputs.length < 2 || n.inputs.length > 3) return false;
  if (n.attrs.block_size && n.attrs.block_size.value !== 0) return false;
  const q = n.op === 'QuantizeLinear' ? n.outputs[0] : n.inputs[0];
  if (!q || !Q8.includes(q.dtype)) return false;
  return n.inputs.slice(1).every((v) => !v || (v.const !== undefined && v.const.size === 1));
}

const isFusedEw = (n: Node) => n.domain === 'aic' && n.op === 'FusedElementwise';
const isEw = (n: Node) => isScalarQdq(n) || (n.domain === '' && ELEMENTWISE.includes(n.op) &&
  (UNARY.includes(n.op) ? n.inputs.length === 1 : n.inputs.length === 2) && n.outputs.length === 1);

function nodeOk(n: Node): Guard {
  return all(
    // int8 / uint8 results come from a QuantizeLinear (alone or ending a fused chain)
    () => dtypeIn(n.outputs[0], n.op === 'QuantizeLinear' || isFusedEw(n) ? [...FLOAT_DTYPES, ...Q8] : FLOAT_DTYPES),
    ...n.inputs.map((v) => () => (v ? staticShape(v) : true)),
    () => staticShape(n.outputs[0]),
  );
}

/** The input of `root` produced by a fusable elementwise node, or why there is none. */
function findProducer(m: Match, env: RuleEnv): { p: Node; guard: Guard } {
  const root = m.root;
  let why: Guard = 'no elementwise producer';
  const rootOk = nodeOk(root);
  if (rootOk !== true) return { p: root, guard: rootOk };
  for (const v of root.inputs) {
    const p = v?.producer;
    if (!p || !env.graph.nodes.includes(p) || p === root) continue;
    if (!isEw(p) && !isFusedEw(p)) continue;
    const g = all(
      () => onlyUsedBy(env, p.outputs[0], [root]),
      () => nodeOk(p),
      () => (shapeEquals(p.outputs[0].shape, root.outputs[0].shape) ? true : `intermediate ${p.outputs[0].name} is broadcast (fusing would recompute it)`),
      () => kernel(env, 'FusedElementwise'),
    );
    if (g === true) return { p, guard: true };
    why = g;
  }
  return { p: root, guard: why };
}

/** Inline `chain` (topological order; plain or fused elementwise nodes) into one body graph. */
function buildBody(chain: Node[]): { body: Graph; inputs: Value[] } {
  const body = new Graph('fused_elementwise');
  const map = new Map<Value, Value>();
  const ext: Value[] = [];
  const outer = (v: Value): Value => {
    const m = map.get(v);
    if (m) return m;
    const c = new Value(v.name, { dtype: v.dtype, shape: v.shape?.slice() });
    if (v.const && v.const.size <= 16) { c.const = v.const; body.constants.push(c); }
    else { body.inputs.push(c); ext.push(v); }
    map.set(v, c);
    return c;
  };
  const emit = (n: Node, inputOf: (v: Value) => Value) => {
    const outs = n.outputs.map((o) => new Value(o.name, { dtype: o.dtype, shape: o.shape?.slice() }));
    body.nodes.push(new Node({ op: n.op, domain: n.domain, name: n.name, inputs: n.inputs.map((v) => (v ? inputOf(v) : null)), outputs: outs, attrs: { ...n.attrs }, loc: { ...n.loc } }));
    return outs;
  };
  for (const n of chain) {
    if (isFusedEw(n)) {
      const sub = n.attrs.body.value as Graph;
      const local = new Map<Value, Value>();
      sub.inputs.forEach((v, i) => local.set(v, outer(n.inputs[i]!)));
      for (const cst of sub.constants) {
        const c = new Value(cst.name, { dtype: cst.dtype, shape: cst.shape?.slice() });
        c.const = cst.const;
        body.constants.push(c);
        local.set(cst, c);
      }
      for (const sn of sub.nodes) {
        const outs = emit(sn, (v) => local.get(v) ?? outer(v));
        sn.outputs.forEach((o, i) => local.set(o, outs[i]));
      }
      map.set(n.outputs[0], local.get(sub.outputs[0])!);
    } else {
      const outs = emit(n, outer);
      map.set(n.outputs[0], outs[0]);
    }
  }
  body.outputs = [map.get(chain[chain.length - 1].outputs[0])!];
  // unique names inside the body
  const seen = new Set<string>();
  for (const v of [...body.inputs, ...body.constants, ...body.nodes.flatMap((n) => n.outputs)]) {
    let name = v.name, i = 1;
    while (seen.has(name)) name = `${v.name}_${i++}`;
    v.name = name;
    seen.add(name);
  }
  return { body, inputs: ext };
}

function chainRule(rootOps: string[], domain: string, name: string): Rule {
  return {
    name, family: 'fuse',
    summary: 'elementwise op fed by an elementwise op (or fused chain) with a single consumer -> aic.FusedElementwise',
    pattern: P.op(rootOps, undefined, { domain, bind: 'root' }),
    guard: (m, env) => {
      if (!isFusedEw(m.root) && !isEw(m.root)) return 'not a fusable elementwise form';
      return findProducer(m, env).guard;
    },
    replace: (m, b, env) => {
      const { p } = findProducer(m, env);
      const { body, inputs } = buildBody([p, m.root]);
      return b.op('FusedElementwise', inputs, { body: { type: 'graph', value: body } }, { domain: 'aic' });
    },
  };
}

export const elementwiseRules: Rule[] = [
  chainRule([...ELEMENTWISE, ...QDQ], '', 'elementwise-chain'),
  chainRule(['FusedElementwise'], 'aic', 'elementwise-chain'),
];
