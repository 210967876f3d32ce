/**
 * Compute definitions (tensor expressions, as in Halide/TVM): an op says what each output element
 * is, as an expression over index variables and loads of its inputs, with `reduce` for reductions.
 * `lowerCompute` turns one into a loop nest: one loop per output dimension, each reduction hoisted
 * into a register accumulator with its own loops. Schedules then reshape these nests.
 */
import { E, flatIndex, numel, type Buffer, type Expr, type ScalarType, type Stmt } from './ir.ts';
import { initialState, realizeStage } from './schedule.ts';
import { computeT } from './half.ts';
import { bufferIndex, logicalShape } from './layout.ts';

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
    shape: logicalShape(buf),
    // 16-bit float buffers load as f32 (half.ts)
    dtype: computeT(buf.dtype),
    at: (...idx: Expr[]) => E.load(buf.name, bufferIndex(buf, idx), computeT(buf.dtype)),
    flat: (i: Expr) => E.load(buf.name, i, computeT(buf.dtype)),
  };
}

/** Output element = body(index vars) ; `axes` are the loop variable names, outermost first. */
export interface ComputeStage { kind: 'compute'; out: Buffer; axes: string[]; body: Expr }
/** An imperative stage written directly as loop IR (sorting, scans, data-dependent control). */
export interface ExternStage { kind: 'extern'; outs: Buffer[]; body: Stmt }
export type Stage = ComputeStage | ExternStage;

const REDUCE_INIT: Record<string, number> = { sum: 0, prod: 1, max: -Infinity, min: Infinity };

/** Loop nest for a compute stage with the default (unscheduled) loop order. */
export function lowerCompute(st: ComputeStage, fresh: (p: string) => string): Stmt {
  return realizeStage(st, initialState(st), fresh);
}

export function stageOutputs(st: Stage): Buffer[] {
  return st.kind === 'compute' ? [st.out] : st.outs;
}

export { numel };
