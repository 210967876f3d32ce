/**
 * Miscellaneous ops: detection helpers (NonMaxSuppression, RoiAlign), GridSample, Bernoulli
 * (random: not evaluable deterministically) and the small string ops StringNormalizer and
 * TfIdfVectorizer.
 */
import { Tensor, diag, dtypeFromOnnx, freshDim, nodeLocation, type DType, type Dim } from '@aic/core';
import { defineOp } from '../registry.ts';
import { FLOATS, requireDtype } from '../lib/infer-helpers.ts';
import type { AttrSpec, LowerCtx } from '../types.ts';
import { CHECK_BATCH_INDEX, E, S, rangeMessage, type Expr, type ScalarType, type Stmt, type TensorRef } from '@aic/loop-ir';

// ---- loop-IR helpers shared by the compute definitions below -----------------------------------
/** accumulation type: f64 where the target has it (the references compute with JS numbers) */
const accType = (ctx: LowerCtx): ScalarType => (ctx.target.dtypes.includes('f64') ? 'f64' : 'f32');
/** let-bind `val` to a fresh name of type t for `body` */
function letE(ctx: LowerCtx, p: string, t: ScalarType, val: Expr, body: (v: Expr) => Stmt): Stmt {
  const n = ctx.fresh(p);
  return S.let(n, t, val, body(E.v(n, t)));
}
/** a serial loop with a fresh index variable */
function loop(ctx: LowerCtx, n: number | Expr, body: (i: Expr) => Stmt, p = 'i'): Stmt {
  const v = ctx.fresh(p);
  return S.for(v, n, body(E.v(v)));
}
const store = (t: TensorRef, idx: Expr, v: Expr): Stmt => S.store(t.buf.name, idx, v);
const sum = (...xs: Expr[]): Expr => xs.reduce((a, b) => E.add(a, b));
const iv = (v: number): Expr => E.i(v);
const numelOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// ---- NonMaxSuppression --------------------------------------------------------------------------

/** The reference selection: (batch, class, box) triples, flat. Throws on invalid inputs. */
function nmsSelect(boxes: Tensor, scores: Tensor, maxT: Tensor | undefined, iouTT: Tensor | undefined, sT: Tensor | undefined, center: boolean): number[] {
  if (boxes.rank !== 3 || boxes.shape[2] !== 4) throw diag.verify('NonMaxSuppression', `boxes must be [batch, boxes, 4], got [${boxes.shape.join(', ')}]`);
  const [B, N] = boxes.shape as [number, number];
  if (scores.rank !== 3 || scores.shape[0] !== B || scores.shape[2] !== N) {
    throw diag.shapeMismatch('NonMaxSuppression', `scores [${scores.shape.join(', ')}] do not match boxes [${boxes.shape.join(', ')}]`);
  }
  const C = scores.shape[1]!;
  const maxOut = maxT ? Math.max(0, maxT.num[0]!) : 0;
  const iouT = iouTT ? iouTT.num[0]! : 0;
  const scoreT = sT ? sT.num[0]! : -Infinity;
  if (iouT < 0 || iouT > 1) throw diag.runtime('NonMaxSuppression', `iou_threshold ${iouT} must be in [0, 1]`);
  const bx = boxes.num, sc = scores.num;
  /** [ymin, xmin, ymax, xmax] of box i in batch b */
  const corners = (b: number, i: number): [number, number, number, number] => {
    const o = (b * N + i) * 4;
    if (center) {
      const xc = bx[o], yc = bx[o + 1], w = bx[o + 2], h = bx[o + 3];
      return [yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2];
    }
    const y1 = bx[o], x1 = bx[o + 1], y2 = bx[o + 2], x2 = bx[o + 3];
    return [Math.min(y1, y2), Math.min(x1, x2), Math.max(y1, y2), Math.max(x1, x2)];
  };
  const suppress = (a: number[], b: number[]): boolean => {
    const iy1 = Math.max(a[0], b[0]), ix1 = Math.max(a[1], b[1]);
    const iy2 = Math.min(a[2], b[2]), ix2 = Math.min(a[3], b[3]);
    const inter = Math.max(0, iy2 - iy1) * Math.max(0, ix2 - ix1);
    if (inter <= 0) return false;
    const areaA = (a[2] - a[0]) * (a[3] - a[1]), areaB = (b[2] - b[0]) * (b[3] - b[1]);
    const union = areaA + areaB - inter;
    if (areaA <= 0 || areaB <= 0 || union <= 0) return false;
    return inter / union > iouT;
  };
  const sel: number[] = [];
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) {
    if (maxOut === 0) continue;
    const cand: number[] = [];
    for (let i = 0; i < N; i++) if (sc[(b * C + c) * N + i] > scoreT) cand.push(i);
    cand.sort((i, j) => sc[(b * C + c) * N + j] - sc[(b * C + c) * N + i] || i - j);
    const kept: number[][] = [];
    for (const i of cand) {
      if (kept.length >= maxOut) break;
      const box = corners(b, i);
      if (kept.some((k) => suppress(k, box))) continue;
      kept.push(box);
      sel.push(b, c, i);
    }
  }
  return sel;
}

/**
 * NonMaxSuppression as loop IR, per (batch, class): repeatedly take the best unprocessed candidate
 * (highest score, lowest index on ties: the reference's sort order), keep it unless a kept box
 * suppresses it, until max_output_boxes_per_class are kept. Corners and IoU in f64.
 */
function lowerNms(ctx: LowerCtx): void {
  const boxes = ctx.inputs[0]!, scores = ctx.inputs[1]!, Y = ctx.outputs[0]!;
  const mx = ctx.inputs[2], iouI = ctx.inputs[3], stI = ctx.inputs[4];
  const [B, N] = boxes.shape as [number, number];
  const C = scores.shape[1]!;
  if (boxes.shape.length !== 3 || boxes.shape[2] !== 4 || scores.shape.length !== 3 || scores.shape[0] !== B || scores.shape[2] !== N) ctx.unsupported('inconsistent boxes / scores shapes');
  const K = Y.shape[0]!;
  const iouC = ctx.constValue(3);
  if (iouC && (iouC.num[0]! < 0 || iouC.num[0]! > 1)) ctx.unsupported('iou_threshold outside [0, 1]');
  const center = ctx.attrs.int('center_point_box') === 1;
  const A = accType(ctx), c = (v: number) => E.c(v, A), T = scores.dtype;
  const z = iv(0);
  const processed = ctx.temp('done', 'i32', [Math.max(1, N)]);
  const kept = ctx.temp('kept', A, [Math.max(1, N) * 4]);
  const cur = ctx.temp('box', A, [4]);
  // counters: [0] kept count, [1] output count, [2] best index, [3] suppressed, [4] stop
  const cnt = ctx.temp('cnt', 'i32', [5]);
  const get = (k: number) => cnt.flat(iv(k));
  const set = (k: number, v: Expr) => store(cnt, iv(k), v);
  const maxOut = mx ? E.cast(E.min(E.max(E.cast(mx.flat(z), 'i64'), E.c(0, 'i64')), E.c(N, 'i64')), 'i32') : iv(0);
  const iouT = iouI ? E.cast(iouI.flat(z), A) : c(0);
  const bx = (b: Expr, i: Expr, k: number) => E.cast(boxes.flat(sum(E.mul(sum(E.mul(b, iv(N)), i), iv(4)), iv(k))), A);
  const corners = (b: Expr, i: Expr): Stmt => {
    const v = [0, 1, 2, 3].map((k) => bx(b, i, k));
    const vals = center
      ? [E.sub(v[1]!, E.div(v[3]!, c(2))), E.sub(v[0]!, E.div(v[2]!, c(2))), E.add(v[1]!, E.div(v[3]!, c(2))), E.add(v[0]!, E.div(v[2]!, c(2)))]
      : [E.min(v[0]!, v[2]!), E.min(v[1]!, v[3]!), E.max(v[0]!, v[2]!), E.max(v[1]!, v[3]!)];
    return S.seq(...vals.map((e, k) => store(cur, iv(k), e)));
  };
  /** set cnt[3] when kept box q suppresses the current box */
  const suppress = (q: Expr): Stmt => {
    const a = (k: number) => kept.flat(sum(E.mul(q, iv(4)), iv(k))), bb = (k: number) => cur.flat(iv(k));
    return letE(ctx, 'inter', A, E.mul(E.max(c(0), E.sub(E.min(a(2), bb(2)), E.max(a(0), bb(0)))), E.max(c(0), E.sub(E.min(a(3), bb(3)), E.max(a(1), bb(1))))), (inter) =>
      letE(ctx, 'ar', A, E.mul(E.sub(a(2), a(0)), E.sub(a(3), a(1))), (areaA) =>
        letE(ctx, 'ar', A, E.mul(E.sub(bb(2), bb(0)), E.sub(bb(3), bb(1))), (areaB) =>
          letE(ctx, 'un', A, E.sub(E.add(areaA, areaB), inter), (union) =>
            S.if(E.and(E.and(E.gt(inter, c(0)), E.and(E.gt(areaA, c(0)), E.gt(areaB, c(0)))), E.and(E.gt(union, c(0)), E.gt(E.div(inter, union), iouT))),
              set(3, iv(1)))))));
  };
  const body = loop(ctx, B, (b) => loop(ctx, C, (cl) => {
    const sc = (i: Expr) => scores.flat(sum(E.mul(sum(E.mul(b, iv(C)), cl), iv(N)), i));
    const isCand = (i: Expr) => (stI ? E.gt(sc(i), E.cast(stI.flat(z), T)) : E.c(1, 'bool'));
    return S.seq(
      set(0, iv(0)), set(4, iv(0)),
      loop(ctx, N, (i) => store(processed, i, iv(0))),
      loop(ctx, N, () => S.if(E.eq(get(4), iv(0)), S.seq(
        set(2, iv(-1)),
        loop(ctx, N, (i) => S.if(E.and(E.and(isCand(i), E.eq(processed.flat(i), iv(0))),
          E.or(E.lt(get(2), iv(0)), E.gt(sc(i), sc(E.max(get(2), iv(0)))))), set(2, i))),
        S.if(E.or(E.lt(get(2), iv(0)), E.ge(get(0), maxOut)), set(4, iv(1)), letE(ctx, 'best', 'i32', get(2), (best) => S.seq(
          store(processed, best, iv(1)),
          corners(b, best),
          set(3, iv(0)),
          loop(ctx, get(0), (q) => S.if(E.eq(get(3), iv(0)), suppress(q)), 'q'),
          S.if(E.eq(get(3), iv(0)), S.seq(
            ...[0, 1, 2, 3].map((k) => store(kept, sum(E.mul(get(0), iv(4)), iv(k)), cur.flat(iv(k)))),
            set(0, E.add(get(0), iv(1))),
            S.if(E.lt(get(1), iv(K)), S.seq(
              store(Y, E.mul(get(1), iv(3)), E.cast(b, 'i64')),
              store(Y, E.add(E.mul(get(1), iv(3)), iv(1)), E.cast(cl, 'i64')),
              store(Y, E.add(E.mul(get(1), iv(3)), iv(2)), E.cast(best, 'i64')),
            )),
            set(1, E.add(get(1), iv(1))),
          )),
        ))),
      )), 's'),
    );
  }, 'c'), 'b');
  // the output's length is the count of selected boxes (stored when the shape is a bound)
  ctx.extern([0], S.seq(set(1, iv(0)), body, ...(ctx.extent ? [store(ctx.extent, z, E.min(get(1), iv(K)))] : [])));
}

defineOp({
  name: 'NonMaxSuppression', category: 'misc',
  summary: 'greedy per-class box selection by score, suppressing boxes whose IoU with a kept box exceeds iou_threshold; output [k, 3] (batch, class, box)',
  types: { T: ['float32', 'float64'], I: ['int64'] },
  // every input decides how many boxes are selected (the output's length)
  inputs: [
    { name: 'boxes', type: 'T', shapeData: true, countData: true, doc: '[batch, boxes, 4]' },
    { name: 'scores', type: 'T', shapeData: true, countData: true, doc: '[batch, classes, boxes]' },
    { name: 'max_output_boxes_per_class', type: 'I', optional: true, shapeData: true, countData: true },
    { name: 'iou_threshold', type: 'T', optional: true, shapeData: true, countData: true },
    { name: 'score_threshold', type: 'T', optional: true, shapeData: true, countData: true },
  ],
  outputs: [{ name: 'selected_indices', type: 'I' }],
  attrs: { center_point_box: { type: 'int', default: 0, doc: '0: [y1, x1, y2, x2] corners; 1: [x_center, y_center, w, h]' } },
  onnx: { since: 10 },
  infer: (ctx) => {
    const loc = nodeLocation(ctx.node);
    requireDtype(ctx, 0, ['float32', 'float64']);
    const b = ctx.type(0), s = ctx.type(1);
    if (b.shape && (b.shape.length !== 3 || (typeof b.shape[2] === 'number' && b.shape[2] !== 4))) {
      throw diag.verify('NonMaxSuppression', `boxes must be [batch, boxes, 4], got [${b.shape.join(', ')}]`, loc);
    }
    if (s.shape && s.shape.length !== 3) throw diag.verify('NonMaxSuppression', `scores must be [batch, classes, boxes]`, loc);
    const cpb = ctx.attrs.int('center_point_box');
    if (cpb !== 0 && cpb !== 1) throw diag.unsupportedAttr({ op: 'NonMaxSuppression' }, 'center_point_box', String(cpb), loc);
    // all (present) inputs constant: the selection, hence the output length, is known
    const present = [0, 1, 2, 3, 4].filter((i) => i < 2 || ctx.inputTypes[i]);
    if (present.every((i) => ctx.constValue(i))) {
      try {
        const opt = (i: number) => (ctx.inputTypes[i] ? ctx.constValue(i) : undefined);
        const sel = nmsSelect(ctx.constValue(0)!, ctx.constValue(1)!, opt(2), opt(3), opt(4), cpb === 1);
        return [{ dtype: 'int64', shape: [sel.length / 3, 3] }];
      } catch { /* invalid inputs: reported when evaluated */ }
    }
    return [{ dtype: 'int64', shape: [freshDim('selected'), 3] }];
  },
  eval: (ctx) => {
    const sel = nmsSelect(ctx.input(0), ctx.input(1), ctx.optInput(2), ctx.optInput(3), ctx.optInput(4), ctx.attrs.int('center_point_box') === 1);
    return [Tensor.fromNumbers('int64', [sel.length / 3, 3], sel)];
  },
  lower: lowerNms,
  // at most every box of every (batch, class), or max_output_boxes_per_class of them when constant
  maxShape: (ctx) => {
    const b = ctx.type(0).shape, s = ctx.type(1).shape;
    if (!b || !s || typeof b[0] !== 'number' || typeof b[1] !== 'number' || typeof s[1] !== 'number') return [undefined];
    const mx = ctx.inputTypes[2] ? ctx.constValue(2) : undefined;
    const per = mx?.size === 1 ? Math.max(0, Math.min(b[1], Number(mx.num[0]))) : b[1];
    return [[b[0] * s[1] * per, 3]];
  },
});

// ---- RoiAlign -----------------------------------------------------------------------------------

/** RoiAlign as loop IR, mirroring the reference per output element (sample positions and weights in f64). */
function lowerRoiAlign(ctx: LowerCtx): void {
  const X = ctx.inputs[0]!, rois = ctx.inputs[1]!, bidx = ctx.inputs[2]!, Y = ctx.outputs[0]!;
  if (X.shape.length !== 4) ctx.unsupported('X must be 4-D');
  const [N, C, H, W] = X.shape as [number, number, number, number];
  const R = rois.shape[0]!;
  if (rois.shape.length !== 2 || rois.shape[1] !== 4 || numelOf(bidx.shape) !== R) ctx.unsupported('rois / batch_indices are inconsistent');
  const PH = ctx.attrs.int('output_height'), PW = ctx.attrs.int('output_width');
  const ratio = ctx.attrs.int('sampling_ratio'), scale = ctx.attrs.float('spatial_scale');
  const maxMode = ctx.attrs.str('mode') === 'max';
  const half = ctx.attrs.str('coordinate_transformation_mode') === 'half_pixel';
  const A = accType(ctx), c = (v: number) => E.c(v, A), T = Y.dtype;
  const acc = ctx.temp('acc', A, [1]), first = maxMode ? ctx.temp('first', 'i32', [1]) : acc;
  const z = iv(0);
  const off = half ? 0.5 : 0;
  const L = (p: string, v: Expr, body: (x: Expr) => Stmt) => letE(ctx, p, A, v, body);
  const Li = (p: string, v: Expr, body: (x: Expr) => Stmt) => letE(ctx, p, 'i32', v, body);
  const fA = (e: Expr) => E.cast(e, A);
  const body = loop(ctx, R, (n) => Li('b', E.call('check_range', bidx.flat(n), E.i(N), E.i(CHECK_BATCH_INDEX)), (b) => {
    const rv = (k: number) => fA(rois.flat(sum(E.mul(n, iv(4)), iv(k))));
    return S.if(E.and(E.ge(b, z), E.lt(b, iv(N))),
      L('sw', E.sub(E.mul(rv(0), c(scale)), c(off)), (sw) => L('sh', E.sub(E.mul(rv(1), c(scale)), c(off)), (sh) =>
        L('ew', E.sub(E.mul(rv(2), c(scale)), c(off)), (ew) => L('eh', E.sub(E.mul(rv(3), c(scale)), c(off)), (eh) =>
          L('rw', half ? E.sub(ew, sw) : E.max(E.sub(ew, sw), c(1)), (rw) => L('rh', half ? E.sub(eh, sh) : E.max(E.sub(eh, sh), c(1)), (rh) =>
            L('bh', E.div(rh, c(PH)), (bh) => L('bw', E.div(rw, c(PW)), (bw) =>
              Li('gh', ratio > 0 ? iv(ratio) : E.cast(E.call('ceil', E.div(rh, c(PH))), 'i32'), (gh) =>
                Li('gw', ratio > 0 ? iv(ratio) : E.cast(E.call('ceil', E.div(rw, c(PW))), 'i32'), (gw) =>
                  L('cnt', fA(E.max(E.mul(gh, gw), iv(1))), (count) =>
                    loop(ctx, C, (ch) => loop(ctx, PH, (ph) => loop(ctx, PW, (pw) => {
                      const base = E.mul(sum(E.mul(b, iv(C)), ch), iv(H * W));
                      const xAt = (p: Expr) => fA(X.flat(E.add(base, p)));
                      const sample = (iy: Expr, ix: Expr): Stmt =>
                        L('yy', E.add(E.add(sh, E.mul(fA(ph), bh)), E.div(E.mul(E.add(fA(iy), c(0.5)), bh), fA(gh))), (yy) =>
                          L('xx', E.add(E.add(sw, E.mul(fA(pw), bw)), E.div(E.mul(E.add(fA(ix), c(0.5)), bw), fA(gw))), (xx) => {
                            const accumulate = (p: Expr[], w: Expr[]): Stmt => {
                              const t = p.map((pk, k) => E.mul(w[k]!, xAt(pk)));
                              if (!maxMode) return store(acc, z, E.add(acc.flat(z), E.add(E.add(E.add(t[0]!, t[1]!), t[2]!), t[3]!)));
                              return L('v', E.max(E.max(E.max(t[0]!, t[1]!), t[2]!), t[3]!), (v) => S.seq(
                                store(acc, z, E.select(E.bin('ne', first.flat(z), z), v, E.max(acc.flat(z), v))),
                                store(first, z, z)));
                            };
                            const outside = E.or(E.or(E.lt(yy, c(-1)), E.gt(yy, c(H))), E.or(E.lt(xx, c(-1)), E.gt(xx, c(W))));
                            const zeros = [z, z, z, z], w0 = [c(0), c(0), c(0), c(0)];
                            return S.if(outside, accumulate(zeros, w0),
                              Li('yl', E.cast(E.call('trunc', E.max(yy, c(0))), 'i32'), (yl0) => Li('xl', E.cast(E.call('trunc', E.max(xx, c(0))), 'i32'), (xl0) => {
                                const yClamp = E.ge(yl0, iv(H - 1)), xClamp = E.ge(xl0, iv(W - 1));
                                return Li('yl', E.select(yClamp, iv(H - 1), yl0), (yl) => Li('xl', E.select(xClamp, iv(W - 1), xl0), (xl) =>
                                  Li('yh', E.select(yClamp, iv(H - 1), E.add(yl0, iv(1))), (yh) => Li('xh', E.select(xClamp, iv(W - 1), E.add(xl0, iv(1))), (xh) =>
                                    L('ly', E.sub(E.select(yClamp, fA(yl), E.max(yy, c(0))), fA(yl)), (ly) =>
                                      L('lx', E.sub(E.select(xClamp, fA(xl), E.max(xx, c(0))), fA(xl)), (lx) =>
                                        L('hy', E.sub(c(1), ly), (hy) => L('hx', E.sub(c(1), lx), (hx) => accumulate(
                                          [E.add(E.mul(yl, iv(W)), xl), E.add(E.mul(yl, iv(W)), xh), E.add(E.mul(yh, iv(W)), xl), E.add(E.mul(yh, iv(W)), xh)],
                                          [E.mul(hy, hx), E.mul(hy, lx), E.mul(ly, hx), E.mul(ly, lx)])))))))));
                              })));
                          }));
                      return S.seq(
                        store(acc, z, c(0)), ...(maxMode ? [store(first, z, iv(1))] : []),
                        loop(ctx, E.mul(gh, gw), (k) => sample(E.div(k, E.max(gw, iv(1))), E.mod(k, E.max(gw, iv(1)))), 'k'),
                        store(Y, sum(E.mul(sum(E.mul(sum(E.mul(n, iv(C)), ch), iv(PH)), ph), iv(PW)), pw),
                          E.cast(maxMode ? acc.flat(z) : E.div(acc.flat(z), count), T)));
                    }, 'pw'), 'ph'), 'c')))))))))))),
      loop(ctx, C * PH * PW, (k) => store(Y, sum(E.mul(n, iv(C * PH * PW)), k), E.c(0, T))));
  }), 'n');
  ctx.extern([0], body);
}

defineOp({
  name: 'RoiAlign', category: 'misc',
  summary: 'region-of-interest align: bilinearly sampled, avg- or max-pooled bins of each ROI; output [rois, C, output_height, output_width]; a batch index outside [0, N) is a runtime error',
  types: { T1: FLOATS, T2: ['int64'] },
  inputs: [
    { name: 'X', type: 'T1', doc: '[N, C, H, W]' },
    { name: 'rois', type: 'T1', doc: '[num_rois, 4] as (x1, y1, x2, y2)' },
    { name: 'batch_indices', type: 'T2', doc: '[num_rois]' },
  ],
  outputs: [{ name: 'Y', type: 'T1' }],
  attrs: {
    coordinate_transformation_mode: { type: 'string', default: 'half_pixel', doc: "'half_pixel' or 'output_half_pixel' (opset 10 behaviour)" },
    mode: { type: 'string', default: 'avg', doc: "'avg' or 'max'" },
    output_height: { type: 'int', default: 1 },
    output_width: { type: 'int', default: 1 },
    sampling_ratio: { type: 'int', default: 0, doc: 'samples per bin side; 0 = ceil(roi size / output size)' },
    spatial_scale: { type: 'float', default: 1 },
  },
  onnx: {
    since: 10,
    fromOnnx: (v) => {
      // opset 10 had no coordinate_transformation_mode and behaved like output_half_pixel
      if (v.opset < 16 && !v.attrs.coordinate_transformation_mode) {
        v.attrs.coordinate_transformation_mode = { type: 'string', value: 'output_half_pixel' };
      }
    },
  },
  infer: (ctx) => {
    const loc = nodeLocation(ctx.node);
    requireDtype(ctx, 0, FLOATS);
    const x = ctx.type(0), r = ctx.type(1), bi = ctx.type(2);
    if (x.shape && x.shape.length !== 4) throw diag.verify('RoiAlign', `X must be [N, C, H, W], got [${x.shape.join(', ')}]`, loc);
    if (r.shape && (r.shape.length !== 2 || (typeof r.shape[1] === 'number' && r.shape[1] !== 4))) {
      throw diag.verify('RoiAlign', `rois must be [num_rois, 4], got [${r.shape.join(', ')}]`, loc);
    }
    const mode = ctx.attrs.str('mode');
    if (mode !== 'avg' && mode !== 'max') throw diag.unsupportedAttr({ op: 'RoiAlign' }, 'mode', mode, loc);
    const ctm = ctx.attrs.str('coordinate_transformation_mode');
    if (ctm !== 'half_pixel' && ctm !== 'output_half_pixel') throw diag.unsupportedAttr({ op: 'RoiAlign' }, 'coordinate_transformation_mode', ctm, loc);
    const n: Dim = r.shape?.[0] ?? bi.shape?.[0] ?? freshDim('rois');
    return [{ dtype: x.dtype, shape: [n, x.shape?.[1] ?? freshDim('C'), ctx.attrs.int('output_height'), ctx.attrs.int('output_width')] }];
  },
  lower: lowerRoiAlign,
  eval: (ctx) => {
    const X = ctx.input(0), rois = ctx.input(1), bidx = ctx.input(2);
    if (X.rank !== 4) throw diag.verify('RoiAlign', 'X must be 4-D');
    const [N, C, H, W] = X.shape as [number, number, number, number];
    const R = rois.shape[0]!;
    if (rois.rank !== 2 || rois.shape[1] !== 4 || bidx.size !== R) {
      throw diag.shapeMismatch('RoiAlign', `rois [${rois.shape.join(', ')}] / batch_indices [${bidx.shape.join(', ')}] are inconsistent`);
    }
    const PH = ctx.attrs.int('output_height'), PW = ctx.attrs.int('output_width');
    const ratio = ctx.attrs.int('sampling_ratio'), scale = ctx.attrs.float('spatial_scale');
    const maxMode = ctx.attrs.str('mode') === 'max';
    if (!maxMode && ctx.attrs.str('mode') !== 'avg') throw diag.unsupportedAttr({ op: 'RoiAlign' }, 'mode', ctx.attrs.str('mode'));
    const ctm = ctx.attrs.str('coordinate_transformation_mode');
    if (ctm !== 'half_pixel' && ctm !== 'output_half_pixel') throw diag.unsupportedAttr({ op: 'RoiAlign' }, 'coordinate_transformation_mode', ctm);
    const half = ctm === 'half_pixel';
    const Y = new Tensor(X.dtype, [R, C, PH, PW]);
    const x = X.num, y = Y.num, rv = rois.num;
    for (let n = 0; n < R; n++) {
      const b = bidx.num[n]!;
      if (b < 0 || b >= N) throw diag.runtime('RoiAlign', rangeMessage(CHECK_BATCH_INDEX, b, N));
      const off = half ? 0.5 : 0;
      const sw = rv[n * 4] * scale - off, sh = rv[n * 4 + 1] * scale - off;
      const ew = rv[n * 4 + 2] * scale - off, eh = rv[n * 4 + 3] * scale - off;
      let rw = ew - sw, rh = eh - sh;
      if (!half) { rw = Math.max(rw, 1); rh = Math.max(rh, 1); }
      const bh = rh / PH, bw = rw / PW;
      const gh = ratio > 0 ? ratio : Math.ceil(rh / PH), gw = ratio > 0 ? ratio : Math.ceil(rw / PW);
      const count = Math.max(gh * gw, 1);
      // precompute sample positions/weights shared by channels
      const samples: { p: number[]; w: number[] }[] = [];
      for (let ph = 0; ph < PH; ph++) for (let pw = 0; pw < PW; pw++) for (let iy = 0; iy < gh; iy++) {
        const yy = sh + ph * bh + ((iy + 0.5) * bh) / gh;
        for (let ix = 0; ix < gw; ix++) {
          const xx = sw + pw * bw + ((ix + 0.5) * bw) / gw;
          if (yy < -1 || yy > H || xx < -1 || xx > W) { samples.push({ p: [0, 0, 0, 0], w: [0, 0, 0, 0] }); continue; }
          let yv = Math.max(yy, 0), xv = Math.max(xx, 0);
          let yl = Math.trunc(yv), xl = Math.trunc(xv), yh: number, xh: number;
          if (yl >= H - 1) { yh = yl = H - 1; yv = yl; } else yh = yl + 1;
          if (xl >= W - 1) { xh = xl = W - 1; xv = xl; } else xh = xl + 1;
          const ly = yv - yl, lx = xv - xl, hy = 1 - ly, hx = 1 - lx;
          samples.push({ p: [yl * W + xl, yl * W + xh, yh * W + xl, yh * W + xh], w: [hy * hx, hy * lx, ly * hx, ly * lx] });
        }
      }
      for (let c = 0; c < C; c++) {
        const base = (b * C + c) * H * W;
        let si = 0;
        for (let ph = 0; ph < PH; ph++) for (let pw = 0; pw < PW; pw++) {
          let acc = 0, first = true;
          for (let k = 0; k < gh * gw; k++) {
            const s = samples[si++];
            if (maxMode) {
              const v = Math.max(s.w[0] * x[base + s.p[0]], s.w[1] * x[base + s.p[1]], s.w[2] * x[base + s.p[2]], s.w[3] * x[base + s.p[3]]);
              acc = first ? v : Math.max(acc, v);
              first = false;
            } else {
              acc += s.w[0] * x[base + s.p[0]] + s.w[1] * x[base + s.p[1]] + s.w[2] * x[base + s.p[2]] + s.w[3] * x[base + s.p[3]];
            }
          }
          y[((n * C + c) * PH + ph) * PW + pw] = maxMode ? acc : acc / count;
        }
      }
    }
    return [Y];
  },
});

// ---- GridSample ---------------------------------------------------------------------------------

function cubicCoeffs(t: number): number[] {
  const A = -0.75;
  const x = Math.abs(t);
  return [
    ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A,
    ((A + 2) * x - (A + 3)) * x * x + 1,
    ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1,
    ((A * (2 - x) - 5 * A) * (2 - x) + 8 * A) * (2 - x) - 4 * A,
  ];
}

function reflect(x: number, lo: number, hi: number): number {
  const rng = hi - lo;
  if (x < lo) {
    const dx = lo - x, n = Math.trunc(dx / rng), r = dx - n * rng;
    return n % 2 === 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const dx = x - hi, n = Math.trunc(dx / rng), r = dx - n * rng;
    return n % 2 === 0 ? hi - r : lo + r;
  }
  return x;
}

const roundHalfEven = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** GridSample as loop IR: per (n, output point) the per-dimension taps (index or -1, weight) in f64, then per channel the weighted sum in the reference's tap order. */
function lowerGridSample(ctx: LowerCtx): void {
  const X = ctx.inputs[0]!, G = ctx.inputs[1]!, Y = ctx.outputs[0]!;
  const r = X.shape.length - 2;
  const mode = ctx.attrs.str('mode'), pad = ctx.attrs.str('padding_mode');
  const align = ctx.attrs.int('align_corners') !== 0;
  const [N, C] = X.shape as [number, number];
  const dims = X.shape.slice(2);
  if (r < 1 || G.shape.length !== r + 2 || G.shape[r + 1] !== r || G.shape[0] !== N) ctx.unsupported('grid does not fit X');
  if (mode === 'cubic' && r !== 2) ctx.unsupported('cubic mode beyond 2-D');
  // the reference reflects over an empty range (NaN) for a size-1 axis with align_corners
  if (pad === 'reflection' && align && dims.some((d) => d === 1)) ctx.unsupported('reflection padding of a size-1 axis with align_corners');
  const A = accType(ctx), c = (v: number) => E.c(v, A);
  const outSp = G.shape.slice(1, r + 1), nOut = numelOf(outSp), spatial = numelOf(dims);
  const strides = dims.map((_, i) => numelOf(dims.slice(i + 1)));
  const lo = dims.map(() => (align ? 0 : -0.5)), hi = dims.map((d) => (align ? d - 1 : d - 0.5));
  const nt = mode === 'nearest' ? 1 : mode === 'linear' ? 2 : 4;
  const tIdx = ctx.temp('ti', 'i32', [r * nt]), tW = ctx.temp('tw', A, [r * nt]);
  const acc = ctx.temp('acc', A, [1]);
  const isEven = (n: Expr) => E.eq(E.mul(E.call('trunc', E.div(n, c(2))), c(2)), n);
  /** reflect(x, lo, hi) of the reference, in f64 */
  const reflect = (x: Expr, l: number, h: number, body: (v: Expr) => Stmt): Stmt => {
    const rng = c(h - l);
    return letE(ctx, 'dx', A, E.select(E.lt(x, c(l)), E.sub(c(l), x), E.sub(x, c(h))), (dx) =>
      letE(ctx, 'nr', A, E.call('trunc', E.div(dx, rng)), (n) =>
        letE(ctx, 'rr', A, E.sub(dx, E.mul(n, rng)), (rr) =>
          body(E.select(E.lt(x, c(l)), E.select(isEven(n), E.add(c(l), rr), E.sub(c(h), rr)),
            E.select(E.gt(x, c(h)), E.select(isEven(n), E.sub(c(h), rr), E.add(c(l), rr)), x))))));
  };
  /** store tap j of dimension i: index after padding (or -1) of integral k, and weight w */
  const tap = (i: number, j: number, k: Expr, w: Expr): Stmt => {
    const d = dims[i]!;
    const slot = iv(i * nt + j);
    const put = (ix: Expr) => S.seq(store(tIdx, slot, ix), store(tW, slot, w));
    if (pad === 'zeros') return put(E.select(E.and(E.ge(k, c(0)), E.lt(k, c(d))), E.cast(k, 'i32'), iv(-1)));
    if (pad === 'border') return put(E.cast(E.min(E.max(k, c(0)), c(d - 1)), 'i32'));
    return reflect(k, lo[i]!, hi[i]!, (v) => put(E.cast(E.call('trunc', v), 'i32')));
  };
  const dimTaps = (n: Expr, o: Expr, i: number): Stmt => {
    const d = dims[i]!;
    const gv = E.cast(G.flat(sum(E.mul(sum(E.mul(n, iv(nOut)), o), iv(r)), iv(r - 1 - i))), A);
    const v0 = align ? E.mul(E.div(E.add(gv, c(1)), c(2)), c(d - 1)) : E.div(E.sub(E.mul(E.add(gv, c(1)), c(d)), c(1)), c(2));
    return letE(ctx, 'v', A, v0, (v1) => {
      const vn = mode !== 'nearest' ? v1 : r === 3
        ? E.select(E.ge(v1, c(0)), E.call('floor', E.add(v1, c(0.5))), E.call('ceil', E.sub(v1, c(0.5))))
        : E.call('round_even', v1);
      return letE(ctx, 'v', A, vn, (v2) => {
        const out = E.or(E.lt(v2, c(lo[i]!)), E.gt(v2, c(hi[i]!)));
        const withV = (body: (v: Expr) => Stmt): Stmt => {
          if (pad === 'border') return body(E.select(out, E.min(E.max(v2, c(0)), c(d - 1)), v2));
          if (pad === 'reflection') return reflect(v2, lo[i]!, hi[i]!, (rv) => body(E.select(out, rv, v2)));
          return body(v2);
        };
        return withV((vx) => letE(ctx, 'v', A, vx, (v) => {
          if (mode === 'nearest') return tap(i, 0, E.call('trunc', v), c(1));
          return letE(ctx, 'x0', A, E.call('floor', v), (x0) => {
            if (mode === 'linear') {
              return letE(ctx, 't', A, E.sub(v, x0), (t) => S.seq(tap(i, 0, x0, E.sub(c(1), t)), tap(i, 1, E.add(x0, c(1)), t)));
            }
            return letE(ctx, 'x', A, E.abs(E.sub(v, x0)), (x) => {
              const a = c(-0.75), mul = E.mul, add = E.add, sub = E.sub;
              const x1 = add(x, c(1)), omx = sub(c(1), x), tmx = sub(c(2), x);
              const cf = [
                sub(mul(add(mul(sub(mul(a, x1), mul(c(5), a)), x1), mul(c(8), a)), x1), mul(c(4), a)),
                add(mul(mul(sub(mul(add(a, c(2)), x), add(a, c(3))), x), x), c(1)),
                add(mul(mul(sub(mul(add(a, c(2)), omx), add(a, c(3))), omx), omx), c(1)),
                sub(mul(add(mul(sub(mul(a, tmx), mul(c(5), a)), tmx), mul(c(8), a)), tmx), mul(c(4), a)),
              ];
              return S.seq(...[-1, 0, 1, 2].map((k, j) => tap(i, j, add(x0, c(k)), cf[j]!)));
            });
          });
        }));
      });
    });
  };
  const T = Y.dtype;
  const body = loop(ctx, N, (n) => loop(ctx, nOut, (o) => S.seq(
    ...Array.from({ length: r }, (_, i) => dimTaps(n, o, i)),
    loop(ctx, C, (ch) => {
      const base = E.mul(sum(E.mul(n, iv(C)), ch), iv(spatial));
      const ks: Expr[] = [];
      const inner = (i: number): Stmt => {
        if (i === r) {
          const ok = ks.map((k, a) => E.ge(tIdx.flat(sum(iv(a * nt), k)), iv(0))).reduce((p, q) => E.and(p, q));
          const w = ks.map((k, a) => tW.flat(sum(iv(a * nt), k))).reduce((p, q) => E.mul(p, q));
          const off = ks.map((k, a) => E.mul(tIdx.flat(sum(iv(a * nt), k)), iv(strides[a]!))).reduce((p, q) => E.add(p, q));
          return S.if(ok, store(acc, iv(0), E.add(acc.flat(iv(0)), E.mul(w, E.cast(X.flat(E.add(base, off)), A)))));
        }
        return loop(ctx, nt, (k) => { ks[i] = k; return inner(i + 1); }, 'k');
      };
      return S.seq(store(acc, iv(0), c(0)), inner(0),
        store(Y, sum(E.mul(sum(E.mul(n, iv(C)), ch), iv(nOut)), o), E.cast(acc.flat(iv(0)), T)));
    }, 'c'),
  ), 'o'), 'n');
  ctx.extern([0], body);
}

defineOp({
  name: 'GridSample', category: 'misc',
  summary: 'samples X at the normalized grid locations (N-D spatial) with linear/nearest/cubic interpolation and zeros/border/reflection padding',
  types: { T1: FLOATS, T2: FLOATS },
  inputs: [{ name: 'X', type: 'T1', doc: '[N, C, D1..Dr]' }, { name: 'grid', type: 'T2', doc: '[N, D1_out..Dr_out, r] (x first)' }],
  outputs: [{ name: 'Y', type: 'T1' }],
  attrs: {
    align_corners: { type: 'int', default: 0 },
    mode: { type: 'string', default: 'linear', doc: "'linear', 'nearest' or 'cubic' (opset 16 'bilinear'/'bicubic' are mapped)" },
    padding_mode: { type: 'string', default: 'zeros', doc: "'zeros', 'border' or 'reflection'" },
  },
  onnx: {
    since: 16,
    fromOnnx: (v) => {
      if (v.opset < 20) {
        const m = v.attrs.mode;
        const name = m && m.type === 'string' ? m.value : 'bilinear';
        const map: Record<string, string> = { bilinear: 'linear', bicubic: 'cubic', nearest: 'nearest' };
        v.attrs.mode = { type: 'string', value: map[name] ?? name };
      }
    },
  },
  infer: (ctx) => {
    const loc = nodeLocation(ctx.node);
    const x = ctx.type(0), g = ctx.type(1);
    requireDtype(ctx, 0, FLOATS);
    requireDtype(ctx, 1, FLOATS);
    const mode = ctx.attrs.str('mode'), pad = ctx.attrs.str('padding_mode');
    if (!['linear', 'nearest', 'cubic'].includes(mode)) throw diag.unsupportedAttr({ op: 'GridSample' }, 'mode', mode, loc);
    if (!['zeros', 'border', 'reflection'].includes(pad)) throw diag.unsupportedAttr({ op: 'GridSample' }, 'padding_mode', pad, loc);
    if (!x.shape || !g.shape) return [{ dtype: x.dtype, shape: undefined }];
    const r = x.shape.length - 2;
    if (r < 1 || g.shape.length !== r + 2) throw diag.shapeMismatch('GridSample', `grid [${g.shape.join(', ')}] does not fit X [${x.shape.join(', ')}]`, loc);
    if (mode === 'cubic' && r !== 2) throw diag.unsupportedFeature('GridSample cubic mode beyond 2-D', loc);
    return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...g.shape.slice(1, r + 1)] }];
  },
  lower: lowerGridSample,
  eval: (ctx) => {
    const X = ctx.input(0), G = ctx.input(1);
    const r = X.rank - 2;
    if (r < 1 || G.rank !== r + 2 || G.shape[r + 1] !== r || G.shape[0] !== X.shape[0]) {
      throw diag.shapeMismatch('GridSample', `grid [${G.shape.join(', ')}] does not fit X [${X.shape.join(', ')}]`);
    }
    const mode = ctx.attrs.str('mode'), pad = ctx.attrs.str('padding_mode');
    const align = ctx.attrs.int('align_corners') !== 0;
    if (mode === 'cubic' && r !== 2) throw diag.unsupportedFeature('GridSample cubic mode beyond 2-D');
    const [N, C] = X.shape as [number, number];
    const dims = X.shape.slice(2) as number[];
    const outSp = G.shape.slice(1, r + 1) as number[];
    const nOut = outSp.reduce((a, b) => a * b, 1);
    const Y = new Tensor(X.dtype, [N, C, ...outSp]);
    const xs = X.num, gs = G.num, ys = Y.num;
    const spatial = dims.reduce((a, b) => a * b, 1);
    const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
    const lo = dims.map(() => (align ? 0 : -0.5)), hi = dims.map((d) => (align ? d - 1 : d - 0.5));
    /** index along dim i after padding, or -1 for a zero */
    const idxAt = (i: number, k: number): number => {
      const d = dims[i];
      if (pad === 'zeros') return k >= 0 && k < d ? k : -1;
      if (pad === 'border') return Math.min(Math.max(k, 0), d - 1);
      return Math.trunc(reflect(k, lo[i], hi[i]));
    };
    // per-dimension taps: list of (index or -1, weight)
    for (let n = 0; n < N; n++) for (let o = 0; o < nOut; o++) {
      const taps: [number, number][][] = [];
      for (let i = 0; i < r; i++) {
        // grid's last axis lists coordinates innermost-first (x = last spatial dim)
        const g = gs[(n * nOut + o) * r + (r - 1 - i)];
        let v = align ? ((g + 1) / 2) * (dims[i] - 1) : ((g + 1) * dims[i] - 1) / 2;
        if (mode === 'nearest') v = r === 3 ? (v >= 0 ? Math.floor(v + 0.5) : Math.ceil(v - 0.5)) : roundHalfEven(v);
        if (v < lo[i] || v > hi[i]) {
          if (pad === 'border') v = Math.min(Math.max(v, 0), dims[i] - 1);
          else if (pad === 'reflection') v = reflect(v, lo[i], hi[i]);
        }
        if (mode === 'nearest') taps.push([[idxAt(i, Math.trunc(v)), 1]]);
        else if (mode === 'linear') {
          const x0 = Math.floor(v), t = v - x0;
          taps.push([[idxAt(i, x0), 1 - t], [idxAt(i, x0 + 1), t]]);
        } else {
          const x0 = Math.floor(v), cf = cubicCoeffs(v - x0);
          taps.push([-1, 0, 1, 2].map((k, j) => [idxAt(i, x0 + k), cf[j]] as [number, number]));
        }
      }
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * spatial;
        let acc = 0;
        const rec = (i: number, off: number, w: number) => {
          if (i === r) { acc += w * xs[base + off]; return; }
          for (const [k, wk] of taps[i]) {
            if (k < 0) continue;
            rec(i + 1, off + k * strides[i], w * wk);
          }
        };
        rec(0, 0, 1);
        ys[(n * C + c) * nOut + o] = acc;
      }
    }
    return [Y];
  },
});

// ---- Bernoulli ----------------------------------------------------------------------------------
defineOp({
  name: 'Bernoulli', category: 'misc',
  summary: 'random 0/1 draws with probabilities from the input (non-deterministic: not evaluated)',
  types: { T1: FLOATS },
  inputs: [{ name: 'input', type: 'T1' }],
  outputs: [{ name: 'output' }],
  attrs: {
    dtype: { type: 'int', required: false, doc: 'output element type (default: the input type)' },
    seed: { type: 'float', required: false },
  },
  onnx: { since: 15 },
  infer: (ctx) => {
    const x = ctx.type(0);
    let dt: DType = x.dtype;
    if (ctx.attrs.has('dtype')) {
      const d = dtypeFromOnnx(ctx.attrs.int('dtype'));
      if (!d || d === 'string') throw diag.unsupportedDtype('Bernoulli dtype', d ?? `code ${ctx.attrs.int('dtype')}`, nodeLocation(ctx.node));
      dt = d;
    }
    return [{ dtype: dt, shape: x.shape?.slice() }];
  },
  eval: () => {
    throw diag.unsupportedFeature('Bernoulli draws random numbers; its result is non-deterministic (its random stream cannot match another runtime), so the reference interpreter does not evaluate it');
  },
});

// ---- StringNormalizer ---------------------------------------------------------------------------
defineOp({
  name: 'StringNormalizer', category: 'misc',
  summary: 'removes stopwords from a [C] or [1, C] string tensor and optionally lower/upper-cases the rest',
  types: { T: ['string'] },
  inputs: [{ name: 'X', type: 'T' }],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: {
    case_change_action: { type: 'string', default: 'NONE', doc: 'NONE, LOWER or UPPER' },
    is_case_sensitive: { type: 'int', default: 0, doc: 'stopword matching is case sensitive' },
    locale: { type: 'string', default: '' },
    stopwords: { type: 'strings', default: [] },
  },
  onnx: { since: 10 },
  infer: (ctx) => {
    const loc = nodeLocation(ctx.node);
    requireDtype(ctx, 0, ['string']);
    const a = ctx.attrs.str('case_change_action');
    if (!['NONE', 'LOWER', 'UPPER'].includes(a)) throw diag.unsupportedAttr({ op: 'StringNormalizer' }, 'case_change_action', a, loc);
    const loc_ = ctx.attrs.str('locale');
    if (loc_ !== '' && !/^en(_US)?(\.UTF-8)?$/i.test(loc_) && loc_ !== 'C') throw diag.unsupportedAttr({ op: 'StringNormalizer' }, 'locale', loc_, loc);
    const x = ctx.type(0);
    if (x.shape && !(x.shape.length === 1 || (x.shape.length === 2 && (x.shape[0] === 1 || typeof x.shape[0] === 'string')))) {
      throw diag.verify('StringNormalizer', `input must be [C] or [1, C], got [${x.shape.join(', ')}]`, loc);
    }
    const stop = ctx.attrs.strs('stopwords');
    const k: Dim = stop.length === 0 && x.shape ? x.shape[x.shape.length - 1]! : freshDim('tokens');
    return [{ dtype: 'string', shape: x.shape ? (x.shape.length === 1 ? [k] : [1, k]) : undefined }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    if (!(x.rank === 1 || (x.rank === 2 && x.shape[0] === 1))) throw diag.verify('StringNormalizer', `input must be [C] or [1, C], got [${x.shape.join(', ')}]`);
    const cs = ctx.attrs.int('is_case_sensitive') !== 0;
    const action = ctx.attrs.str('case_change_action');
    const stop = new Set(ctx.attrs.strs('stopwords').map((s) => (cs ? s : s.toLowerCase())));
    const src = x.data as string[];
    let out = src.filter((s) => !stop.has(cs ? s : s.toLowerCase()));
    if (action === 'LOWER') out = out.map((s) => s.toLowerCase());
    else if (action === 'UPPER') out = out.map((s) => s.toUpperCase());
    if (out.length === 0) out = [''];
    return [new Tensor('string', x.rank === 1 ? [out.length] : [1, out.length], out)];
  },
});

// ---- TfIdfVectorizer ----------------------------------------------------------------------------

/**
 * TfIdfVectorizer over integer input as loop IR: the n-gram table is resolved at compile time (later
 * pool duplicates win, as Map.set does); per row, each (skip distance, gram length, start) window is
 * compared against the table's grams of that length, counting in f64, in the reference's order.
 */
function lowerTfIdf(ctx: LowerCtx): void {
  const X = ctx.inputs[0]!, Y = ctx.outputs[0]!, Att = ctx.attrs;
  if (!['i32', 'i64'].includes(X.dtype) || !Att.has('pool_int64s') || Att.has('pool_strings')) ctx.unsupported('integer input with pool_int64s only');
  const minN = Att.int('min_gram_length'), maxN = Att.int('max_gram_length'), maxSkip = Att.int('max_skip_count');
  const mode = Att.str('mode');
  const counts = Att.ints('ngram_counts'), indexes = Att.ints('ngram_indexes');
  const pool = Att.ints('pool_int64s');
  if (minN < 1 || maxN < minN || maxSkip < 0) ctx.unsupported('bad gram length / skip attributes');
  const table = new Map<string, { n: number; gram: number[]; col: number }>();
  let ng = 0;
  for (let li = 0; li < counts.length; li++) {
    const n = li + 1;
    const start = counts[li]!, end = li + 1 < counts.length ? counts[li + 1]! : pool.length;
    if ((end - start) % n !== 0) ctx.unsupported(`pool section for ${n}-grams is not a multiple of ${n}`);
    for (let p = start; p < end; p += n) {
      const col = indexes[ng++];
      if (col === undefined) ctx.unsupported('ngram_indexes is shorter than the number of pool n-grams');
      const gram = pool.slice(p, p + n);
      table.set(`${n}|${gram.map(String).join('\u0000')}`, { n, gram, col });
    }
  }
  const width = indexes.length ? Math.max(...indexes) + 1 : 0;
  const weights = Att.has('weights') ? Att.floats('weights') : undefined;
  if (weights && mode !== 'TF' && indexes.some((c, i) => c !== i)) ctx.unsupported('weights with a non-identity ngram_indexes');
  const rows = X.shape.length === 2 ? X.shape[0]! : 1, C = X.shape.length === 2 ? X.shape[1]! : X.shape[0]!;
  const grams = [...table.values()];
  // skip distances of C or more fit no n-gram with n >= 2 in a row of C: the attribute may be far larger
  const dMax = Math.min(maxSkip + 1, Math.max(1, C));
  const work = dMax * grams.length;
  if (work > 50000) ctx.unsupported(`pool too large to unroll (${work} comparisons per position)`);
  const A = accType(ctx), T = Y.dtype;
  const cnt = ctx.temp('cnt', A, [Math.max(1, width)]);
  const body = loop(ctx, rows, (r) => {
    const xAt = (i: Expr) => E.cast(X.flat(sum(E.mul(r, iv(C)), i)), 'i64');
    const stmts: Stmt[] = [loop(ctx, width, (c) => store(cnt, c, E.c(0, A)), 'c')];
    let startN = minN;
    for (let d = 1; d <= dMax; d++) {
      for (let n = startN; n <= maxN; n++) {
        const gs = grams.filter((g) => g.n === n);
        if (gs.length === 0 || (n - 1) * d >= C) continue;
        stmts.push(loop(ctx, C - (n - 1) * d, (i) => S.seq(...gs.map((g) => S.if(
          g.gram.map((v, k) => E.eq(xAt(E.add(i, iv(k * d))), E.c(v, 'i64'))).reduce((a, b) => E.and(a, b)),
          store(cnt, iv(g.col), E.add(cnt.flat(iv(g.col)), E.c(1, A))))))));
      }
      if (startN === 1) { startN = 2; if (startN > maxN) break; }
    }
    stmts.push(loop(ctx, width, (c) => {
      const w = (k: number) => E.c(weights ? (weights[k] ?? 1) : 1, A);
      // weights per column: a select chain only when they differ from 1
      const wAt = !weights ? E.c(1, A) : weights.reduceRight<Expr>((acc, _, k) => E.select(E.eq(c, iv(k)), w(k), acc), E.c(1, A));
      const v = cnt.flat(c);
      const val = mode === 'TF' ? v : mode === 'IDF' ? E.select(E.gt(v, E.c(0, A)), wAt, E.c(0, A)) : E.mul(v, wAt);
      return store(Y, sum(E.mul(r, iv(width)), c), E.cast(val, T));
    }, 'c'));
    return S.seq(...stmts);
  }, 'r');
  ctx.extern([0], body);
}

defineOp({
  name: 'TfIdfVectorizer', category: 'misc',
  summary: 'counts pool n-grams (lengths min..max, skips 0..max_skip_count) per row; TF, IDF or TFIDF weighting',
  types: { T: ['string', 'int32', 'int64'] },
  inputs: [{ name: 'X', type: 'T', doc: '[C] or [N, C]' }],
  outputs: [{ name: 'Y' }],
  attrs: {
    max_gram_length: { type: 'int', required: true },
    min_gram_length: { type: 'int', required: true },
    max_skip_count: { type: 'int', required: true },
    mode: { type: 'string', required: true, doc: 'TF, IDF or TFIDF' },
    ngram_counts: { type: 'ints', required: true, doc: 'start offset in the pool of each n-gram length' },
    ngram_indexes: { type: 'ints', required: true, doc: 'output column of each pool n-gram' },
    pool_int64s: { type: 'ints', required: false },
    pool_strings: { type: 'strings', required: false },
    weights: { type: 'floats', required: false },
  },
  onnx: { since: 9 },
  infer: (ctx) => {
    const loc = nodeLocation(ctx.node);
    requireDtype(ctx, 0, ['string', 'int32', 'int64']);
    const mode = ctx.attrs.str('mode');
    if (!['TF', 'IDF', 'TFIDF'].includes(mode)) throw diag.unsupportedAttr({ op: 'TfIdfVectorizer' }, 'mode', mode, loc);
    const idx = ctx.attrs.ints('ngram_indexes');
    const width = idx.length ? Math.max(...idx) + 1 : 0;
    const x = ctx.type(0);
    if (x.shape && x.shape.length !== 1 && x.shape.length !== 2) throw diag.verify('TfIdfVectorizer', 'X must be 1-D or 2-D', loc);
    return [{ dtype: 'float32', shape: x.shape ? (x.shape.length === 1 ? [width] : [x.shape[0]!, width]) : undefined }];
  },
  lower: lowerTfIdf,
  eval: (ctx) => {
    const x = ctx.input(0);
    const A = ctx.attrs;
    const minN = A.int('min_gram_length'), maxN = A.int('max_gram_length'), maxSkip = A.int('max_skip_count');
    const mode = A.str('mode');
    const counts = A.ints('ngram_counts'), indexes = A.ints('ngram_indexes');
    const isStr = x.dtype === 'string';
    const pool: (string | number)[] = isStr ? (A.has('pool_strings') ? A.strs('pool_strings') : []) : (A.has('pool_int64s') ? A.ints('pool_int64s') : []);
    if (isStr !== A.has('pool_strings')) throw diag.verify('TfIdfVectorizer', `the pool (${A.has('pool_strings') ? 'strings' : 'int64s'}) does not match the input type ${x.dtype}`);
    if (minN < 1 || maxN < minN || maxSkip < 0) throw diag.verify('TfIdfVectorizer', 'bad gram length / skip attributes');
    // n-gram key -> output column
    const table = new Map<string, number>();
    let ng = 0;
    for (let li = 0; li < counts.length; li++) {
      const n = li + 1;
      const start = counts[li], end = li + 1 < counts.length ? counts[li + 1] : pool.length;
      if ((end - start) % n !== 0) throw diag.verify('TfIdfVectorizer', `pool section for ${n}-grams has ${end - start} items, not a multiple of ${n}`);
      for (let p = start; p < end; p += n) {
        const col = indexes[ng++];
        if (col === undefined) throw diag.verify('TfIdfVectorizer', 'ngram_indexes is shorter than the number of pool n-grams');
        table.set(`${n}|${pool.slice(p, p + n).map(String).join('\u0000')}`, col);
      }
    }
    const width = indexes.length ? Math.max(...indexes) + 1 : 0;
    const weights = A.has('weights') ? A.floats('weights') : undefined;
    if (weights && mode !== 'TF' && indexes.some((c, i) => c !== i)) {
      throw diag.unsupportedFeature('TfIdfVectorizer weights with a non-identity ngram_indexes');
    }
    const rows = x.rank === 2 ? x.shape[0]! : 1, C = x.rank === 2 ? x.shape[1]! : x.shape[0]!;
    const data = x.data as unknown as ArrayLike<string | number>;
    const out = new Tensor('float32', x.rank === 2 ? [rows, width] : [width]);
    const o = out.num;
    for (let rI = 0; rI < rows; rI++) {
      const row = Array.from({ length: C }, (_, i) => String(data[rI * C + i]));
      const cnt = new Float64Array(width);
      let startN = minN;
      // skip distances of C or more fit no n-gram with n >= 2 (max_skip_count may be far larger)
      for (let d = 1; d <= Math.min(maxSkip + 1, Math.max(1, C)); d++) {
        for (let i = 0; i < C; i++) {
          for (let n = startN; n <= maxN; n++) {
            const last = i + (n - 1) * d;
            if (last >= C) break;
            const key = `${n}|${Array.from({ length: n }, (_, k) => row[i + k * d]).join('\u0000')}`;
            const col = table.get(key);
            if (col !== undefined) cnt[col]++;
          }
        }
        // unigrams do not depend on the skip distance: count them once
        if (startN === 1) { startN = 2; if (startN > maxN) break; }
      }
      for (let c = 0; c < width; c++) {
        const w = weights ? (weights[c] ?? 1) : 1;
        o[rI * width + c] = mode === 'TF' ? cnt[c] : mode === 'IDF' ? (cnt[c] > 0 ? w : 0) : cnt[c] * w;
      }
    }
    return [out];
  },
});

// ---- random generators (shape/type inference only) ------------------------------------------------
function randomUnsupported(op: string): never {
  throw diag.unsupportedFeature(`${op} draws random numbers; its result is non-deterministic (its random stream cannot match another runtime), so the reference interpreter does not evaluate it`);
}
function attrDtype(code: number, op: string, loc: ReturnType<typeof nodeLocation>): DType {
  const d = dtypeFromOnnx(code);
  if (!d || d === 'string' || d === 'bool') throw diag.unsupportedDtype(`${op} dtype`, d ?? `code ${code}`, loc);
  return d;
}
const randomAttrs = (kind: 'uniform' | 'normal'): Record<string, AttrSpec> => (kind === 'uniform'
  ? { high: { type: 'float' as const, default: 1 }, low: { type: 'float' as const, default: 0 } }
  : { mean: { type: 'float' as const, default: 0 }, scale: { type: 'float' as const, default: 1 } });

for (const kind of ['uniform', 'normal'] as const) {
  const Name = kind === 'uniform' ? 'Uniform' : 'Normal';
  defineOp({
    name: `Random${Name}Like`, category: 'misc',
    summary: `random ${kind} values shaped like the input (non-deterministic: not evaluated)`,
    inputs: [{ name: 'input' }], outputs: [{ name: 'output' }],
    attrs: { dtype: { type: 'int', required: false }, seed: { type: 'float', required: false }, ...randomAttrs(kind) },
    onnx: { since: 1 },
    infer: (ctx) => {
      const x = ctx.type(0);
      const dt = ctx.attrs.has('dtype') ? attrDtype(ctx.attrs.int('dtype'), ctx.node.op, nodeLocation(ctx.node)) : x.dtype;
      return [{ dtype: dt, shape: x.shape?.slice() }];
    },
    eval: (ctx) => randomUnsupported(ctx.node.op),
  });
  defineOp({
    name: `Random${Name}`, category: 'misc',
    summary: `random ${kind} values of a given shape (non-deterministic: not evaluated)`,
    inputs: [], outputs: [{ name: 'output' }],
    attrs: { dtype: { type: 'int', default: 1 }, seed: { type: 'float', required: false }, shape: { type: 'ints', required: true }, ...randomAttrs(kind) },
    onnx: { since: 1 },
    infer: (ctx) => [{ dtype: attrDtype(ctx.attrs.int('dtype'), ctx.node.op, nodeLocation(ctx.node)), shape: ctx.attrs.ints('shape') }],
    eval: (ctx) => randomUnsupported(ctx.node.op),
  });
}

defineOp({
  name: 'Multinomial', category: 'misc',
  summary: 'random class samples from unnormalized log-probabilities [batch, classes] (non-deterministic: not evaluated)',
  types: { T1: FLOATS },
  inputs: [{ name: 'input', type: 'T1' }], outputs: [{ name: 'output' }],
  attrs: { dtype: { type: 'int', default: 6 }, sample_size: { type: 'int', default: 1 }, seed: { type: 'float', required: false } },
  onnx: { since: 7 },
  infer: (ctx) => {
    const x = ctx.type(0);
    const dt = attrDtype(ctx.attrs.int('dtype'), 'Multinomial', nodeLocation(ctx.node));
    return [{ dtype: dt, shape: [x.shape?.[0] ?? freshDim('batch'), ctx.attrs.int('sample_size')] }];
  },
  eval: () => randomUnsupported('Multinomial'),
});
