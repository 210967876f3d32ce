/**
 * Branch-free vector helpers for C (GCC/Clang vector extensions): float min/max with the IR's NaN
 * semantics and select, as a compare mask and a bitwise blend. The per-lane `c ? a : b` loops they
 * replace only vectorize through GCC's loop if-conversion, which GCC + AVX-512 builds may not use
 * (see GCC_AVX512_CFLAGS and kernelAttributes in guarded.ts): without it every lane ran as a branch.
 */
import type { Expr, ScalarType } from '@aic/loop-ir';

type Need = (name: string, def: () => string) => string;
type VecTypedef = (t: ScalarType, lanes: number) => string;

const WIDTH: Partial<Record<ScalarType, number>> = { f32: 4, f64: 8, i32: 4, u32: 4, i64: 8, u64: 8, i16: 2, u16: 2, i8: 1, u8: 1, bool: 1 };
const MASK: Record<number, ScalarType> = { 1: 'i8', 2: 'i16', 4: 'i32', 8: 'i64' };

/**
 * `aic_vmin/vmax` for f32/f64 vectors: a if a is NaN or a <= b (min) / a >= b (max), else b — the
 * scalar helper's `(a != a || a < b) ? a : (b != b ? b : (a == b ? a : b))` lane by lane.
 * Returns undefined for other types (the caller keeps its per-lane loop).
 */
export function vecMinMax(need: Need, vec: VecTypedef, op: 'min' | 'max', t: ScalarType, lanes: number): string | undefined {
  if (t !== 'f32' && t !== 'f64') return undefined;
  const vt = vec(t, lanes), mt = vec(MASK[WIDTH[t]!], lanes);
  const name = `aic_v${op}_${vt}`;
  return need(name, () => `static inline ${vt} ${name}(${vt} a, ${vt} b) { ${mt} m = (a != a) | (a ${op === 'min' ? '<=' : '>='} b); return (${vt})(((${mt})a & m) | ((${mt})b & ~m)); }`);
}

/**
 * `aic_vselect` for a bool (or integer) condition vector: widen it to a lane mask of the payload's
 * width and blend. Undefined when the condition is a float vector or the payload has no mask width.
 */
export function vecSelect(need: Need, vec: VecTypedef, ct: ScalarType, t: ScalarType, lanes: number): string | undefined {
  const w = WIDTH[t];
  if (!w || ct === 'f32' || ct === 'f64') return undefined;
  const cvt = vec(ct, lanes), vt = vec(t, lanes), mt = vec(MASK[w], lanes);
  const name = `aic_vselect_${cvt}_${vt}`;
  const m = ct === MASK[w] ? `c != (${mt}){0}` : `__builtin_convertvector(c, ${mt}) != (${mt}){0}`;
  return need(name, () => `static inline ${vt} ${name}(${cvt} c, ${vt} a, ${vt} b) { ${mt} m = ${m}; return (${vt})(((${mt})a & m) | ((${mt})b & ~m)); }`);
}

const CMP: Record<string, string> = { lt: '<', le: '<=', gt: '>', ge: '>=', eq: '==', ne: '!=' };

/**
 * A select condition as a lane mask of width `w` bytes (all-ones / zero lanes, the mask type of the
 * payload), straight from vector comparisons (`a < b` on vectors is such a mask): comparisons of
 * operands of that width, isnan, not / and / or / xor of those. Undefined for anything else (the
 * caller widens a bool vector instead). `operand(x)` renders x as an L-lane vector.
 */
export function vecMask(e: Expr, w: number, operand: (x: Expr) => string): string | undefined {
  switch (e.k) {
    case 'bin': {
      if (CMP[e.op] && e.a.t !== 'bool' && WIDTH[e.a.t] === w && e.a.t === e.b.t) return `(${operand(e.a)} ${CMP[e.op]} ${operand(e.b)})`;
      const op = e.op === 'and' ? '&' : e.op === 'or' ? '|' : e.op === 'xor' ? '^' : undefined;
      if (!op || e.t !== 'bool') return undefined;
      const a = vecMask(e.a, w, operand), b = a && vecMask(e.b, w, operand);
      return a && b ? `(${a} ${op} ${b})` : undefined;
    }
    case 'call': {
      const x = e.args[0];
      if (e.fn !== 'isnan' || (x.t !== 'f32' && x.t !== 'f64') || WIDTH[x.t] !== w) return undefined;
      const v = operand(x);
      return `(${v} != ${v})`;
    }
    case 'un': {
      if (e.op !== 'not' || e.t !== 'bool') return undefined;
      const a = vecMask(e.x, w, operand);
      return a && `(~${a})`;
    }
    default: return undefined;
  }
}

/** `aic_vblend`: mask lanes all-ones pick a, zero pick b. */
export function vecBlend(need: Need, vec: VecTypedef, t: ScalarType, lanes: number): string | undefined {
  const w = WIDTH[t];
  if (!w) return undefined;
  const vt = vec(t, lanes), mt = vec(MASK[w], lanes);
  const name = `aic_vblend_${vt}`;
  return need(name, () => `static inline ${vt} ${name}(${mt} m, ${vt} a, ${vt} b) { return (${vt})(((${mt})a & m) | ((${mt})b & ~m)); }`);
}

/** the byte width of a lane of type t (the mask width a select of t needs) */
export const laneWidth = (t: ScalarType): number | undefined => WIDTH[t];
