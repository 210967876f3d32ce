/**
 * Layout ops (domain 'aic'). A tensor's layout is part of its type (TensorType.layout, conversions in
 * packages/core/src/layout.ts): the value's shape stays logical, the layout says how the data is
 * stored. The interpreter hands every op logical values and stores laid-out results physically, so
 * a layout change is the identity on logical values.
 */
import { diag, isLayout, isPhysicalLayout, nodeLocation, type Layout } from '@aic/core';
import { defineOp } from '../registry.ts';
import type { InferCtx } from '../types.ts';
import { NUMERIC } from '../lib/infer-helpers.ts';

function layoutAttr(ctx: InferCtx, name: 'from' | 'to'): Layout {
  const s = ctx.attrs.str(name);
  if (!isLayout(s)) throw diag.unsupportedAttr({ op: 'LayoutConvert' }, name, s, nodeLocation(ctx.node));
  return s;
}

defineOp({
  name: 'LayoutConvert', domain: 'aic', category: 'layout',
  summary: 'change how a 4-D tensor is stored (NCHW, NHWC, NC4HW4, packed conv weights); identity on logical values',
  types: { T: NUMERIC },
  inputs: [{ name: 'X', type: 'T' }],
  outputs: [{ name: 'Y', type: 'T', doc: 'same logical shape as X, stored in layout `to`' }],
  attrs: {
    from: { type: 'string', required: true, doc: 'layout of X (NCHW = plain row-major)' },
    to: { type: 'string', required: true, doc: 'layout of Y' },
  },
  infer: (ctx) => {
    const l = nodeLocation(ctx.node);
    const from = layoutAttr(ctx, 'from'), to = layoutAttr(ctx, 'to');
    const x = ctx.type(0);
    if (!NUMERIC.includes(x.dtype)) throw diag.unsupportedDtype('LayoutConvert input X', x.dtype, l);
    const have: Layout = x.layout ?? 'NCHW';
    if (x.layout !== undefined && have !== from) {
      throw diag.verify('LayoutConvert', `input is stored as ${have} but from = "${from}"`, l);
    }
    if ((isPhysicalLayout(from) || isPhysicalLayout(to)) && x.shape && x.shape.length !== 4) {
      throw diag.verify('LayoutConvert', `layouts other than NCHW need a 4-D tensor, got [${x.shape.join(', ')}]`, l);
    }
    return [{ dtype: x.dtype, shape: x.shape?.slice(), ...(isPhysicalLayout(to) ? { layout: to } : {}) }];
  },
  // the interpreter converts X (stored as `from`) to logical and Y back to `to`: nothing left to do
  eval: (ctx) => [ctx.input(0)],
  // compiled targets materialize every value in its logical layout (codegen/lower/layout.ts), so
  // the conversion is a copy there
  lower: (ctx) => ctx.compute(0, (idx) => ctx.inputs[0]!.at(...idx)),
});
