/**
 * Reductions and per-axis ops: Reduce{Sum,Mean,Max,Min,Prod,L1,L2,LogSum,LogSumExp,SumSquare},
 * ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax, TopK, CumSum, Unique.
 *
 * Graph IR form is the newest ONNX signature: reductions take `axes` as an (optional) input;
 * Softmax-like ops reduce along one axis, with the internal attribute `coerce_2d` = 1 carrying the
 * opset < 13 behaviour (input coerced to 2-D at `axis`); TopK takes K as an input.
 */
import { BYTE_SIZE, Tensor, castScalar, diag, freshDim, isFloat, isInt, isStatic, nodeLocation, type DType, type Dim } from '@aic/core';
import { boundedBy, lowerUniqueRuntime } from '../lib/dynamic.ts';
import { defineOp } from '../registry.ts';
import type { EvalCtx, InferCtx, LowerCtx, OnnxImportView, OpDef, OutType } from '../types.ts';
import { CHECK_TOPK_K, E, S, type Expr, type ScalarType, type Stmt } from '@aic/loop-ir';
import { ALL, FLOATS, NUMERIC, requireDtype } from '../lib/infer-helpers.ts';
import { dimProduct, intList } from '../lib/util.ts';
import {
  axesValues, axisSplit, compareCodePoints, computeTemp, flatOf, inferReducedShape, isFloatScalar, normAxes,
  reduceExpr, reducePlan, reducedShape, toF64, expShifted, divSum, softmaxExp, softmaxDiv,
} from '../lib/reduce.ts';
import { reduce as V } from '../vjp/index.ts';
import { softmaxLastAxisStaged } from '../lib/softmax-rows.ts';

const SAFE = 2 ** 53;

function numel(shape: readonly Dim[] | undefined): number {
  if (!shape) return 0;
  let n = 1;
  for (const d of shape) n *= typeof d === 'number' ? d : 1;
  return n;
}

function axisOf(ctx: InferCtx | EvalCtx, axis: number, rank: number): number {
  return normAxes([axis], rank, ctx.node.op, nodeLocation(ctx.node))[0];
}

// ---- Reduce* ------------------------------------------------------------------------------------

type Kind = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'l1' | 'l2' | 'logsum' | 'logsumexp' | 'sumsquare';

/** Smallest / largest value of an integer dtype; undefined where float64 storage cannot hold it. */
function intMin(dt: DType): number | undefined {
  switch (dt) {
    case 'int8': return -128;
    case 'int16': return -32768;
    case 'int32': return -(2 ** 31);
    case 'int64': return -(2 ** 63);
    case 'bool': return 0;
    default: return dt.startsWith('uint') ? 0 : undefined;
  }
}
function intMax(dt: DType): number | undefined {
  switch (dt) {
    case 'int8': return 127;
    case 'int16': return 32767;
    case 'int32': return 2 ** 31 - 1;
    case 'uint8': return 255;
    case 'uint16': return 65535;
    case 'uint32': return 2 ** 32 - 1;
    case 'bool': return 1;
    default: return undefined; // int64 / uint64 maxima are not exact in float64 storage
  }
}

/** The result of reducing an empty set (ONNX spec); undefined = undefined by the spec / not representable. */
function emptyValue(kind: Kind, dt: DType): number | undefined {
  const f = isFloat(dt);
  switch (kind) {
    case 'sum': case 'l1': case 'l2': case 'sumsquare': return 0;
    case 'prod': return 1;
    case 'max': return f ? -Infinity : intMin(dt);
    case 'min': return f ? Infinity : intMax(dt);
    case 'logsum': case 'logsumexp': return f ? -Infinity : undefined;
    case 'mean': return undefined;
  }
}

/**
 * Kinds whose result with noop_with_empty_axes=1 is the input itself whichever reading is taken:
 * the spec says "equivalent to the input", the ONNX reference applies the elementwise part (|x|,
 * x^2, log x) — they disagree for L1/L2/SumSquare/LogSum, which are therefore unsupported.
 */
const NOOP_IS_IDENTITY = new Set<Kind>(['sum', 'mean', 'max', 'min', 'prod', 'logsumexp']);

function reduceEval(kind: Kind, ctx: EvalCtx): Tensor {
  const op = ctx.node.op, loc = nodeLocation(ctx.node);
  const x = ctx.input(0);
  const at = ctx.optInput(1);
  const axesRaw = at ? axesValues(at, op) : [];
  const keep = ctx.attrs.int('keepdims') !== 0;
  const noop = ctx.attrs.int('noop_with_empty_axes') !== 0;
  if (axesRaw.length === 0 && noop) {
    if (!NOOP_IS_IDENTITY.has(kind)) {
      throw diag.unsupportedAttr({ op }, 'noop_with_empty_axes', '1 with empty axes (ONNX spec and reference disagree)', loc);
    }
    return new Tensor(x.dtype, x.shape, x.num.slice());
  }
  const axes = axesRaw.length === 0 ? x.shape.map((_, i) => i) : normAxes(axesRaw, x.rank, op, loc);
  const out = new Tensor(x.dtype, reducedShape(x.shape, axes, keep));
  const { map, outSize, count } = reducePlan(x.shape, axes);
  if (outSize === 0) return out;
  const dt = x.dtype;
  if (count === 0) {
    const e = emptyValue(kind, dt);
    if (e === undefined) throw diag.unsupportedFeature(`${op} over an empty set of ${dt} values (undefined result)`, loc);
    out.num.fill(e);
    return out;
  }
  const d = x.num, n = d.length;
  const int = isInt(dt);
  // C-like wrapping accumulation for <= 32-bit integers (exact modulo 2^32, then cast narrows)
  const wrap = int && BYTE_SIZE[dt] <= 4 && (kind === 'sum' || kind === 'prod' || kind === 'l1' || kind === 'sumsquare');
  const acc = new Float64Array(outSize);
  let shift: Float64Array | undefined;
  switch (kind) {
    case 'max': case 'min': {
      const isMax = kind === 'max';
      acc.fill(isMax ? -Infinity : Infinity);
      for (let i = 0; i < n; i++) {
        const v = d[i], o = map[i], a = acc[o];
        if (isMax ? v > a : v < a) acc[o] = v;
        else if (v !== v) acc[o] = NaN; // NaN propagates (numpy semantics)
      }
      break;
    }
    case 'prod':
      acc.fill(1);
      if (wrap) for (let i = 0; i < n; i++) acc[map[i]] = Math.imul(acc[map[i]], d[i]);
      else for (let i = 0; i < n; i++) acc[map[i]] *= d[i];
      break;
    case 'logsumexp': {
      shift = new Float64Array(outSize).fill(-Infinity);
      for (let i = 0; i < n; i++) if (d[i] > shift[map[i]]) shift[map[i]] = d[i];
      for (let o = 0; o < outSize; o++) if (!Number.isFinite(shift[o])) shift[o] = 0;
      for (let i = 0; i < n; i++) acc[map[i]] += Math.exp(d[i] - shift[map[i]]);
      break;
    }
    default: {
      const f = kind === 'l1' ? Math.abs
        : kind === 'l2' || kind === 'sumsquare' ? (wrap ? (v: number) => Math.imul(v, v) : (v: number) => v * v)
          : (v: number) => v;
      if (wrap) for (let i = 0; i < n; i++) acc[map[i]] = (acc[map[i]] + f(d[i])) | 0;
      else if (int) {
        for (let i = 0; i < n; i++) {
          const s = acc[map[i]] + f(d[i]);
          if (!(Math.abs(s) <= SAFE)) throw diag.unsupportedFeature(`${op}: integer accumulation beyond 2^53`, loc);
          acc[map[i]] = s;
        }
      } else for (let i = 0; i < n; i++) acc[map[i]] += f(d[i]);
    }
  }
  const o = out.num;
  const lo = intMin(dt), hi = intMax(dt);
  for (let k = 0; k < outSize; k++) {
    const a = acc[k];
    if (int && !wrap) {
      if (!(Math.abs(a) <= SAFE)) throw diag.unsupportedFeature(`${op}: integer result beyond 2^53`, loc);
      // implementations disagree on overflowing intermediate sums (wrap in T vs. widen)
      if ((kind === 'mean' || kind === 'l2' || kind === 'logsum') &&
        ((lo !== undefined && a < lo) || (hi !== undefined && a > hi))) {
        throw diag.unsupportedFeature(`${op}: ${dt} accumulation overflows`, loc);
      }
    }
    let r: number;
    switch (kind) {
      case 'mean': r = a / count; break;
      case 'l2': r = Math.sqrt(a); break;
      case 'logsum': r = Math.log(a); break;
      case 'logsumexp': r = Math.log(a) + shift![k]; break;
      default: r = a;
    }
    if (int && !Number.isFinite(r)) throw diag.unsupportedFeature(`${op}: result ${r} is not representable as ${dt}`, loc);
    o[k] = castScalar(r, dt);
  }
  return out;
}

/**
 * Compute definition of Reduce*: one output element per kept index, a reduce over the reduced axes.
 * Accumulation mirrors reduceEval: floats in f64 (max/min exact in T), <= 32-bit integer
 * sum/prod/l1/sumsquare wrapping in i32, other integer kinds exact in 64 bits; the final step
 * (mean, sqrt, log, + shift) in f64, then a cast to T.
 */
function reduceLower(kind: Kind, ctx: LowerCtx): void {
  const op = ctx.node.op, loc = nodeLocation(ctx.node);
  const x = ctx.inputs[0]!, out = ctx.outputs[0]!;
  const dtype = ctx.node.inputs[0]!.dtype;
  const t = x.dtype;
  let axesRaw: number[] = [];
  if (ctx.inputs[1]) {
    const c = ctx.constValue(1);
    if (!c) ctx.unsupported('axes given at run time');
    axesRaw = axesValues(c, op);
  }
  const keep = ctx.attrs.int('keepdims') !== 0;
  const noop = ctx.attrs.int('noop_with_empty_axes') !== 0;
  if (axesRaw.length === 0 && noop) {
    if (!NOOP_IS_IDENTITY.has(kind)) ctx.unsupported('noop_with_empty_axes=1 with empty axes (ONNX spec and reference disagree)');
    ctx.compute(0, (idx) => x.at(...idx));
    return;
  }
  const rank = x.shape.length;
  const axes = axesRaw.length === 0 ? x.shape.map((_, i) => i) : normAxes(axesRaw, rank, op, loc);
  if (out.shape.reduce((a, b) => a * b, 1) === 0) return;
  const extents = axes.map((a) => x.shape[a]!);
  const count = extents.reduce((a, b) => a * b, 1);
  if (count === 0) {
    const e = emptyValue(kind, dtype);
    if (e === undefined) ctx.unsupported(`${op} over an empty set of ${dtype} values (undefined result)`);
    ctx.compute(0, () => E.c(e, t));
    return;
  }
  /** input index from output index `idx` and reduce variables `r` */
  const inAt = (idx: Expr[], r: Expr[]): Expr => {
    const sub: Expr[] = [];
    let o = 0, j = 0;
    for (let d = 0; d < rank; d++) {
      if (axes.includes(d)) { sub.push(r[j++]!); if (keep) o++; } else sub.push(idx[o++]!);
    }
    return x.at(...sub);
  };
  const float = isFloatScalar(t);
  const signed = t.startsWith('i') || float;
  ctx.compute(0, (idx) => {
    const load = (r: Expr[]) => inAt(idx, r);
    if (kind === 'max' || kind === 'min') return reduceExpr(ctx, kind, extents, load);
    if (float) {
      const f64 = (r: Expr[]) => toF64(load(r));
      let res: Expr;
      switch (kind) {
        case 'logsumexp': {
          const m = toF64(reduceExpr(ctx, 'max', extents, load));
          // the reference ignores NaN in the shift; a NaN element makes the sum NaN either way
          const shift = E.select(E.or(E.call('isinf', m), E.call('isnan', m)), E.c(0, 'f64'), m);
          res = E.add(E.call('log', reduceExpr(ctx, 'sum', extents, (r) => E.call('exp', E.sub(f64(r), shift)))), shift);
          break;
        }
        case 'prod': res = reduceExpr(ctx, 'prod', extents, f64); break;
        default: {
          const s = reduceExpr(ctx, 'sum', extents, (r) => {
            const v = f64(r);
            return kind === 'l1' ? E.abs(v) : kind === 'l2' || kind === 'sumsquare' ? E.mul(v, v) : v;
          });
          res = kind === 'mean' ? E.div(s, E.c(count, 'f64')) : kind === 'l2' ? E.call('sqrt', s)
            : kind === 'logsum' ? E.call('log', s) : s;
        }
      }
      return E.cast(res, t);
    }
    if (kind === 'logsumexp') ctx.unsupported(`${op} on ${dtype}`);
    // C-like wrapping accumulation in i32 for <= 32-bit integers (as reduceEval)
    const wrap = BYTE_SIZE[dtype] <= 4 && (kind === 'sum' || kind === 'prod' || kind === 'l1' || kind === 'sumsquare');
    const at: ScalarType = wrap ? 'i32' : t === 'u64' ? 'u64' : 'i64';
    const v = (r: Expr[]) => E.cast(load(r), at);
    let acc: Expr;
    if (kind === 'prod') acc = reduceExpr(ctx, 'prod', extents, v);
    else {
      acc = reduceExpr(ctx, 'sum', extents, (r) => {
        const e = v(r);
        return kind === 'l1' ? (signed ? E.abs(e) : e) : kind === 'l2' || kind === 'sumsquare' ? E.mul(e, e) : e;
      });
    }
    switch (kind) {
      case 'mean': return E.cast(E.div(toF64(acc), E.c(count, 'f64')), t);
      case 'l2': return E.cast(E.call('sqrt', toF64(acc)), t);
      case 'logsum': return E.cast(E.call('log', toF64(acc)), t);
      default: return E.cast(acc, t);
    }
  });
}

function reduceOp(name: string, kind: Kind, summary: string, types: readonly DType[], axesInputSince: number,
  flopsPerElem = 1): OpDef {
  const moveAxes = (v: OnnxImportView) => {
    const a = v.attrs.axes;
    if (v.opset >= axesInputSince) {
      if (a) throw diag.verify(name, `'axes' is an input since opset ${axesInputSince}, not an attribute`, v.loc);
      return;
    }
    if (a) {
      if (a.type !== 'ints' && a.type !== 'int') throw diag.verify(name, `attribute 'axes' should be ints, got ${a.type}`, v.loc);
      const list = a.type === 'ints' ? a.value : [a.value];
      if (list.length) v.inputs[1] = v.constInput(Tensor.fromNumbers('int64', [list.length], list));
      delete v.attrs.axes;
    }
  };
  const vjp = ({ sum: V.reduceSum, mean: V.reduceMean, max: V.reduceExtremum, min: V.reduceExtremum, l1: V.reduceL1, l2: V.reduceL2,
    sumsquare: V.reduceSumSquare, logsum: V.reduceLogSum, logsumexp: V.reduceLogSumExp } as Record<string, OpDef['vjp']>)[kind];
  return defineOp({
    name, category: 'reduce', summary,
    ...(vjp ? { vjp } : {}),
    types: { T: types },
    inputs: [
      { name: 'data', type: 'T' },
      { name: 'axes', optional: true, shapeData: true, doc: 'int64 axes to reduce; absent/empty = all (or none with noop_with_empty_axes)' },
    ],
    outputs: [{ name: 'reduced', type: 'T' }],
    attrs: {
      keepdims: { type: 'int', default: 1, doc: 'keep reduced dimensions as size 1' },
      noop_with_empty_axes: { type: 'int', default: 0, doc: 'empty axes: 0 = reduce all, 1 = no reduction' },
    },
    onnx: {
      since: 1,
      fromOnnx: moveAxes,
      toOnnx: (v) => {
        if (v.opset >= axesInputSince) return;
        const noop = v.attrs.noop_with_empty_axes;
        delete v.attrs.noop_with_empty_axes;
        const a = v.inputs[1];
        const axes = a ? (a.const ? intList(a.const) : undefined) : [];
        if (axes === undefined) throw diag.unsupportedFeature(`${name} with run-time axes at opset ${v.opset}`, v.loc);
        if (axes.length === 0 && noop && noop.value) throw diag.unsupportedFeature(`${name} noop_with_empty_axes at opset ${v.opset}`, v.loc);
        if (axes.length) v.attrs.axes = { type: 'ints', value: axes };
        v.inputs.length = 1;
      },
    },
    infer: (ctx) => {
      requireDtype(ctx, 0, types);
      const keep = ctx.attrs.int('keepdims') !== 0, noop = ctx.attrs.int('noop_with_empty_axes') !== 0;
      return [{ dtype: ctx.type(0).dtype, shape: inferReducedShape(ctx, 1, keep, noop) }];
    },
    eval: (ctx) => [reduceEval(kind, ctx)],
    lower: (ctx) => reduceLower(kind, ctx),
    flops: (ctx) => flopsPerElem * numel(ctx.type(0).shape),
  });
}

const MAXMIN: readonly DType[] = [...NUMERIC, 'bool'];
reduceOp('ReduceSum', 'sum', 'sum over axes', NUMERIC, 13);
reduceOp('ReduceMean', 'mean', 'arithmetic mean over axes (integer results truncate)', NUMERIC, 18);
reduceOp('ReduceMax', 'max', 'maximum over axes (empty set: lowest value of the type)', MAXMIN, 18);
reduceOp('ReduceMin', 'min', 'minimum over axes (empty set: highest value of the type)', MAXMIN, 18);
reduceOp('ReduceProd', 'prod', 'product over axes', NUMERIC, 18);
reduceOp('ReduceL1', 'l1', 'sum of absolute values over axes', NUMERIC, 18, 2);
reduceOp('ReduceL2', 'l2', 'sqrt of the sum of squares over axes', NUMERIC, 18, 2);
reduceOp('ReduceLogSum', 'logsum', 'log of the sum over axes', NUMERIC, 18);
reduceOp('ReduceLogSumExp', 'logsumexp', 'log(sum(exp(x))) over axes, computed max-shifted', FLOATS, 18, 3);
reduceOp('ReduceSumSquare', 'sumsquare', 'sum of squares over axes', NUMERIC, 18, 2);

// ---- ArgMax / ArgMin ----------------------------------------------------------------------------

function argOp(name: string, isMax: boolean): OpDef {
  return defineOp({
    name, category: 'reduce',
    summary: `index of the ${isMax ? 'largest' : 'smallest'} element along axis (first, or last with select_last_index)`,
    types: { T: NUMERIC },
    inputs: [{ name: 'data', type: 'T' }],
    outputs: [{ name: 'reduced', doc: 'int64 indices' }],
    attrs: {
      axis: { type: 'int', default: 0 },
      keepdims: { type: 'int', default: 1 },
      select_last_index: { type: 'int', default: 0, doc: '1 = index of the last occurrence on ties' },
    },
    onnx: { since: 1 },
    infer: (ctx) => {
      requireDtype(ctx, 0, NUMERIC);
      const s = ctx.type(0).shape;
      if (!s) return [{ dtype: 'int64', shape: undefined }];
      const ax = axisOf(ctx, ctx.attrs.int('axis'), s.length);
      return [{ dtype: 'int64', shape: reducedShape(s, [ax], ctx.attrs.int('keepdims') !== 0) }];
    },
    eval: (ctx) => {
      const x = ctx.input(0);
      const ax = axisOf(ctx, ctx.attrs.int('axis'), x.rank);
      const last = ctx.attrs.int('select_last_index') !== 0;
      const out = new Tensor('int64', reducedShape(x.shape, [ax], ctx.attrs.int('keepdims') !== 0));
      const { outer, n, inner } = axisSplit(x.shape, ax);
      if (outer * inner === 0) return [out];
      if (n === 0) throw diag.verify(name, 'cannot reduce over an empty axis', nodeLocation(ctx.node));
      const d = x.num, o = out.num;
      for (let p = 0; p < outer; p++) {
        for (let i = 0; i < inner; i++) {
          const base = p * n * inner + i;
          let best = d[base], bi = 0;
          for (let k = 0; k < n; k++) {
            const v = d[base + k * inner];
            if (v !== v) throw diag.unsupportedFeature(`${name} of NaN values`, nodeLocation(ctx.node));
            if (k > 0 && (isMax ? (last ? v >= best : v > best) : (last ? v <= best : v < best))) { best = v; bi = k; }
          }
          o[p * inner + i] = bi;
        }
      }
      return [out];
    },
    // M = max (min) along the axis, then the first (last) k with x[k] == M; NaN inputs are
    // unsupported by the reference, so no NaN rule is needed here
    lower: (ctx) => {
      const x = ctx.inputs[0]!;
      const ax = normAxes([ctx.attrs.int('axis')], x.shape.length, name, nodeLocation(ctx.node))[0]!;
      const keep = ctx.attrs.int('keepdims') !== 0, last = ctx.attrs.int('select_last_index') !== 0;
      const n = x.shape[ax]!;
      if (ctx.outputs[0]!.shape.reduce((a, b) => a * b, 1) === 0) return;
      if (n === 0) ctx.unsupported('reduction over an empty axis');
      ctx.compute(0, (idx) => {
        const at = (k: Expr) => x.at(...(keep ? idx.map((e, d) => (d === ax ? k : e)) : [...idx.slice(0, ax), k, ...idx.slice(ax)]));
        const m = reduceExpr(ctx, isMax ? 'max' : 'min', [n], ([k]) => at(k!));
        const sel = last
          ? reduceExpr(ctx, 'max', [n], ([k]) => E.select(E.eq(at(k!), m), k!, E.i(-1)))
          : reduceExpr(ctx, 'min', [n], ([k]) => E.select(E.eq(at(k!), m), k!, E.i(n)));
        return E.cast(sel, 'i64');
      });
    },
    flops: (ctx) => numel(ctx.type(0).shape),
  });
}
argOp('ArgMax', true);
argOp('ArgMin', false);

// ---- Softmax / LogSoftmax / Hardmax -------------------------------------------------------------

type SoftKind = 'softmax' | 'logsoftmax' | 'hardmax';

/** (outer, n, inner) of the reduced block: one axis, or all axes from `axis` on in the 2-D coerced form. */
function softSplit(shape: readonly number[], axis: number, coerce: boolean): { outer: number; n: number; inner: number } {
  if (!coerce) return axisSplit(shape, axis);
  let outer = 1, n = 1;
  shape.forEach((d, i) => { if (i < axis) outer *= d; else n *= d; });
  return { outer, n, inner: 1 };
}

function softOp(name: string, kind: SoftKind, summary: string, flopsPerElem: number): OpDef {
  const vjp = kind === 'softmax' ? V.softmax : kind === 'logsoftmax' ? V.logSoftmax : undefined;
  return defineOp({
    name, category: 'reduce', summary,
    ...(vjp ? { vjp } : {}),
    types: { T: FLOATS },
    inputs: [{ name: 'input', type: 'T' }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: {
      axis: { type: 'int', default: -1 },
      coerce_2d: {
        type: 'int', default: 0,
        doc: 'internal: 1 = opset < 13 semantics, the input is coerced to 2-D [prod(dims < axis), prod(dims >= axis)]',
      },
    },
    onnx: {
      since: 1,
      fromOnnx: (v) => {
        delete v.attrs.coerce_2d;
        if (v.opset < 13) {
          if (!v.attrs.axis) v.attrs.axis = { type: 'int', value: 1 };
          v.attrs.coerce_2d = { type: 'int', value: 1 };
        }
      },
      toOnnx: (v) => {
        const coerce = v.attrs.coerce_2d?.value === 1;
        delete v.attrs.coerce_2d;
        let ax = v.attrs.axis?.type === 'int' ? v.attrs.axis.value : -1;
        const rank = v.inputs[0]?.shape?.length;
        // the two forms agree when the axis is the last one
        if (coerce !== v.opset < 13 && (rank === undefined || (ax < 0 ? ax + rank : ax) !== rank - 1)) {
          throw diag.unsupportedFeature(`${name} ${coerce ? 'coerced-2-D' : 'per-axis'} form at opset ${v.opset}`, v.loc);
        }
        if (v.opset < 11 && ax < 0) {
          if (rank === undefined) throw diag.unsupportedFeature(`${name} negative axis of unknown rank at opset ${v.opset}`, v.loc);
          ax += rank;
        }
        v.attrs.axis = { type: 'int', value: ax };
      },
    },
    infer: (ctx) => {
      requireDtype(ctx, 0, FLOATS);
      const t = ctx.type(0);
      if (t.shape) axisOf(ctx, ctx.attrs.int('axis'), t.shape.length);
      return [{ dtype: t.dtype, shape: t.shape?.slice() }];
    },
    eval: (ctx) => {
      const x = ctx.input(0);
      const ax = axisOf(ctx, ctx.attrs.int('axis'), x.rank);
      const { outer, n, inner } = softSplit(x.shape, ax, ctx.attrs.int('coerce_2d') !== 0);
      const out = new Tensor(x.dtype, x.shape);
      const d = x.num, o = out.num;
      for (let p = 0; p < outer; p++) {
        for (let i = 0; i < inner; i++) {
          const base = p * n * inner + i;
          if (n === 0) continue;
          if (kind === 'hardmax') {
            let best = d[base], bi = 0;
            for (let k = 0; k < n; k++) {
              const v = d[base + k * inner];
              if (v !== v) throw diag.unsupportedFeature(`${name} of NaN values`, nodeLocation(ctx.node));
              if (v > best) { best = v; bi = k; }
            }
            o[base + bi * inner] = 1;
            continue;
          }
          let mx = -Infinity;
          for (let k = 0; k < n; k++) { const v = d[base + k * inner]; if (v > mx || v !== v) mx = v; }
          let sum = 0;
          const f64 = x.dtype === 'float64';
          for (let k = 0; k < n; k++) sum += softmaxExp(d[base + k * inner], mx, f64);
          if (kind === 'softmax') {
            for (let k = 0; k < n; k++) o[base + k * inner] = softmaxDiv(softmaxExp(d[base + k * inner], mx, f64), sum, f64);
          } else {
            const ls = Math.log(sum);
            for (let k = 0; k < n; k++) o[base + k * inner] = d[base + k * inner] - mx - ls;
          }
        }
      }
      return [out];
    },
    lower: (ctx) => softLower(kind, ctx),
    flops: (ctx) => flopsPerElem * numel(ctx.type(0).shape),
  });
}

/**
 * Softmax / LogSoftmax / Hardmax over the (outer, n, inner) view of the input (coerce_2d: all dims
 * from axis on form n). Per (outer, inner) row, scratch stages hold the max (in T, exact) and
 * sum(exp(x - max)) (or its log) in f64, as the reference computes (exp and the output's division in f32
 * for f32 tensors: lib/reduce.ts expShifted); the output is then elementwise.
 */
function softLower(kind: SoftKind, ctx: LowerCtx): void {
  const x = ctx.inputs[0]!;
  const shape = x.shape, t = x.dtype;
  const ax = normAxes([ctx.attrs.int('axis')], shape.length, ctx.node.op, nodeLocation(ctx.node))[0]!;
  const coerce = ctx.attrs.int('coerce_2d') !== 0;
  const { outer, n, inner } = softSplit(shape, ax, coerce);
  if (outer * n * inner === 0) return;
  const xAt = (p: Expr, k: Expr, i: Expr) => x.flat(E.add(E.mul(E.add(E.mul(p, E.i(n)), k), E.i(inner)), i));
  /** (p, k, i) of an output index */
  const split = (idx: Expr[]): [Expr, Expr, Expr] => {
    const p = flatOf(idx.slice(0, ax), shape.slice(0, ax));
    if (coerce) return [p, flatOf(idx.slice(ax), shape.slice(ax)), E.i(0)];
    return [p, idx[ax]!, flatOf(idx.slice(ax + 1), shape.slice(ax + 1))];
  };
  if (kind === 'hardmax') {
    // first index of the maximum
    const am = computeTemp(ctx, 'argmax', 'i32', [outer, inner], ([p, i]) => {
      const m = reduceExpr(ctx, 'max', [n], ([k]) => xAt(p!, k!, i!));
      return reduceExpr(ctx, 'min', [n], ([k]) => E.select(E.eq(xAt(p!, k!, i!), m), k!, E.i(n)));
    });
    ctx.compute(0, (idx) => {
      const [p, k, i] = split(idx);
      return E.select(E.eq(k, am.at(p, i)), E.c(1, t), E.c(0, t));
    });
    return;
  }
  // over the last axis, where the ctx stages temps: max, exp and sum as compute stages the default
  // schedules see (lib/softmax-rows.ts: the same arithmetic, each exp computed once)
  if (kind === 'softmax' && ax === shape.length - 1 && softmaxLastAxisStaged(ctx, x, ctx.outputs[0]!, t)) return;
  const mx = computeTemp(ctx, 'max', t, [outer, inner], ([p, i]) => reduceExpr(ctx, 'max', [n], ([k]) => xAt(p!, k!, i!)));
  const sum = computeTemp(ctx, kind === 'softmax' ? 'sum' : 'logsum', 'f64', [outer, inner], ([p, i]) => {
    const s = reduceExpr(ctx, 'sum', [n], ([k]) => toF64(expShifted(xAt(p!, k!, i!), mx.at(p!, i!), t)));
    return kind === 'softmax' ? s : E.call('log', s);
  });
  ctx.compute(0, (idx) => {
    const [p, , i] = split(idx);
    if (kind === 'softmax') return E.cast(divSum(expShifted(x.at(...idx), mx.at(p, i), t), sum.at(p, i), t), t);
    return E.cast(E.sub(E.sub(toF64(x.at(...idx)), toF64(mx.at(p, i))), sum.at(p, i)), t);
  });
}

softOp('Softmax', 'softmax', 'exp(x - max) / sum(exp(x - max)) along axis', 5);
softOp('LogSoftmax', 'logsoftmax', 'x - max - log(sum(exp(x - max))) along axis', 5);
softOp('Hardmax', 'hardmax', '1 at the first maximum along axis, 0 elsewhere', 1);

// ---- TopK ---------------------------------------------------------------------------------------

function kValue(t: Tensor, op: string): number {
  if (t.dtype !== 'int64' && t.dtype !== 'int32') throw diag.verify(op, `K must be int64, got ${t.dtype}`);
  if (t.size !== 1 || t.rank > 1) throw diag.verify(op, `K must be a 1-D tensor of one element, got shape [${t.shape.join(', ')}]`);
  const k = intList(t)[0];
  if (k < 0) throw diag.verify(op, `K must be non-negative, got ${k}`);
  return k;
}

defineOp({
  name: 'TopK', category: 'reduce',
  summary: 'the K largest (or smallest) elements along axis and their indices; ties: lower index first',
  types: { T: NUMERIC },
  inputs: [{ name: 'X', type: 'T' }, { name: 'K', shapeData: true, doc: 'int64 [1]' }],
  outputs: [{ name: 'Values', type: 'T' }, { name: 'Indices', doc: 'int64' }],
  attrs: {
    axis: { type: 'int', default: -1 },
    largest: { type: 'int', default: 1 },
    sorted: { type: 'int', default: 1, doc: '0 = any order (results are returned sorted anyway)' },
  },
  onnx: {
    since: 1,
    fromOnnx: (v) => {
      if (v.opset >= 10) return;
      const k = v.attrs.k;
      if (!k || (k.type !== 'int' && k.type !== 'float')) throw diag.verify('TopK', "missing required attribute 'k'", v.loc);
      v.inputs[1] = v.constInput(Tensor.fromNumbers('int64', [1], [k.value]));
      delete v.attrs.k;
    },
    toOnnx: (v) => {
      if (v.opset >= 11) return;
      if ((v.attrs.largest && v.attrs.largest.value !== 1) || (v.attrs.sorted && v.attrs.sorted.value !== 1)) {
        throw diag.unsupportedFeature(`TopK largest=0 / sorted=0 at opset ${v.opset}`, v.loc);
      }
      delete v.attrs.largest; delete v.attrs.sorted;
      if (v.opset >= 10) return;
      const k = v.inputs[1]?.const;
      if (!k) throw diag.unsupportedFeature(`TopK with a run-time K at opset ${v.opset}`, v.loc);
      v.attrs.k = { type: 'int', value: intList(k)[0] };
      v.inputs.length = 1;
    },
  },
  infer: (ctx) => {
    requireDtype(ctx, 0, NUMERIC);
    const t = ctx.type(0);
    ctx.type(1);
    if (!t.shape) return [{ dtype: t.dtype, shape: undefined }, { dtype: 'int64', shape: undefined }];
    const ax = axisOf(ctx, ctx.attrs.int('axis'), t.shape.length);
    const kc = ctx.constValue(1);
    let k: Dim = freshDim('k');
    if (kc) {
      k = kValue(kc, 'TopK');
      const dim = t.shape[ax];
      if (typeof dim === 'number' && k > dim) {
        throw diag.verify('TopK', `K = ${k} exceeds the axis ${ax} dimension ${dim}`, nodeLocation(ctx.node));
      }
    }
    const s = t.shape.slice();
    s[ax] = k;
    return [{ dtype: t.dtype, shape: s }, { dtype: 'int64', shape: s.slice() }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const loc = nodeLocation(ctx.node);
    const ax = axisOf(ctx, ctx.attrs.int('axis'), x.rank);
    const k = kValue(ctx.input(1), 'TopK');
    const { outer, n, inner } = axisSplit(x.shape, ax);
    if (k > n) throw diag.verify('TopK', `K = ${k} exceeds the axis ${ax} dimension ${n}`, loc);
    const largest = ctx.attrs.int('largest') !== 0;
    const shape = x.shape.slice();
    shape[ax] = k;
    const vals = new Tensor(x.dtype, shape), idx = new Tensor('int64', shape);
    const d = x.num, ov = vals.num, oi = idx.num;
    const order = new Array<number>(n);
    for (let p = 0; p < outer; p++) {
      for (let i = 0; i < inner; i++) {
        const base = p * n * inner + i;
        for (let j = 0; j < n; j++) {
          if (d[base + j * inner] !== d[base + j * inner]) throw diag.unsupportedFeature('TopK of NaN values', loc);
          order[j] = j;
        }
        order.sort((a, b) => {
          const va = d[base + a * inner], vb = d[base + b * inner];
          if (va !== vb) return (largest ? va > vb : va < vb) ? -1 : 1;
          return a - b;
        });
        for (let j = 0; j < k; j++) {
          const at = (p * k + j) * inner + i;
          ov[at] = d[base + order[j] * inner];
          oi[at] = order[j];
        }
      }
    }
    return [vals, idx];
  },
  lower: (ctx) => topKLower(ctx),
  // K given at run time: at most the whole axis
  maxShape: (ctx, outs) => {
    const s = ctx.type(0).shape;
    if (!s || !isStatic(s)) return outs.map(() => undefined);
    return boundedBy(outs, s[axisOf(ctx, ctx.attrs.int('axis'), s.length)] as number);
  },
  flops: (ctx) => {
    const s = ctx.type(0).shape;
    if (!s || s.length === 0) return 0;
    const ax = axisOf(ctx, ctx.attrs.int('axis'), s.length);
    const n = typeof s[ax] === 'number' ? (s[ax] as number) : 1;
    return Math.ceil(numel(s) * Math.log2(Math.max(n, 2)));
  },
});

/**
 * TopK as an imperative stage: per (outer, inner) row, one pass over the axis keeps a sorted list of
 * the best K seen so far (stable: an element goes after every kept element that is not strictly
 * worse, so equal values keep ascending indices, the reference's tie rule); O(n) compares plus the
 * insertions. NaN inputs are unsupported by the reference.
 */
/** Whether output o is a real buffer (an omitted optional output gets a placeholder). */
function isBound(ctx: LowerCtx, o: number): boolean {
  return o < ctx.outputs.length && ctx.outputs[o]!.buf.role === 'output';
}

function topKLower(ctx: LowerCtx): void {
  const x = ctx.inputs[0]!;
  const kc = ctx.constValue(1);
  const ax = normAxes([ctx.attrs.int('axis')], x.shape.length, 'TopK', nodeLocation(ctx.node))[0]!;
  const { outer, n, inner } = axisSplit(x.shape, ax);
  // K given at run time: the outputs' axis dim is a bound (n), K is checked against [0, n] and is the run-time extent
  const kN = ctx.fresh('k');
  const k = kc ? kValue(kc, 'TopK') : n;
  const kE = kc ? E.i(k) : E.v(kN);
  if (k > n) ctx.unsupported(`K = ${k} exceeds the axis dimension ${n}`);
  if (outer * inner * k === 0 && !ctx.extent) return;
  const largest = ctx.attrs.int('largest') !== 0;
  const t = x.dtype;
  const better = (a: Expr, b: Expr) => (largest ? E.gt(a, b) : E.lt(a, b));
  const lv = ctx.temp('topv', t, [Math.max(1, k)]), li = ctx.temp('topi', 'i32', [Math.max(1, k)]), cnt = ctx.temp('topn', 'i32', [1]), posT = ctx.temp('toppos', 'i32', [1]);
  const [p, i, q, j, u] = ['p', 'i', 'q', 'j', 'u'].map((s) => ctx.fresh(s));
  const [vN, cN, posN, topN] = ['v', 'c', 'pos', 'top'].map((s) => ctx.fresh(s));
  const P = E.v(p!), I = E.v(i!), Q = E.v(q!), J = E.v(j!), U = E.v(u!);
  const V = E.v(vN!, t), C = E.v(cN!), POS = E.v(posN!), TOP = E.v(topN!);
  const base = E.add(E.mul(P, E.i(n * inner)), I);
  const zero = E.i(0);
  // insert v (index q) into the list of c (<= k) kept elements
  const insert = S.seq(
    S.store(posT.buf.name, zero, zero),
    S.for(j!, E.min(C, kE), S.if(E.not(better(V, lv.flat(J))), S.store(posT.buf.name, zero, E.add(posT.flat(zero), E.i(1))))),
    S.let(posN!, 'i32', posT.flat(zero), S.let(topN!, 'i32', E.min(C, E.sub(kE, E.i(1))), S.seq(
      // shift slots pos..top-1 up by one (from the top down)
      S.for(u!, E.sub(TOP, POS), S.seq(
        S.store(lv.buf.name, E.sub(TOP, U), lv.flat(E.sub(E.sub(TOP, U), E.i(1)))),
        S.store(li.buf.name, E.sub(TOP, U), li.flat(E.sub(E.sub(TOP, U), E.i(1)))),
      )),
      S.store(lv.buf.name, POS, V),
      S.store(li.buf.name, POS, Q),
      S.store(cnt.buf.name, zero, E.min(E.add(C, E.i(1)), kE)),
    ))),
  );
  const scan = S.for(q!, n, S.let(vN!, t, x.flat(E.add(base, E.mul(Q, E.i(inner)))), S.let(cN!, 'i32', cnt.flat(zero),
    S.if(E.lt(C, kE), insert, S.if(better(V, lv.flat(E.sub(kE, E.i(1)))), insert)))));
  const at = E.add(E.mul(E.add(E.mul(P, kE), J), E.i(inner)), I);
  const outs = [0, 1].filter((o) => isBound(ctx, o));
  const emit = S.for(j!, kE, S.seq(...outs.map((o) => (o === 0
    ? S.store(ctx.outputs[0]!.buf.name, at, lv.flat(J))
    : S.store(ctx.outputs[1]!.buf.name, at, E.cast(li.flat(J), 'i64'))))));
  const body = S.for(p!, outer, S.for(i!, inner, S.seq(S.store(cnt.buf.name, zero, zero), kc ? scan : S.if(E.gt(kE, zero), scan), emit)));
  if (kc) return ctx.extern(outs, body);
  const K = E.cast(E.min(E.max(E.cast(ctx.inputs[1]!.flat(zero), 'i64'), E.c(-1, 'i64')), E.c(n + 1, 'i64')), 'i32');
  ctx.extern(outs, S.let(kN, 'i32', E.call('check_range', K, E.i(n + 1), E.i(CHECK_TOPK_K)),
    S.seq(...(ctx.extent ? [S.store(ctx.extent.buf.name, zero, kE)] : []), body)));
}

// ---- CumSum -------------------------------------------------------------------------------------

defineOp({
  name: 'CumSum', category: 'reduce', vjp: V.cumSum,
  summary: 'cumulative sum along axis (exclusive / reverse variants)',
  types: { T: NUMERIC },
  inputs: [{ name: 'x', type: 'T' }, { name: 'axis', shapeData: true, doc: 'int32/int64 scalar' }],
  outputs: [{ name: 'y', type: 'T' }],
  attrs: {
    exclusive: { type: 'int', default: 0, doc: '1 = the j-th output excludes the j-th input' },
    reverse: { type: 'int', default: 0, doc: '1 = sum from the end of the axis' },
  },
  onnx: { since: 11 },
  infer: (ctx) => {
    requireDtype(ctx, 0, NUMERIC);
    const t = ctx.type(0);
    ctx.type(1);
    const c = ctx.constValue(1);
    if (c && t.shape) axisOf(ctx, axisScalar(c), t.shape.length);
    return [{ dtype: t.dtype, shape: t.shape?.slice() }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    const loc = nodeLocation(ctx.node);
    const ax = axisOf(ctx, axisScalar(ctx.input(1)), x.rank);
    const excl = ctx.attrs.int('exclusive') !== 0, rev = ctx.attrs.int('reverse') !== 0;
    const dt = x.dtype;
    const exact = dt === 'float64';
    const checked = dt === 'int64' || dt === 'uint64';
    const out = new Tensor(dt, x.shape);
    const d = x.num, o = out.num;
    const { outer, n, inner } = axisSplit(x.shape, ax);
    for (let p = 0; p < outer; p++) {
      for (let i = 0; i < inner; i++) {
        const base = p * n * inner + i;
        let acc = 0;
        for (let j = 0; j < n; j++) {
          const at = base + (rev ? n - 1 - j : j) * inner;
          const v = d[at];
          if (excl) o[at] = acc;
          acc += v;
          // per-step rounding/wrapping in the element type, as a C loop accumulating in T would
          if (checked) { if (!(Math.abs(acc) <= SAFE)) throw diag.unsupportedFeature('CumSum: int64 accumulation beyond 2^53', loc); }
          else if (!exact) acc = castScalar(acc, dt);
          if (!excl) o[at] = acc;
        }
      }
    }
    return [out];
  },
  // a running sum per (outer, inner) row, accumulated in T as the reference does (f64 stays f64,
  // f32 rounds each step, integers wrap)
  lower: (ctx) => {
    const x = ctx.inputs[0]!, y = ctx.outputs[0]!;
    const c = ctx.constValue(1) ?? ctx.unsupported('axis given at run time');
    const ax = normAxes([axisScalar(c)], x.shape.length, 'CumSum', nodeLocation(ctx.node))[0]!;
    const excl = ctx.attrs.int('exclusive') !== 0, rev = ctx.attrs.int('reverse') !== 0;
    const { outer, n, inner } = axisSplit(x.shape, ax);
    if (outer * n * inner === 0) return;
    const t = x.dtype;
    const acc = ctx.temp('acc', t, [1]);
    const [p, i, j, atN] = ['p', 'i', 'j', 'at'].map((s) => ctx.fresh(s));
    const J = E.v(j!), AT = E.v(atN!);
    const pos = rev ? E.sub(E.i(n - 1), J) : J;
    const at = E.add(E.add(E.mul(E.v(p!), E.i(n * inner)), E.mul(pos, E.i(inner))), E.v(i!));
    const cur = acc.flat(E.i(0));
    const step = S.let(atN!, 'i32', at, S.seq(
      ...(excl ? [S.store(y.buf.name, AT, cur)] : []),
      S.store(acc.buf.name, E.i(0), E.add(cur, x.flat(AT))),
      ...(excl ? [] : [S.store(y.buf.name, AT, cur)]),
    ));
    ctx.extern([0], S.for(p!, outer, S.for(i!, inner, S.seq(S.store(acc.buf.name, E.i(0), E.c(0, t)), S.for(j!, n, step)))));
  },
  flops: (ctx) => numel(ctx.type(0).shape),
});

function axisScalar(t: Tensor): number {
  if (t.dtype !== 'int64' && t.dtype !== 'int32') throw diag.verify('CumSum', `axis must be int32/int64, got ${t.dtype}`);
  if (t.size !== 1 || t.rank > 1) throw diag.verify('CumSum', `axis must be a scalar, got shape [${t.shape.join(', ')}]`);
  return intList(t)[0];
}

// ---- Unique -------------------------------------------------------------------------------------

defineOp({
  name: 'Unique', category: 'reduce',
  summary: 'unique elements (or slices along axis), with first-occurrence indices, inverse indices and counts',
  types: { T: ALL },
  inputs: [{ name: 'X', type: 'T', shapeData: true, countData: true, doc: 'its values decide the output shapes' }],
  outputs: [
    { name: 'Y', type: 'T' },
    { name: 'indices', optional: true, doc: 'int64 index of each unique value\'s first occurrence' },
    { name: 'inverse_indices', optional: true, doc: 'int64 position in Y of every input element/slice' },
    { name: 'counts', optional: true, doc: 'int64 occurrences of each unique value' },
  ],
  attrs: {
    sorted: { type: 'int', default: 1, doc: '1 = ascending order, 0 = order of first occurrence' },
    axis: { type: 'int', doc: 'absent = flatten the input' },
  },
  onnx: { since: 11 },
  infer: (ctx) => {
    const known = ctx.constValue(0);
    if (known) {
      // a constant input: the output shapes are those of the reference result
      const res = uniqueEval({
        inputs: [known], attrs: ctx.attrs, outputCount: ctx.outputCount, node: ctx.node,
        input: () => known, optInput: () => known, runSubgraph: () => { throw new Error('Unique has no subgraph'); },
      });
      return res.map((r) => ({ dtype: (r as Tensor).dtype, shape: (r as Tensor).shape.slice() }));
    }
    const t = ctx.type(0);
    const u = freshDim('u');
    if (!ctx.attrs.has('axis')) {
      const total = t.shape ? dimProduct(t.shape) ?? freshDim() : freshDim();
      return [{ dtype: t.dtype, shape: [u] }, { dtype: 'int64', shape: [u] }, { dtype: 'int64', shape: [total] }, { dtype: 'int64', shape: [u] }];
    }
    if (!t.shape) {
      return [{ dtype: t.dtype, shape: undefined }, { dtype: 'int64', shape: [u] }, { dtype: 'int64', shape: [freshDim()] }, { dtype: 'int64', shape: [u] }];
    }
    const ax = axisOf(ctx, ctx.attrs.int('axis'), t.shape.length);
    const s = t.shape.slice();
    s[ax] = u;
    const outs: OutType[] = [
      { dtype: t.dtype, shape: s }, { dtype: 'int64', shape: [u] },
      { dtype: 'int64', shape: [t.shape[ax]] }, { dtype: 'int64', shape: [u] },
    ];
    return outs;
  },
  eval: uniqueEval,
  // at most every element (slice) is unique
  maxShape: (ctx, outs) => {
    const t = ctx.type(0);
    if (!t.shape || !isStatic(t.shape)) return outs.map(() => undefined);
    const shape = t.shape as number[];
    return boundedBy(outs, ctx.attrs.has('axis') ? shape[axisOf(ctx, ctx.attrs.int('axis'), shape.length)]! : shape.reduce((a, b) => a * b, 1));
  },
  // a constant input: the reference result; else counted and filled when the kernel runs
  lower: (ctx) => {
    const c = ctx.constValue(0);
    if (!c) return lowerUniqueRuntime(ctx);
    const res = uniqueEval({
      inputs: [c], attrs: ctx.attrs, outputCount: ctx.outputs.length, node: ctx.node,
      input: () => c, optInput: () => c, runSubgraph: () => { throw new Error('Unique has no subgraph'); },
    });
    const stores: Stmt[] = [];
    const outs: number[] = [];
    res.forEach((r, o) => {
      if (!isBound(ctx, o)) return;
      const out = ctx.outputs[o]!, tv = r as Tensor;
      if (out.shape.length !== tv.rank || out.shape.some((d, k) => d !== tv.shape[k])) ctx.unsupported('output shape differs from the constant result');
      outs.push(o);
      const d = tv.num;
      for (let k = 0; k < d.length; k++) stores.push(S.store(out.buf.name, E.i(k), E.c(d[k]!, out.dtype)));
    });
    ctx.extern(outs, S.seq(...stores));
  },
});

function uniqueEval(ctx: EvalCtx): Tensor[] {
  const x = ctx.input(0);
  const loc = nodeLocation(ctx.node);
  const hasAxis = ctx.attrs.has('axis');
  const ax = hasAxis ? axisOf(ctx, ctx.attrs.int('axis'), x.rank) : 0;
  const { outer, n, inner } = hasAxis ? axisSplit(x.shape, ax) : { outer: 1, n: x.size, inner: 1 };
  const str = x.dtype === 'string';
  const data = x.data as ArrayLike<number | string>;
  // slice j = the elements (p, j, i) for all p, i
  const slice = (j: number): (number | string)[] => {
    const s: (number | string)[] = [];
    for (let p = 0; p < outer; p++) for (let i = 0; i < inner; i++) s.push(data[(p * n + j) * inner + i]);
    return s;
  };
  const slices: (number | string)[][] = [];
  for (let j = 0; j < n; j++) {
    const s = slice(j);
    if (!str && s.some((v) => v !== v)) throw diag.unsupportedFeature('Unique of NaN values', loc);
    slices.push(s);
  }
  const keyOf = (s: (number | string)[]) => (str ? JSON.stringify(s) : s.map((v) => String(v)).join(','));
  const groups = new Map<string, number>();
  const first: number[] = [], counts: number[] = [], groupOf = new Array<number>(n);
  for (let j = 0; j < n; j++) {
    const key = keyOf(slices[j]);
    let g = groups.get(key);
    if (g === undefined) { g = first.length; groups.set(key, g); first.push(j); counts.push(0); }
    counts[g]++;
    groupOf[j] = g;
  }
  const U = first.length;
  const order = Array.from({ length: U }, (_, g) => g);
  if (ctx.attrs.int('sorted') !== 0) {
    const cmp = (a: number | string, b: number | string) =>
      (str ? compareCodePoints(a as string, b as string) : (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0);
    order.sort((ga, gb) => {
      const sa = slices[first[ga]], sb = slices[first[gb]];
      for (let q = 0; q < sa.length; q++) { const c = cmp(sa[q], sb[q]); if (c) return c; }
      return 0;
    });
  }
  const pos = new Array<number>(U);
  order.forEach((g, r) => { pos[g] = r; });
  const yShape = hasAxis ? x.shape.slice() : [U];
  if (hasAxis) yShape[ax] = U;
  const y = new Tensor(x.dtype, yShape);
  const yd = y.data as (number | string)[];
  order.forEach((g, r) => {
    const s = slices[first[g]];
    let q = 0;
    for (let p = 0; p < outer; p++) for (let i = 0; i < inner; i++) yd[(p * U + r) * inner + i] = s[q++];
  });
  return [
    y,
    Tensor.fromNumbers('int64', [U], order.map((g) => first[g])),
    Tensor.fromNumbers('int64', [n], groupOf.map((g) => pos[g])),
    Tensor.fromNumbers('int64', [U], order.map((g) => counts[g])),
  ];
}
