/**
 * Compute definitions (tensor expressions, as in Halide/TVM): an op says what each output element
 * is, as an expression over index variables and loads of its inputs, with `reduce` for reductions.
 * `lowerCompute` turns one into a loop nest: one loop per output dimension, each reduction hoisted
 * into a register accumulator with its own loops. Schedules then reshape these nests.
 */
import { E, S, flatIndex, mapExpr, numel, type Buffer, type Expr, type ScalarType, type Stmt } from './ir.ts';
import { simplifyStmt } from './simplify.ts';

/** A tensor visible to a compute definition. */
export interface TensorRef {
  buf: Buffer;
  /** load at a multi-dimensional index (row-major) */
  at(...idx: Expr[]): Expr;
  /** load at a flat element offset */
  flat(i: Expr): Expr;
  readonly shape: number[];
  readonly dtype: ScalarType;
}

export function tensorRef(buf: Buffer): TensorRef {
  return {
    buf,
    shape: buf.shape,
    dtype: buf.dtype,
    at: (...idx: Expr[]) => E.load(buf.name, buf.shape.length === 0 ? E.i(0) : flatIndex(idx, buf.shape), buf.dtype),
    flat: (i: Expr) => E.load(buf.name, i, buf.dtype),
  };
}

/** Output element = body(index vars) ; `axes` are the loop variable names, outermost first. */
export interface ComputeStage { kind: 'compute'; out: Buffer; axes: string[]; body: Expr }
/** An imperative stage written directly as loop IR (sorting, scans, data-dependent control). */
export interface ExternStage { kind: 'extern'; outs: Buffer[]; body: Stmt }
export type Stage = ComputeStage | ExternStage;

const REDUCE_INIT: Record<string, number> = { sum: 0, prod: 1, max: -Infinity, min: Infinity };

/** Loop nest for a compute stage. */
export function lowerCompute(st: ComputeStage, fresh: (p: string) => string): Stmt {
  const { out, axes } = st;
  let accs: { name: string; r: Extract<Expr, { k: 'reduce' }> }[] = [];
  // hoist reductions (innermost first) into accumulators
  const body = mapExpr(st.body, (e) => {
    if (e.k !== 'reduce') return e;
    const name = fresh('acc');
    accs.push({ name, r: e });
    return E.load(name, E.i(0), e.t);
  });
  const idx = out.shape.length === 0 ? E.i(0) : flatIndex(axes.map((a) => E.v(a)), out.shape);
  let inner: Stmt = S.store(out.name, idx, body);
  // accumulators are computed before the store, in order (later ones may use earlier ones)
  const pre: Stmt[] = [];
  for (const { name, r } of accs) {
    const accBuf: Buffer = { name, dtype: r.t, shape: [1], scope: 'register', role: 'scratch' };
    const cur = E.load(name, E.i(0), r.t);
    const v = r.body;
    const upd = r.op === 'sum' ? E.add(cur, v) : r.op === 'prod' ? E.mul(cur, v)
      : r.op === 'max' ? E.select(E.or(E.gt(v, cur), E.call('isnan', v)), v, cur)
      : E.select(E.or(E.lt(v, cur), E.call('isnan', v)), v, cur);
    let loop: Stmt = S.store(name, E.i(0), isFloatOrNaN(r.t) || r.op === 'sum' || r.op === 'prod' ? upd : intMinMax(r.op, cur, v));
    for (let d = r.axes.length - 1; d >= 0; d--) loop = S.for(r.axes[d].name, r.axes[d].extent, loop);
    pre.push(S.store(name, E.i(0), E.c(initFor(r.op, r.t), r.t)), loop);
    void accBuf;
  }
  if (accs.length) {
    inner = S.seq(...pre, inner);
    for (let i = accs.length - 1; i >= 0; i--) {
      const r = accs[i].r;
      inner = S.alloc({ name: accs[i].name, dtype: r.t, shape: [1], scope: 'register', role: 'scratch' }, inner);
    }
  }
  accs = [];
  for (let d = axes.length - 1; d >= 0; d--) inner = S.for(axes[d], out.shape[d], inner);
  return simplifyStmt(inner);
}

function isFloatOrNaN(t: ScalarType): boolean { return t === 'f32' || t === 'f64'; }
function intMinMax(op: string, cur: Expr, v: Expr): Expr { return op === 'max' ? E.max(cur, v) : E.min(cur, v); }

function initFor(op: string, t: ScalarType): number {
  const v = REDUCE_INIT[op];
  if (t === 'f32' || t === 'f64') return v;
  const lim: Record<string, [number, number]> = {
    i8: [-128, 127], i16: [-32768, 32767], i32: [-2147483648, 2147483647], i64: [-(2 ** 63), 2 ** 63 - 1],
    u8: [0, 255], u16: [0, 65535], u32: [0, 4294967295], u64: [0, 2 ** 64 - 1], bool: [0, 1],
  };
  if (v === -Infinity) return lim[t][0];
  if (v === Infinity) return lim[t][1];
  return v;
}

export function stageOutputs(st: Stage): Buffer[] {
  return st.kind === 'compute' ? [st.out] : st.outs;
}

export { numel };
