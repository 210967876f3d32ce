/** Lexical conventions shared by the printer and the parser: names, numbers, strings, types. */
import { SHORT_NAME, castScalar, type DType, type Dim, type Shape, type ValueKind } from '@aic/core';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set(['_']);

/** A value / graph / dim name as it is written: bare when it is an identifier, else `quoted`. */
export function fmtName(n: string): string {
  if (IDENT.test(n) && !RESERVED.has(n)) return n;
  return '`' + n.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\n/g, '\\n') + '`';
}

export function unquoteName(src: string): string {
  if (!src.startsWith('`')) return src;
  return src.slice(1, -1).replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

export function fmtString(s: string): string {
  return JSON.stringify(s);
}

export function fmtDim(d: Dim): string {
  return typeof d === 'number' ? String(d) : fmtName(d);
}

export function fmtShape(s: Shape): string {
  return s === undefined ? '[*]' : `[${s.map(fmtDim).join(', ')}]`;
}

export function fmtTensorType(dtype: DType, shape: Shape): string {
  return `${SHORT_NAME[dtype]}${fmtShape(shape)}`;
}

export function fmtType(t: { dtype: DType; shape: Shape; layout?: string }, kind: ValueKind = 'tensor'): string {
  const s = fmtTensorType(t.dtype, t.shape) + (t.layout ? `{${t.layout}}` : '');
  return kind === 'sequence' ? `seq<${s}>` : kind === 'optional' ? `opt<${s}>` : s;
}

/** A float written so it reads back bit-exactly; always has '.' or an exponent (or is inf/nan). */
export function fmtFloat(v: number, dtype: DType = 'float64'): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  let s: string | undefined;
  if (dtype !== 'float64' && castScalar(v, dtype) === v) {
    // shortest decimal that reads back to the same narrow value
    for (let p = 1; p <= 17; p++) {
      const c = v.toPrecision(p);
      if (castScalar(Number(c), dtype) === v) { s = normalizeExp(String(Number(c))); break; }
    }
  }
  if (s === undefined) s = String(v);
  if (!/[.eE]/.test(s)) s += '.0';
  return s;
}

function normalizeExp(s: string): string {
  return s;
}

/** A float attribute: ONNX stores float attributes as float32; print the shortest form. */
export function fmtFloatAttr(v: number): string {
  return fmtFloat(v, Math.fround(v) === v ? 'float32' : 'float64');
}

export function fmtInt(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) > Number.MAX_SAFE_INTEGER) return BigInt(v).toString();
  return String(v);
}

export function parseFloatLit(s: string): number {
  if (s === 'nan') return NaN;
  if (s === 'inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}
