/**
 * Rewrite rules as data: a pattern (a tree of ops over values), a guard (a predicate that may
 * reject with a reason, reported by --explain) and a replacement. Rules are grouped in families and
 * dispatched by the root op type.
 */
import type { Graph, Node, Tensor, Value } from '@aic/core';

export type Pattern =
  /** any value; `bind` names it in the match */
  | { kind: 'any'; bind?: string }
  /** a compile-time constant, optionally with a predicate on its value */
  | { kind: 'const'; bind?: string; pred?: (t: Tensor) => boolean }
  /** a node of one of `op`; intermediate nodes must have a single consumer unless `shared` */
  | { kind: 'op'; op: string[]; domain: string; inputs?: Pattern[]; bind?: string; shared?: boolean; commutative?: boolean };

export type OpPattern = Extract<Pattern, { kind: 'op' }>;

export const P = {
  any: (bind?: string): Pattern => ({ kind: 'any', bind }),
  const: (bind?: string, pred?: (t: Tensor) => boolean): Pattern => ({ kind: 'const', bind, pred }),
  op: (op: string | string[], inputs?: Pattern[], opts: { bind?: string; domain?: string; shared?: boolean; commutative?: boolean } = {}): OpPattern =>
    ({ kind: 'op', op: Array.isArray(op) ? op : [op], domain: opts.domain ?? '', inputs, bind: opts.bind, shared: opts.shared, commutative: opts.commutative }),
};

export interface Match {
  root: Node;
  nodes: Record<string, Node>;
  values: Record<string, Value>;
  consts: Record<string, Tensor>;
  /** every node the pattern covered (root first) */
  covered: Node[];
}

export interface RuleEnv {
  graph: Graph;
  /** consumers of a value */
  uses(v: Value): Node[];
  /** target capabilities, when compiling */
  target?: { name: string; hasKernel?: (op: string, domain: string) => boolean };
}

/** Creates nodes for a replacement; they are inserted before the root and typed immediately. */
export interface Builder {
  op(op: string, inputs: (Value | null)[], attrs?: Record<string, import('@aic/core').Attr>, opts?: { domain?: string; outputs?: number; name?: string }): Value[];
  constant(t: Tensor, name?: string): Value;
}

export interface Rule {
  name: string;
  family: string;
  /** one-line description for docs and --explain */
  summary: string;
  pattern: OpPattern;
  /** true to apply, or the reason to reject (shown by --explain) */
  guard?: (m: Match, env: RuleEnv) => true | string;
  /** values replacing the root's outputs (in order); null = give up silently */
  replace: (m: Match, b: Builder, env: RuleEnv) => Value[] | null;
}
