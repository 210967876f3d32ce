/**
 * Values whose size the data decides (NonZero, Unique, NonMaxSuppression, Compress with a run-time
 * condition...) in a Program: the buffer gets the op's static bound (OpDef.maxShape), the kernel
 * stores the run-time extent of the one data-dependent dim in a small i32 output buffer, and the
 * elements lie compactly at the start of the buffer, row-major in the run-time shape. Hosts read the
 * extent and cut the output to it (applyExtents). A consumer that works row by row along the
 * bounded dim (dim 0) computes on the whole bound and shares the extent (rowWise); any other
 * consumer is refused with AIC0340.
 */
import { Tensor, diag, nodeLocation, type Node, type Value } from '@aic/core';
import { getOp, makeAttrReader, makeInferCtx } from '@aic/ir-spec';
import { E, S, numel, type Expr, type Stmt, type TensorRef } from '@aic/loop-ir';
import type { Program, ProgramBuffer } from './program.ts';

/** On a program buffer of such a value: which dim is data-dependent, and the buffer holding its extent. */
export interface RuntimeExtent { dim: number; buffer: string }

/**
 * The bound of v's shape and its data-dependent dim: from its producer's OpDef.maxShape, or, for a
 * row-wise consumer of a bounded value (rowWise), the bound and extent buffer of that value.
 * Undefined when neither applies (v's shape is just unknown).
 */
export function boundShape(v: Value, target: string, bufOf: Map<Value, ProgramBuffer>): { shape: number[]; dim: number; buffer?: string } | undefined {
  const node = v.producer;
  const def = node ? getOp(node.op, node.domain) : undefined;
  if (!node || !def || !v.shape) return undefined;
  const loc = nodeLocation(node);
  const dims = v.shape.flatMap((d, k) => (typeof d === 'number' ? [] : [k]));
  // a row-wise consumer (checkConsumer let it through): dim 0 is its bounded input's run-time dim
  const from = node.inputs.map((x) => (x ? bufOf.get(x) : undefined)).find((b) => b?.extent);
  // Transpose moves the run-time dim where its perm puts it
  if (from && (node.op === 'Transpose' || node.op === 'Identity') && dims.length === 1) {
    const perm = permOf(node, from.shape.length);
    if (perm.indexOf(from.extent!.dim) === dims[0]) return { shape: perm.map((k) => from.shape[k]!), dim: dims[0]!, buffer: from.extent!.buffer };
  }
  if (from && dims.length === 1 && dims[0] === 0) {
    return { shape: [from.shape[from.extent!.dim]!, ...(v.shape.slice(1) as number[])], dim: 0, buffer: from.extent!.buffer };
  }
  if (!def.maxShape) return undefined;
  const outs = node.outputs.map((o) => ({ ...o.type, kind: o.kind }));
  const bound = def.maxShape(makeInferCtx(node, def, (x) => x.const), outs)[node.outputs.indexOf(v)];
  if (!bound || bound.length !== v.shape.length || dims.length !== 1 || v.shape.some((d, k) => typeof d === 'number' && d !== bound[k])) {
    throw diag.dynamicSizeUnbounded(v.name, node.op, target, loc);
  }
  return { shape: bound, dim: dims[0]! };
}

/** Elementwise-like ops that need no more than their bounded input's rows (with the checks below). */
const ROW_OPS = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Gather', 'GatherND', 'MatMul', 'FusedMatMul', 'Softmax', 'LogSoftmax', 'FusedElementwise']);

/**
 * Can `node` take its bounded inputs (extent along dim 0) as they are, computing on the bound? Yes
 * when its outputs keep the run-time dim first (static elsewhere) and it works row by row along
 * it: elementwise ops (integer Div/Mod excepted: the zero rows past the extent would fail their
 * check), reshapes keeping dim 0, Transpose keeping axis 0, Gather not along the bounded data's
 * dim 0 (or of static data by bounded indices), MatMul by a static matrix, Softmax not along axis 0.
 * The rows past the extent are zeros from the producer (zeroTail), so they compute harmlessly.
 */
export function rowWise(node: Node, bufOf: Map<Value, ProgramBuffer>): boolean {
  const def = getOp(node.op, node.domain);
  if (!def) return false;
  const ext = node.inputs.map((x) => (x ? bufOf.get(x)?.extent : undefined));
  if (new Set(ext.filter((e) => e).map((e) => e!.buffer)).size !== 1) return false;
  // Transpose: any perm (it reads a run-time dim other than the first by the extent: boundedInput; an output
  // whose run-time dim is not first is compacted after it is computed: compactAfter), one run-time dim out
  if (node.op === 'Transpose' || node.op === 'Identity') return !!ext[0] && node.outputs.every((o) => o.shape?.filter((d) => typeof d !== 'number').length === 1);
  // every output: run-time dim 0 (a model may name it its own way), static elsewhere
  if (!node.outputs.every((o) => o.shape?.length && typeof o.shape[0] === 'string' && o.shape.slice(1).every((d) => typeof d === 'number'))) return false;
  const rows = (x: Value) => (x.shape!.slice(1) as number[]).reduce((a, d) => a * d, 1);
  const src = node.inputs[ext.findIndex((e) => e)]!;
  const attrs = makeAttrReader(def, node.attrs, nodeLocation(node));
  // a run-time dim other than the first: no other op yet
  if (ext.some((e) => e && e.dim !== 0)) return false;
  const rank = node.inputs[0]?.shape?.length ?? 0;
  const axis = (name: string) => { const a = attrs.int(name); return a < 0 ? a + rank : a; };
  const intOut = !/^(float|bfloat)/.test(node.outputs[0]!.dtype);
  if (def.category === 'elementwise' || node.op === 'FusedElementwise') return !(intOut && ['Div', 'Mod', 'FusedElementwise'].includes(node.op));
  if (!ROW_OPS.has(node.op)) return false;
  switch (node.op) {
    case 'Transpose': return attrs.has('perm') && attrs.ints('perm')[0] === 0;
    case 'Gather': return ext[0] ? !ext[1] && axis('axis') !== 0 : axis('axis') === 0;
    case 'MatMul': case 'FusedMatMul': return !!ext[0] && !ext[1];
    case 'GatherND': return !ext[0] && !!ext[1] && attrs.int('batch_dims') === 0;
    case 'Softmax': case 'LogSoftmax': return axis('axis') !== 0;
    default: return node.outputs.every((o) => rows(o) === rows(src)); // reshapes: the same elements per row
  }
}

/**
 * A bounded input whose run-time dim is not the first, as the consumer's lowering reads it: `at()`
 * indexes the compact layout with the run-time extent `n` (loaded from its extent buffer) and gives 0
 * past it, so the consumer's own rows past the extent are zeros too.
 */
export function boundedInput(x: TensorRef, dim: number, extent: TensorRef): TensorRef {
  const n = extent.flat(E.i(0));
  return {
    ...x,
    at: (...idx: Expr[]) => {
      let flat: Expr = E.i(0);
      idx.forEach((v, k) => { flat = E.add(E.mul(flat, k === dim ? n : E.i(x.shape[k]!)), v); });
      return E.select(E.lt(idx[dim]!, n), x.flat(flat), E.c(0, x.dtype));
    },
    flat: () => { throw new Error('a bounded input with its run-time dim not first is read with at() only'); },
  };
}

/** Refuse (AIC0340) a node that reads a bounded value and cannot take it as it is. */
export function checkConsumer(node: Node, bufOf: Map<Value, ProgramBuffer>, target: string): void {
  const v = node.inputs.find((x) => x && bufOf.get(x)?.extent);
  if (!v || rowWise(node, bufOf)) return;
  throw diag.dynamicSizeConsumed(v.name, v.producer?.op ?? '?', `${node.op} '${node.label}'`, target, nodeLocation(node));
}

/** Transpose's perm (reversed dims when absent; Identity's: unchanged). */
function permOf(node: Node, rank: number): number[] {
  if (node.op === 'Identity') return Array.from({ length: rank }, (_, k) => k);
  const p = node.attrs['perm']?.value as number[] | undefined;
  return p?.length === rank ? p.map((k) => (k < 0 ? k + rank : k)) : Array.from({ length: rank }, (_, k) => rank - 1 - k);
}

/**
 * An output computed row-major in its bound whose run-time dim `dim` is not the first, made compact
 * (row-major in the run-time shape, as hosts and consumers read it) in place: every element moves to a
 * lower or equal offset, in increasing order, so none is overwritten before it is read. Then zeros past it.
 */
export function compactAfter(out: TensorRef, dim: number, extent: TensorRef, fresh: (p: string) => string): Stmt {
  const n = extent.flat(E.i(0));
  const outer = numel(out.shape.slice(0, dim)), K = out.shape[dim]!, inner = numel(out.shape.slice(dim + 1));
  const o = fresh('co'), t = fresh('ct'), j = fresh('cj');
  const src = E.add(E.mul(E.add(E.mul(E.v(o), E.i(K)), E.v(t)), E.i(inner)), E.v(j));
  const dst = E.add(E.mul(E.add(E.mul(E.v(o), n), E.v(t)), E.i(inner)), E.v(j));
  return S.seq(
    S.for(o, outer, S.for(t, n, S.for(j, inner, S.store(out.buf.name, dst, out.flat(src))))),
    zeroTail(out, dim, extent, fresh('tail')),
  );
}

/** Zero a bounded output past its run-time extent (so row-wise consumers compute on zeros, not on stale memory). */
export function zeroTail(out: TensorRef, dim: number, extent: TensorRef, i: string): Stmt {
  const per = out.shape.reduce((a, d, k) => (k === dim ? a : a * d), 1);
  const len = E.mul(extent.flat(E.i(0)), E.i(per));
  return S.for(i, E.sub(E.i(numel(out.shape)), len), S.store(out.buf.name, E.add(len, E.v(i)), E.c(0, out.dtype)));
}

/** A bounded buffer of the program whose extent buffer is a temp becomes an output when a graph output needs it. */
export function extentsAsOutputs(prog: Program): void {
  const needed = new Set(prog.outputs.flatMap((b) => (b.extent ? [b.extent.buffer] : [])));
  const move = prog.temps.filter((b) => needed.has(b.name));
  prog.temps = prog.temps.filter((b) => !needed.has(b.name));
  for (const b of move) { b.role = 'output'; prog.outputs.push(b); }
}

/**
 * The extent buffer of a node with bounded outputs (undefined when it has none): an output when one
 * of them is a graph output. Records it on those outputs' buffers.
 */
export function extentBuffer(node: Node, bufOf: Map<Value, ProgramBuffer>, uniq: (base: string) => string): ProgramBuffer | undefined {
  const bounded = node.outputs.map((o) => bufOf.get(o)).filter((b): b is ProgramBuffer => !!b?.extent && !b.extent.buffer);
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
