/**
 * The loader metadata of a program with a run-time extent (lower/extents.ts): where the extent lives
 * in memory, and the dims of each symbolic input/output (numbers, or polynomial coefficients) with
 * their shapes as shown (the symbol's polynomial as text). model.mjs computes the extent from the
 * inputs' lengths, stores it and copies inputs and outputs at their run-time lengths.
 */
import type { Program } from '../lower/program.ts';
import { dimText } from '../lower/extents.ts';
import type { ExtentMeta } from './loader.ts';

export function extentMeta(prog: Program, addr: Map<string, number>): ExtentMeta {
  const ext = prog.extents!;
  const dimsOf = (list: typeof prog.inputs) => Object.fromEntries(list.filter((b) => ext.dims[b.name]).map((b) => [b.value, ext.dims[b.name]!.map((d) => (typeof d === 'number' ? d : d.c.slice()))]));
  const shapes = Object.fromEntries([...prog.inputs, ...prog.outputs].filter((b) => ext.dims[b.name]).map((b) => [b.value, ext.dims[b.name]!.map((d) => (typeof d === 'number' ? d : dimText(d, ext.symbol)))]));
  return { symbol: ext.symbol, max: ext.max, offset: addr.get(ext.buffer)!, inputs: dimsOf(prog.inputs), outputs: dimsOf(prog.outputs), shapes };
}
