/**
 * `aic compile`'s symbolic dims: `--input-shape input=Nx3x224x224` (a name for a dim keeps it
 * symbolic: a run-time batch, codegen/lower/symbolic.ts) and `--max-shape N=8` (its maximum).
 */
import { diag, type Dim } from '@aic/core';
import { parseShapeOptions } from './model-io.ts';
import { isDimName, parseDims } from '@aic/api/internal';

/** Split --input-shape options: all-numeric ones (bound when loading) and those naming a dim. */
export function splitShapeOptions(opts: string[] | undefined): { numeric: Record<string, number[]>; symbolic: Record<string, Dim[]> } {
  const numeric: string[] = [], symbolic: Record<string, Dim[]> = {};
  for (const o of opts ?? []) {
    const eq = o.lastIndexOf('=');
    const text = eq >= 0 ? o.slice(eq + 1) : o;
    if (!text.split(/[x,]/).some((d) => isDimName(d.trim()))) { numeric.push(o); continue; }
    symbolic[eq >= 0 ? o.slice(0, eq) : ''] = parseDims(text, `--input-shape '${o}'`);
  }
  return { numeric: parseShapeOptions(numeric), symbolic };
}

/** `--max-shape NAME=N` (repeatable). */
export function parseMaxShapes(opts: string[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of opts ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_.]*)=(\d+)$/.exec(o.trim());
    if (!m || Number(m[2]) < 1) throw diag.usage(`--max-shape '${o}': expected NAME=N with N >= 1 (e.g. N=8)`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}
