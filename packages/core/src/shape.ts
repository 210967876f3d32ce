/** Static or symbolic dimensions and numpy broadcasting over them. */
import { diag } from './diagnostics.ts';
export type Dim = number | string;
/** undefined = unknown rank. */
export type Shape = Dim[] | undefined;

/**
 * Memory layout of a 4-D tensor (conversions in layout.ts). Activations: NC4HW4 = [N, ceil(C/4), H,
 * W, 4] with zero-padded channels. Conv weights packed for NC4HW4 kernels: OIHW4i4o = [ceil(O/4),
 * ceil(I/4), kH, kW, 4i, 4o], OIHW4o = [ceil(O/4), I, kH, kW, 4o] (grouped / depthwise).
 */
export type Layout = 'NCHW' | 'NHWC'
  | 'NC4HW4' | 'OIHW4i4o' | 'OIHW4o'
  /** the same blocked layouts with 8 / 16 channels per block (targets with wider vectors) */
  | 'NC8HW8' | 'OIHW8i8o' | 'OIHW8o' | 'NC16HW16' | 'OIHW16i16o' | 'OIHW16o';

export interface TensorType {
  dtype: import('./dtype.ts').DType;
  /** logical shape (NCHW order for 4-D activations, whatever the layout) */
  shape: Shape;
  /** physical layout; absent = plain row-major of `shape` */
  layout?: Layout;
}

export function isStatic(shape: Shape): shape is number[] {
  return shape !== undefined && shape.every((d) => typeof d === 'number');
}

let symCounter = 0;
/** A fresh symbolic dim name for results that cannot be determined statically. */
export function freshDim(prefix = 'd'): string {
  return `${prefix}${symCounter++}`;
}

/** The most dims a tensor may have (numpy's limit): a rank read from data past it is a bad model. */
export const MAX_RANK = 64;

/** `rank` fresh symbolic dims, for a result whose rank is the length of a shape input (checked first). */
export function freshDims(rank: number, what: string): string[] {
  if (!Number.isSafeInteger(rank) || rank < 0 || rank > MAX_RANK) throw diag.rankTooLarge(what, rank, MAX_RANK);
  return Array.from({ length: rank }, () => freshDim());
}

/** Multidirectional (numpy) broadcasting. Throws a message string on mismatch. */
export function broadcastShapes(shapes: Shape[]): Shape {
  if (shapes.some((s) => s === undefined)) return undefined;
  const ss = shapes as Dim[][];
  const rank = Math.max(0, ...ss.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of ss) {
      const k = s.length - rank + i;
      if (k < 0) continue;
      const e = s[k]!;
      if (e === 1) continue;
      if (d === 1) { d = e; continue; }
      if (d === e) continue;
      if (typeof d === 'number' && typeof e === 'number') {
        throw new BroadcastError(ss);
      }
      // symbolic vs other: keep the static one if any (the runtime must match it)
      if (typeof d === 'string' && typeof e === 'number') d = e;
    }
    out.push(d);
  }
  return out;
}

export class BroadcastError extends Error {
  constructor(readonly shapes: Dim[][]) {
    super(`shapes ${shapes.map((s) => `[${s.join(', ')}]`).join(' and ')} do not broadcast`);
  }
}

/** Static broadcasting of concrete shapes. */
export function broadcastStatic(shapes: readonly (readonly number[])[]): number[] {
  return broadcastShapes(shapes.map((s) => s.slice())) as number[];
}

export function shapeEquals(a: Shape, b: Shape): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
