/**
 * Physical layouts of buffers (TVM's "layout transform as an index map"). A buffer's `shape` is the
 * shape of the data it stores; a buffer with a `layout` also has a logical shape, and every access
 * written against logical indices (compute definitions, TensorRef.at, the store of a compute stage)
 * goes through the layout's index map. Compute definitions therefore stay logical, and a schedule
 * that splits a blocked logical axis by its block (c = co*B + ci) gets unit-stride accesses back once
 * (co*B + ci) / B and % B fold (codegen/schedule/pack.ts simplifyDivMod).
 *
 * A layout is a list of physical dims, each one logical dim `d`: whole, its outer part ceil(L/B) or
 * its inner part B. NC4HW4 of [N, C, H, W]: [N, C/4, H, W, C%4]; OIHW4i4o of [O, I, kH, kW]:
 * [O/4, I/4, kH, kW, I%4, O%4]. Elements of the padding (lanes past the logical extent) are never
 * read through the map; their contents are unspecified unless the data was packed with zeros.
 */
import { E, flatIndex, type Buffer, type Expr } from './ir.ts';

export interface LayoutDim {
  /** the logical dim */
  dim: number;
  /** block size, for 'outer' / 'inner' */
  block?: number;
  part: 'whole' | 'outer' | 'inner';
  /** a whole dim stored with more elements than the logical extent (zero padding at its end) */
  extent?: number;
}

export interface BufferLayout {
  /** a name for messages and printing (NC4HW4, OIHW4i4o...) */
  name: string;
  /** the logical shape the compute definitions index */
  logical: number[];
  /** physical dims, outermost first */
  dims: LayoutDim[];
}

const extentOf = (d: LayoutDim, logical: readonly number[]) =>
  d.part === 'whole' ? d.extent ?? logical[d.dim] : d.part === 'inner' ? d.block! : Math.ceil(logical[d.dim] / d.block!);

/** The shape of the data a buffer of this layout stores. */
export function physicalShapeOf(l: BufferLayout): number[] {
  return l.dims.map((d) => extentOf(d, l.logical));
}

/** The logical shape of a buffer (its shape when it has no layout). */
export function logicalShape(b: { shape: number[]; layout?: BufferLayout }): number[] {
  return b.layout ? b.layout.logical : b.shape;
}

/** Flat physical offset of the element at logical multi-index idx. */
export function layoutIndex(l: BufferLayout, idx: readonly Expr[]): Expr {
  if (idx.length !== l.logical.length) throw new Error(`layout ${l.name}: index rank ${idx.length} != logical rank ${l.logical.length}`);
  let acc: Expr | undefined;
  for (const d of l.dims) {
    const i = idx[d.dim];
    const p = d.part === 'whole' ? i : d.part === 'outer' ? E.div(i, E.i(d.block!)) : E.mod(i, E.i(d.block!));
    acc = acc === undefined ? p : E.add(E.mul(acc, E.i(extentOf(d, l.logical))), p);
  }
  return acc ?? E.i(0);
}

/** NCxHWx: channels (dim 1 of a 4-D tensor) blocked by x, the block innermost. */
export function blockedChannels(logical: number[], x: number, name = `NC${x}HW${x}`): BufferLayout {
  const dims: LayoutDim[] = [{ dim: 0, part: 'whole' }, { dim: 1, part: 'outer', block: x }, { dim: 2, part: 'whole' }, { dim: 3, part: 'whole' }, { dim: 1, part: 'inner', block: x }];
  return { name, logical: logical.slice(), dims };
}

/** The channel block of a layout built by blockedChannels (or a packed weight's output block), else 0. */
export function channelBlock(l: BufferLayout | undefined, dim = 1): number {
  const inner = l?.dims[l.dims.length - 1];
  return inner && inner.part === 'inner' && inner.dim === dim ? inner.block! : 0;
}

/** Flat offset of logical element idx of buf (through its layout's index map when it has one). */
export function bufferIndex(buf: Buffer, idx: readonly Expr[]): Expr {
  if (buf.layout) return layoutIndex(buf.layout, idx);
  return buf.shape.length === 0 ? E.i(0) : flatIndex(idx as Expr[], buf.shape);
}
