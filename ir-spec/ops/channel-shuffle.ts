/**
 * aic.ChannelShuffle(X..., group) = Split(Reshape(Transpose(Reshape(Concat(X..., axis = 1), [N, g, C/g, D1...]),
 * [0, 2, 1, 3...]), [N, C, D1...]), k equal parts, axis = 1) for k outputs: ShuffleNet's channel shuffle as
 * one copy, produced by the `fuse` pass (passes/rules/fuse/channel-shuffle.ts) from the three ops
 * exporters write (three copy kernels), with the Concat that feeds it and the Split that halves it
 * folded in (one kernel instead of three; on channel-blocked buffers, parts that are not whole blocks
 * made the Concat and the Split lane copies too). With one input and one output it is the plain shuffle.
 * Output channel c of the concatenation C reads its channel (c mod g) * (C / g) + floor(c / g).
 * The reference semantics are the base ops' own definitions run in sequence (fused.ts's views).
 */
import { Tensor, diag, nodeLocation, type Dim } from '@aic/core';
import { E } from '@aic/loop-ir';
import { concatAt } from '../lib/lower.ts';
import { defineOp } from '../registry.ts';
import type { InferCtx } from '../types.ts';
import { NUMERIC } from '../lib/infer-helpers.ts';
import { evalBase } from './fused.ts';

const OP = 'ChannelShuffle';
const i64 = (v: number[]) => Tensor.fromNumbers('int64', [v.length], v);

/** group g, checked against X's channel count when it is known */
function groupOf(ctx: Pick<InferCtx, 'attrs' | 'node'>, c: number | string | undefined): number {
  const g = ctx.attrs.int('group');
  const l = nodeLocation(ctx.node);
  if (g < 1) throw diag.verify(OP, `group must be >= 1, got ${g}`, l);
  if (typeof c === 'number' && c % g !== 0) throw diag.verify(OP, `${c} channels do not split into ${g} groups`, l);
  return g;
}

defineOp({
  name: OP, domain: 'aic', category: 'fused',
  summary: 'channel shuffle of the inputs\' concatenation, split into equal parts: Reshape(Transpose(Reshape(Concat(X...), [N, g, C/g, ...]), [0, 2, 1, ...])) as one copy',
  types: { T: NUMERIC },
  inputs: [{ name: 'X', type: 'T', variadic: true, doc: '[N, Ci, D1, ...], concatenated along the channels (C = sum of Ci, divisible by group)' }],
  outputs: [{ name: 'Y', type: 'T', variadic: true, doc: 'the shuffled channels in equal consecutive parts, one per output' }],
  attrs: { group: { type: 'int', required: true, doc: 'number of channel groups g' } },
  infer: (ctx) => {
    const ts = ctx.inputTypes.map((_, i) => ctx.type(i));
    const l = nodeLocation(ctx.node);
    if (!ts.length) throw diag.verify(OP, 'needs at least one input', l);
    for (const t of ts) if (t.dtype !== ts[0]!.dtype) throw diag.typeMismatch(`${OP} input`, ts[0]!.dtype, t.dtype, l);
    const shapes = ts.map((t) => t.shape);
    if (shapes.some((s) => !s)) { groupOf(ctx, undefined); return Array.from({ length: ctx.outputCount }, () => ({ dtype: ts[0]!.dtype, shape: undefined })); }
    const c = channelsOf(shapes as Dim[][], ctx.outputCount, l);
    groupOf(ctx, c);
    // a symbolic channel count of a concatenation or of a part: left to the values at run time
    if (typeof c !== 'number' && (shapes.length > 1 || ctx.outputCount > 1)) return Array.from({ length: ctx.outputCount }, () => ({ dtype: ts[0]!.dtype, shape: undefined }));
    const out = (shapes[0] as Dim[]).slice();
    out[1] = typeof c === 'number' ? c / ctx.outputCount : c;
    return Array.from({ length: ctx.outputCount }, () => ({ dtype: ts[0]!.dtype, shape: out.slice() }));
  },
  eval: (ctx) => {
    const xs = ctx.inputs.map((_, i) => ctx.input(i));
    const l = nodeLocation(ctx.node);
    const c = channelsOf(xs.map((x) => x.shape), ctx.outputCount, l) as number;
    const x = xs.length === 1 ? xs[0]! : evalBase(ctx, 'Concat', xs, { axis: { type: 'int', value: 1 } });
    const g = groupOf(ctx, c);
    const [n, , ...rest] = x.shape;
    const split = evalBase(ctx, 'Reshape', [x, i64([n, g, c / g, ...rest])]);
    const perm = [0, 2, 1, ...rest.map((_, i) => i + 3)];
    const t = evalBase(ctx, 'Transpose', [split], { perm: { type: 'ints', value: perm } });
    const y = evalBase(ctx, 'Reshape', [t, i64(x.shape.slice())]);
    const k = ctx.outputCount, part = c / k;
    if (k === 1) return [y];
    return Array.from({ length: k }, (_, j) => evalBase(ctx, 'Slice', [y, i64([j * part]), i64([(j + 1) * part]), i64([1])]));
  },
  lower: (ctx) => {
    const xs = ctx.inputs.map((x) => x!);
    if (xs.some((x) => x.shape.length < 2)) return ctx.unsupported('X must be [N, C, ...]');
    const c = xs.reduce((s, x) => s + x.shape[1]!, 0);
    const g = groupOf(ctx, c);
    const per = c / g, part = c / ctx.outputs.length;
    // channel u of the inputs' concatenation (Concat's own compute definition)
    const parts = xs.map((x, i) => ({ x, off: xs.slice(0, i).reduce((s, y) => s + y.shape[1]!, 0) }));
    ctx.outputs.forEach((_, j) => ctx.compute(j, ([n, co, ...rest]) => {
      const s = j === 0 ? co : E.add(co, E.i(j * part));
      return concatAt(parts, 1, [n, E.add(E.mul(E.mod(s, E.i(g)), E.i(per)), E.div(s, E.i(g))), ...rest]);
    }));
  },
  flops: () => 0,
});

/** the concatenation's channel count C (checked: same rank >= 2 and dims outside the channels; C splits into k parts) */
function channelsOf(shapes: readonly (readonly Dim[])[], k: number, l: ReturnType<typeof nodeLocation>): Dim {
  const r = shapes[0]!.length;
  if (r < 2) throw diag.verify(OP, `X must be [N, C, ...], got rank ${r}`, l);
  let c: Dim = 0;
  for (const s of shapes) {
    if (s.length !== r || s.some((d, i) => i !== 1 && typeof d === 'number' && typeof shapes[0]![i] === 'number' && d !== shapes[0]![i])) {
      throw diag.shapeMismatch(OP, `inputs [${shapes[0]!.join(', ')}] and [${s.join(', ')}] differ outside the channels`, l);
    }
    // one symbolic count makes the sum symbolic for good (one input: its own symbol)
    c = typeof c === 'number' && typeof s[1] === 'number' ? c + s[1] : shapes.length === 1 ? s[1]! : '?';
  }
  if (typeof c === 'number' && c % k !== 0) throw diag.verify(OP, `${c} channels do not split into ${k} equal outputs`, l);
  return c;
}
