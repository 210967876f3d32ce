/** The op registry: every OpDef registered once, looked up by (domain, name) or by ONNX op type. */
import type { OpDef } from './types.ts';

const byKey = new Map<string, OpDef>();
const byOnnx = new Map<string, OpDef[]>();

const key = (domain: string, name: string) => `${domain}::${name}`;
export const normalizeDomain = (d: string | undefined) => (d === undefined || d === 'ai.onnx' ? '' : d);

export function defineOp(def: OpDef): OpDef {
  const k = key(def.domain ?? '', def.name);
  if (byKey.has(k)) throw new Error(`op ${k} defined twice`);
  byKey.set(k, def);
  if (def.onnx) {
    const ok = key(normalizeDomain(def.onnx.domain), def.onnx.opType ?? def.name);
    const list = byOnnx.get(ok) ?? [];
    list.push(def);
    list.sort((a, b) => a.onnx!.since - b.onnx!.since);
    byOnnx.set(ok, list);
  }
  return def;
}

export function getOp(name: string, domain = ''): OpDef | undefined {
  return byKey.get(key(normalizeDomain(domain), name));
}

/** All definitions mapping ONNX (domain, opType), oldest first. */
export function onnxDefs(opType: string, domain = ''): OpDef[] {
  return byOnnx.get(key(normalizeDomain(domain), opType)) ?? [];
}

/**
 * The newest opset of each domain the definitions are written against ('' = ai.onnx: ONNX 1.18's
 * opset 23; the op changes of opsets 21-23 add element types and new ops, which are refused by
 * op or dtype). A model importing a newer one is refused (validateGraph), as ONNX Runtime refuses
 * opsets it does not know: a newer opset may change an op's meaning.
 */
export const NEWEST_OPSET: Readonly<Record<string, number>> = { '': 23 };

/** The definition handling `opType` at `opset`, or why none does. */
export function resolveOnnx(opType: string, domain: string, opset: number):
  { def: OpDef } | { missing: 'op' } | { missing: 'opset'; range: string } {
  const defs = onnxDefs(opType, domain);
  if (defs.length === 0) return { missing: 'op' };
  for (const d of defs) {
    const m = d.onnx!;
    if (opset >= m.since && (m.until === undefined || opset <= m.until)) return { def: d };
  }
  const range = defs.map((d) => `${d.onnx!.since}..${d.onnx!.until ?? 'latest'}`).join(', ');
  return { missing: 'opset', range };
}

// one collator: String.localeCompare builds one per call (~40 ms per sort of the registry); same order
const collator = new Intl.Collator();

export function allOps(): OpDef[] {
  return [...byKey.values()].sort((a, b) => collator.compare(a.category + a.name, b.category + b.name));
}

export function opNames(): string[] {
  return [...byKey.values()].map((d) => d.name);
}
