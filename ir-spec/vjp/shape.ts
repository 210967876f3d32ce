/**
 * Derivative rules of the data-movement ops (reshapes, Transpose, Concat/Split, Slice, Gather,
 * Expand, Pad), as graph IR: each moves the cotangent back the way the op moved the data.
 */
import { Tensor, type Value } from '@aic/core';
import type { GraphBuilder, VjpCtx, VjpDef } from '../types.ts';
import { constInts, dimsOf, normAxis, reshape, sumTo, unaryVjp } from './util.ts';

/** Reshape, Flatten, Squeeze, Unsqueeze: reshape the cotangent back */
export const reshapeBack = unaryVjp((c, x, _y, dy) => reshape(c.b, dy, dimsOf(c, x)));

export const transpose = unaryVjp((c, x, _y, dy) => {
  const r = dimsOf(c, x).length;
  const perm = c.attrs.has('perm') ? c.attrs.ints('perm') : Array.from({ length: r }, (_, i) => r - 1 - i);
  const inv = new Array<number>(r);
  perm.forEach((p, i) => { inv[normAxis(p, r)] = i; });
  return c.b.op1('Transpose', [dy], { perm: inv });
});

/** zeros of v's type */
export const zerosLike = (b: GraphBuilder, shape: readonly number[], like: Value): Value =>
  b.op1('ConstantOfShape', [b.ints(shape)], { value: { type: 'tensor', value: Tensor.fromNumbers(like.dtype, [1], [0]) } });

export const concat: VjpDef = {
  wrt: 'all',
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const r = dimsOf(c, c.y[0]).length, axis = normAxis(c.attrs.int('axis'), r);
    let off = 0;
    return c.x.map((x, i) => {
      const n = dimsOf(c, x!)[axis]!;
      const g = c.need[i] ? c.b.op1('Slice', [dy, c.b.ints([off]), c.b.ints([off + n]), c.b.ints([axis])]) : undefined;
      off += n;
      return g;
    });
  },
};

export const split: VjpDef = {
  wrt: [0],
  grad: (c) => {
    const x = c.x[0]!;
    if (c.dy.every((d) => !d)) return [];
    const axis = normAxis(c.attrs.int('axis'), dimsOf(c, x).length);
    const parts = c.y.map((y, i) => c.dy[i] ?? zerosLike(c.b, dimsOf(c, y), y));
    return [parts.length === 1 ? parts[0] : c.b.op1('Concat', parts, { axis })];
  },
};

/** Slice with unit steps: pad the cotangent back to the input's extent */
export const slice: VjpDef = {
  wrt: [0],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const xs = dimsOf(c, c.x[0]!), r = xs.length;
    const starts = constInts(c.x[1]), ends = constInts(c.x[2]);
    const axes = c.x[3] ? constInts(c.x[3]) : starts?.map((_, i) => i);
    const steps = c.x[4] ? constInts(c.x[4]) : starts?.map(() => 1);
    if (!starts || !ends || !axes || !steps) return c.unsupported('Slice with run-time starts, ends, axes or steps');
    if (steps.some((s) => s !== 1)) return [stridedSliceBack(c, dy, xs, starts, ends, axes, steps)];
    const pads = new Array<number>(2 * r).fill(0);
    axes.forEach((a0, i) => {
      const a = normAxis(a0, r), d = xs[a]!;
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      const s = clamp(starts[i]!), e = Math.max(clamp(ends[i]!), s);
      pads[a] = s;
      pads[a + r] = d - e;
    });
    return [pads.every((p) => p === 0) ? dy : c.b.op1('Pad', [dy, c.b.ints(pads)])];
  },
};

/**
 * Slice with steps: each element of dy goes back to the x position it was read from (distinct
 * positions, known from the constant starts / ends / steps as Slice clamps them): a ScatterND of dy
 * into zeros at those positions.
 */
function stridedSliceBack(c: VjpCtx, dy: Value, xs: number[], starts: number[], ends: number[], axes: number[], steps: number[]): Value {
  const r = xs.length;
  const pos: number[][] = xs.map((d) => Array.from({ length: d }, (_, i) => i));
  axes.forEach((a0, i) => {
    const a = normAxis(a0, r), d = xs[a]!, st = steps[i]!;
    const at = (v: number) => (v < 0 ? v + d : v);
    const s = st > 0 ? Math.min(Math.max(at(starts[i]!), 0), d) : Math.min(Math.max(at(starts[i]!), 0), d - 1);
    const e = st > 0 ? Math.min(Math.max(at(ends[i]!), 0), d) : Math.min(Math.max(at(ends[i]!), -1), d - 1);
    const n = Math.max(0, Math.ceil((e - s) / st));
    pos[a] = Array.from({ length: n }, (_, k) => s + k * st);
  });
  const total = pos.reduce((m, p) => m * p.length, 1);
  const idx: number[] = [];
  for (let f = 0; f < total; f++) {
    const at: number[] = new Array<number>(r);
    let rest = f;
    for (let a = r - 1; a >= 0; a--) { at[a] = pos[a]![rest % pos[a]!.length]!; rest = Math.floor(rest / pos[a]!.length); }
    idx.push(...at);
  }
  const zeros = c.b.op1('ConstantOfShape', [c.b.ints(xs)], { value: { type: 'tensor', value: Tensor.fromNumbers(dy.dtype, [1], [0]) } });
  const indices = c.b.constant(Tensor.fromNumbers('int64', [total, r], idx));
  return c.b.op1('ScatterND', [zeros, indices, reshape(c.b, dy, [total])]);
}

/** Gather: scatter-add the cotangent rows back (ScatterND with reduction add; repeated indices add up) */
export const gather: VjpDef = {
  wrt: [0],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const data = c.x[0]!, idx = c.x[1]!;
    const ds = dimsOf(c, data), r = ds.length, ri = dimsOf(c, idx).length;
    const axis = normAxis(c.attrs.int('axis'), r);
    // move the indexed axis (and the index dims in dy) to the front
    const dyPerm = [...Array.from({ length: ri }, (_, i) => axis + i), ...Array.from({ length: axis }, (_, i) => i),
      ...Array.from({ length: r - axis - 1 }, (_, i) => axis + ri + i)];
    const dataPerm = [axis, ...Array.from({ length: axis }, (_, i) => i), ...Array.from({ length: r - axis - 1 }, (_, i) => axis + 1 + i)];
    const upd = axis === 0 ? dy : c.b.op1('Transpose', [dy], { perm: dyPerm });
    const zeros = zerosLike(c.b, dataPerm.map((p) => ds[p]!), data);
    const ind = c.b.op1('Unsqueeze', [idx, c.b.ints([-1])]);
    const sc = c.b.op1('ScatterND', [zeros, ind, upd], { reduction: 'add' });
    if (axis === 0) return [sc];
    const inv = new Array<number>(r);
    dataPerm.forEach((p, i) => { inv[p] = i; });
    return [c.b.op1('Transpose', [sc], { perm: inv })];
  },
};

export const expand = unaryVjp((c, x, _y, dy) => sumTo(c, dy, dimsOf(c, x)));

/** Pad (constant mode, non-negative pads): slice the padding off */
export const pad: VjpDef = {
  wrt: [0],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    if (c.attrs.str('mode') !== 'constant') return c.unsupported(`Pad mode '${c.attrs.str('mode')}'`);
    const xs = dimsOf(c, c.x[0]!), r = xs.length;
    const pads = constInts(c.x[1]);
    if (!pads || c.x[3]) return c.unsupported('Pad with run-time pads or an axes input');
    if (pads.some((p) => p < 0)) return c.unsupported('Pad with negative pads');
    const starts = pads.slice(0, r), ends = starts.map((s, i) => s + xs[i]!);
    return [c.b.op1('Slice', [dy, c.b.ints(starts), c.b.ints(ends), c.b.ints(xs.map((_, i) => i))])];
  },
};

/** ScatterND (reduction none or add): updates take the cotangent at their indices; data keeps the rest */
export const scatterND: VjpDef = {
  wrt: [0, 2],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const red = c.attrs.str('reduction');
    if (red !== 'none' && red !== 'add') return c.unsupported(`ScatterND reduction '${red}'`);
    const [, idx, upd] = [c.x[0]!, c.x[1]!, c.x[2]!];
    const dData = !c.need[0] ? undefined
      : red === 'add' ? dy : c.b.op1('ScatterND', [dy, idx, zerosLike(c.b, dimsOf(c, upd), upd)]);
    return [dData, undefined, c.need[2] ? c.b.op1('GatherND', [dy, idx]) : undefined];
  },
};

/** Tile: dy as [r0, d0, r1, d1, ...] summed over the repeat axes */
export const tile: VjpDef = {
  wrt: [0],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const xs = dimsOf(c, c.x[0]!), reps = constInts(c.x[1]);
    if (!reps) return c.unsupported('Tile with run-time repeats');
    if (reps.every((r) => r === 1)) return [dy];
    const split = reshape(c.b, dy, xs.flatMap((d, i) => [reps[i]!, d]));
    return [c.b.op1('ReduceSum', [split, c.b.ints(xs.map((_, i) => 2 * i))], { keepdims: 0 })];
  },
};

/** GatherElements: scatter-add dy back at the indices (ScatterElements with reduction add) */
export const gatherElements: VjpDef = {
  wrt: [0],
  grad: (c) => {
    const dy = c.dy[0];
    if (!dy) return [];
    const data = c.x[0]!;
    const zeros = c.b.op1('ConstantOfShape', [c.b.ints(dimsOf(c, data))], { value: { type: 'tensor', value: Tensor.fromNumbers(dy.dtype, [1], [0]) } });
    return [c.b.op1('ScatterElements', [zeros, c.x[1]!, dy], { axis: c.attrs.int('axis'), reduction: 'add' })];
  },
};
