/**
 * Family 'dead-taps': convolution taps that read only padding. A Conv whose leading or trailing kernel
 * taps along a spatial axis fall in the padding for every output position adds zeros through them;
 * they are cut from the (constant) weights and the pads shrink by what they covered, so the output
 * and every sum are unchanged (the dropped terms are exact zeros).
 *
 * The case it is for: DeepLabV3's ASPP, dilated 3x3 convs (dilation 12, 24, 36) on a feature map
 * smaller than the dilation (4x4 for a 64x64 image, 32x32 for 512x512 with dilation 36): every tap but
 * the centre reads padding, so the conv is a 1x1 conv, and the padded copy of its input (pads of 36
 * around a 4x4 map) was most of its time. Taps dead in the middle of the kernel (a stride skipping
 * the input) are kept: cutting them would need a second dilation.
 */
import { Tensor, nodeLocation, type Attr, type Node } from '@aic/core';
import { getOp, makeAttrReader, windowGeometry } from '@aic/ir-spec';
import { P, type Rule } from '../../rewrite/pattern.ts';
import { constInput, staticShape, type GuardResult } from './util.ts';
import { evalConst } from '../fuse/util.ts';

const FAMILY = 'dead-taps';

/** Per spatial axis: the live tap range [lo, hi) and the new pads; undefined (with the reason) when nothing is cut. */
interface Cut { lo: number[]; hi: number[]; padBegin: number[]; padEnd: number[] }

/** Is tap k of an axis read from inside the input by some output position? */
function live(k: number, inLen: number, outLen: number, stride: number, dilation: number, padBegin: number): boolean {
  for (let o = 0; o < outLen; o++) {
    const p = o * stride - padBegin + k * dilation;
    if (p >= 0 && p < inLen) return true;
    if (p >= inLen) return false; // positions only grow with o
  }
  return false;
}

export function deadTapCut(n: Node): Cut | string {
  const x = staticShape(n.inputs[0]), w = constInput(n, 1), y = staticShape(n.outputs[0]);
  if (!x || !y) return 'input or output shape not static';
  if (!w) return 'weights are not a constant';
  const sp = x.length - 2;
  if (sp < 1 || w.shape.length !== x.length) return 'no spatial axis';
  const def = getOp(n.op, n.domain);
  if (!def) return `unknown op ${n.op}`;
  const kernel = w.shape.slice(2);
  const win = windowGeometry(n.op, x.slice(2), kernel, makeAttrReader(def, n.attrs, nodeLocation(n)), { dilations: true });
  const cut: Cut = { lo: [], hi: [], padBegin: [], padEnd: [] };
  let any = false;
  for (let a = 0; a < sp; a++) {
    const K = kernel[a]!, I = x[2 + a]!, O = y[2 + a]!, s = win.strides[a]!, d = win.dilations[a]!;
    const pb = win.padBegin[a]!, pe = win.padEnd[a]!;
    let lo = 0, hi = K;
    while (lo < K && !live(lo, I, O, s, d, pb)) lo++;
    if (lo === K) return `every tap of axis ${a} reads padding`;
    while (hi > lo + 1 && !live(hi - 1, I, O, s, d, pb)) hi--;
    const nb = pb - lo * d, ne = pe - (K - hi) * d;
    if (nb < 0 || ne < 0) return `axis ${a}: cutting taps [0, ${lo}) and [${hi}, ${K}) would need negative pads`;
    if (lo > 0 || hi < K) any = true;
    cut.lo.push(lo); cut.hi.push(hi); cut.padBegin.push(nb); cut.padEnd.push(ne);
  }
  return any ? cut : 'every tap reads the input somewhere';
}

export const deadTapRules: Rule[] = [
  {
    name: 'conv-dead-taps',
    family: FAMILY,
    summary: 'Conv whose first / last kernel taps read only padding -> Conv with those taps cut from the weights and the pads',
    pattern: P.op('Conv', [P.any('x'), P.const('w')]),
    guard: (m): GuardResult => {
      const c = deadTapCut(m.root);
      return typeof c === 'string' ? c : true;
    },
    replace: (m, b) => {
      const c = deadTapCut(m.root);
      if (typeof c === 'string') return null;
      // w[:, :, lo0:hi0, lo1:hi1, ...], by Slice's reference semantics
      const i64 = (v: number[]) => Tensor.fromNumbers('int64', [v.length], v);
      const w = evalConst('Slice', [m.consts.w, i64(c.lo), i64(c.hi), i64(c.lo.map((_, a) => 2 + a))]);
      const attrs: Record<string, Attr> = { ...m.root.attrs };
      delete attrs['auto_pad'];
      attrs['kernel_shape'] = { type: 'ints', value: w.shape.slice(2) };
      attrs['pads'] = { type: 'ints', value: [...c.padBegin, ...c.padEnd] };
      const name = m.root.outputs[0]!.name;
      return b.op('Conv', [m.values.x, b.constant(w, `${name}_live_taps`), ...m.root.inputs.slice(2)], attrs);
    },
  },
];
