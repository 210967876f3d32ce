/**
 * The one validation every way of running or compiling a graph goes through first (the interpreter,
 * every compiled target, `aic run/compile/check`, the conformance runners), before any pass rewrites
 * it: structure (SSA, def-before-use), every node covered by a definition at the model's opset, input
 * counts, and type/shape inference of every node. What the interpreter refuses, no target runs.
 */
import { AicError, diag, nodeLocation, subgraphsOf, verifyStructure, type Graph, type Node } from '@aic/core';
import { checkArity, inferGraph } from './infer.ts';
import { NEWEST_OPSET, getOp } from './registry.ts';

/** Set on import on a node whose opset no definition covers; its value: "6 (supported 7..latest)". */
export const UNSUPPORTED_OPSET = '__unsupported_opset';

/** Why no definition runs this node: it has none, or none at the model's opset. */
export type Unsupported = { why: 'op' } | { why: 'opset'; opset: string };

export function unsupportedReason(n: Node): Unsupported | undefined {
  const bad = n.attrs[UNSUPPORTED_OPSET];
  if (bad) return { why: 'opset', opset: String(bad.value) };
  return getOp(n.op, n.domain) ? undefined : { why: 'op' };
}

/** The catalog error for an unsupported node (exit 3), or undefined when a definition covers it. */
export function unsupportedError(n: Node): AicError | undefined {
  const r = unsupportedReason(n);
  if (!r) return undefined;
  const ref = { op: n.op, domain: n.domain };
  return r.why === 'op' ? diag.unsupportedOp(ref, nodeLocation(n)) : diag.unsupportedOpset(ref, r.opset, nodeLocation(n));
}

/** Throw the first problem of every node of g and its subgraphs that no definition covers. */
export function checkSupported(g: Graph): void {
  for (const n of g.nodes) {
    const e = unsupportedError(n);
    if (e) throw e;
    checkArity(n, getOp(n.op, n.domain)!);
    subgraphsOf(n).forEach(checkSupported);
  }
}

/** Refuse an opset import newer than the newest ir-spec knows for its domain (NEWEST_OPSET). */
export function checkOpsets(g: Graph): void {
  for (const [domain, opset] of Object.entries(g.opsets)) {
    const newest = NEWEST_OPSET[domain];
    if (newest !== undefined && opset > newest) throw diag.opsetTooNew(domain || 'ai.onnx', opset, newest);
  }
}

/** Validate g (throws the catalog's error: exit 3 for unsupported ops/opsets, 1 for invalid models). */
export function validateGraph(g: Graph): void {
  checkOpsets(g);
  verifyStructure(g);
  checkSupported(g);
  inferGraph(g, { strict: true });
}
