/**
 * Gather, GatherElements, GatherND and the Scatter family: reads and writes at indices given as data.
 */
import { Tensor, diag, stridesOf } from '@aic/core';
import { defineOp } from '../../registry.ts';
import type { EvalCtx, InferCtx, LowerCtx, OutType } from '../../types.ts';
import { E, S, indexOutOfBounds, numel, type Expr, type Stmt, type TensorRef } from '@aic/loop-ir';
import { intList, product } from '../../lib/util.ts';
import { ALL, requireDtype, sameDtypes } from '../../lib/infer-helpers.ts';
import * as V from '../../vjp/index.ts';
import { copyTensor, elems, flatExpr, forEachIndex, normIndexExpr, reducer } from '../../lib/shape.ts';
import { CAT, INDEX, loc, verr, axisOf, vctx, inRef } from './common.ts';

// ---- Gather family -------------------------------------------------------------------------------------
/**
 * Every index input of the Gather and Scatter families: a value in [-n, n) counts from the end when
 * negative; any other value is a runtime error on every target (ONNX Runtime: "indices element out
 * of data bounds"), reported at the node with the index and the dimension (normIndex here,
 * normIndexExpr -> check_index in compiled code).
 */
const INDEX_RULE = '; an index outside [-n, n) is a runtime error';
function normIndex(ctx: EvalCtx, i: number, dim: number): number {
  const j = i < 0 ? i + dim : i;
  if (j < 0 || j >= dim) throw diag.runtime(ctx.node.op, indexOutOfBounds(i, dim), loc(ctx));
  return j;
}
defineOp({
  name: 'Gather', category: CAT, vjp: V.shape.gather, summary: `take entries along an axis: out = data[..., indices, ...]${INDEX_RULE}`,
  types: { T: ALL, Tind: INDEX },
  inputs: [{ name: 'data', type: 'T' }, { name: 'indices', type: 'Tind' }], outputs: [{ name: 'output', type: 'T' }],
  attrs: { axis: { type: 'int', default: 0 } },
  onnx: { since: 1 },
  lower: lowerGather,
  infer: (ctx) => {
    const t = ctx.type(0), it = ctx.type(1);
    requireDtype(ctx, 1, INDEX);
    if (!t.shape || !it.shape) return [{ dtype: t.dtype, shape: undefined }];
    const a = axisOf(ctx, ctx.attrs.int('axis'), t.shape.length);
    return [{ dtype: t.dtype, shape: [...t.shape.slice(0, a), ...it.shape, ...t.shape.slice(a + 1)] }];
  },
  eval: (ctx) => {
    const x = ctx.input(0), ind = ctx.input(1);
    const a = axisOf(ctx, ctx.attrs.int('axis'), x.rank);
    const dim = x.shape[a]!;
    const idx = intList(ind).map((i) => normIndex(ctx, i, dim));
    const outer = product(x.shape.slice(0, a)), inner = product(x.shape.slice(a + 1));
    const out = new Tensor(x.dtype, [...x.shape.slice(0, a), ...ind.shape, ...x.shape.slice(a + 1)]);
    const sd = elems(x), od = elems(out);
    let p = 0;
    for (let o = 0; o < outer; o++) {
      for (const j of idx) {
        const base = (o * dim + j) * inner;
        for (let i = 0; i < inner; i++) od[p++] = sd[base + i]!;
      }
    }
    return [out];
  },
});

defineOp({
  name: 'GatherElements', category: CAT, vjp: V.shape.gatherElements, summary: `out[i][j][k] = data[index[i][j][k]][j][k] (for axis 0)${INDEX_RULE}`,
  types: { T: ALL, Tind: INDEX },
  inputs: [{ name: 'data', type: 'T' }, { name: 'indices', type: 'Tind' }], outputs: [{ name: 'output', type: 'T' }],
  attrs: { axis: { type: 'int', default: 0 } },
  onnx: { since: 11 },
  lower: lowerGatherElements,
  infer: (ctx) => {
    const t = ctx.type(0), it = ctx.type(1);
    requireDtype(ctx, 1, INDEX);
    if (t.shape && it.shape) {
      if (t.shape.length !== it.shape.length) throw diag.shapeMismatch('GatherElements', 'data and indices must have the same rank', loc(ctx));
      axisOf(ctx, ctx.attrs.int('axis'), t.shape.length);
    }
    return [{ dtype: t.dtype, shape: it.shape?.slice() }];
  },
  eval: (ctx) => {
    const x = ctx.input(0), ind = ctx.input(1);
    if (x.rank !== ind.rank) throw diag.shapeMismatch('GatherElements', 'data and indices must have the same rank', loc(ctx));
    const a = axisOf(ctx, ctx.attrs.int('axis'), x.rank);
    const out = new Tensor(x.dtype, ind.shape);
    const st = stridesOf(x.shape), sd = elems(x), od = elems(out), iv = ind.num;
    forEachIndex(ind.shape, (idx, flat) => {
      let off = 0;
      for (let k = 0; k < idx.length; k++) {
        const j = k === a ? normIndex(ctx, Math.trunc(iv[flat]!), x.shape[a]!) : idx[k]!;
        if (k !== a && j >= x.shape[k]!) throw diag.shapeMismatch('GatherElements', 'indices are larger than data outside the axis', loc(ctx));
        off += j * st[k]!;
      }
      od[flat] = sd[off]!;
    });
    return [out];
  },
});

defineOp({
  name: 'GatherND', category: CAT, summary: `gather slices addressed by the last dimension of indices (with batch_dims)${INDEX_RULE}`,
  types: { T: ALL },
  inputs: [{ name: 'data', type: 'T' }, { name: 'indices' }], outputs: [{ name: 'output', type: 'T' }],
  attrs: { batch_dims: { type: 'int', default: 0 } },
  onnx: { since: 11 },
  lower: lowerGatherND,
  infer: (ctx) => {
    const t = ctx.type(0), it = ctx.type(1);
    requireDtype(ctx, 1, ['int64']);
    const b = ctx.attrs.int('batch_dims');
    if (!t.shape || !it.shape) return [{ dtype: t.dtype, shape: undefined }];
    const q = it.shape.length, r = t.shape.length;
    const last = it.shape[q - 1];
    if (q < 1 || b >= Math.min(q, r) || b < 0) throw verr(ctx, `batch_dims=${b} is invalid for data rank ${r}, indices rank ${q}`);
    if (typeof last !== 'number') return [{ dtype: t.dtype, shape: undefined }];
    if (last > r - b) throw verr(ctx, `indices.shape[-1]=${last} exceeds data rank ${r} - batch_dims ${b}`);
    return [{ dtype: t.dtype, shape: [...it.shape.slice(0, q - 1), ...t.shape.slice(b + last)] }];
  },
  eval: (ctx) => {
    const x = ctx.input(0), ind = ctx.input(1);
    const b = ctx.attrs.int('batch_dims');
    const q = ind.rank, r = x.rank;
    const last = ind.shape[q - 1]!;
    if (q < 1 || b < 0 || b >= Math.min(q, r) || last > r - b) throw verr(ctx, 'invalid batch_dims or indices shape');
    const batch = product(x.shape.slice(0, b));
    const outShape = [...ind.shape.slice(0, q - 1), ...x.shape.slice(b + last)];
    const out = new Tensor(x.dtype, outShape);
    const slice = product(x.shape.slice(b + last));
    const perBatchIdx = product(ind.shape.slice(b, q - 1));
    const batchStride = product(x.shape.slice(b));
    const st = stridesOf(x.shape.slice(b));
    const sd = elems(x), od = elems(out), iv = ind.num;
    let p = 0;
    for (let bi = 0; bi < batch; bi++) {
      for (let j = 0; j < perBatchIdx; j++) {
        const ib = (bi * perBatchIdx + j) * last;
        let off = bi * batchStride;
        for (let k = 0; k < last; k++) off += normIndex(ctx, Math.trunc(iv[ib + k]!), x.shape[b + k]!) * st[k]!;
        for (let i = 0; i < slice; i++) od[p++] = sd[off + i]!;
      }
    }
    return [out];
  },
});

// ---- Scatter family ------------------------------------------------------------------------------------
function scatterElements(ctx: EvalCtx, reduction: string): Tensor {
  const x = ctx.input(0), ind = ctx.input(1), upd = ctx.input(2);
  if (x.rank !== ind.rank || ind.rank !== upd.rank || ind.shape.some((d, i) => d !== upd.shape[i])) {
    throw diag.shapeMismatch(ctx.node.op, 'data, indices and updates must have the same rank; indices and updates the same shape', loc(ctx));
  }
  if (upd.dtype !== x.dtype) throw diag.typeMismatch(`${ctx.node.op} updates`, x.dtype, upd.dtype, loc(ctx));
  if (reduction !== 'none' && x.dtype === 'string') throw diag.unsupportedDtype(`${ctx.node.op} reduction`, x.dtype, loc(ctx));
  const a = axisOf(ctx, ctx.attrs.int('axis'), x.rank);
  const out = copyTensor(x);
  const f = reducer(reduction, x.dtype, ctx.node.op);
  const st = stridesOf(x.shape), od = elems(out), ud = elems(upd), iv = ind.num;
  forEachIndex(ind.shape, (idx, flat) => {
    let off = 0;
    for (let k = 0; k < idx.length; k++) {
      const j = k === a ? normIndex(ctx, Math.trunc(iv[flat]!), x.shape[a]!) : idx[k]!;
      if (j >= x.shape[k]!) throw diag.shapeMismatch(ctx.node.op, 'indices are larger than data outside the axis', loc(ctx));
      off += j * st[k]!;
    }
    od[off] = reduction === 'none' ? ud[flat]! : f(od[off] as number, ud[flat] as number);
  });
  return out;
}
function scatterInfer(ctx: InferCtx): OutType[] {
  const t = ctx.type(0);
  requireDtype(ctx, 1, INDEX);
  sameDtypes(ctx, [0, 2]);
  return [{ dtype: t.dtype, shape: t.shape?.slice() }];
}
const scatterSig = {
  types: { T: ALL, Tind: INDEX },
  inputs: [{ name: 'data', type: 'T' }, { name: 'indices', type: 'Tind' }, { name: 'updates', type: 'T' }],
  outputs: [{ name: 'output', type: 'T' }],
};
defineOp({
  name: 'ScatterElements', category: CAT, summary: `write updates into a copy of data at per-element indices along an axis (with reduction)${INDEX_RULE}`,
  ...scatterSig,
  attrs: { axis: { type: 'int', default: 0 }, reduction: { type: 'string', default: 'none' } },
  onnx: { since: 11 },
  lower: (ctx) => lowerScatterElements(ctx, ctx.attrs.str('reduction')),
  infer: scatterInfer,
  eval: (ctx) => [scatterElements(ctx, ctx.attrs.str('reduction'))],
});
defineOp({
  name: 'Scatter', category: CAT, summary: `deprecated form of ScatterElements (no reduction)${INDEX_RULE}`,
  ...scatterSig,
  attrs: { axis: { type: 'int', default: 0 } },
  onnx: { since: 9 },
  lower: (ctx) => lowerScatterElements(ctx, 'none'),
  infer: scatterInfer,
  eval: (ctx) => [scatterElements(ctx, 'none')],
});
defineOp({
  name: 'ScatterND', category: CAT, vjp: V.shape.scatterND, summary: `write update slices into a copy of data at N-d indices (with reduction)${INDEX_RULE}`,
  types: { T: ALL },
  inputs: [{ name: 'data', type: 'T' }, { name: 'indices' }, { name: 'updates', type: 'T' }],
  outputs: [{ name: 'output', type: 'T' }],
  attrs: { reduction: { type: 'string', default: 'none' } },
  onnx: { since: 11 },
  lower: lowerScatterND,
  infer: (ctx) => { requireDtype(ctx, 1, ['int64']); sameDtypes(ctx, [0, 2]); return [{ dtype: ctx.type(0).dtype, shape: ctx.type(0).shape?.slice() }]; },
  eval: (ctx) => {
    const x = ctx.input(0), ind = ctx.input(1), upd = ctx.input(2);
    const red = ctx.attrs.str('reduction');
    if (red !== 'none' && x.dtype === 'string') throw diag.unsupportedDtype('ScatterND reduction', x.dtype, loc(ctx));
    const q = ind.rank, k = ind.shape[q - 1]!;
    if (k > x.rank) throw verr(ctx, `indices.shape[-1]=${k} exceeds data rank ${x.rank}`);
    const want = [...ind.shape.slice(0, q - 1), ...x.shape.slice(k)];
    if (upd.rank !== want.length || upd.shape.some((d, i) => d !== want[i])) {
      throw diag.shapeMismatch('ScatterND', `updates shape [${upd.shape.join(', ')}] should be [${want.join(', ')}]`, loc(ctx));
    }
    const out = copyTensor(x);
    const f = reducer(red, x.dtype, 'ScatterND');
    const st = stridesOf(x.shape), od = elems(out), ud = elems(upd), iv = ind.num;
    const n = product(ind.shape.slice(0, q - 1)), slice = product(x.shape.slice(k));
    for (let j = 0; j < n; j++) {
      let off = 0;
      for (let m = 0; m < k; m++) off += normIndex(ctx, Math.trunc(iv[j * k + m]!), x.shape[m]!) * st[m]!;
      for (let i = 0; i < slice; i++) {
        od[off + i] = red === 'none' ? ud[j * slice + i]! : f(od[off + i] as number, ud[j * slice + i] as number);
      }
    }
    return [out];
  },
});


// ---- Compute definitions (lowering to loop IR); each mirrors the eval above. ----

function lowerGather(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), ind = inRef(ctx, 1), out = ctx.outputs[0]!;
  const a = axisOf(vctx(ctx), ctx.attrs.int('axis'), x.shape.length);
  const q = ind.shape.length, dim = x.shape[a]!;
  if (dim === 0 && numel(out.shape) > 0) ctx.unsupported('gather from an empty axis');
  ctx.compute(0, (idx) => {
    const j = normIndexExpr(ind.at(...idx.slice(a, a + q)), dim);
    return x.at(...idx.slice(0, a), j, ...idx.slice(a + q));
  });
}

function lowerGatherElements(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), ind = inRef(ctx, 1);
  if (x.shape.length !== ind.shape.length) ctx.unsupported('data and indices must have the same rank');
  const a = axisOf(vctx(ctx), ctx.attrs.int('axis'), x.shape.length);
  if (ind.shape.some((d, k) => k !== a && d > x.shape[k]!)) ctx.unsupported('indices are larger than data outside the axis');
  if (x.shape[a] === 0 && numel(ind.shape) > 0) ctx.unsupported('gather from an empty axis');
  ctx.compute(0, (idx) => x.at(...idx.map((v, k) => (k === a ? normIndexExpr(ind.at(...idx), x.shape[a]!) : v))));
}

function lowerGatherND(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), ind = inRef(ctx, 1), out = ctx.outputs[0]!;
  const b = ctx.attrs.int('batch_dims');
  const q = ind.shape.length, r = x.shape.length;
  const last = ind.shape[q - 1]!;
  if (q < 1 || b < 0 || b >= Math.min(q, r) || last > r - b) ctx.unsupported('invalid batch_dims or indices shape');
  if (ind.shape.slice(0, b).some((d, i) => d !== x.shape[i])) ctx.unsupported('indices batch dims differ from data batch dims');
  if (numel(out.shape) > 0 && x.shape.slice(b, b + last).some((d) => d === 0)) ctx.unsupported('gather from an empty axis');
  ctx.compute(0, (idx) => {
    const lead = idx.slice(0, q - 1);
    const sub: Expr[] = [];
    for (let k = 0; k < last; k++) sub.push(normIndexExpr(ind.at(...lead, E.i(k)), x.shape[b + k]!));
    return x.at(...idx.slice(0, b), ...sub, ...idx.slice(q - 1));
  });
}

/** out = data; then out[at] = combine(out[at], update) for every update (the reference's reducer). */
function scatterCombine(ctx: LowerCtx, red: string, cur: Expr, u: Expr): Expr {
  switch (red) {
    case 'none': return u;
    case 'add': return E.add(cur, u);
    case 'mul': return E.mul(cur, u);
    case 'max': return E.max(cur, u);
    case 'min': return E.min(cur, u);
  }
  return ctx.unsupported(`reduction '${red}'`);
}
function copyStmt(ctx: LowerCtx, x: TensorRef, out: TensorRef): Stmt {
  const i = ctx.fresh('i');
  return S.for(i, numel(x.shape), S.store(out.buf.name, E.v(i), x.flat(E.v(i))));
}
function lowerScatterElements(ctx: LowerCtx, red: string): void {
  const x = inRef(ctx, 0), ind = inRef(ctx, 1), upd = inRef(ctx, 2), out = ctx.outputs[0]!;
  const r = x.shape.length;
  if (r !== ind.shape.length || r !== upd.shape.length || ind.shape.some((d, i) => d !== upd.shape[i])) ctx.unsupported('shape mismatch');
  if (red !== 'none' && out.dtype === 'bool') ctx.unsupported(`reduction '${red}' on bool`);
  const a = axisOf(vctx(ctx), ctx.attrs.int('axis'), r);
  if (ind.shape.some((d, k) => k !== a && d > x.shape[k]!)) ctx.unsupported('indices are larger than data outside the axis');
  if (x.shape[a] === 0 && numel(ind.shape) > 0) ctx.unsupported('scatter into an empty axis');
  const vars = ind.shape.map(() => ctx.fresh('i'));
  const iv = vars.map((v) => E.v(v));
  const offV = ctx.fresh('off');
  const off = flatExpr(iv.map((v, k) => (k === a ? normIndexExpr(ind.at(...iv), x.shape[a]!) : v)), x.shape);
  const cur = E.load(out.buf.name, E.v(offV), out.dtype);
  let body: Stmt = S.let(offV, 'i32', off, S.store(out.buf.name, E.v(offV), scatterCombine(ctx, red, cur, upd.at(...iv))));
  for (let k = vars.length - 1; k >= 0; k--) body = S.for(vars[k]!, ind.shape[k]!, body);
  ctx.extern([0], S.seq(copyStmt(ctx, x, out), body));
}
function lowerScatterND(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), ind = inRef(ctx, 1), upd = inRef(ctx, 2), out = ctx.outputs[0]!;
  const red = ctx.attrs.str('reduction');
  if (red !== 'none' && out.dtype === 'bool') ctx.unsupported(`reduction '${red}' on bool`);
  const q = ind.shape.length, k = ind.shape[q - 1]!;
  if (q < 1 || k > x.shape.length) ctx.unsupported(`indices.shape[-1] exceeds data rank`);
  const want = [...ind.shape.slice(0, q - 1), ...x.shape.slice(k)];
  if (upd.shape.length !== want.length || upd.shape.some((d, i) => d !== want[i])) ctx.unsupported('updates shape mismatch');
  const n = numel(ind.shape.slice(0, q - 1)), slice = numel(x.shape.slice(k));
  if (n > 0 && x.shape.slice(0, k).some((d) => d === 0)) ctx.unsupported('scatter into an empty axis');
  const st = stridesOf(x.shape);
  const j = ctx.fresh('j'), i = ctx.fresh('i'), offV = ctx.fresh('off');
  let off: Expr = E.i(0);
  for (let m = 0; m < k; m++) off = E.add(off, E.mul(normIndexExpr(ind.flat(E.add(E.mul(E.v(j), E.i(k)), E.i(m))), x.shape[m]!), E.i(st[m]!)));
  const at = E.add(E.v(offV), E.v(i));
  const cur = E.load(out.buf.name, at, out.dtype);
  const u = upd.flat(E.add(E.mul(E.v(j), E.i(slice)), E.v(i)));
  const body = S.for(j, n, S.let(offV, 'i32', off, S.for(i, slice, S.store(out.buf.name, at, scatterCombine(ctx, red, cur, u)))));
  ctx.extern([0], S.seq(copyStmt(ctx, x, out), body));
}
