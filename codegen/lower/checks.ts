/**
 * Runtime check failures (packages/loop-ir/src/checks.ts) as the catalog diagnostic the reference
 * interpreter gives for the same data: `<op> failed: <message>` at the node (AIC0030, exit 1).
 * Every host (loop-IR interpreter, C, WebAssembly, WebGPU) reports through here.
 */
import { diag, type AicError } from '@aic/core';
import { checkMessage, hasChecks, type CheckFailure } from '@aic/loop-ir';
import type { Program } from './program.ts';

export function checkError(prog: Program, step: number, f: CheckFailure): AicError {
  const st = prog.steps[step];
  return diag.runtime(st?.op ?? st?.kernel ?? 'kernel', checkMessage(f), st?.loc ?? (st ? { node: st.node } : undefined));
}

/** Names of the kernels holding runtime checks (hosts test the error record only after those). */
export function checkedKernels(prog: Program): Set<string> {
  return new Set(prog.kernels.filter((k) => hasChecks(k.body)).map((k) => k.name));
}
