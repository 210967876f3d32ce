/**
 * Sequences (runtime value Tensor[]) and optionals (a value or null): construction, indexing,
 * insertion/erasure, split/concat, SequenceMap, Optional/OptionalHasElement/OptionalGetElement.
 */
import {
  Tensor, diag, dtypeFromOnnx, freshDim, nodeLocation, type Dim, type RValue, type Shape,
} from '@aic/core';
import { defineOp } from '../registry.ts';
import type { EvalCtx, InferCtx, OutType } from '../types.ts';
import { ALL } from '../lib/infer-helpers.ts';
import { intList, normAxis } from '../lib/util.ts';

// ---- helpers ------------------------------------------------------------------------------------

function seqInput(ctx: EvalCtx, i: number, op: string): Tensor[] {
  const x = ctx.inputs[i];
  if (!Array.isArray(x)) throw diag.verify(op, `input ${i} must be a sequence`);
  return x;
}

function inputKind(ctx: InferCtx, i: number) {
  return ctx.node.inputs[i]?.kind ?? 'tensor';
}

function requireSeq(ctx: InferCtx, i: number): void {
  const k = inputKind(ctx, i);
  if (ctx.node.inputs[i] && k !== 'sequence') {
    throw diag.verify(ctx.node.op, `input ${i} must be a sequence, got a ${k}`, nodeLocation(ctx.node));
  }
}

function mergeShapes(a: Shape, b: Shape): Shape {
  if (!a || !b || a.length !== b.length) return undefined;
  return a.map((d, i) => (d === b[i] ? d : freshDim()));
}

/** Read a position scalar, normalize negative values against n, and range-check against [0, max]. */
function position(t: Tensor, n: number, max: number, op: string): number {
  if (t.size !== 1) throw diag.verify(op, `position must be a scalar, got shape [${t.shape.join(', ')}]`);
  const p0 = Math.trunc(t.num[0]!);
  const p = p0 < 0 ? p0 + n : p0;
  if (p < 0 || p > max) throw diag.runtime(op, `position ${p0} is out of range for a sequence of length ${n}`);
  return p;
}

/** Copy a slab [start, start+len) along `axis`. */
function sliceAxis(t: Tensor, axis: number, start: number, len: number): Tensor {
  const shape = t.shape.slice();
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = shape[axis]!;
  shape[axis] = len;
  const out = new Tensor(t.dtype, shape);
  const src = t.data as unknown as unknown[], dst = out.data as unknown as unknown[];
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < len * inner; k++) dst[o * len * inner + k] = src[(o * n + start) * inner + k];
  }
  return out;
}

const SEQ_TYPES = ALL;

// ---- sequence ops -------------------------------------------------------------------------------
defineOp({
  name: 'SequenceEmpty', category: 'sequence', summary: 'an empty sequence of the given element type',
  inputs: [], outputs: [{ name: 'output' }],
  attrs: { dtype: { type: 'int', default: 1, doc: 'ONNX element type code (default float)' } },
  onnx: { since: 11 },
  infer: (ctx) => {
    const d = dtypeFromOnnx(ctx.attrs.int('dtype'));
    if (!d) throw diag.unsupportedDtype('SequenceEmpty dtype', `code ${ctx.attrs.int('dtype')}`, nodeLocation(ctx.node));
    return [{ dtype: d, shape: undefined, kind: 'sequence' }];
  },
  eval: () => [[]],
});

defineOp({
  name: 'SequenceConstruct', category: 'sequence', summary: 'a sequence of the input tensors, in order',
  types: { T: SEQ_TYPES },
  inputs: [{ name: 'inputs', type: 'T', variadic: true }], outputs: [{ name: 'output_sequence' }],
  attrs: {},
  onnx: { since: 11 },
  infer: (ctx) => {
    const ts = ctx.inputTypes.map((_, i) => ctx.type(i));
    if (ts.length === 0) throw diag.verify('SequenceConstruct', 'needs at least one input', nodeLocation(ctx.node));
    let shape: Shape = ts[0].shape?.slice();
    for (const t of ts) {
      if (t.dtype !== ts[0].dtype) throw diag.typeMismatch('SequenceConstruct input', ts[0].dtype, t.dtype, nodeLocation(ctx.node));
      shape = mergeShapes(shape, t.shape);
    }
    return [{ dtype: ts[0].dtype, shape, kind: 'sequence' }];
  },
  eval: (ctx) => [ctx.inputs.map((_, i) => ctx.input(i))],
});

defineOp({
  name: 'SequenceAt', category: 'sequence', summary: 'the tensor at `position` (negative counts from the back)',
  types: { I: ['int32', 'int64'] },
  inputs: [{ name: 'input_sequence' }, { name: 'position', type: 'I' }], outputs: [{ name: 'tensor' }],
  attrs: {},
  onnx: { since: 11 },
  infer: (ctx) => { requireSeq(ctx, 0); const t = ctx.type(0); return [{ dtype: t.dtype, shape: t.shape?.slice() }]; },
  eval: (ctx) => {
    const s = seqInput(ctx, 0, 'SequenceAt');
    const p = position(ctx.input(1), s.length, s.length - 1, 'SequenceAt');
    return [s[p]];
  },
});

defineOp({
  name: 'SequenceInsert', category: 'sequence', summary: 'a copy of the sequence with `tensor` inserted at `position` (default: appended)',
  types: { I: ['int32', 'int64'] },
  inputs: [{ name: 'input_sequence' }, { name: 'tensor' }, { name: 'position', type: 'I', optional: true }],
  outputs: [{ name: 'output_sequence' }],
  attrs: {},
  onnx: { since: 11 },
  infer: (ctx) => {
    requireSeq(ctx, 0);
    const s = ctx.type(0), t = ctx.type(1);
    if (s.dtype !== t.dtype) throw diag.typeMismatch('SequenceInsert tensor', s.dtype, t.dtype, nodeLocation(ctx.node));
    return [{ dtype: s.dtype, shape: mergeShapes(s.shape, t.shape), kind: 'sequence' }];
  },
  eval: (ctx) => {
    const s = seqInput(ctx, 0, 'SequenceInsert');
    const t = ctx.input(1);
    if (s.length && s[0].dtype !== t.dtype) throw diag.typeMismatch('SequenceInsert tensor', s[0].dtype, t.dtype);
    const pt = ctx.optInput(2);
    const p = pt ? position(pt, s.length, s.length, 'SequenceInsert') : s.length;
    const out = s.slice();
    out.splice(p, 0, t);
    return [out];
  },
});

defineOp({
  name: 'SequenceErase', category: 'sequence', summary: 'a copy of the sequence without the tensor at `position` (default: the last)',
  types: { I: ['int32', 'int64'] },
  inputs: [{ name: 'input_sequence' }, { name: 'position', type: 'I', optional: true }],
  outputs: [{ name: 'output_sequence' }],
  attrs: {},
  onnx: { since: 11 },
  infer: (ctx) => { requireSeq(ctx, 0); const t = ctx.type(0); return [{ dtype: t.dtype, shape: t.shape?.slice(), kind: 'sequence' }]; },
  eval: (ctx) => {
    const s = seqInput(ctx, 0, 'SequenceErase');
    if (s.length === 0) throw diag.runtime('SequenceErase', 'the sequence is empty');
    const pt = ctx.optInput(1);
    const p = pt ? position(pt, s.length, s.length - 1, 'SequenceErase') : s.length - 1;
    const out = s.slice();
    out.splice(p, 1);
    return [out];
  },
});

defineOp({
  name: 'SequenceLength', category: 'sequence', summary: 'number of tensors in the sequence (int64 scalar)',
  inputs: [{ name: 'input_sequence' }], outputs: [{ name: 'length' }],
  attrs: {},
  onnx: { since: 11 },
  infer: (ctx) => { requireSeq(ctx, 0); return [{ dtype: 'int64', shape: [] }]; },
  eval: (ctx) => [Tensor.scalarOf('int64', seqInput(ctx, 0, 'SequenceLength').length)],
});

defineOp({
  name: 'SplitToSequence', category: 'sequence',
  summary: 'splits a tensor along axis into a sequence: by sizes (1-D split), by chunk size (scalar split), or into size-1 pieces',
  types: { T: SEQ_TYPES, I: ['int32', 'int64'] },
  inputs: [{ name: 'input', type: 'T' }, { name: 'split', type: 'I', optional: true, shapeData: true }],
  outputs: [{ name: 'output_sequence' }],
  attrs: {
    axis: { type: 'int', default: 0 },
    keepdims: { type: 'int', default: 1, doc: 'keep the split axis when split is omitted' },
  },
  onnx: { since: 11 },
  infer: (ctx) => {
    const t = ctx.type(0);
    let shape: Shape;
    if (t.shape) {
      const ax = normAxis(ctx.attrs.int('axis'), t.shape.length, 'SplitToSequence');
      shape = t.shape.slice();
      if (!ctx.node.inputs[1] && ctx.attrs.int('keepdims') === 0) shape.splice(ax, 1);
      else if (!ctx.node.inputs[1]) shape[ax] = 1;
      else shape[ax] = freshDim();
    }
    return [{ dtype: t.dtype, shape, kind: 'sequence' }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const ax = normAxis(ctx.attrs.int('axis'), x.rank, 'SplitToSequence');
    const n = x.shape[ax]!;
    const st = ctx.optInput(1);
    const out: Tensor[] = [];
    if (!st) {
      const keep = ctx.attrs.int('keepdims') !== 0;
      for (let i = 0; i < n; i++) {
        const p = sliceAxis(x, ax, i, 1);
        out.push(keep ? p : p.reshape(x.shape.filter((_, k) => k !== ax)));
      }
      return [out];
    }
    const sizes = intList(st);
    if (st.rank === 0) {
      const c = sizes[0];
      if (c <= 0) throw diag.runtime('SplitToSequence', `split ${c} must be positive`);
      for (let s = 0; s < n; s += c) out.push(sliceAxis(x, ax, s, Math.min(c, n - s)));
      return [out];
    }
    if (sizes.some((v) => v < 0) || sizes.reduce((a, b) => a + b, 0) !== n) {
      throw diag.runtime('SplitToSequence', `split sizes [${sizes.join(', ')}] do not add up to ${n}`);
    }
    let s = 0;
    for (const c of sizes) { out.push(sliceAxis(x, ax, s, c)); s += c; }
    return [out];
  },
});

defineOp({
  name: 'ConcatFromSequence', category: 'sequence',
  summary: 'concatenates the sequence tensors along axis (new_axis=1: stacks along a new axis)',
  inputs: [{ name: 'input_sequence' }], outputs: [{ name: 'concat_result' }],
  attrs: { axis: { type: 'int', required: true }, new_axis: { type: 'int', default: 0 } },
  onnx: { since: 11 },
  infer: (ctx) => {
    requireSeq(ctx, 0);
    const t = ctx.type(0);
    const na = ctx.attrs.int('new_axis') !== 0;
    if (!t.shape) return [{ dtype: t.dtype, shape: undefined }];
    const r = t.shape.length + (na ? 1 : 0);
    const ax = normAxis(ctx.attrs.int('axis'), r, 'ConcatFromSequence');
    const shape: Dim[] = t.shape.slice();
    if (na) shape.splice(ax, 0, freshDim()); else shape[ax] = freshDim();
    return [{ dtype: t.dtype, shape }];
  },
  eval: (ctx) => {
    const s = seqInput(ctx, 0, 'ConcatFromSequence');
    if (s.length === 0) throw diag.runtime('ConcatFromSequence', 'cannot concatenate an empty sequence');
    const na = ctx.attrs.int('new_axis') !== 0;
    const r0 = s[0].rank;
    const ax = normAxis(ctx.attrs.int('axis'), r0 + (na ? 1 : 0), 'ConcatFromSequence');
    const parts = na ? s.map((t) => t.reshape([...t.shape.slice(0, ax), 1, ...t.shape.slice(ax)])) : s;
    const base = parts[0].shape;
    let total = 0;
    for (const p of parts) {
      if (p.dtype !== parts[0].dtype) throw diag.typeMismatch('ConcatFromSequence element', parts[0].dtype, p.dtype);
      if (p.rank !== base.length || p.shape.some((d, i) => i !== ax && d !== base[i])) {
        throw diag.shapeMismatch('ConcatFromSequence', `cannot concatenate [${base.join(', ')}] and [${p.shape.join(', ')}] along axis ${ax}`);
      }
      total += p.shape[ax]!;
    }
    const shape = base.slice(); shape[ax] = total;
    const out = new Tensor(parts[0].dtype, shape);
    const outer = base.slice(0, ax).reduce((a, b) => a * b, 1);
    const inner = base.slice(ax + 1).reduce((a, b) => a * b, 1);
    const dst = out.data as unknown as unknown[];
    let off = 0;
    for (const p of parts) {
      const src = p.data as unknown as unknown[];
      const w = p.shape[ax]! * inner;
      for (let o = 0; o < outer; o++) for (let k = 0; k < w; k++) dst[o * total * inner + off + k] = src[o * w + k];
      off += w;
    }
    return [out];
  },
});

defineOp({
  name: 'SequenceMap', category: 'sequence',
  summary: 'applies body to each element of input_sequence (with the matching elements of other sequences, or whole tensors); outputs sequences',
  inputs: [{ name: 'input_sequence' }, { name: 'additional_inputs', variadic: true, optional: true }],
  outputs: [{ name: 'out_sequence', variadic: true }],
  attrs: { body: { type: 'graph', required: true } },
  onnx: { since: 17 },
  // the body gets one element of each sequence, and other inputs whole
  bodyInputs: (ctx) => ctx.inputTypes.map((t, i) => {
    const kind = ctx.node.inputs[i]?.kind;
    return t && { dtype: t.dtype, shape: undefined, kind: kind === 'sequence' ? 'tensor' : kind };
  }),
  infer: (ctx) => {
    requireSeq(ctx, 0);
    const body = ctx.attrs.graph('body');
    if (body.inputs.length !== ctx.inputTypes.length) {
      throw diag.verify('SequenceMap', `body has ${body.inputs.length} inputs but the node has ${ctx.inputTypes.length}`, nodeLocation(ctx.node));
    }
    return Array.from({ length: ctx.outputCount }, (_, i): OutType => {
      const o = body.outputs[i];
      if (!o) throw diag.verify('SequenceMap', `body has only ${body.outputs.length} outputs`, nodeLocation(ctx.node));
      return { dtype: o.type.dtype, shape: o.type.shape?.slice(), kind: 'sequence' };
    });
  },
  eval: (ctx) => {
    const body = ctx.attrs.graph('body');
    const s0 = seqInput(ctx, 0, 'SequenceMap');
    const others = ctx.inputs.slice(1);
    for (const o of others) {
      if (Array.isArray(o) && o.length !== s0.length) {
        throw diag.runtime('SequenceMap', `sequences have different lengths ${s0.length} and ${o.length}`);
      }
    }
    const outs: Tensor[][] = Array.from({ length: ctx.outputCount }, () => []);
    for (let i = 0; i < s0.length; i++) {
      const ins: RValue[] = [s0[i], ...others.map((o) => (Array.isArray(o) ? o[i] : (o ?? null)))];
      const r = ctx.runSubgraph(body, ins);
      for (let j = 0; j < outs.length; j++) {
        const v = r[j];
        if (!(v instanceof Tensor)) throw diag.verify('SequenceMap', `body output ${j} must be a tensor`);
        outs[j].push(v);
      }
    }
    return outs;
  },
});

// ---- optionals ----------------------------------------------------------------------------------
defineOp({
  name: 'Optional', category: 'sequence',
  summary: 'wraps a tensor or sequence in an optional; without an input, an empty optional of the `type` attribute',
  inputs: [{ name: 'input', optional: true }], outputs: [{ name: 'output' }],
  attrs: {},
  onnx: { since: 15 },
  infer: (ctx) => {
    if (!ctx.node.inputs[0]) {
      const o = ctx.node.outputs[0];
      return [{ dtype: o.type.dtype, shape: o.type.shape?.slice(), kind: o.kind === 'sequence' ? 'sequence' : 'optional' }];
    }
    const t = ctx.type(0);
    // an optional sequence may be declared either way (kind 'optional' or 'sequence'); keep the declaration
    const declared = ctx.node.outputs[0]?.kind;
    const kind = declared === 'optional' ? 'optional' : inputKind(ctx, 0) === 'sequence' ? 'sequence' : 'optional';
    return [{ dtype: t.dtype, shape: t.shape?.slice(), kind }];
  },
  eval: (ctx) => [ctx.inputs[0] ?? null],
});

defineOp({
  name: 'OptionalHasElement', category: 'sequence',
  summary: 'true when the optional holds a value (an omitted input counts as empty)',
  inputs: [{ name: 'input', optional: true }], outputs: [{ name: 'output' }],
  attrs: {},
  onnx: { since: 15 },
  infer: () => [{ dtype: 'bool', shape: [] }],
  eval: (ctx) => {
    const x = ctx.inputs[0];
    return [Tensor.scalarOf('bool', x === undefined || x === null ? 0 : 1)];
  },
});

defineOp({
  name: 'OptionalGetElement', category: 'sequence',
  summary: 'the value inside an optional (a tensor or sequence passes through); error when empty',
  inputs: [{ name: 'input' }], outputs: [{ name: 'output' }],
  attrs: {},
  onnx: { since: 15 },
  infer: (ctx) => {
    const t = ctx.type(0);
    const k = inputKind(ctx, 0);
    const kind = k === 'sequence' || (k === 'optional' && ctx.node.outputs[0]?.kind === 'sequence') ? 'sequence' : 'tensor';
    return [{ dtype: t.dtype, shape: t.shape?.slice(), kind }];
  },
  eval: (ctx) => {
    const x = ctx.inputs[0];
    if (x === undefined || x === null) throw diag.runtime('OptionalGetElement', 'the optional is empty');
    return [x];
  },
});

