/**
 * Dropout (inference form: identity, mask all true).
 */
import { Tensor, diag } from '@aic/core';
import { defineOp } from '../../registry.ts';
import type { LowerCtx, OutType } from '../../types.ts';
import { E } from '@aic/loop-ir';
import { FLOATS, requireDtype } from '../../lib/infer-helpers.ts';
import { ew as VE } from '../../vjp/index.ts';
import { CAT, loc, need } from './common.ts';

// ================================================================================================
// Dropout
// ================================================================================================

/** set on import from opset 7..9, whose mask output has the data's element type instead of bool */
const LEGACY_MASK = '__dropout_mask_like_data';

defineOp({
  name: 'Dropout', category: CAT, vjp: VE.identity, // identity in inference (training with ratio > 0 is unsupported)
  summary: 'identity in inference (mask all true); training with ratio > 0 is random and unsupported',
  types: { T: FLOATS, T1: FLOATS, T2: ['bool'] },
  inputs: [
    { name: 'data', type: 'T' },
    { name: 'ratio', type: 'T1', optional: true },
    { name: 'training_mode', type: 'T2', optional: true },
  ],
  outputs: [{ name: 'output', type: 'T' }, { name: 'mask', type: 'T2', optional: true }],
  attrs: { seed: { type: 'int', required: false } },
  onnx: {
    // opset 7..11: inference-only with a ratio attribute; opset 7..9's mask has the data's type
    since: 7,
    fromOnnx: (v) => {
      if (v.opset < 10) v.attrs[LEGACY_MASK] = { type: 'int', value: 1 };
      const r = v.attrs['ratio'];
      if (r && v.inputs.length < 2) v.inputs[1] = v.constInput(Tensor.scalarOf('float32', r.value as number));
      delete v.attrs['ratio'];
    },
    toOnnx: (v) => { delete v.attrs[LEGACY_MASK]; },
  },
  lower: lowerDropout,
  infer: (ctx) => {
    const x = ctx.type(0);
    requireDtype(ctx, 0, FLOATS);
    const tm = ctx.inputTypes[2];
    if (tm && tm.dtype !== 'bool') throw diag.typeMismatch('Dropout training_mode', 'bool', tm.dtype, loc(ctx));
    const outs: OutType[] = [{ dtype: x.dtype, shape: x.shape?.slice() }];
    if (ctx.outputCount > 1) outs.push({ dtype: ctx.node.attrs[LEGACY_MASK] ? x.dtype : 'bool', shape: x.shape?.slice() });
    return outs;
  },
  eval: (ctx) => {
    const x = ctx.input(0), ratio = ctx.optInput(1), tm = ctx.optInput(2);
    const training = tm !== undefined && tm.size > 0 && tm.num[0] !== 0;
    if (training) {
      const r = ratio ? ratio.num[0] : 0.5;
      if (r !== 0) throw diag.unsupportedFeature('Dropout in training mode with ratio > 0 (random mask)', loc(ctx));
    }
    const res: Tensor[] = [new Tensor(x.dtype, x.shape, (x.num as Float64Array).slice())];
    if (ctx.outputCount > 1) {
      const m = new Tensor(ctx.node.attrs[LEGACY_MASK] ? x.dtype : 'bool', x.shape);
      m.num.fill(1);
      res.push(m);
    }
    return res;
  },
});


// ---- Compute definitions (lowering to loop IR): each mirrors its eval above, accumulating in float64. ----

/**
 * Dropout: identity, mask all true. Training with ratio > 0 needs a random mask, which the reference
 * refuses; so is training_mode or ratio given only at run time (compiled code cannot refuse per run,
 * and a silent identity would be wrong for ratio > 0), unless the constants settle it.
 */
function lowerDropout(ctx: LowerCtx): void {
  const X = need(ctx, 0), tmIn = ctx.inputs[2], ratioIn = ctx.inputs[1];
  if (tmIn) {
    const tm = ctx.constValue(2), ratio = ratioIn ? ctx.constValue(1) : undefined;
    const r = ratioIn ? (ratio ? ratio.num[0] : undefined) : 0.5;
    const training = tm ? tm.size > 0 && tm.num[0] !== 0 : undefined;
    if (training !== false && r !== 0) {
      ctx.unsupported(training ? 'training mode with ratio > 0 (random mask)' : 'training_mode given at run time (training with ratio > 0 draws a random mask)');
    }
  }
  ctx.compute(0, (idx) => X.at(...idx));
  if (ctx.outputs.length > 1 && ctx.node.outputs[1]?.name) ctx.compute(1, () => E.c(1, ctx.outputs[1].dtype));
}
