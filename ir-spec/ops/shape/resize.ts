/**
 * Resize and Upsample (imported in Resize form): interpolation along every axis.
 */
import { Tensor, castScalar, diag, freshDim, isFloat, type DType } from '@aic/core';
import { defineOp } from '../../registry.ts';
import type { EvalCtx, InferCtx, LowerCtx, OnnxImportView, OpDef, OutType } from '../../types.ts';
import {
  E, S, isFloatT, lowerCompute, mapStmt, numel, type Expr, type ScalarType, type Stmt, type TensorRef,
} from '@aic/loop-ir';
import { intList, product } from '../../lib/util.ts';
import { FLOATS, NUMERIC, requireDtype } from '../../lib/infer-helpers.ts';
import { planAxis, resizeData, type ResizeParams } from '../../lib/shape.ts';
import { CAT, loc, verr, axisOf, i64, vctx, inRef, present, constOf, F64, ne, clampI, anyOf } from './common.ts';

// ---- Resize / Upsample ---------------------------------------------------------------------------------------
const LEGACY = 'aic_legacy_upsample';
const COORD_MODES = ['half_pixel', 'half_pixel_symmetric', 'pytorch_half_pixel', 'align_corners', 'asymmetric',
  'tf_half_pixel_for_nn', 'tf_crop_and_resize'];

function resizeParams(ctx: InferCtx | EvalCtx): ResizeParams {
  const a = ctx.attrs;
  const p: ResizeParams = {
    mode: a.str('mode'), coord: a.str('coordinate_transformation_mode'), nearestMode: a.str('nearest_mode'),
    cubicA: a.float('cubic_coeff_a'), excludeOutside: a.int('exclude_outside') !== 0,
    extrapolation: a.float('extrapolation_value'), antialias: a.int('antialias') !== 0,
  };
  const r = { op: 'Resize' };
  if (!['nearest', 'linear', 'cubic'].includes(p.mode)) throw diag.unsupportedAttr(r, 'mode', p.mode, loc(ctx));
  if (!COORD_MODES.includes(p.coord)) throw diag.unsupportedAttr(r, 'coordinate_transformation_mode', p.coord, loc(ctx));
  if (!['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'].includes(p.nearestMode)) {
    throw diag.unsupportedAttr(r, 'nearest_mode', p.nearestMode, loc(ctx));
  }
  if (p.antialias && p.mode === 'nearest') throw diag.unsupportedAttr(r, 'antialias', '1 with mode=nearest', loc(ctx));
  const pol = a.str('keep_aspect_ratio_policy');
  if (!['stretch', 'not_larger', 'not_smaller'].includes(pol)) throw diag.unsupportedAttr(r, 'keep_aspect_ratio_policy', pol, loc(ctx));
  return p;
}

/** Output shape and full per-axis scales from static input dims and the scales/sizes values. */
function resizePlan(ctx: InferCtx | EvalCtx, inShape: readonly number[], scalesIn: number[] | undefined,
  sizesIn: number[] | undefined): { out: number[]; scales: number[] } {
  const r = inShape.length;
  const axes = ctx.attrs.has('axes') ? ctx.attrs.ints('axes').map((x) => axisOf(ctx, x, r)) : Array.from({ length: r }, (_, i) => i);
  if (new Set(axes).size !== axes.length) throw verr(ctx, 'axes contains duplicates');
  if ((scalesIn === undefined) === (sizesIn === undefined)) throw verr(ctx, 'exactly one of scales and sizes must be given');
  const policy = ctx.attrs.str('keep_aspect_ratio_policy');
  const scales = new Array<number>(r).fill(1);
  const out = inShape.slice();
  if (scalesIn) {
    if (scalesIn.length !== axes.length) throw verr(ctx, `scales has ${scalesIn.length} entries, expected ${axes.length}`);
    axes.forEach((a, i) => {
      const s = scalesIn[i]!;
      if (!(s > 0)) throw verr(ctx, `scales must be positive, got ${s}`);
      scales[a] = s;
      out[a] = Math.floor(s * inShape[a]!);
    });
    return { out, scales };
  }
  const sizes = sizesIn!;
  if (sizes.length !== axes.length) throw verr(ctx, `sizes has ${sizes.length} entries, expected ${axes.length}`);
  if (sizes.some((s) => s < 0)) throw verr(ctx, 'sizes must be >= 0');
  axes.forEach((a, i) => { out[a] = sizes[i]!; scales[a] = sizes[i]! / inShape[a]!; });
  if (policy !== 'stretch') {
    const ss = axes.map((a) => scales[a]!);
    const s = policy === 'not_larger' ? Math.min(...ss) : Math.max(...ss);
    for (const a of axes) { scales[a] = s; out[a] = Math.floor(s * inShape[a]! + 0.5); }
  }
  return { out, scales };
}
const nonEmpty = (t: Tensor | undefined) => (t && t.size > 0 ? t : undefined);

/** Resize's signature and semantics; Upsample (imported into the same form) shares them. */
const resizeCore: Omit<OpDef, 'name' | 'summary' | 'onnx'> = {
  category: CAT,
  types: { T1: NUMERIC, T2: FLOATS },
  inputs: [
    { name: 'X', type: 'T1' }, { name: 'roi', type: 'T2', optional: true },
    { name: 'scales', optional: true, shapeData: true }, { name: 'sizes', optional: true, shapeData: true },
  ],
  outputs: [{ name: 'Y', type: 'T1' }],
  attrs: {
    antialias: { type: 'int', default: 0 }, axes: { type: 'ints' },
    coordinate_transformation_mode: { type: 'string', default: 'half_pixel' },
    cubic_coeff_a: { type: 'float', default: -0.75 }, exclude_outside: { type: 'int', default: 0 },
    extrapolation_value: { type: 'float', default: 0 }, keep_aspect_ratio_policy: { type: 'string', default: 'stretch' },
    mode: { type: 'string', default: 'nearest' }, nearest_mode: { type: 'string', default: 'round_prefer_floor' },
    [LEGACY]: { type: 'int', default: 0, doc: 'internal: imported from Upsample / Resize-10 (dropped on export)' },
  },
  lower: lowerResize,
  infer: (ctx: InferCtx): OutType[] => {
    const t = ctx.type(0);
    const p = resizeParams(ctx);
    if (p.mode !== 'nearest' && !isFloat(t.dtype)) throw diag.unsupportedDtype(`Resize (mode ${p.mode}) input 0`, t.dtype, loc(ctx));
    requireDtype(ctx, 0, NUMERIC);
    if (!t.shape) return [{ dtype: t.dtype, shape: undefined }];
    const sc = ctx.inputTypes[2] ? nonEmpty(ctx.constValue(2)) : undefined;
    const sz = ctx.inputTypes[3] ? nonEmpty(ctx.constValue(3)) : undefined;
    const known = (sc || sz) && t.shape.every((d) => typeof d === 'number');
    if (!known) return [{ dtype: t.dtype, shape: t.shape.map(() => freshDim()) }];
    const plan = resizePlan(ctx, t.shape as number[], sc?.toNumbers(), sz ? intList(sz) : undefined);
    return [{ dtype: t.dtype, shape: plan.out }];
  },
  eval: (ctx: EvalCtx) => {
    const x = ctx.input(0);
    const p = resizeParams(ctx);
    if (p.mode !== 'nearest' && !isFloat(x.dtype)) throw diag.unsupportedDtype(`Resize (mode ${p.mode}) input 0`, x.dtype, loc(ctx));
    if (x.dtype === 'string' || x.dtype === 'bool') throw diag.unsupportedDtype('Resize input 0', x.dtype, loc(ctx));
    const sc = nonEmpty(ctx.optInput(2)), sz = nonEmpty(ctx.optInput(3));
    if (ctx.attrs.int(LEGACY) && p.mode === 'nearest' && sc && sc.toNumbers().some((v) => v < 1 || v !== Math.floor(v))) {
      throw diag.unsupportedFeature(`${ctx.node.op} (opset <= 10) nearest with non-integer scales [${sc.toNumbers().join(', ')}]`, loc(ctx));
    }
    const plan = resizePlan(ctx, x.shape, sc?.toNumbers(), sz ? intList(sz) : undefined);
    let roi: number[] | undefined;
    const roiT = nonEmpty(ctx.optInput(1));
    if (p.coord === 'tf_crop_and_resize') {
      const r = x.rank;
      const axes = ctx.attrs.has('axes') ? ctx.attrs.ints('axes').map((a) => axisOf(ctx, a, r)) : Array.from({ length: r }, (_, i) => i);
      roi = [...new Array<number>(r).fill(0), ...new Array<number>(r).fill(1)];
      if (roiT) {
        const rv = roiT.toNumbers();
        if (rv.length !== 2 * axes.length) throw verr(ctx, `roi has ${rv.length} entries, expected ${2 * axes.length}`);
        axes.forEach((a, i) => { roi![a] = rv[i]!; roi![r + a] = rv[axes.length + i]!; });
      }
    }
    const data = resizeData(x, plan.out, plan.scales, p, roi);
    return [Tensor.fromNumbers(x.dtype, plan.out, data)];
  },
  flops: (ctx: InferCtx, outs: OutType[]) => {
    const s = outs[0]!.shape;
    if (!s || s.some((d) => typeof d !== 'number')) return 0;
    const m = ctx.attrs.str('mode');
    return product(s as number[]) * (m === 'cubic' ? 8 : m === 'linear' ? 4 : 0) * s.length;
  },
};
defineOp({
  name: 'Resize', summary: 'resize with nearest / linear / cubic interpolation (scales or sizes, roi, antialias)',
  ...resizeCore,
  onnx: {
    since: 10,
    // Resize-10 (inputs X, scales) has the Upsample semantics
    fromOnnx: (v) => { if (v.opset < 11) upsampleToResize(v); },
    toOnnx: (v) => { delete v.attrs[LEGACY]; },
  },
});

/**
 * Upsample-7/9 and Resize-10 -> Resize: asymmetric coordinates, nearest = floor. These opsets define
 * nearest only for integer scales (np.repeat), so the marker attribute LEGACY makes other scales unsupported.
 */
function upsampleToResize(v: OnnxImportView): void {
  if (v.attrs.scales) {
    const s = v.attrs.scales.value as number[];
    v.inputs[1] = v.constInput(Tensor.fromNumbers('float32', [s.length], s));
    delete v.attrs.scales;
  }
  const mode = v.attrs.mode && v.attrs.mode.type === 'string' ? v.attrs.mode.value : 'nearest';
  const m = mode === 'bilinear' ? 'linear' : mode;
  // inputs: X, scales -> X, roi (omitted), scales
  v.inputs = [v.inputs[0] ?? null, null, v.inputs[1] ?? null];
  v.attrs = {
    mode: { type: 'string', value: m },
    coordinate_transformation_mode: { type: 'string', value: 'asymmetric' },
    nearest_mode: { type: 'string', value: 'floor' },
    [LEGACY]: { type: 'int', value: 1 },
  };
}

defineOp({
  name: 'Upsample', summary: 'deprecated; imported in Resize form (asymmetric coordinates) and evaluated as Resize',
  ...resizeCore,
  onnx: { since: 7, until: 9, fromOnnx: upsampleToResize },
});


// ---- Compute definitions (lowering to loop IR); each mirrors the eval above. ----

// ---- Resize ----
/** One axis of a resize at output position j: the taps (clamped source index, weight) as planAxis computes them. */
interface TapPlan { taps: { idx: Expr; w: Expr }[]; outside?: Expr; chosen?: Expr }
/**
 * Loop IR for planAxis/sourceCoord/coeffs of lib/shape.ts at output position `j` (same double-precision
 * operations in the same order); `k` builds the statement that uses the plan, wrapped in the lets.
 */
function resizeAxisStmt(ctx: LowerCtx, p: ResizeParams, inLen: number, outLen: number, scale: number,
  roi: [Expr, Expr] | undefined, j: Expr, k: (plan: TapPlan) => Stmt): Stmt {
  const lets: { v: string; t: ScalarType; val: Expr }[] = [];
  const bind = (prefix: string, t: ScalarType, val: Expr): Expr => {
    if (val.k === 'const' || val.k === 'var') return val;
    const v = ctx.fresh(prefix);
    lets.push({ v, t, val });
    return E.v(v, t);
  };
  const X = bind('x', 'f64', E.cast(j, 'f64'));
  const outF = scale * inLen;
  const halfPixel = () => E.sub(E.div(E.add(X, F64(0.5)), F64(scale)), F64(0.5));
  let xo: Expr;
  let outside: Expr | undefined;
  switch (p.coord) {
    case 'half_pixel': xo = halfPixel(); break;
    case 'half_pixel_symmetric': {
      const adjustment = outLen / outF;
      const center = inLen / 2;
      const offset = center * (1 - adjustment);
      xo = E.sub(E.add(F64(offset), E.div(E.add(X, F64(0.5)), F64(scale))), F64(0.5));
      break;
    }
    case 'pytorch_half_pixel': xo = outF === 1 ? F64(-0.5) : halfPixel(); break;
    case 'align_corners': xo = outF === 1 ? F64(0) : E.div(E.mul(X, F64(inLen - 1)), F64(outF - 1)); break;
    case 'asymmetric': xo = E.div(X, F64(scale)); break;
    case 'tf_half_pixel_for_nn': xo = E.div(E.add(X, F64(0.5)), F64(scale)); break;
    case 'tf_crop_and_resize': {
      const [r0, r1] = roi ?? [F64(0), F64(1)];
      const R0 = bind('r0', 'f64', r0), R1 = bind('r1', 'f64', r1);
      const v = outF === 1 ? E.div(E.mul(E.sub(R1, R0), F64(inLen - 1)), F64(2))
        : E.div(E.mul(E.mul(X, E.sub(R1, R0)), F64(inLen - 1)), F64(outF - 1));
      xo = bind('xo', 'f64', E.add(v, E.mul(R0, F64(inLen - 1))));
      outside = E.or(E.lt(xo, F64(0)), E.gt(xo, F64(inLen - 1)));
      break;
    }
    default: return ctx.unsupported(`coordinate_transformation_mode '${p.coord}'`);
  }
  const XO = bind('xo', 'f64', xo);
  const FL = bind('fl', 'f64', E.call('floor', XO));
  const isInt = E.eq(XO, FL);
  const BASE = bind('base', 'i32', E.cast(E.select(isInt, E.sub(FL, F64(1)), FL), 'i32'));
  const R = bind('ratio', 'f64', E.select(isInt, F64(1), E.sub(XO, FL)));
  let start = 0;
  let cs: Expr[];
  const A = p.cubicA;
  const normalize = (c: Expr[]): Expr[] => {
    const sum = bind('sum', 'f64', c.reduce((a, b) => E.add(a, b)));
    return c.map((v) => bind('w', 'f64', E.div(v, sum)));
  };
  if (p.mode === 'nearest') {
    const m = p.nearestMode === 'round_prefer_floor' ? E.select(E.le(R, F64(0.5)), F64(1), F64(0))
      : p.nearestMode === 'round_prefer_ceil' ? E.select(E.lt(R, F64(0.5)), F64(1), F64(0))
      : p.nearestMode === 'floor' ? F64(1) : F64(0);
    const c0 = bind('c', 'f64', E.select(E.eq(R, F64(1)), F64(0), m));
    cs = [c0, bind('c', 'f64', E.sub(F64(1), c0))];
  } else if (p.mode === 'linear' && !p.antialias) {
    cs = [bind('c', 'f64', E.sub(F64(1), R)), R];
  } else if (p.mode === 'linear') {
    const s = Math.min(scale, 1);
    start = Math.floor(-1 / s) + 1;
    const fp = 2 - 2 * start;
    const raw: Expr[] = [];
    for (let i = 0; i < fp; i++) {
      raw.push(bind('c', 'f64', E.min(F64(1), E.max(F64(0), E.sub(F64(1), E.abs(E.mul(E.sub(F64(start + i), R), F64(s))))))));
    }
    cs = normalize(raw);
  } else if (p.mode === 'cubic' && !p.antialias) {
    start = -1;
    const Q = bind('q', 'f64', E.sub(F64(1), R));
    const far = (t: Expr) => { const t1 = bind('t', 'f64', E.add(t, F64(1))); return E.sub(E.mul(E.add(E.mul(E.sub(E.mul(F64(A), t1), F64(5 * A)), t1), F64(8 * A)), t1), F64(4 * A)); };
    const near = (t: Expr) => E.add(E.mul(E.mul(E.sub(E.mul(F64(A + 2), t), F64(A + 3)), t), t), F64(1));
    cs = [bind('c', 'f64', far(R)), bind('c', 'f64', near(R)), bind('c', 'f64', near(Q)), bind('c', 'f64', far(Q))];
  } else if (p.mode === 'cubic') {
    const s = Math.min(scale, 1);
    const iStart = Math.floor(-2 / s) + 1, iEnd = 2 - iStart;
    start = iStart;
    const raw: Expr[] = [];
    for (let i = iStart; i < iEnd; i++) {
      const x = bind('ax', 'f64', E.abs(E.mul(F64(s), E.sub(F64(i), R))));
      const c1 = E.add(E.mul(E.mul(E.sub(E.mul(F64(A + 2), x), F64(A + 3)), x), x), F64(1));
      const c2 = E.sub(E.mul(E.add(E.mul(E.sub(E.mul(F64(A), x), F64(5 * A)), x), F64(8 * A)), x), F64(4 * A));
      raw.push(bind('c', 'f64', E.select(E.le(x, F64(1)), c1, E.select(E.lt(x, F64(2)), c2, F64(0)))));
    }
    cs = normalize(raw);
  } else return ctx.unsupported(`mode '${p.mode}'`);
  const idxs = cs.map((_, i) => bind('ix', 'i32', E.add(BASE, E.i(start + i))));
  if (p.excludeOutside) {
    cs = normalize(cs.map((c, i) => bind('c', 'f64', E.select(E.or(E.lt(idxs[i]!, E.i(0)), E.ge(idxs[i]!, E.i(inLen))), F64(0), c))));
  }
  const taps = cs.map((w, i) => ({ idx: bind('ci', 'i32', clampI(idxs[i]!, 0, inLen - 1)), w }));
  // nearest: the tap whose weight is 1 (c = [1, 0] or [0, 1])
  const chosen = p.mode === 'nearest' ? E.select(E.eq(cs[0]!, F64(1)), taps[0]!.idx, taps[1]!.idx) : undefined;
  let body = k({ taps, outside, chosen });
  // wrap in the lets, dropping those nothing reads (C warns about unused variables)
  for (let i = lets.length - 1; i >= 0; i--) {
    if (usesVar(body, lets[i]!.v)) body = S.let(lets[i]!.v, lets[i]!.t, lets[i]!.val, body);
  }
  return body;
}

function usesVar(s: Stmt, v: string): boolean {
  let used = false;
  mapStmt(s, (e) => { if (e.k === 'var' && e.name === v) used = true; return e; });
  return used;
}

function lowerResize(ctx: LowerCtx): void {
  const c = vctx(ctx);
  const x = inRef(ctx, 0), out = ctx.outputs[0]!;
  const p = resizeParams(c);
  if (p.mode !== 'nearest' && !isFloatT(x.dtype)) ctx.unsupported(`mode ${p.mode} on ${x.dtype}`);
  if (x.dtype === 'bool') ctx.unsupported('bool input');
  const scT = present(ctx, 2) ? constOf(ctx, 2, 'scales') : undefined;
  const szT = present(ctx, 3) ? constOf(ctx, 3, 'sizes') : undefined;
  const sc = scT?.toNumbers(), sz = szT ? intList(szT) : undefined;
  if (ctx.attrs.int(LEGACY) && p.mode === 'nearest' && sc && sc.some((v) => v < 1 || v !== Math.floor(v))) {
    ctx.unsupported(`${ctx.node.op} (opset <= 10) nearest with non-integer scales`);
  }
  const r = x.shape.length;
  const plan = resizePlan(c, x.shape, sc, sz);
  if (plan.out.some((d, i) => d !== out.shape[i])) ctx.unsupported('output shape disagrees with the resize plan');
  if (numel(out.shape) === 0) { ctx.compute(0, () => E.c(0, out.dtype)); return; }
  if (x.shape.some((d) => d === 0)) ctx.unsupported('resize of an empty input');
  const tfCrop = p.coord === 'tf_crop_and_resize';
  let roiOf: (a: number) => [Expr, Expr] | undefined = () => undefined;
  if (tfCrop) {
    const axes = ctx.attrs.has('axes') ? ctx.attrs.ints('axes').map((a) => axisOf(c, a, r)) : Array.from({ length: r }, (_, i) => i);
    const roi = present(ctx, 1);
    if (roi && numel(roi.shape) !== 2 * axes.length) ctx.unsupported(`roi has ${numel(roi.shape)} entries, expected ${2 * axes.length}`);
    roiOf = (a) => {
      const i = axes.indexOf(a);
      if (!roi || i < 0) return [F64(0), F64(1)];
      return [E.cast(roi.flat(E.i(i)), 'f64'), E.cast(roi.flat(E.i(axes.length + i)), 'f64')];
    };
  }
  // axes whose plan is exactly the identity (one tap of weight 1 at the same index) are skipped
  const identity = (a: number): boolean => {
    if (tfCrop || x.shape[a] !== out.shape[a]) return false;
    const pl = planAxis(p, x.shape[a]!, out.shape[a]!, plan.scales[a]!, undefined);
    for (let j = 0; j < out.shape[a]!; j++) {
      if (pl.outside[j]) return false;
      const nz = [...pl.w[j]!.keys()].filter((k) => pl.w[j]![k] !== 0);
      if (nz.length !== 1 || pl.w[j]![nz[0]!] !== 1 || pl.idx[j]![nz[0]!] !== j) return false;
    }
    return true;
  };
  const active: number[] = [];
  for (let a = r - 1; a >= 0; a--) if (!identity(a)) active.push(a);
  const planLoop = (a: number, f: (j: Expr, tp: TapPlan) => Stmt): void => {
    const j = ctx.fresh('j');
    ctx.extern([], S.for(j, out.shape[a]!, resizeAxisStmt(ctx, p, x.shape[a]!, out.shape[a]!, plan.scales[a]!, roiOf(a), E.v(j), (tp) => f(E.v(j), tp))));
  };

  if (p.mode === 'nearest' && !p.excludeOutside) {
    // one tap of weight 1 per axis: a gather (exact for every dtype); outside (tf_crop_and_resize) -> extrapolation_value
    const src = new Map<number, TensorRef>(), outs = new Map<number, TensorRef>();
    for (const a of active) {
      const t = ctx.temp('ridx', 'i32', [out.shape[a]!]);
      src.set(a, t);
      const o = tfCrop ? ctx.temp('rout', 'i32', [out.shape[a]!]) : undefined;
      if (o) outs.set(a, o);
      planLoop(a, (j, tp) => S.seq(S.store(t.buf.name, j, tp.chosen!), ...(o ? [S.store(o.buf.name, j, E.cast(tp.outside!, 'i32'))] : [])));
    }
    const ext = E.c(castScalar(p.extrapolation, scalarToDtype(out.dtype)), out.dtype);
    ctx.compute(0, (idx) => {
      const v = x.at(...idx.map((v, a) => src.get(a)?.flat(v) ?? v));
      const cs = [...outs.entries()].map(([a, o]) => ne(o.flat(idx[a]!), E.i(0)));
      return cs.length ? E.select(anyOf(cs), ext, v) : v;
    });
    return;
  }
  if (!isFloatT(x.dtype)) ctx.unsupported(`mode ${p.mode} with exclude_outside on ${x.dtype}`);
  if (active.length === 0) { ctx.compute(0, (idx) => E.cast(x.at(...idx), out.dtype)); return; }
  // separable passes, innermost axis first, in double precision (as resizeData)
  let cur: TensorRef = x;
  const shape = x.shape.slice();
  active.forEach((a, n) => {
    const inLen = shape[a]!, outLen = out.shape[a]!;
    const last = n === active.length - 1;
    let taps = 0;
    // count taps by planning a dummy statement
    resizeAxisStmt(ctx, p, inLen, outLen, plan.scales[a]!, roiOf(a), E.i(0), (tp) => { taps = tp.taps.length; return S.seq(); });
    const idxT = ctx.temp('ridx', 'i32', [outLen * taps]), wT = ctx.temp('rw', 'f64', [outLen * taps]);
    const outT = tfCrop ? ctx.temp('rout', 'i32', [outLen]) : undefined;
    planLoop(a, (j, tp) => S.seq(
      ...tp.taps.flatMap((t, k) => {
        const at = E.add(E.mul(j, E.i(taps)), E.i(k));
        return [S.store(idxT.buf.name, at, t.idx), S.store(wT.buf.name, at, t.w)];
      }),
      ...(outT ? [S.store(outT.buf.name, j, E.cast(tp.outside!, 'i32'))] : []),
    ));
    const O = numel(shape.slice(0, a)), I = numel(shape.slice(a + 1));
    const nextShape = shape.slice(); nextShape[a] = outLen;
    const dst = last ? out : ctx.temp('rbuf', 'f64', nextShape);
    const [o, jj, i, kk] = [ctx.fresh('o'), ctx.fresh('j'), ctx.fresh('i'), ctx.fresh('k')];
    const at = E.add(E.mul(E.v(jj), E.i(taps)), E.v(kk));
    const w = wT.flat(at);
    const srcVal = E.cast(cur.flat(E.add(E.mul(E.add(E.mul(E.v(o), E.i(inLen)), idxT.flat(at)), E.i(I)), E.v(i))), 'f64');
    let val: Expr = E.reduce('sum', [{ name: kk, extent: taps }], E.select(ne(w, F64(0)), E.mul(w, srcVal), F64(0)));
    if (outT) val = E.select(ne(outT.flat(E.v(jj)), E.i(0)), F64(p.extrapolation), val);
    if (last) val = E.cast(val, out.dtype);
    const view = { ...dst.buf, shape: [O, outLen, I] };
    ctx.extern(last ? [0] : [], lowerCompute({ kind: 'compute', out: view, axes: [o, jj, i], body: val }, (pf) => ctx.fresh(pf)));
    cur = dst;
    shape[a] = outLen;
  });
}
const SCALAR_DTYPE: Record<ScalarType, DType> = {
  f32: 'float32', f64: 'float64', i8: 'int8', i16: 'int16', i32: 'int32', i64: 'int64',
  u8: 'uint8', u16: 'uint16', u32: 'uint32', u64: 'uint64', bool: 'bool', f16: 'float16', bf16: 'bfloat16',
};
const scalarToDtype = (t: ScalarType): DType => SCALAR_DTYPE[t];
