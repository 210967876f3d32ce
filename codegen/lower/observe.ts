/**
 * Observers of every lowered Program: the conformance sweep counts the programs that have no compute
 * kernel (their outputs were known at compile time), which only outputs constant in the model may be.
 */
import type { Program } from './program.ts';

const observers = new Set<(p: Program) => void>();

/** Hear every Program lowerGraph returns; the result stops listening. */
export function onLowered(f: (p: Program) => void): () => void {
  observers.add(f);
  return () => { observers.delete(f); };
}

export function notifyLowered(p: Program): void {
  for (const f of observers) f(p);
}

/** Kernels that compute a node (not the copies of constant or input graph outputs). */
export function computeKernels(p: Program): number {
  return p.steps.filter((s) => s.op).length;
}
