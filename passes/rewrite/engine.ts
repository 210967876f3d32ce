/** The rewrite driver: dispatch by root op, match, guard, replace; to a fixpoint with a cap. */
import { Node, Value, diag, nodeLocation, type Attr, type Graph, type Tensor } from '@aic/core';
import { checkArity, getOp, makeInferCtx } from '@aic/ir-spec';
import type { ExplainRecord } from '../pass.ts';
import { removeDead, replaceAllUses, topoSort, uniqueNamer, useMap } from '../graph-utils.ts';
import type { Builder, Match, Pattern, Rule, RuleEnv } from './pattern.ts';

export interface RewriteOptions {
  maxIterations?: number;
  explain?: (r: ExplainRecord) => void;
  passName: string;
  target?: RuleEnv['target'];
  /** per-rule application counts are added here */
  stats: Record<string, number>;
}

export function applyRules(g: Graph, rules: Rule[], opts: RewriteOptions): number {
  const byOp = new Map<string, Rule[]>();
  for (const r of rules) for (const op of r.pattern.op) {
    const k = `${r.pattern.domain}::${op}`;
    byOp.set(k, [...(byOp.get(k) ?? []), r]);
  }
  const cap = opts.maxIterations ?? 32;
  let total = 0;
  for (let iter = 0; iter < cap; iter++) {
    let changed = 0;
    let uses = useMap(g);
    const fresh = uniqueNamer(g);
    const env: RuleEnv = { graph: g, uses: (v) => uses.get(v) ?? [], target: opts.target };
    for (const node of g.nodes.slice()) {
      if (!g.nodes.includes(node)) continue;
      const candidates = byOp.get(`${node.domain}::${node.op}`);
      if (!candidates) continue;
      for (const rule of candidates) {
        const m = matchRoot(rule.pattern, node, env);
        if (!m) continue;
        const ok = rule.guard ? rule.guard(m, env) : true;
        if (ok !== true) {
          opts.explain?.({ pass: opts.passName, rule: rule.name, node: node.label, outcome: 'rejected', reason: ok });
          continue;
        }
        const created: Node[] = [];
        const b = makeBuilder(g, node, created, fresh);
        const repl = rule.replace(m, b, env);
        if (!repl) continue;
        // provenance: every node the rewrite made stands for the matched nodes (transitively)
        const origin = m.covered.flatMap((c) => c.origin ?? [c.label]);
        for (const n of created) n.origin = origin;
        const at = g.nodes.indexOf(node);
        g.nodes.splice(at, 0, ...created);
        node.outputs.forEach((o, i) => { if (repl[i] && repl[i] !== o) replaceAllUses(g, o, repl[i]); });
        opts.explain?.({ pass: opts.passName, rule: rule.name, node: node.label, outcome: 'applied' });
        opts.stats[rule.name] = (opts.stats[rule.name] ?? 0) + 1;
        changed++;
        removeDead(g);
        uses = useMap(g);
        break;
      }
    }
    if (!changed) break;
    total += changed;
    topoSort(g);
  }
  removeDead(g);
  topoSort(g);
  return total;
}

function matchRoot(p: Pattern & { kind: 'op' }, node: Node, env: RuleEnv): Match | undefined {
  const m: Match = { root: node, nodes: {}, values: {}, consts: {}, covered: [] };
  return matchNode(p, node, m, env, true) ? m : undefined;
}

function matchNode(p: Pattern & { kind: 'op' }, node: Node, m: Match, env: RuleEnv, isRoot: boolean): boolean {
  if (node.domain !== p.domain || !p.op.includes(node.op)) return false;
  if (!isRoot && !p.shared) {
    // an inner node must feed only this pattern, or fusing it would duplicate its work
    if (node.outputs.some((o) => env.uses(o).length > 1 || env.graph.outputs.includes(o))) return false;
  }
  if (p.bind) m.nodes[p.bind] = node;
  m.covered.push(node);
  if (!p.inputs) return true;
  const tryOrder = (ins: Pattern[]): boolean => {
    const snapshot = { nodes: { ...m.nodes }, values: { ...m.values }, consts: { ...m.consts }, covered: m.covered.slice() };
    if (ins.every((ip, i) => matchValue(ip, node.inputs[i] ?? null, m, env))) return true;
    Object.assign(m, snapshot);
    return false;
  };
  if (p.inputs.length > node.inputs.length && p.inputs.slice(node.inputs.length).some((ip) => ip.kind !== 'any')) return false;
  if (tryOrder(p.inputs)) return true;
  if (p.commutative && p.inputs.length === 2) return tryOrder([p.inputs[1], p.inputs[0]]);
  return false;
}

function matchValue(p: Pattern, v: Value | null, m: Match, env: RuleEnv): boolean {
  if (p.kind === 'any') {
    if (p.bind) {
      if (m.values[p.bind] !== undefined && m.values[p.bind] !== v) return false; // same name = same value
      if (v) m.values[p.bind] = v;
    }
    return true;
  }
  if (!v) return false;
  if (p.kind === 'const') {
    if (!v.const || (p.pred && !p.pred(v.const))) return false;
    if (p.bind) { m.values[p.bind] = v; m.consts[p.bind] = v.const; }
    return true;
  }
  const prod = v.producer;
  if (!prod || !env.graph.nodes.includes(prod)) return false;
  if (prod.outputs[0] !== v) return false;
  if (!matchNode(p, prod, m, env, false)) return false;
  return true;
}

function makeBuilder(g: Graph, root: Node, created: Node[], fresh: (b: string) => string): Builder {
  return {
    op(op, inputs, attrs: Record<string, Attr> = {}, o = {}) {
      const domain = o.domain ?? '';
      const def = getOp(op, domain);
      if (!def) throw new Error(`rewrite builds unknown op ${domain}::${op}`);
      const base = o.name ?? `${root.name || root.op}_${op}`;
      const outs = Array.from({ length: o.outputs ?? 1 }, (_, i) => new Value(fresh(`${root.outputs[0]?.name || 'v'}_${op.toLowerCase()}${i ? i : ''}`), { dtype: 'float32', shape: undefined }));
      const n = new Node({ op, domain, name: fresh(base), inputs, outputs: outs, attrs, loc: { ...root.loc } });
      try {
        checkArity(n, def);
        const types = def.infer(makeInferCtx(n, def, (v) => v.const));
        outs.forEach((v, i) => { if (types[i]) v.type = { dtype: types[i].dtype, shape: types[i].shape, ...(types[i].layout ? { layout: types[i].layout } : {}) }; });
      } catch (e) {
        throw diag.verify(op, `rewrite produced an invalid node: ${(e as Error).message}`, nodeLocation(root));
      }
      created.push(n);
      return outs;
    },
    constant(t: Tensor, name?: string) {
      const v = new Value(fresh(name ?? `${root.name || root.op}_const`), { dtype: t.dtype, shape: t.shape.slice() });
      v.const = t;
      g.constants.push(v);
      return v;
    },
  };
}
