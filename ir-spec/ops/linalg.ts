/**
 * Linear algebra: MatMul (numpy batched broadcasting), Gemm, Einsum, MatMulInteger, QLinearMatMul, Det.
 */
import {
  Tensor, broadcastShapes, diag, freshDim, isFloat, nodeLocation, roundBf16, roundF16,
  type DType, type Dim, type Shape, type TensorType,
} from '@aic/core';
import { defineOp } from '../registry.ts';
import type { InferCtx, LowerCtx } from '../types.ts';
import { E, S, type Expr, type ScalarType } from '@aic/loop-ir';
import { bcastAt } from '../lib/lower.ts';
import { isFloatScalar, reduceExpr } from '../lib/reduce.ts';
import { dimProduct, product } from '../lib/util.ts';
import { FLOATS, NUMERIC, requireDtype, sameDtypes } from '../lib/infer-helpers.ts';
import {
  gemmBT, gemmF64, gemmI32, isWrap32, matmulArrays, matmulIndexer, matmulShape, qRange, rint, transpose2d, type Arr,
} from '../lib/linalg.ts';
import { linalg as V } from '../vjp/index.ts';

const MM_TYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64', 'uint32', 'uint64'];
const Q8: readonly DType[] = ['uint8', 'int8'];

function loc(ctx: InferCtx) { return nodeLocation(ctx.node); }

/** numpy.matmul output shape with errors reported against the node. */
function inferMatMulShape(ctx: InferCtx, a: Shape, b: Shape): Shape {
  try {
    return matmulShape(a, b);
  } catch (e) {
    throw diag.shapeMismatch(ctx.node.op, (e as Error).message, loc(ctx));
  }
}

/** 2*M*N*K*batch for a matmul whose output is `out` and whose A operand has inner dim K. */
function matmulFlops(a: TensorType | undefined, out: Shape): number {
  if (!a?.shape || !out || a.shape.length === 0) return 0;
  const k = a.shape[a.shape.length - 1];
  const n = dimProduct(out);
  return typeof k === 'number' && n !== undefined ? 2 * n * k : 0;
}

/** Round a float result to the storage precision of dtype d (float32 arithmetic emulation). */
function rounder(d: DType): (v: number) => number {
  if (d === 'float32') return Math.fround;
  if (d === 'float16') return roundF16;
  if (d === 'bfloat16') return roundBf16;
  return (v) => v;
}

// ---- MatMul ------------------------------------------------------------------------------------
defineOp({
  name: 'MatMul', category: 'linalg', vjp: V.matmul,
  summary: 'numpy.matmul: batched matrix product with broadcasting of batch dims; 1-D operands are promoted and the added dim removed',
  types: { T: MM_TYPES },
  inputs: [{ name: 'A', type: 'T' }, { name: 'B', type: 'T' }],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: {},
  onnx: { since: 1 },
  infer: (ctx) => {
    sameDtypes(ctx);
    requireDtype(ctx, 0, MM_TYPES);
    const a = ctx.type(0), b = ctx.type(1);
    return [{ dtype: a.dtype, shape: inferMatMulShape(ctx, a.shape, b.shape) }];
  },
  eval: (ctx) => {
    const a = ctx.input(0), b = ctx.input(1);
    if (a.dtype !== b.dtype) throw diag.typeMismatch('MatMul input B', a.dtype, b.dtype);
    return [matmulArrays(a.num, a.shape, b.num, b.shape, a.dtype, isWrap32(a.dtype))];
  },
  // canonical form out[..., m, n] = sum_k A[..., m, k] * B[..., k, n], accumulated in T (32-bit
  // integers wrap as the reference's; f32 accumulates in f32 like BLAS, not in f64 like the reference)
  lower: (ctx) => {
    const A = ctx.inputs[0]!, B = ctx.inputs[1]!;
    const mm = matmulIndexer(A, B, ctx.outputs[0]!.shape.length);
    ctx.compute(0, (idx) => reduceExpr(ctx, 'sum', [mm.K], ([k]) => E.mul(mm.a(idx, k!), mm.b(idx, k!))));
  },
  flops: (ctx, outs) => matmulFlops(ctx.inputTypes[0], outs[0].shape),
});

// ---- Gemm --------------------------------------------------------------------------------------
/** Gemm's M, K, N from A/B shapes and trans flags (symbolic dims allowed). */
function gemmDims(a: Dim[], b: Dim[], transA: boolean, transB: boolean) {
  const M = transA ? a[1]! : a[0]!, Ka = transA ? a[0]! : a[1]!;
  const Kb = transB ? b[1]! : b[0]!, N = transB ? b[0]! : b[1]!;
  return { M, Ka, Kb, N };
}

defineOp({
  name: 'Gemm', category: 'linalg', vjp: V.gemm,
  summary: 'Y = alpha * op(A) @ op(B) + beta * C, op = optional transpose; C broadcast (unidirectionally) to [M, N]',
  types: { T: MM_TYPES },
  inputs: [{ name: 'A', type: 'T' }, { name: 'B', type: 'T' }, { name: 'C', type: 'T', optional: true }],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: {
    alpha: { type: 'float', default: 1 },
    beta: { type: 'float', default: 1 },
    transA: { type: 'int', default: 0 },
    transB: { type: 'int', default: 0 },
  },
  onnx: {
    since: 1,
    // opset < 7: `broadcast` flag (C broadcast to [M, N] when set; must already be [M, N] when not).
    // Unidirectional broadcasting covers both valid forms.
    fromOnnx: (v) => { if (v.opset < 7) delete v.attrs.broadcast; },
  },
  infer: (ctx) => {
    sameDtypes(ctx);
    requireDtype(ctx, 0, MM_TYPES);
    const a = ctx.type(0), b = ctx.type(1), c = ctx.inputTypes[2];
    const intType = !isFloat(a.dtype);
    if (intType && (ctx.attrs.float('alpha') !== 1 || (c && ctx.attrs.float('beta') !== 1))) {
      throw diag.unsupportedFeature(`Gemm on ${a.dtype} with alpha/beta other than 1`, loc(ctx));
    }
    if (a.shape && a.shape.length !== 2) throw diag.verify('Gemm', `A must be 2-D, got rank ${a.shape.length}`, loc(ctx));
    if (b.shape && b.shape.length !== 2) throw diag.verify('Gemm', `B must be 2-D, got rank ${b.shape.length}`, loc(ctx));
    if (!a.shape || !b.shape) {
      const M = a.shape ? a.shape[ctx.attrs.int('transA') ? 1 : 0]! : freshDim();
      const N = b.shape ? b.shape[ctx.attrs.int('transB') ? 0 : 1]! : freshDim();
      return [{ dtype: a.dtype, shape: [M, N] }];
    }
    const { M, Ka, Kb, N } = gemmDims(a.shape, b.shape, !!ctx.attrs.int('transA'), !!ctx.attrs.int('transB'));
    if (typeof Ka === 'number' && typeof Kb === 'number' && Ka !== Kb) {
      throw diag.shapeMismatch('Gemm', `inner dimensions differ: op(A) is [${M}, ${Ka}], op(B) is [${Kb}, ${N}]`, loc(ctx));
    }
    if (c?.shape) {
      if (c.shape.length > 2) throw diag.verify('Gemm', `C must have rank <= 2, got ${c.shape.length}`, loc(ctx));
      const want = [M, N];
      c.shape.forEach((d, i) => {
        const w = want[2 - c.shape!.length + i]!;
        if (typeof d === 'number' && d !== 1 && typeof w === 'number' && d !== w) {
          throw diag.shapeMismatch('Gemm', `C [${c.shape!.join(', ')}] does not broadcast to [${M}, ${N}]`, loc(ctx));
        }
      });
    }
    return [{ dtype: a.dtype, shape: [M, N] }];
  },
  eval: (ctx) => {
    const A = ctx.input(0), B = ctx.input(1), C = ctx.optInput(2);
    const transA = !!ctx.attrs.int('transA'), transB = !!ctx.attrs.int('transB');
    const alpha = ctx.attrs.float('alpha'), beta = ctx.attrs.float('beta');
    if (A.rank !== 2 || B.rank !== 2) throw diag.verify('Gemm', 'A and B must be 2-D');
    const { M, Ka, Kb, N } = gemmDims(A.shape.slice(), B.shape.slice(), transA, transB) as Record<string, number>;
    if (Ka !== Kb) throw diag.shapeMismatch('Gemm', `inner dimensions differ (${Ka} vs ${Kb})`);
    const K = Ka;
    const dtype = A.dtype;
    const wrap = isWrap32(dtype);
    const intType = !isFloat(dtype);
    if (intType && (alpha !== 1 || (C && beta !== 1))) throw diag.unsupportedFeature(`Gemm on ${dtype} with alpha/beta other than 1`);
    const a: Arr = transA ? transpose2d(A.num, K, M) : A.num;
    const ab: Arr = wrap ? new Int32Array(M * N) : new Float64Array(M * N);
    // transB: row dot products for few rows (classifier heads); otherwise transpose B once and
    // use the blocked i-k-j kernel.
    if (transB && M < 4) gemmBT(a, B.num, ab, M, K, N, wrap);
    else {
      const b: Arr = transB ? transpose2d(B.num, N, K) : B.num;
      if (wrap) gemmI32(a, 0, b, 0, ab, 0, M, K, N, new Int32Array(N));
      else gemmF64(a, 0, b, 0, ab, 0, M, K, N, new Float64Array(4 * N));
    }
    const out = new Tensor(dtype, [M, N]);
    const y = out.num;
    let cs = [0, 0];
    let cd: Arr | undefined;
    if (C) {
      if (C.rank > 2) throw diag.verify('Gemm', 'C must have rank <= 2');
      const c2 = C.rank === 2 ? C.shape : C.rank === 1 ? [1, C.shape[0]!] : [1, 1];
      if ((c2[0] !== 1 && c2[0] !== M) || (c2[1] !== 1 && c2[1] !== N)) {
        throw diag.shapeMismatch('Gemm', `C [${C.shape.join(', ')}] does not broadcast to [${M}, ${N}]`);
      }
      cs = [c2[0] === 1 ? 0 : c2[1]!, c2[1] === 1 ? 0 : 1];
      cd = C.num;
    }
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        const v = ab[i * N + j]!;
        if (intType) y[i * N + j] = cd ? (wrap ? (v + (cd[i * cs[0]! + j * cs[1]!]! | 0)) | 0 : v + cd[i * cs[0]! + j * cs[1]!]!) : v;
        else y[i * N + j] = alpha * v + (cd ? beta * cd[i * cs[0]! + j * cs[1]!]! : 0);
      }
    }
    return [out];
  },
  // out[m, n] = alpha * sum_k op(A)[m, k] * op(B)[k, n] + beta * C[bcast(m, n)] (alpha / beta terms
  // only where they are not 1; C unidirectionally broadcast)
  lower: (ctx) => {
    const A = ctx.inputs[0]!, B = ctx.inputs[1]!, C = ctx.inputs[2];
    const t = ctx.outputs[0]!.dtype;
    const transA = !!ctx.attrs.int('transA'), transB = !!ctx.attrs.int('transB');
    const alpha = ctx.attrs.float('alpha'), beta = ctx.attrs.float('beta');
    if (!isFloatScalar(t) && (alpha !== 1 || (C && beta !== 1))) ctx.unsupported(`Gemm on ${t} with alpha/beta other than 1`);
    if (A.shape.length !== 2 || B.shape.length !== 2) ctx.unsupported('A and B must be 2-D');
    if (C && C.shape.length > 2) ctx.unsupported('C must have rank <= 2');
    const K = transA ? A.shape[0]! : A.shape[1]!;
    ctx.compute(0, ([m, n]) => {
      let y = reduceExpr(ctx, 'sum', [K], ([k]) => E.mul(transA ? A.at(k!, m!) : A.at(m!, k!), transB ? B.at(n!, k!) : B.at(k!, n!)));
      if (alpha !== 1) y = E.mul(E.c(alpha, t), y);
      if (C) {
        const c = bcastAt(C, [m!, n!]);
        y = E.add(y, beta === 1 ? c : E.mul(E.c(beta, t), c));
      }
      return y;
    });
  },
  flops: (ctx, outs) => {
    const a = ctx.inputTypes[0]?.shape;
    if (!a || a.length !== 2) return 0;
    const k = ctx.attrs.int('transA') ? a[0] : a[1];
    const n = dimProduct(outs[0].shape ?? ['?']);
    return typeof k === 'number' && n !== undefined ? 2 * n * k : 0;
  },
});

// ---- Einsum ------------------------------------------------------------------------------------
interface EinsumPlan {
  /** label ids for each operand's dims */
  terms: number[][];
  /** output label ids */
  out: number[];
  /** number of distinct labels (ellipsis dims are labels too) */
  nLabels: number;
  /** ellipsis dims are labels 0..nEll-1 (right-aligned across operands) */
  nEll: number;
}

/** Parse an Einsum equation against the operands' ranks into label ids. Throws message strings. */
function parseEinsum(equation: string, ranks: readonly number[]): EinsumPlan {
  const eq = equation.replace(/\s+/g, '');
  const arrow = eq.indexOf('->');
  if (arrow >= 0 && eq.indexOf('->', arrow + 1) >= 0) throw new Error(`equation '${equation}' has more than one '->'`);
  const lhs = arrow >= 0 ? eq.slice(0, arrow) : eq;
  const rhs = arrow >= 0 ? eq.slice(arrow + 2) : undefined;
  const termStrs = lhs.split(',');
  if (termStrs.length !== ranks.length) {
    throw new Error(`equation '${equation}' has ${termStrs.length} operand term(s) but the node has ${ranks.length} input(s)`);
  }
  type Term = { letters: string[]; ellAt: number };
  const split = (s: string, what: string): Term => {
    const letters: string[] = [];
    let ellAt = -1;
    for (let i = 0; i < s.length;) {
      if (s.startsWith('...', i)) {
        if (ellAt >= 0) throw new Error(`${what} '${s}' has more than one ellipsis`);
        ellAt = letters.length;
        i += 3;
        continue;
      }
      const ch = s[i]!;
      if (!/[A-Za-z]/.test(ch)) throw new Error(`${what} '${s}' has invalid character '${ch}'`);
      letters.push(ch);
      i++;
    }
    return { letters, ellAt };
  };
  const terms = termStrs.map((s, k) => split(s, `operand term ${k}`));
  const ellRanks = terms.map((t, k) => {
    const e = ranks[k]! - t.letters.length;
    if (t.ellAt < 0 && e !== 0) throw new Error(`operand ${k} has rank ${ranks[k]} but term '${termStrs[k]}' names ${t.letters.length} dims`);
    if (e < 0) throw new Error(`operand ${k} has rank ${ranks[k]} but term '${termStrs[k]}' names ${t.letters.length} dims`);
    return e;
  });
  const maxEll = Math.max(0, ...ellRanks);
  // ellipsis dims get ids 0..maxEll-1 (right-aligned), letters follow
  const letterId = new Map<string, number>();
  const counts = new Map<string, number>();
  const idOf = (ch: string) => {
    let id = letterId.get(ch);
    if (id === undefined) { id = maxEll + letterId.size; letterId.set(ch, id); }
    return id;
  };
  const ids = terms.map((t, k) => {
    const res: number[] = [];
    t.letters.forEach((ch, i) => {
      if (i === t.ellAt) for (let e = 0; e < ellRanks[k]!; e++) res.push(maxEll - ellRanks[k]! + e);
      res.push(idOf(ch));
      counts.set(ch, (counts.get(ch) ?? 0) + 1);
    });
    if (t.ellAt === t.letters.length) for (let e = 0; e < ellRanks[k]!; e++) res.push(maxEll - ellRanks[k]! + e);
    return res;
  });
  const ellIds = Array.from({ length: maxEll }, (_, i) => i);
  let out: number[];
  if (rhs === undefined) {
    const once = [...counts.entries()].filter(([, n]) => n === 1).map(([ch]) => ch);
    const hasUpper = once.some((c) => c >= 'A' && c <= 'Z'), hasLower = once.some((c) => c >= 'a' && c <= 'z');
    if (hasUpper && hasLower) {
      throw Object.assign(new Error('implicit Einsum output mixing upper- and lower-case labels (order is ambiguous)'), { unsupported: true });
    }
    once.sort();
    out = [...ellIds, ...once.map((ch) => letterId.get(ch)!)];
  } else {
    const t = split(rhs, 'output term');
    const seen = new Set<string>();
    out = [];
    t.letters.forEach((ch, i) => {
      if (i === t.ellAt) out.push(...ellIds);
      if (seen.has(ch)) throw new Error(`output term '${rhs}' repeats label '${ch}'`);
      seen.add(ch);
      const id = letterId.get(ch);
      if (id === undefined) throw new Error(`output label '${ch}' does not appear in any input term`);
      out.push(id);
    });
    if (t.ellAt === t.letters.length) out.push(...ellIds);
    if (t.ellAt < 0 && maxEll > 0) {
      throw Object.assign(new Error('explicit Einsum output without "..." while inputs have broadcast dims'), { unsupported: true });
    }
  }
  return { terms: ids, out, nLabels: maxEll + letterId.size, nEll: maxEll };
}

function einsumPlan(equation: string, ranks: readonly number[], where?: ReturnType<typeof nodeLocation>): EinsumPlan {
  try {
    return parseEinsum(equation, ranks);
  } catch (e) {
    if ((e as { unsupported?: boolean }).unsupported) throw diag.unsupportedFeature((e as Error).message, where);
    throw diag.verify('Einsum', (e as Error).message, where);
  }
}

/**
 * Size of every label from the operand shapes. Ellipsis labels (ids < nEll) broadcast numpy-style;
 * letters must agree exactly. Symbolic dims allowed.
 */
function einsumSizes(plan: EinsumPlan, shapes: readonly (readonly Dim[])[], nEll: number): Dim[] {
  const sizes: (Dim | undefined)[] = new Array(plan.nLabels).fill(undefined);
  plan.terms.forEach((t, k) => {
    t.forEach((id, i) => {
      const d = shapes[k]![i]!;
      const cur = sizes[id];
      if (cur === undefined) { sizes[id] = d; return; }
      if (cur === d) return;
      if (id < nEll) {
        const bs = broadcastShapes([[cur], [d]]);
        sizes[id] = bs![0]!;
        return;
      }
      if (typeof cur === 'number' && typeof d === 'number') {
        if (cur === 1 || d === 1) {
          throw Object.assign(new Error(`broadcasting a size-1 dim of a named label (operand ${k}, dim ${i})`), { unsupported: true });
        }
        throw new Error(`label size mismatch: ${cur} vs ${d} (operand ${k}, dim ${i})`);
      }
      if (typeof cur === 'string' && typeof d === 'number') sizes[id] = d;
    });
  });
  return sizes.map((s) => s ?? 1);
}

defineOp({
  name: 'Einsum', category: 'linalg',
  summary: 'Einstein summation (numpy.einsum): implicit/explicit output, repeated labels (diagonals), ellipsis broadcasting',
  types: { T: NUMERIC },
  inputs: [{ name: 'Inputs', type: 'T', variadic: true }],
  outputs: [{ name: 'Output', type: 'T' }],
  attrs: { equation: { type: 'string', required: true } },
  onnx: { since: 12 },
  infer: (ctx) => {
    sameDtypes(ctx);
    requireDtype(ctx, 0, NUMERIC);
    const types = ctx.inputTypes.map((_, i) => ctx.type(i));
    if (types.some((t) => t.shape === undefined)) return [{ dtype: types[0]!.dtype, shape: undefined }];
    const shapes = types.map((t) => t.shape!);
    const plan = einsumPlan(ctx.attrs.str('equation'), shapes.map((s) => s.length), loc(ctx));
    let sizes: Dim[];
    try {
      sizes = einsumSizes(plan, shapes, plan.nEll);
    } catch (e) {
      if ((e as { unsupported?: boolean }).unsupported) throw diag.unsupportedFeature(`Einsum ${(e as Error).message}`, loc(ctx));
      throw diag.shapeMismatch('Einsum', (e as Error).message, loc(ctx));
    }
    return [{ dtype: types[0]!.dtype, shape: plan.out.map((id) => sizes[id]!) }];
  },
  eval: (ctx) => {
    const ts = ctx.inputs.map((_, i) => ctx.input(i));
    const dtype = ts[0]!.dtype;
    for (const t of ts) if (t.dtype !== dtype) throw diag.typeMismatch('Einsum inputs', dtype, t.dtype);
    const plan = einsumPlan(ctx.attrs.str('equation'), ts.map((t) => t.rank));
    let sizes: number[];
    try {
      sizes = einsumSizes(plan, ts.map((t) => t.shape), plan.nEll) as number[];
    } catch (e) {
      if ((e as { unsupported?: boolean }).unsupported) throw diag.unsupportedFeature(`Einsum ${(e as Error).message}`);
      throw diag.shapeMismatch('Einsum', (e as Error).message);
    }
    return [einsumEval(plan, ts, sizes, dtype)];
  },
  // out[output labels] = sum over the other labels of the product of the operands, accumulated as
  // einsumEval does: floats in f64, 32-bit integers wrapping in i32, other integers exactly (64-bit)
  lower: (ctx) => {
    const ts = ctx.inputs.map((t) => t!);
    const where = nodeLocation(ctx.node);
    const plan = einsumPlan(ctx.attrs.str('equation'), ts.map((t) => t.shape.length), where);
    let sizes: number[];
    try {
      sizes = einsumSizes(plan, ts.map((t) => t.shape), plan.nEll) as number[];
    } catch (e) {
      return ctx.unsupported(`Einsum ${(e as Error).message}`);
    }
    const t = ctx.outputs[0]!.dtype;
    if (ctx.outputs[0]!.shape.reduce((a, b) => a * b, 1) === 0) return;
    const inOut = new Set(plan.out);
    const contracted: number[] = [];
    for (let id = 0; id < plan.nLabels; id++) if (!inOut.has(id)) contracted.push(id);
    const accT: ScalarType = isFloatScalar(t) ? 'f64' : t === 'i32' || t === 'u32' ? 'i32' : t === 'u64' ? 'u64' : 'i64';
    ctx.compute(0, (idx) => {
      const varOf = new Map<number, Expr>();
      plan.out.forEach((id, j) => varOf.set(id, idx[j]!));
      const s = reduceExpr(ctx, 'sum', contracted.map((id) => sizes[id]!), (r) => {
        contracted.forEach((id, j) => varOf.set(id, r[j]!));
        const loads = ts.map((x, k) => E.cast(x.at(...plan.terms[k]!.map((id, i) =>
          (x.shape[i] === 1 && sizes[id] !== 1 ? E.i(0) : varOf.get(id)!))), accT));
        return loads.reduce((a, b) => E.mul(a, b));
      });
      return E.cast(s, t);
    });
  },
  flops: (ctx) => {
    const shapes = ctx.inputTypes.map((t) => t?.shape);
    if (shapes.some((s) => !s || dimProduct(s) === undefined)) return 0;
    try {
      const plan = parseEinsum(ctx.attrs.str('equation'), shapes.map((s) => s!.length));
      const sizes = einsumSizes(plan, shapes as Dim[][], plan.nEll) as number[];
      return 2 * product(sizes);
    } catch { return 0; }
  },
});

function einsumEval(plan: EinsumPlan, ts: Tensor[], sizes: number[], dtype: DType): Tensor {
  const outShape = plan.out.map((id) => sizes[id]!);
  const out = new Tensor(dtype, outShape);
  const inOut = new Set(plan.out);
  // loop order: output labels (outer, in output order) then contracted labels
  const order = [...plan.out];
  for (let id = 0; id < plan.nLabels; id++) if (!inOut.has(id)) order.push(id);
  const L = order.length;
  const lsizes = order.map((id) => sizes[id]!);
  const total = product(lsizes);
  if (total === 0 || out.size === 0) return out;
  // per-operand strides per loop position (repeated labels add up -> diagonal; size-1 broadcast -> 0)
  const strides = ts.map((t, k) => {
    const st = new Array<number>(L).fill(0);
    let acc = 1;
    const s = new Array<number>(t.rank);
    for (let i = t.rank - 1; i >= 0; i--) { s[i] = acc; acc *= t.shape[i]!; }
    plan.terms[k]!.forEach((id, i) => {
      if (t.shape[i] === 1 && sizes[id] !== 1) return;
      st[order.indexOf(id)] += s[i]!;
    });
    return st;
  });
  const ost = new Array<number>(L).fill(0);
  { let acc = 1; for (let i = plan.out.length - 1; i >= 0; i--) { ost[i] = acc; acc *= outShape[i]!; } }
  const wrap = isWrap32(dtype);
  const datas = ts.map((t) => t.num);
  const n = ts.length;
  const accF = wrap ? new Int32Array(out.size) : new Float64Array(out.size);
  const ctr = new Array<number>(L).fill(0);
  const offs = new Array<number>(n).fill(0);
  let o = 0;
  // innermost loop unrolled over the last label
  const last = L - 1;
  const lastSize = L > 0 ? lsizes[last]! : 1;
  const lastSt = strides.map((s) => (L > 0 ? s[last]! : 0));
  const lastOst = L > 0 ? ost[last]! : 0;
  const outer = total / lastSize;
  for (let it = 0; it < outer; it++) {
    if (wrap) {
      for (let j = 0; j < lastSize; j++) {
        let p = 1;
        for (let k = 0; k < n; k++) p = Math.imul(p, datas[k]![offs[k]! + j * lastSt[k]!]! | 0);
        accF[o + j * lastOst] = (accF[o + j * lastOst]! + p) | 0;
      }
    } else if (n === 2) {
      const d0 = datas[0]!, d1 = datas[1]!, o0 = offs[0]!, o1 = offs[1]!, s0 = lastSt[0]!, s1 = lastSt[1]!;
      for (let j = 0; j < lastSize; j++) accF[o + j * lastOst] += d0[o0 + j * s0]! * d1[o1 + j * s1]!;
    } else {
      for (let j = 0; j < lastSize; j++) {
        let p = 1;
        for (let k = 0; k < n; k++) p *= datas[k]![offs[k]! + j * lastSt[k]!]!;
        accF[o + j * lastOst] += p;
      }
    }
    // advance the odometer over labels 0..L-2
    for (let d = last - 1; d >= 0; d--) {
      ctr[d]++;
      for (let k = 0; k < n; k++) offs[k] += strides[k]![d]!;
      o += ost[d]!;
      if (ctr[d]! < lsizes[d]!) break;
      for (let k = 0; k < n; k++) offs[k] -= strides[k]![d]! * lsizes[d]!;
      o -= ost[d]! * lsizes[d]!;
      ctr[d] = 0;
    }
  }
  const y = out.num;
  for (let i = 0; i < y.length; i++) y[i] = accF[i]!;
  return out;
}

// ---- MatMulInteger -----------------------------------------------------------------------------
/**
 * Integer matmul operands with their zero points subtracted, as Int32Arrays. Supported zero points:
 * per-tensor for A; per-tensor or per-column ([N]) for B.
 */
function subtractZeroPoints(A: Tensor, B: Tensor, azp: Tensor | undefined, bzp: Tensor | undefined, op: string): [Int32Array, Int32Array] {
  if (azp && azp.size !== 1) throw diag.unsupportedFeature(`${op} with a per-row a_zero_point (shape [${azp.shape.join(', ')}])`);
  const N = B.rank === 1 ? 1 : B.shape[B.rank - 1]!;
  if (bzp && bzp.size !== 1 && !(bzp.rank === 1 && bzp.shape[0] === N && B.rank >= 2)) {
    throw diag.unsupportedFeature(`${op} with b_zero_point of shape [${bzp.shape.join(', ')}]`);
  }
  const a = new Int32Array(A.size), b = new Int32Array(B.size);
  const za = azp ? azp.num[0]! : 0;
  const an = A.num;
  for (let i = 0; i < a.length; i++) a[i] = an[i]! - za;
  const bn = B.num;
  if (!bzp || bzp.size === 1) {
    const zb = bzp ? bzp.num[0]! : 0;
    for (let i = 0; i < b.length; i++) b[i] = bn[i]! - zb;
  } else {
    const z = bzp.num;
    for (let i = 0; i < b.length; i++) b[i] = bn[i]! - z[i % N]!;
  }
  return [a, b];
}

function checkZeroPointShapes(ctx: InferCtx, aIdx: number, bIdx: number, azpIdx: number, bzpIdx: number): void {
  const azp = ctx.inputTypes[azpIdx], bzp = ctx.inputTypes[bzpIdx];
  const b = ctx.inputTypes[bIdx];
  if (azp?.shape) {
    const n = dimProduct(azp.shape);
    if (n !== undefined && n !== 1) throw diag.unsupportedFeature(`${ctx.node.op} with a per-row a_zero_point`, loc(ctx));
  }
  if (bzp?.shape && b?.shape) {
    const n = dimProduct(bzp.shape);
    const N = b.shape[b.shape.length - 1];
    if (n !== undefined && n !== 1 && !(bzp.shape.length === 1 && b.shape.length >= 2 && (typeof N !== 'number' || N === n))) {
      throw diag.unsupportedFeature(`${ctx.node.op} with b_zero_point of shape [${bzp.shape.join(', ')}]`, loc(ctx));
    }
  }
  void aIdx;
}

defineOp({
  name: 'MatMulInteger', category: 'linalg',
  summary: 'int32 matmul of (A - a_zero_point) @ (B - b_zero_point), numpy.matmul broadcasting',
  types: { T1: Q8, T2: Q8, T3: ['int32'] },
  inputs: [
    { name: 'A', type: 'T1' }, { name: 'B', type: 'T2' },
    { name: 'a_zero_point', type: 'T1', optional: true }, { name: 'b_zero_point', type: 'T2', optional: true },
  ],
  outputs: [{ name: 'Y', type: 'T3' }],
  attrs: {},
  onnx: { since: 10 },
  infer: (ctx) => {
    requireDtype(ctx, 0, Q8);
    requireDtype(ctx, 1, Q8);
    sameDtypes(ctx, [0, 2].filter((i) => ctx.inputTypes[i]));
    sameDtypes(ctx, [1, 3].filter((i) => ctx.inputTypes[i]));
    checkZeroPointShapes(ctx, 0, 1, 2, 3);
    return [{ dtype: 'int32', shape: inferMatMulShape(ctx, ctx.type(0).shape, ctx.type(1).shape) }];
  },
  eval: (ctx) => {
    const A = ctx.input(0), B = ctx.input(1);
    const [a, b] = subtractZeroPoints(A, B, ctx.optInput(2), ctx.optInput(3), 'MatMulInteger');
    return [matmulArrays(a, A.shape, b, B.shape, 'int32', true)];
  },
  lower: (ctx) => {
    ctx.compute(0, (idx) => intMatmul(ctx, 0, 1, 2, 3, idx));
  },
  flops: (ctx, outs) => matmulFlops(ctx.inputTypes[0], outs[0].shape),
});

// ---- QLinearMatMul -----------------------------------------------------------------------------
defineOp({
  name: 'QLinearMatMul', category: 'linalg',
  summary: 'quantized matmul: y = saturate(rint((a - a_zp) @ (b - b_zp) * a_scale * b_scale / y_scale) + y_zp)',
  types: { T1: Q8, T2: Q8, T3: Q8, TS: ['float32', 'float16', 'bfloat16'] },
  inputs: [
    { name: 'a', type: 'T1' }, { name: 'a_scale', type: 'TS' }, { name: 'a_zero_point', type: 'T1', optional: true },
    { name: 'b', type: 'T2' }, { name: 'b_scale', type: 'TS' }, { name: 'b_zero_point', type: 'T2', optional: true },
    { name: 'y_scale', type: 'TS' }, { name: 'y_zero_point', type: 'T3', optional: true },
  ],
  outputs: [{ name: 'y', type: 'T3' }],
  attrs: {},
  onnx: { since: 10 },
  infer: (ctx) => {
    requireDtype(ctx, 0, Q8);
    requireDtype(ctx, 3, Q8);
    requireDtype(ctx, 1, ['float32', 'float16', 'bfloat16']);
    sameDtypes(ctx, [1, 4, 6]);
    checkZeroPointShapes(ctx, 0, 3, 2, 5);
    for (const [i, what] of [[1, 'a_scale'], [6, 'y_scale']] as const) {
      const s = ctx.inputTypes[i]?.shape;
      const n = s ? dimProduct(s) : 1;
      if (n !== undefined && n !== 1) throw diag.unsupportedFeature(`QLinearMatMul with a per-row ${what}`, loc(ctx));
    }
    const yzp = ctx.inputTypes[7];
    if (yzp?.shape) {
      const n = dimProduct(yzp.shape);
      if (n !== undefined && n !== 1) throw diag.unsupportedFeature('QLinearMatMul with a non-scalar y_zero_point', loc(ctx));
    }
    const bs = ctx.inputTypes[4]?.shape, b = ctx.type(3).shape;
    if (bs && b) {
      const n = dimProduct(bs), N = b[b.length - 1];
      if (n !== undefined && n !== 1 && !(bs.length === 1 && b.length >= 2 && (typeof N !== 'number' || N === n))) {
        throw diag.unsupportedFeature(`QLinearMatMul with b_scale of shape [${bs.join(', ')}]`, loc(ctx));
      }
    }
    return [{ dtype: (yzp ?? ctx.type(0)).dtype, shape: inferMatMulShape(ctx, ctx.type(0).shape, ctx.type(3).shape) }];
  },
  eval: (ctx) => {
    const A = ctx.input(0), B = ctx.input(3);
    const as = ctx.input(1), bs = ctx.input(4), ys = ctx.input(6), yzp = ctx.optInput(7);
    if (as.size !== 1 || ys.size !== 1) throw diag.unsupportedFeature('QLinearMatMul with per-row a_scale / y_scale');
    if (yzp && yzp.size !== 1) throw diag.unsupportedFeature('QLinearMatMul with a non-scalar y_zero_point');
    const [a, b] = subtractZeroPoints(A, B, ctx.optInput(2), ctx.optInput(5), 'QLinearMatMul');
    const acc = matmulArrays(a, A.shape, b, B.shape, 'int32', true);
    const N = B.rank === 1 ? 1 : B.shape[B.rank - 1]!;
    if (bs.size !== 1 && !(bs.rank === 1 && bs.size === N && B.rank >= 2)) {
      throw diag.unsupportedFeature(`QLinearMatMul with b_scale of shape [${bs.shape.join(', ')}]`);
    }
    const rnd = rounder(as.dtype);
    const bsn = bs.num;
    const factors = Array.from({ length: bs.size }, (_, j) => rnd(rnd(as.num[0]! * bsn[j]!) / ys.num[0]!));
    const outDtype = (yzp ?? A).dtype;
    const [lo, hi] = qRange(outDtype);
    const zp = yzp ? yzp.num[0]! : 0;
    const out = new Tensor(outDtype, acc.shape);
    const y = out.num, c = acc.num;
    const perCol = factors.length > 1;
    for (let i = 0; i < c.length; i++) {
      const f = perCol ? factors[i % N]! : factors[0]!;
      y[i] = Math.min(hi, Math.max(lo, rint(c[i]! * f + zp)));
    }
    return [out];
  },
  // y = clamp(round_even(acc * f + y_zp)), acc the exact int32 matmul, f = (a_scale * b_scale) /
  // y_scale rounded in the scale type at each step (as the reference), the rest in f64
  lower: (ctx) => {
    const B = ctx.inputs[3]!;
    const as = ctx.inputs[1]!, bs = ctx.inputs[4]!, ys = ctx.inputs[6]!, yzp = ctx.inputs[7];
    const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
    if (size(as.shape) !== 1 || size(ys.shape) !== 1) ctx.unsupported('per-row a_scale / y_scale');
    // the scale arithmetic rounds to the scale type at each step: no loop-IR type rounds to 16 bits
    if (!['float32', 'float64'].includes(ctx.node.inputs[1]!.dtype)) ctx.unsupported(`${ctx.node.inputs[1]!.dtype} scales`);
    if (yzp && size(yzp.shape) !== 1) ctx.unsupported('non-scalar y_zero_point');
    const N = B.shape.length === 1 ? 1 : B.shape[B.shape.length - 1]!;
    const perCol = size(bs.shape) !== 1;
    if (perCol && !(bs.shape.length === 1 && size(bs.shape) === N && B.shape.length >= 2)) {
      ctx.unsupported(`b_scale of shape [${bs.shape.join(', ')}]`);
    }
    const out = ctx.outputs[0]!;
    const [lo, hi] = qRange(ctx.node.outputs[0]!.dtype);
    const mm = matmulIndexer(ctx.inputs[0]!, B, out.shape.length);
    ctx.compute(0, (idx) => {
      const acc = intMatmul(ctx, 0, 3, 2, 5, idx);
      const f = E.div(E.mul(as.flat(E.i(0)), bs.flat(perCol ? mm.col(idx)! : E.i(0))), ys.flat(E.i(0)));
      let v = E.mul(E.cast(acc, 'f64'), E.cast(f, 'f64'));
      if (yzp) v = E.add(v, E.cast(yzp.flat(E.i(0)), 'f64'));
      const r = E.min(E.c(hi, 'f64'), E.max(E.c(lo, 'f64'), E.call('round_even', v)));
      return E.cast(r, out.dtype);
    });
  },
  flops: (ctx, outs) => matmulFlops(ctx.inputTypes[0], outs[0].shape),
});

// ---- Det ---------------------------------------------------------------------------------------
defineOp({
  name: 'Det', category: 'linalg',
  summary: 'determinant of square matrices over the last two dims (LU with partial pivoting)',
  types: { T: FLOATS },
  inputs: [{ name: 'X', type: 'T' }],
  outputs: [{ name: 'Y', type: 'T' }],
  attrs: {},
  onnx: { since: 11 },
  infer: (ctx) => {
    requireDtype(ctx, 0, FLOATS);
    const x = ctx.type(0);
    if (!x.shape) return [{ dtype: x.dtype, shape: undefined }];
    if (x.shape.length < 2) throw diag.verify('Det', `input must have rank >= 2, got ${x.shape.length}`, loc(ctx));
    const m = x.shape[x.shape.length - 2]!, n = x.shape[x.shape.length - 1]!;
    if (typeof m === 'number' && typeof n === 'number' && m !== n) {
      throw diag.shapeMismatch('Det', `matrices must be square, got [${m}, ${n}]`, loc(ctx));
    }
    return [{ dtype: x.dtype, shape: x.shape.slice(0, -2) }];
  },
  eval: (ctx) => {
    const x = ctx.input(0);
    if (x.rank < 2) throw diag.verify('Det', 'input must have rank >= 2');
    const n = x.shape[x.rank - 1]!;
    if (x.shape[x.rank - 2] !== n) throw diag.shapeMismatch('Det', 'matrices must be square');
    const out = new Tensor(x.dtype, x.shape.slice(0, -2));
    const d = x.num, y = out.num;
    const m = new Float64Array(n * n);
    for (let b = 0; b < out.size; b++) {
      for (let i = 0; i < n * n; i++) m[i] = d[b * n * n + i]!;
      y[b] = luDet(m, n);
    }
    return [out];
  },
  lower: (ctx) => detLower(ctx),
  flops: (ctx, outs) => {
    const s = ctx.inputTypes[0]?.shape;
    const n = s?.[s.length - 1];
    const b = dimProduct(outs[0].shape ?? ['?']);
    return typeof n === 'number' && b !== undefined ? Math.round((2 / 3) * n * n * n * b) : 0;
  },
});

/**
 * Exact int32 matmul of (A - a_zero_point) @ (B - b_zero_point) at output index idx (inputs given by
 * position): per-tensor a_zero_point, per-tensor or per-column ([N]) b_zero_point, as
 * subtractZeroPoints accepts.
 */
function intMatmul(ctx: LowerCtx, ia: number, ib: number, iazp: number, ibzp: number, idx: Expr[]): Expr {
  const A = ctx.inputs[ia]!, B = ctx.inputs[ib]!, azp = ctx.inputs[iazp], bzp = ctx.inputs[ibzp];
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  const N = B.shape.length === 1 ? 1 : B.shape[B.shape.length - 1]!;
  if (azp && size(azp.shape) !== 1) ctx.unsupported(`per-row a_zero_point (shape [${azp.shape.join(', ')}])`);
  const perCol = !!bzp && size(bzp.shape) !== 1;
  if (bzp && perCol && !(bzp.shape.length === 1 && bzp.shape[0] === N && B.shape.length >= 2)) {
    ctx.unsupported(`b_zero_point of shape [${bzp.shape.join(', ')}]`);
  }
  const mm = matmulIndexer(A, B, ctx.outputs[0]!.shape.length);
  const za = azp ? E.cast(azp.flat(E.i(0)), 'i32') : undefined;
  const zb = bzp ? E.cast(bzp.flat(perCol ? mm.col(idx)! : E.i(0)), 'i32') : undefined;
  return reduceExpr(ctx, 'sum', [mm.K], ([k]) => {
    const a = E.cast(mm.a(idx, k!), 'i32'), b = E.cast(mm.b(idx, k!), 'i32');
    return E.mul(za ? E.sub(a, za) : a, zb ? E.sub(b, zb) : b);
  });
}

/**
 * Det as an imperative stage: per matrix, LU with partial pivoting in f64 on a scratch copy, exactly
 * the steps of luDet (first largest |pivot|, stop at a zero / NaN pivot column).
 */
function detLower(ctx: LowerCtx): void {
  const x = ctx.inputs[0]!, y = ctx.outputs[0]!;
  const r = x.shape.length;
  if (r < 2 || x.shape[r - 1] !== x.shape[r - 2]) ctx.unsupported('input must be square matrices');
  const n = x.shape[r - 1]!;
  const batch = y.shape.reduce((a, b) => a * b, 1);
  if (batch === 0) return;
  const m = ctx.temp('lu', 'f64', [Math.max(1, n * n)]), det = ctx.temp('det', 'f64', [1]);
  const done = ctx.temp('done', 'i32', [1]), pv = ctx.temp('piv', 'i32', [1]), best = ctx.temp('best', 'f64', [1]);
  const [b, e, c, rr, kk, vN, pN, tN, pivN, fN] = ['b', 'e', 'c', 'r', 'k', 'v', 'p', 'tmp', 'pv', 'f'].map((s) => ctx.fresh(s));
  const B = E.v(b!), Ev = E.v(e!), Cv = E.v(c!), R = E.v(rr!), Kv = E.v(kk!), P = E.v(pN!);
  const zero = E.i(0), nI = E.i(n);
  const M = (i: Expr, j: Expr) => m.flat(E.add(E.mul(i, nI), j));
  const setM = (i: Expr, j: Expr, v: Expr) => S.store(m.buf.name, E.add(E.mul(i, nI), j), v);
  const set = (t: { buf: { name: string } }, v: Expr) => S.store(t.buf.name, zero, v);
  const rowBelow = E.add(E.add(Cv, E.i(1)), R); // c + 1 + r
  const colRight = E.add(E.add(Cv, E.i(1)), Kv);
  const fresh = S.seq(
    set(best, E.abs(M(Cv, Cv))), set(pv, Cv),
    S.for(rr!, E.sub(E.i(n - 1), Cv), S.let(vN!, 'f64', E.abs(M(rowBelow, Cv)),
      S.if(E.gt(E.v(vN!, 'f64'), best.flat(zero)), S.seq(set(best, E.v(vN!, 'f64')), set(pv, rowBelow))))),
    S.if(E.or(E.eq(best.flat(zero), E.c(0, 'f64')), E.call('isnan', best.flat(zero))),
      S.seq(set(det, E.select(E.call('isnan', best.flat(zero)), E.c(NaN, 'f64'), E.c(0, 'f64'))), set(done, E.i(1))),
      S.let(pN!, 'i32', pv.flat(zero), S.seq(
        S.if(E.bin('ne', P, Cv), S.seq(
          S.for(kk!, n, S.let(tN!, 'f64', M(Cv, Kv), S.seq(setM(Cv, Kv, M(P, Kv)), setM(P, Kv, E.v(tN!, 'f64'))))),
          set(det, E.neg(det.flat(zero))),
        )),
        S.let(pivN!, 'f64', M(Cv, Cv), S.seq(
          set(det, E.mul(det.flat(zero), E.v(pivN!, 'f64'))),
          S.for(rr!, E.sub(E.i(n - 1), Cv), S.let(fN!, 'f64', E.div(M(rowBelow, Cv), E.v(pivN!, 'f64')),
            S.if(E.bin('ne', E.v(fN!, 'f64'), E.c(0, 'f64')),
              S.for(kk!, E.sub(E.i(n - 1), Cv), setM(rowBelow, colRight,
                E.sub(M(rowBelow, colRight), E.mul(E.v(fN!, 'f64'), M(Cv, colRight)))))))),
        )),
      ))),
  );
  const body = S.for(b!, batch, S.seq(
    S.for(e!, n * n, S.store(m.buf.name, Ev, E.cast(x.flat(E.add(E.mul(B, E.i(n * n)), Ev)), 'f64'))),
    set(det, E.c(1, 'f64')), set(done, zero),
    S.for(c!, n, S.if(E.eq(done.flat(zero), zero), fresh)),
    S.store(y.buf.name, B, E.cast(det.flat(zero), y.dtype)),
  ));
  ctx.extern([0], body);
}

/** Determinant of an n x n row-major matrix (destroys m). */
function luDet(m: Float64Array, n: number): number {
  let det = 1;
  for (let c = 0; c < n; c++) {
    let p = c, best = Math.abs(m[c * n + c]!);
    for (let r = c + 1; r < n; r++) {
      const v = Math.abs(m[r * n + c]!);
      if (v > best) { best = v; p = r; }
    }
    if (best === 0 || Number.isNaN(best)) {
      if (Number.isNaN(best)) return NaN;
      return 0;
    }
    if (p !== c) {
      for (let k = 0; k < n; k++) { const t = m[c * n + k]!; m[c * n + k] = m[p * n + k]!; m[p * n + k] = t; }
      det = -det;
    }
    const piv = m[c * n + c]!;
    det *= piv;
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c]! / piv;
      if (f === 0) continue;
      for (let k = c + 1; k < n; k++) m[r * n + k] -= f * m[c * n + k]!;
    }
  }
  return det;
}
