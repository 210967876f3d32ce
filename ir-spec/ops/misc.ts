/**
 * Miscellaneous ops: detection helpers (NonMaxSuppression, RoiAlign), GridSample, Bernoulli
 * (random: not evaluable deterministically) and the small string ops StringNormalizer and
 * TfIdfVectorizer.
 */
import { Tensor, diag, dtypeFromOnnx, freshDim, nodeLocation, type DType, type Dim } from '@aic/core';
import { defineOp } from '../registry.ts';
import { FLOATS, requireDtype } from '../lib/infer-helpers.ts';
import type { AttrSpec } from '../types.ts';

// ---- NonMaxSuppression --------------------------------------------------------------------------
defineOp({
  name: 'NonMaxSuppression', category: 'misc',
  summary: 'greedy per-class box selection by score, suppressing boxes whose IoU with a kept box exceeds iou_threshold; output [k, 3] (batch, class, box)',
  types: { T: ['float32', 'float64'], I: ['int64'] },
  inputs: [
    { name: 'boxes', type: 'T', doc: '[batch, boxes, 4]' },
    { name: 'scores', type: 'T', doc: '[batch, classes, boxes]' },
    { name: 'max_output_boxes_per_class', type: 'I', optional: true },
    { name: 'iou_threshold', type: 'T', optional: true },
    { name: 'score_threshold', type: 'T', optional: true },
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
    return [{ dtype: 'int64', shape: [freshDim('selected'), 3] }];
  },
  eval: (ctx) => {
    const boxes = ctx.input(0), scores = ctx.input(1);
    if (boxes.rank !== 3 || boxes.shape[2] !== 4) throw diag.verify('NonMaxSuppression', `boxes must be [batch, boxes, 4], got [${boxes.shape.join(', ')}]`);
    const [B, N] = boxes.shape as [number, number];
    if (scores.rank !== 3 || scores.shape[0] !== B || scores.shape[2] !== N) {
      throw diag.shapeMismatch('NonMaxSuppression', `scores [${scores.shape.join(', ')}] do not match boxes [${boxes.shape.join(', ')}]`);
    }
    const C = scores.shape[1]!;
    const maxOut = ctx.optInput(2) ? Math.max(0, ctx.optInput(2)!.num[0]!) : 0;
    const iouT = ctx.optInput(3) ? ctx.optInput(3)!.num[0]! : 0;
    const sT = ctx.optInput(4);
    const scoreT = sT ? sT.num[0]! : -Infinity;
    if (iouT < 0 || iouT > 1) throw diag.runtime('NonMaxSuppression', `iou_threshold ${iouT} must be in [0, 1]`);
    const center = ctx.attrs.int('center_point_box') === 1;
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
    return [Tensor.fromNumbers('int64', [sel.length / 3, 3], sel)];
  },
});

// ---- RoiAlign -----------------------------------------------------------------------------------
defineOp({
  name: 'RoiAlign', category: 'misc',
  summary: 'region-of-interest align: bilinearly sampled, avg- or max-pooled bins of each ROI; output [rois, C, output_height, output_width]',
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
      if (b < 0 || b >= N) throw diag.runtime('RoiAlign', `batch index ${b} is out of range [0, ${N})`);
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
      for (let d = 1; d <= maxSkip + 1; d++) {
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
