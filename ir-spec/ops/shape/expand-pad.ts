/**
 * Expand, Tile, Pad: ops that grow a tensor by repeating or padding it.
 */
import { Tensor, diag, freshDim, type Dim } from '@aic/core';
import { defineOp } from '../../registry.ts';
import type { EvalCtx, InferCtx, LowerCtx } from '../../types.ts';
import { E, type Expr } from '@aic/loop-ir';
import { bcastAt } from '../../lib/lower.ts';
import { intList } from '../../lib/util.ts';
import { ALL, requireDtype, sameDtypes } from '../../lib/infer-helpers.ts';
import * as V from '../../vjp/index.ts';
import { axisMapCopy, elems } from '../../lib/shape.ts';
import {
  CAT, INDEX, loc, verr, axisOf, constInts, optInts, attrToInput, vctx, inRef, present, constIntsOf, clampI,
  allOf,
} from './common.ts';

// ---- Expand / Tile / Pad ---------------------------------------------------------------------------------
function expandShape(ctx: InferCtx | EvalCtx, a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[i - r + a.length] ?? 1, y = b[i - r + b.length] ?? 1;
    if (x === 1) out.push(y);
    else if (y === 1 || x === y) out.push(x);
    else if (typeof x === 'number' && typeof y === 'number') {
      throw diag.shapeMismatch('Expand', `shape [${a.join(', ')}] cannot be expanded to [${b.join(', ')}]`, loc(ctx));
    } else out.push(typeof x === 'number' ? x : typeof y === 'number' ? y : freshDim());
  }
  return out;
}
defineOp({
  name: 'Expand', category: CAT, vjp: V.shape.expand, summary: 'broadcast to a shape (numpy rules, both directions)',
  types: { T: ALL },
  inputs: [{ name: 'input', type: 'T' }, { name: 'shape', shapeData: true }], outputs: [{ name: 'output', type: 'T' }],
  attrs: {},
  onnx: { since: 8 },
  lower: lowerExpand,
  infer: (ctx) => {
    const t = ctx.type(0);
    requireDtype(ctx, 1, ['int64']);
    const s = constInts(ctx, 1);
    if (!t.shape) return [{ dtype: t.dtype, shape: undefined }];
    if (!s) {
      const ss = ctx.type(1).shape;
      if (!ss || typeof ss[0] !== 'number') return [{ dtype: t.dtype, shape: undefined }];
      return [{ dtype: t.dtype, shape: Array.from({ length: Math.max(ss[0], t.shape.length) }, () => freshDim()) }];
    }
    return [{ dtype: t.dtype, shape: expandShape(ctx, t.shape, s) }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const outShape = expandShape(ctx, x.shape, intList(ctx.input(1))) as number[];
    const r = outShape.length;
    const src = x.reshape([...new Array<number>(r - x.rank).fill(1), ...x.shape]);
    const maps = outShape.map((d, k) => Int32Array.from({ length: d }, (_, i) => (src.shape[k] === 1 ? 0 : i)));
    return [axisMapCopy(src, outShape, maps)];
  },
});

defineOp({
  name: 'Tile', category: CAT, vjp: V.shape.tile, summary: 'repeat the input repeats[i] times along each axis',
  types: { T: ALL },
  inputs: [{ name: 'input', type: 'T' }, { name: 'repeats', shapeData: true }], outputs: [{ name: 'output', type: 'T' }],
  attrs: {},
  onnx: { since: 6 },
  lower: lowerTile,
  infer: (ctx) => {
    const t = ctx.type(0);
    requireDtype(ctx, 1, ['int64']);
    const rep = constInts(ctx, 1);
    if (!t.shape) return [{ dtype: t.dtype, shape: undefined }];
    if (!rep) return [{ dtype: t.dtype, shape: t.shape.map(() => freshDim()) }];
    if (rep.length !== t.shape.length) throw verr(ctx, `repeats has ${rep.length} entries for rank ${t.shape.length}`);
    return [{ dtype: t.dtype, shape: t.shape.map((d, i) => (typeof d === 'number' ? d * rep[i]! : rep[i] === 1 ? d : freshDim())) }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const rep = intList(ctx.input(1));
    if (rep.length !== x.rank || rep.some((r) => r < 0)) throw verr(ctx, `repeats [${rep.join(', ')}] invalid for rank ${x.rank}`);
    const outShape = x.shape.map((d, i) => d * rep[i]!);
    const maps = outShape.map((d, k) => Int32Array.from({ length: d }, (_, i) => i % x.shape[k]!));
    return [axisMapCopy(x, outShape, maps)];
  },
});

function padSource(mode: string, i: number, n: number): number {
  if (i >= 0 && i < n) return i;
  if (n === 0) return -1;
  switch (mode) {
    case 'constant': return -1;
    case 'edge': return i < 0 ? 0 : n - 1;
    case 'wrap': return ((i % n) + n) % n;
    case 'reflect': {
      if (n === 1) return 0;
      const p = 2 * (n - 1);
      const m = ((i % p) + p) % p;
      return m < n ? m : p - m;
    }
  }
  throw diag.unsupportedAttr({ op: 'Pad' }, 'mode', mode);
}
function fullPads(ctx: InferCtx | EvalCtx, rank: number, pads: number[], axes: number[] | undefined): number[] {
  const ax = (axes ?? Array.from({ length: rank }, (_, i) => i)).map((a) => axisOf(ctx, a, rank));
  if (pads.length !== 2 * ax.length) throw verr(ctx, `pads has ${pads.length} entries, expected ${2 * ax.length}`);
  const full = new Array<number>(2 * rank).fill(0);
  ax.forEach((a, i) => { full[a] = pads[i]!; full[rank + a] = pads[ax.length + i]!; });
  return full;
}
defineOp({
  name: 'Pad', category: CAT, vjp: V.shape.pad, summary: 'pad (or crop with negative pads) in constant, reflect, edge or wrap mode',
  types: { T: ALL, Tind: INDEX },
  inputs: [
    { name: 'data', type: 'T' }, { name: 'pads', shapeData: true }, { name: 'constant_value', type: 'T', optional: true },
    { name: 'axes', type: 'Tind', optional: true, shapeData: true },
  ],
  outputs: [{ name: 'output', type: 'T' }],
  attrs: { mode: { type: 'string', default: 'constant' } },
  onnx: {
    since: 2,
    fromOnnx: (v) => {
      if (v.opset >= 11) return;
      attrToInput(v, 'pads', 1);
      const val = v.attrs.value;
      if (val && val.type === 'float' && val.value !== 0) {
        const x = v.inputs[0];
        const dt = x?.type.dtype ?? 'float32';
        v.inputs[2] = v.constInput(Tensor.fromNumbers(dt, [], [val.value]));
      }
      delete v.attrs.value;
    },
  },
  lower: lowerPad,
  infer: (ctx) => {
    const t = ctx.type(0);
    requireDtype(ctx, 1, ['int64']);
    const mode = ctx.attrs.str('mode');
    if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) throw diag.unsupportedAttr({ op: 'Pad' }, 'mode', mode, loc(ctx));
    if (ctx.inputTypes[2]) sameDtypes(ctx, [0, 2]);
    if (!t.shape) return [{ dtype: t.dtype, shape: undefined }];
    const pads = constInts(ctx, 1);
    const axes = ctx.inputTypes[3] ? constInts(ctx, 3) : undefined;
    if (!pads || (ctx.inputTypes[3] && !axes)) return [{ dtype: t.dtype, shape: t.shape.map(() => freshDim()) }];
    const r = t.shape.length;
    const full = fullPads(ctx, r, pads, axes);
    return [{
      dtype: t.dtype,
      shape: t.shape.map((d, i) => (typeof d === 'number' ? d + full[i]! + full[r + i]! : full[i]! + full[r + i]! === 0 ? d : freshDim())),
    }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const mode = ctx.attrs.str('mode');
    const r = x.rank;
    const full = fullPads(ctx, r, intList(ctx.input(1)), optInts(ctx, 3));
    const cv = ctx.optInput(2);
    const outShape = x.shape.map((d, i) => d + full[i]! + full[r + i]!);
    if (outShape.some((d) => d < 0)) throw verr(ctx, `pads [${full.join(', ')}] crop more than the input [${x.shape.join(', ')}]`);
    const maps = outShape.map((d, k) => Int32Array.from({ length: d }, (_, o) => padSource(mode, o - full[k]!, x.shape[k]!)));
    if (mode !== 'constant') {
      x.shape.forEach((n, k) => {
        if (n === 0 && outShape[k]! > 0) throw verr(ctx, `${mode} padding of an empty axis`);
      });
    }
    const fill = cv && cv.size > 0 ? elems(cv)[0] : undefined;
    return [axisMapCopy(x, outShape, maps, fill)];
  },
});


// ---- Compute definitions (lowering to loop IR); each mirrors the eval above. ----

function lowerExpand(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), out = ctx.outputs[0]!;
  if (x.shape.length > out.shape.length) ctx.unsupported('output rank below input rank');
  ctx.compute(0, (idx) => bcastAt(x, idx));
}

function lowerTile(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), out = ctx.outputs[0]!;
  ctx.compute(0, (idx) => x.at(...idx.map((v, k) => (x.shape[k] === out.shape[k] ? v : E.mod(v, E.i(x.shape[k]!))))));
}

function lowerPad(ctx: LowerCtx): void {
  const x = inRef(ctx, 0), out = ctx.outputs[0]!;
  const mode = ctx.attrs.str('mode');
  if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) ctx.unsupported(`mode '${mode}'`);
  const r = x.shape.length;
  const full = fullPads(vctx(ctx), r, constIntsOf(ctx, 1, 'pads'), ctx.inputs[3] ? constIntsOf(ctx, 3, 'axes') : undefined);
  if (out.shape.some((d, k) => d !== x.shape[k]! + full[k]! + full[r + k]!)) ctx.unsupported('output shape disagrees with pads');
  if (mode !== 'constant' && x.shape.some((n, k) => n === 0 && out.shape[k]! > 0)) ctx.unsupported(`${mode} padding of an empty axis`);
  const cv = present(ctx, 2);
  const fill = cv ? cv.flat(E.i(0)) : E.c(0, out.dtype);
  ctx.compute(0, (idx) => {
    const conds: Expr[] = [];
    const src = idx.map((o, k) => {
      const n = x.shape[k]!, p = full[k]!;
      if (p === 0 && full[r + k]! <= 0) return o; // never outside the input
      const i = E.sub(o, E.i(p));
      switch (mode) {
        case 'constant':
          conds.push(E.and(E.ge(i, E.i(0)), E.lt(i, E.i(n))));
          return clampI(i, 0, Math.max(n - 1, 0));
        case 'edge': return clampI(i, 0, n - 1);
        case 'wrap': return E.mod(E.add(E.mod(i, E.i(n)), E.i(n)), E.i(n));
        default: { // reflect
          if (n === 1) return E.i(0);
          const per = 2 * (n - 1);
          const m = E.mod(E.add(E.mod(i, E.i(per)), E.i(per)), E.i(per));
          return E.select(E.lt(m, E.i(n)), m, E.sub(E.i(per), m));
        }
      }
    });
    const v = x.at(...src);
    return conds.length ? E.select(allOf(conds), v, fill) : v;
  });
}
