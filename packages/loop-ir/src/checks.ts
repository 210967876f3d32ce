/**
 * Runtime checks: what a kernel reports when its input data break an op's contract (ONNX Runtime
 * raises an error there). Lowering emits them as two intrinsics every target implements:
 * - `check_index(i, n)` (i32): i in [-n, n) -> i (negative: i + n); otherwise the kernel records
 *   CHECK_INDEX with value i and bound n, and the result is 0 (so nothing reads out of bounds);
 * - `check_nonzero(b)` (b's type): b; when b is 0 the kernel records CHECK_DIV_ZERO;
 * - `check_range(v, n, code)` (i32): v in [0, n) -> v; otherwise the kernel records `code` (one of
 *   RANGE_CHECKS: what the value is, for the message) with value v, and the result is 0.
 * A kernel keeps the first failure and runs to its end on the safe values; the host (loop-IR
 * interpreter, C aic_model_run, wasm loader, WebGPU runner) stops after the failing kernel and
 * reports it, naming the node. Messages are the reference interpreter's (ir-spec).
 */
import { walkExprs, type Stmt } from './ir.ts';

export const CHECK_INDEX = 1;
export const CHECK_DIV_ZERO = 2;
/** check_range codes: [what the value is, whether the message shows the bound inclusive ([0, n-1]) or not ([0, n))] */
export const RANGE_CHECKS: Record<number, [string, boolean]> = {
  3: ['sequence_lens value', true],
  4: ['target value', false],
  5: ['batch index', false],
  6: ['K', true],
  7: ['Loop: the rows of its scan outputs left unwritten (declared length minus iterations run),', true],
};
export const CHECK_SEQUENCE_LENS = 3;
export const CHECK_TARGET = 4;
export const CHECK_BATCH_INDEX = 5;
export const CHECK_TOPK_K = 6;
export const CHECK_LOOP_ROWS = 7;

/** A failed check: its code, the offending value and the bound it broke (index checks). */
export interface CheckFailure { code: number; value: number; bound: number }

/** The text of a failed check, as the reference interpreter words it. */
export function checkMessage(f: CheckFailure): string {
  if (f.code === CHECK_INDEX) return indexOutOfBounds(f.value, f.bound);
  if (f.code === CHECK_DIV_ZERO) return 'integer division by zero';
  if (RANGE_CHECKS[f.code]) return rangeMessage(f.code, f.value, f.bound);
  return `runtime check ${f.code} failed`;
}

export function indexOutOfBounds(i: number | bigint, dim: number): string {
  return `index ${i} is out of bounds for a dimension of size ${dim}`;
}

/** A value outside [0, n) of a check_range with this code, as the reference words it. */
export function rangeMessage(code: number, v: number | bigint, n: number): string {
  const [what, inclusive] = RANGE_CHECKS[code]!;
  return `${what} ${v} is out of range [0, ${inclusive ? `${n - 1}]` : `${n})`}`;
}

/** check_range's safe value: v, or 0 with a failure. */
export function checkRangeJS(v: number, n: number, code: number): { v: number; fail?: CheckFailure } {
  if (v >= 0 && v < n) return { v };
  return { v: 0, fail: { code, value: v, bound: n } };
}

/** check_index's safe value: the normalized index, or 0 with a failure. */
export function checkIndexJS(i: number, n: number): { v: number; fail?: CheckFailure } {
  if (i >= -n && i < n) return { v: i < 0 ? i + n : i };
  return { v: 0, fail: { code: CHECK_INDEX, value: i, bound: n } };
}

/** Does a statement tree hold any runtime check? (hosts test the error word only after such kernels) */
export function hasChecks(s: Stmt): boolean {
  let found = false;
  walkExprs(s, (e) => { if (e.k === 'call' && (isCheck(e.fn))) found = true; });
  return found;
}

export const isCheck = (fn: string): fn is 'check_index' | 'check_nonzero' | 'check_range' =>
  fn === 'check_index' || fn === 'check_nonzero' || fn === 'check_range';
