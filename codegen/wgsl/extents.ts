/**
 * Run-time extents on WGSL (lower/extents.ts): the program is lowered at several values of the symbol
 * and merged; on WGSL what is merged is each kernel's dispatches (its stages realized, GPU loops bound,
 * legalized: finishExtents makes a kernel's body the sequence of them), so that a number that
 * differs between the values becomes an expression of `aic_S` inside the shaders. The shaders read
 * the value from a uniform (`aic_extent.x`, a 16-byte uniform buffer the host writes before each run,
 * bound at EXTENT_BINDING where used: uniform, so guards on it keep barriers in uniform control flow);
 * a workgroup count that depends on it is a small expression the host evaluates per run (GridExpr),
 * and the kernels guard invocations past the extent. Buffers are sized for the maximum.
 */
import { diag } from '@aic/core';
import { E, walkExpr, type Expr, type Stmt } from '@aic/loop-ir';
import type { Program } from '../lower/program.ts';
import { dimText, dimsAt } from '../lower/extents.ts';

const VAR = 'aic_S';
/** binding number of the extent uniform (the windows count up from 0; runtime checks use 63) */
export const EXTENT_BINDING = 62;
export const EXTENT_DECL = `@group(0) @binding(${EXTENT_BINDING}) var<uniform> aic_extent: vec4<i32>;`;

/** A workgroup count as the host computes it: a number, the symbol, or [op, a, b] (integer ops, truncating division). */
export type GridExpr = number | 'S' | [string, GridExpr, GridExpr];

/** finishExtents: each kernel's body becomes the sequence of its dispatches (`stages` realizes them). */
export function kernelsAsDispatches(prog: Program, stages: (kernel: string) => Stmt[]): void {
  prog.kernels = prog.kernels.map((k) => ({ ...k, body: { k: 'seq', body: stages(k.name) } }));
}

/** The dispatches of a merged kernel: its stages, each reading the extent from the uniform where it uses it. */
export function mergedDispatches(body: Stmt): Stmt[] {
  const withVar = body.k === 'let' && body.v === VAR;
  const inner = withVar ? body.body : body;
  if (inner.k !== 'seq') throw new Error('WGSL: a kernel with run-time extents is not a sequence of dispatches');
  return inner.body.map((st) => (withVar && usesVar(st) ? { k: 'let', v: VAR, t: 'i32', val: E.v('aic_extent.x', 'i32'), body: st } : st));
}

function usesVar(s: Stmt): boolean {
  return JSON.stringify(s).includes(`"name":"${VAR}"`);
}

/** Does a stage read the extent (then its dispatch binds the uniform)? */
export const readsExtent = (s: Stmt): boolean => s.k === 'let' && s.v === VAR;

/** A GPU loop's extent that depends on the symbol: its value at the maximum (the grid at compile time) and the host's expression. */
export function symbolicGrid(ext: Expr, max: number, where: string, symbol: string): { atMax: number; expr: GridExpr } {
  const expr = gridExpr(ext);
  if (expr === undefined) throw diag.extentUnsupported(symbol, `gives a GPU loop of ${where} an extent the host cannot compute per run`);
  return { atMax: evalGrid(expr, max), expr };
}

const OPS: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => Math.trunc(a / b), mod: (a, b) => a % b, min: Math.min, max: Math.max,
};

function gridExpr(e: Expr): GridExpr | undefined {
  switch (e.k) {
    case 'const': return Number.isInteger(e.v) ? e.v : undefined;
    case 'var': return e.name === VAR ? 'S' : undefined;
    case 'cast': return e.t.startsWith('f') || e.x.t.startsWith('f') ? undefined : gridExpr(e.x);
    case 'bin': {
      if (!OPS[e.op]) return undefined;
      const a = gridExpr(e.a), b = gridExpr(e.b);
      return a === undefined || b === undefined ? undefined : [e.op, a, b];
    }
    default: return undefined;
  }
}

/** The host's evaluation (host-runtime.mjs has the same). */
export function evalGrid(g: GridExpr, s: number): number {
  return typeof g === 'number' ? g : g === 'S' ? s : OPS[g[0]]!(evalGrid(g[1], s), evalGrid(g[2], s));
}

/** Whether an expression reads the symbol (a GPU loop extent that needs a per-run count). */
export function readsSymbol(e: Expr): boolean {
  let r = false;
  walkExpr(e, (x) => { if (x.k === 'var' && x.name === VAR) r = true; });
  return r;
}

/** The manifest's extent: the symbol, its maximum, and the dims of the symbolic inputs/outputs (numbers, or polynomial coefficients) and as shown. */
export interface ManifestExtent {
  symbol: string;
  max: number;
  dims: Record<string, (number | number[])[]>;
  shapes: Record<string, (number | string)[]>;
}

export function manifestExtent(prog: Program): ManifestExtent {
  const ext = prog.extents!;
  const io = [...prog.inputs, ...prog.outputs].filter((b) => ext.dims[b.name]);
  return {
    symbol: ext.symbol, max: ext.max,
    dims: Object.fromEntries(io.map((b) => [b.value, ext.dims[b.name]!.map((d) => (typeof d === 'number' ? d : d.c.slice()))])),
    shapes: Object.fromEntries(io.map((b) => [b.value, ext.dims[b.name]!.map((d) => (typeof d === 'number' ? d : dimText(d, ext.symbol)))])),
  };
}

/** An output's shape from its length at a run-time extent (the value that gives that many elements). */
export function extentShapeOf(prog: Program, value: string, length: number): number[] {
  const b = prog.outputs.find((x) => x.value === value)!;
  const ext = prog.extents!;
  if (!ext.dims[b.name]) return b.shape.slice();
  for (let v = 1; v <= ext.max; v++) { const d = dimsAt(ext, b, v); if (d.reduce((x, y) => x * y, 1) === length) return d; }
  throw new Error(`WGSL: output '${value}' has ${length} elements, which no value of ${ext.symbol} up to ${ext.max} gives`);
}
