/**
 * Values whose size the data decides (NonZero, Unique, NonMaxSuppression, Compress with a run-time
 * condition...) in a Program: the buffer gets the op's static bound (OpDef.maxShape), the kernel
 * stores the run-time extent of the one data-dependent dim in a small i32 output buffer, and the
 * elements lie compactly at the start of the buffer, row-major in the run-time shape. Hosts read the
 * extent and cut the output to it (applyExtents). Such a value may only be a graph output yet: a
 * consumer would need the run-time extent (refused with AIC0340).
 */
import { Tensor, diag, nodeLocation, type Graph, type Node, type Value } from '@aic/core';
import { getOp, makeInferCtx } from '@aic/ir-spec';
import { numel } from '@aic/loop-ir';
import type { Program, ProgramBuffer } from './program.ts';

/** On a program buffer of such a value: which dim is data-dependent, and the buffer holding its extent. */
export interface RuntimeExtent { dim: number; buffer: string }

/** The bound of v's shape and its data-dependent dim; undefined when v's producer gives no bound (not such an op). */
export function boundShape(g: Graph, v: Value, target: string): { shape: number[]; dim: number } | undefined {
  const node = v.producer;
  const def = node ? getOp(node.op, node.domain) : undefined;
  if (!node || !def?.maxShape || !v.shape) return undefined;
  const loc = nodeLocation(node);
  const outs = node.outputs.map((o) => ({ ...o.type, kind: o.kind }));
  const bound = def.maxShape(makeInferCtx(node, def, (x) => x.const), outs)[node.outputs.indexOf(v)];
  const dims = v.shape.flatMap((d, k) => (typeof d === 'number' ? [] : [k]));
  if (!bound || bound.length !== v.shape.length || dims.length !== 1 || v.shape.some((d, k) => typeof d === 'number' && d !== bound[k])) {
    throw diag.dynamicSizeUnbounded(v.name, node.op, target, loc);
  }
  const user = g.nodes.find((n) => n.inputs.includes(v));
  if (user) throw diag.dynamicSizeConsumed(v.name, node.op, `${user.op} '${user.label}'`, target, nodeLocation(user));
  return { shape: bound, dim: dims[0]! };
}

/**
 * The extent buffer of a node with bounded outputs (undefined when it has none): an output when one
 * of them is a graph output. Records it on those outputs' buffers.
 */
export function extentBuffer(node: Node, bufOf: Map<Value, ProgramBuffer>, uniq: (base: string) => string): ProgramBuffer | undefined {
  const bounded = node.outputs.map((o) => bufOf.get(o)).filter((b): b is ProgramBuffer => !!b?.extent);
  if (!bounded.length) return undefined;
  const names = new Set(node.outputs.flatMap((o) => (o.shape ?? []).filter((d) => typeof d === 'string')));
  if (names.size > 1) throw diag.dynamicSizeUnbounded(bounded[0]!.value, `${node.op}, with ${names.size} run-time extents`, '', nodeLocation(node));
  const role = bounded.some((b) => b.role === 'output') ? 'output' : 'temp';
  const ext: ProgramBuffer = { name: uniq(`extent_${bounded[0]!.value}`), dtype: 'i32', shape: [1], scope: 'global', role, value: `${bounded[0]!.value}:extent` };
  for (const b of bounded) b.extent!.buffer = ext.name;
  return ext;
}

/** The run-time shape of a bounded output, given how to read a value's first element (the extent buffer's). */
export function extentShape(prog: Program, b: ProgramBuffer, first: (value: string) => number): number[] {
  const eb = prog.outputs.find((x) => x.name === b.extent!.buffer)!;
  const n = first(eb.value);
  const bound = b.shape[b.extent!.dim]!;
  if (!(n >= 0 && n <= bound)) throw diag.runtime('the compiled model', `output '${b.value}' has extent ${n}, outside its bound ${bound}`);
  const shape = b.shape.slice();
  shape[b.extent!.dim] = n;
  return shape;
}

/** How artifacts describe a bounded output's shape: the bound dim as `<=N`, and where its extent is. */
export function describeExtent(prog: Program, b: ProgramBuffer): string {
  if (!b.extent) return `[${b.shape.join(', ')}]`;
  const eb = prog.outputs.find((x) => x.name === b.extent!.buffer);
  return `[${b.shape.map((d, k) => (k === b.extent!.dim ? `<=${d}` : d)).join(', ')}], dim ${b.extent.dim} known when the model runs `
    + `(output '${eb?.value}'; the elements come first, row-major in the run-time shape)`;
}

/** Cut each bounded output to its run-time extent (read from its extent buffer), and drop the extent buffers. */
export function applyExtents(prog: Program, outs: Map<string, Tensor>): Map<string, Tensor> {
  const extents = new Set<string>();
  for (const b of prog.outputs) {
    if (!b.extent) continue;
    const eb = prog.outputs.find((x) => x.name === b.extent!.buffer)!;
    extents.add(eb.value);
    const t = outs.get(b.value);
    if (!t || !outs.has(eb.value)) continue;
    const shape = extentShape(prog, b, (v) => Number(outs.get(v)!.num[0]));
    const r = new Tensor(t.dtype, shape);
    for (let i = 0; i < numel(shape); i++) r.num[i] = t.num[i]!;
    outs.set(b.value, r);
  }
  for (const v of extents) outs.delete(v);
  return outs;
}
