/**
 * Physical memory layouts of 4-D tensors and the conversions between a value's logical contents
 * (row-major in its logical NCHW / OIHW shape) and the data a laid-out value really holds.
 *
 *   NCHW      [N, C, H, W]                       the plain row-major form (same as no layout)
 *   NHWC      [N, H, W, C]
 *   NC4HW4    [N, ceil(C/4), H, W, 4]            channel c at block c>>2, lane c&3; pad lanes are 0
 *   OIHW4i4o  [ceil(O/4), ceil(I/4), kH, kW, 4, 4]  conv weights for NC4HW4 convolutions:
 *                                                weight (o, i, y, x) at [o>>2, i>>2, y, x, i&3, o&3]
 *   OIHW4o    [ceil(O/4), I, kH, kW, 4]          grouped / depthwise conv weights: (o, i, y, x) at
 *                                                [o>>2, i, y, x, o&3]
 *
 *   NC8HW8 / OIHW8i8o / OIHW8o, NC16HW16 / OIHW16i16o / OIHW16o: the same with 8 / 16 channels per block
 *
 * A Value's `type.shape` is always the logical shape; `type.layout` says how its data is stored.
 */
import type { Layout, Shape, TensorType } from './shape.ts';
import { Tensor, type RValue } from './tensor.ts';

export const LAYOUTS: readonly Layout[] = ['NCHW', 'NHWC', 'NC4HW4', 'OIHW4i4o', 'OIHW4o', 'NC8HW8', 'OIHW8i8o', 'OIHW8o', 'NC16HW16', 'OIHW16i16o', 'OIHW16o'];

/** The channel block of a blocked layout (NCxHWx, OIHWxixo, OIHWxo), else 0. */
export function layoutBlock(l: Layout | undefined): number {
  const m = l && /^(?:NC(\d+)HW\d+|OIHW(\d+)i\d+o|OIHW(\d+)o)$/.exec(l);
  return m ? Number(m[1] ?? m[2] ?? m[3]) : 0;
}

/** The blocked layouts of channel block x: activations, packed dense and grouped conv weights. */
export function blockedLayouts(x: number): { act: Layout; dense: Layout; grouped: Layout } {
  const act = `NC${x}HW${x}`, dense = `OIHW${x}i${x}o`, grouped = `OIHW${x}o`;
  if (![act, dense, grouped].every(isLayout)) throw new Error(`no blocked layouts with ${x} channels per block`);
  return { act, dense, grouped } as { act: Layout; dense: Layout; grouped: Layout };
}

/** Which family a blocked layout belongs to. */
const familyOf = (l: Layout): 'act' | 'dense' | 'grouped' | 'NHWC' =>
  l === 'NHWC' ? 'NHWC' : l.startsWith('NC') ? 'act' : /i\d+o$/.test(l) ? 'dense' : 'grouped';

export function isLayout(s: string): s is Layout {
  return (LAYOUTS as readonly string[]).includes(s);
}

/** True when values of this layout hold data different from the plain row-major logical form. */
export function isPhysicalLayout(l: Layout | undefined): l is Exclude<Layout, 'NCHW'> {
  return l !== undefined && l !== 'NCHW';
}


/** The shape of the data a tensor of logical (4-D, static) `shape` holds in `layout`. */
export function physicalShape(shape: readonly number[], layout: Layout | undefined): number[] {
  if (!isPhysicalLayout(layout)) return shape.slice();
  if (shape.length !== 4) throw new Error(`layout ${layout} needs a 4-D shape, got [${shape.join(', ')}]`);
  const [a, b, h, w] = shape;
  const x = layoutBlock(layout), cx = (n: number) => Math.ceil(n / x);
  switch (familyOf(layout)) {
    case 'NHWC': return [a, h, w, b];
    case 'act': return [a, cx(b), h, w, x];
    case 'dense': return [cx(a), cx(b), h, w, x, x];
    case 'grouped': return [cx(a), b, h, w, x];
  }
}

/** Physical element offset of logical element (a, b, h, w) of a [A, B, H, W] tensor. */
function indexer(layout: Exclude<Layout, 'NCHW'>, [A, B, H, W]: readonly number[]): (a: number, b: number, h: number, w: number) => number {
  const x = layoutBlock(layout), Bx = Math.ceil(B / x);
  const q = (n: number) => Math.floor(n / x), r = (n: number) => n % x;
  switch (familyOf(layout)) {
    case 'NHWC': return (a, b, h, w) => ((a * H + h) * W + w) * B + b;
    case 'act': return (a, b, h, w) => (((a * Bx + q(b)) * H + h) * W + w) * x + r(b);
    case 'dense': return (a, b, h, w) => ((((q(a) * Bx + q(b)) * H + h) * W + w) * x + r(b)) * x + r(a);
    case 'grouped': return (a, b, h, w) => ((((q(a) * B + b) * H + h) * W + w) * x + r(a));
  }
}

type Elems = { [i: number]: unknown; length: number };

/** Logical tensor -> the data a value of `layout` holds (pad elements are zero). */
export function toPhysical(t: Tensor, layout: Layout | undefined): Tensor {
  if (!isPhysicalLayout(layout)) return t;
  if (t.rank !== 4) throw new Error(`layout ${layout}: expected a 4-D tensor, got [${t.shape.join(', ')}]`);
  const out = new Tensor(t.dtype, physicalShape(t.shape, layout));
  const [A, B, H, W] = t.shape;
  const at = indexer(layout, t.shape);
  const src = t.data as Elems, dst = out.data as Elems;
  let k = 0;
  for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) dst[at(a, b, h, w)] = src[k++];
  return out;
}

/**
 * Data held in `layout` -> the logical tensor. The logical shape cannot always be recovered from
 * the physical one (padding), so it is given: `logical` is the value's type shape; its blocked
 * dims must be static, the others may be symbolic (they are read from the data).
 */
export function toLogical(t: Tensor, layout: Layout | undefined, logical: Shape): Tensor {
  if (!isPhysicalLayout(layout)) return t;
  const p = t.shape;
  const want = (i: number): number => {
    const d = logical?.[i];
    if (typeof d !== 'number') throw new Error(`layout ${layout}: logical dim ${i} must be static, type shape is [${logical?.join(', ') ?? '?'}]`);
    return d;
  };
  let shape: number[];
  switch (familyOf(layout)) {
    case 'NHWC': shape = [p[0], p[3], p[1], p[2]]; break;
    case 'act': shape = [p[0], want(1), p[2], p[3]]; break;
    case 'dense': shape = [want(0), want(1), p[2], p[3]]; break;
    case 'grouped': shape = [want(0), p[1], p[2], p[3]]; break;
  }
  const exp = physicalShape(shape, layout);
  if (p.length !== exp.length || p.some((d, i) => d !== exp[i])) {
    throw new Error(`layout ${layout}: data of shape [${p.join(', ')}] does not hold a logical [${shape.join(', ')}] tensor (expected [${exp.join(', ')}])`);
  }
  const out = new Tensor(t.dtype, shape);
  const [A, B, H, W] = shape;
  const at = indexer(layout, shape);
  const src = t.data as Elems, dst = out.data as Elems;
  let k = 0;
  for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) dst[k++] = src[at(a, b, h, w)];
  return out;
}

/** The logical contents of a runtime value whose type is `type` (the interpreter's input side). */
export function logicalValue(type: TensorType, x: RValue): RValue {
  return x instanceof Tensor && isPhysicalLayout(type.layout) ? toLogical(x, type.layout, type.shape) : x;
}

/** What a value of type `type` holds for logical contents `x` (the interpreter's output side). */
export function physicalValue(type: TensorType, x: RValue): RValue {
  return x instanceof Tensor && isPhysicalLayout(type.layout) ? toPhysical(x, type.layout) : x;
}
