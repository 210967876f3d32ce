/**
 * Scalar loop-IR expressions -> JS functions. Elementwise ops define each output element once, as a
 * loop-IR expression over their input elements (`E.*`); the compiled targets load the inputs into it
 * (OpDef.lower) and the reference interpreter compiles it here into a closure tree, once per node
 * (OpDef.eval). The semantics are the loop-IR interpreter's (packages/loop-ir/src/interp.ts), i.e. C:
 * integers wrap to their width, integer div/mod truncate, float min/max propagate NaN, `select` only
 * evaluates the chosen branch. Two deliberate refinements over that interpreter, both what C does:
 * - i64/u64 bitwise ops (and/or/xor/not/shl/shr) are exact (BigInt), not 32-bit JS operators;
 * - `strict` mode (the reference) reports integer division by zero and failed index checks (runtime
 *   errors) where the targets' runtime checks fail the run. Casts are the loop-IR `castValue` (loop-ir
 *   cast.ts: float -> int saturates, int -> int wraps) on every target.
 * Only const / var / bin / un / call / select / cast nodes are scalar; loads, vectors and reductions
 * are rejected.
 */
import { diag } from '@aic/core';
import { CHECK_DIV_ZERO, INTRINSIC_JS, castValue, wrapValue, checkIndexJS, checkMessage, checkRangeJS, isCheck, type BinOp, type CheckFailure, type Expr, type ScalarType } from '@aic/loop-ir';

export interface CompileOpts {
  /** the reference: report undefined behaviour (see the file comment); `op` names it */
  strict?: { op: string };
}

type Fn = (env: number[]) => number;

const isF = (t: ScalarType) => t === 'f32' || t === 'f64';
const is64 = (t: ScalarType) => t === 'i64' || t === 'u64';

/** C wrap of an exact integer (or float rounding) to type t: the loop-IR interpreter's (loop-ir cast.ts) */
export const wrapTo = wrapValue;

/** an exact 64-bit result as a double (values beyond 2^53 round; the reference's store rejects those) */
const big = (f: (a: bigint, b: bigint) => bigint, t: ScalarType) => (a: number, b: number): number => {
  const r = f(BigInt(a), BigInt(b));
  return Number(t === 'i64' ? BigInt.asIntN(64, r) : BigInt.asUintN(64, r));
};
/** a double holding an integer of a 64-bit type as a BigInt (non-integers only arise from inexact storage) */
const toBig = (v: number) => BigInt(Math.trunc(v));

function binFn(op: BinOp, t: ScalarType, opts: CompileOpts): (a: number, b: number) => number {
  const f = isF(t);
  const divZero = opts.strict ? () => { throw diag.runtime(opts.strict!.op, 'integer division by zero'); } : () => 0;
  switch (op) {
    case 'add': return (a, b) => wrapTo(a + b, t);
    case 'sub': return (a, b) => wrapTo(a - b, t);
    case 'mul':
      if (t === 'i32') return Math.imul;
      if (t === 'u32') return (a, b) => Math.imul(a, b) >>> 0;
      return (a, b) => wrapTo(a * b, t);
    case 'div':
      if (f) return (a, b) => wrapTo(a / b, t);
      if (is64(t)) { const q = big((x, y) => x / y, t); return (a, b) => (b === 0 ? divZero() : q(a, b)); }
      return (a, b) => (b === 0 ? divZero() : wrapTo(Math.trunc(a / b), t));
    case 'mod':
      if (f) return (a, b) => wrapTo(a % b, t);
      if (is64(t)) { const r = big((x, y) => x % y, t); return (a, b) => (b === 0 ? divZero() : r(a, b)); }
      return (a, b) => (b === 0 ? divZero() : wrapTo(a % b, t));
    case 'min': return f ? (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)) : Math.min;
    case 'max': return f ? (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)) : Math.max;
    case 'pow': return (a, b) => wrapTo(Math.pow(a, b), t);
    case 'and':
      if (t === 'bool') return (a, b) => (a && b ? 1 : 0);
      return is64(t) ? big((x, y) => x & y, t) : (a, b) => wrapTo(a & b, t);
    case 'or':
      if (t === 'bool') return (a, b) => (a || b ? 1 : 0);
      return is64(t) ? big((x, y) => x | y, t) : (a, b) => wrapTo(a | b, t);
    case 'xor':
      if (t === 'bool') return (a, b) => ((a ? 1 : 0) ^ (b ? 1 : 0));
      return is64(t) ? big((x, y) => x ^ y, t) : (a, b) => wrapTo(a ^ b, t);
    case 'shl':
      if (is64(t)) return (a, b) => big((x) => x << toBig(b), t)(a, 0);
      return (a, b) => wrapTo(a * 2 ** b, t);
    case 'shr':
      if (is64(t)) return (a, b) => big((x) => x >> toBig(b), t)(a, 0);
      return (a, b) => wrapTo(Math.floor(a / 2 ** b), t);
    case 'eq': return (a, b) => (a === b ? 1 : 0);
    case 'ne': return (a, b) => (a !== b ? 1 : 0);
    case 'lt': return (a, b) => (a < b ? 1 : 0);
    case 'le': return (a, b) => (a <= b ? 1 : 0);
    case 'gt': return (a, b) => (a > b ? 1 : 0);
    case 'ge': return (a, b) => (a >= b ? 1 : 0);
  }
}

const INTRINSIC: Record<string, (...a: number[]) => number> = INTRINSIC_JS;

function compile(e: Expr, vars: Map<string, number>, opts: CompileOpts): Fn {
  if (e.lanes !== 1) throw new Error(`scalar expression: ${e.lanes}-lane ${e.k}`);
  switch (e.k) {
    case 'const': { const v = wrapTo(e.v, e.t); return () => v; }
    case 'var': {
      const i = vars.get(e.name);
      if (i === undefined) throw new Error(`scalar expression: unbound variable ${e.name}`);
      return (env) => env[i]!;
    }
    case 'bin': {
      const a = compile(e.a, vars, opts), b = compile(e.b, vars, opts), f = binFn(e.op, e.a.t, opts);
      return (env) => f(a(env), b(env));
    }
    case 'un': {
      const x = compile(e.x, vars, opts), t = e.t;
      if (e.op === 'neg') return (env) => wrapTo(-x(env), t);
      if (e.op === 'abs') return (env) => wrapTo(Math.abs(x(env)), t);
      if (t === 'bool') return (env) => (x(env) ? 0 : 1);
      if (is64(t)) return (env) => { const r = ~toBig(x(env)); return Number(t === 'i64' ? BigInt.asIntN(64, r) : BigInt.asUintN(64, r)); };
      return (env) => wrapTo(~x(env), t);
    }
    case 'call': {
      const args = e.args.map((a) => compile(a, vars, opts)), t = e.args[0]!.t;
      if (e.fn === 'isnan') { const x = args[0]!; return (env) => (Number.isNaN(x(env)) ? 1 : 0); }
      if (e.fn === 'isinf') { const x = args[0]!; return (env) => { const v = x(env); return v === Infinity || v === -Infinity ? 1 : 0; }; }
      if (isCheck(e.fn)) return checkFn(e.fn, args, opts);
      const f = INTRINSIC[e.fn];
      if (!f) throw new Error(`scalar expression: unknown intrinsic ${e.fn}`);
      if (args.length === 1) { const x = args[0]!; return (env) => wrapTo(f(x(env)), t); }
      return (env) => wrapTo(f(...args.map((a) => a(env))), t);
    }
    case 'select': {
      const c = compile(e.c, vars, opts), a = compile(e.a, vars, opts), b = compile(e.b, vars, opts);
      return (env) => (c(env) ? a(env) : b(env));
    }
    case 'cast': {
      const x = compile(e.x, vars, opts), from = e.x.t, to = e.t;
      return (env) => castValue(x(env), from, to);
    }
    default:
      throw new Error(`scalar expression: ${e.k} is not scalar`);
  }
}

/** Runtime checks (loop-ir checks.ts): strict mode raises the failure, otherwise the safe value. */
function checkFn(fn: 'check_index' | 'check_nonzero' | 'check_range', args: Fn[], opts: CompileOpts): Fn {
  const fail = (f: CheckFailure) => { throw diag.runtime(opts.strict!.op, checkMessage(f)); };
  const x = args[0]!;
  if (fn === 'check_nonzero') {
    return opts.strict ? (env) => { const v = x(env); if (v === 0) fail({ code: CHECK_DIV_ZERO, value: 0, bound: 0 }); return v; } : x;
  }
  const n = args[1]!, code = args[2];
  return (env) => {
    const r = code ? checkRangeJS(x(env), n(env), code(env)) : checkIndexJS(x(env), n(env));
    if (r.fail && opts.strict) fail(r.fail);
    return r.v;
  };
}

/**
 * Compile `body` over the variables `params` (by name, in argument order) into a JS function of
 * those arguments. Numbers in and out; the result has `body.t`'s value set (wrapped integers, f32
 * rounded), except that i64/u64 are plain doubles, exact within 2^53.
 */
export function compileScalar(params: readonly string[], body: Expr, opts: CompileOpts = {}): (...args: number[]) => number {
  const vars = new Map(params.map((p, i) => [p, i]));
  const f = compile(body, vars, opts);
  const n = params.length;
  if (n === 1) { const env = [0]; return (a: number) => { env[0] = a; return f(env); }; }
  if (n === 2) { const env = [0, 0]; return (a: number, b: number) => { env[0] = a; env[1] = b; return f(env); }; }
  const env = new Array<number>(n).fill(0);
  return (...args: number[]) => { for (let i = 0; i < n; i++) env[i] = args[i]!; return f(env); };
}
