/**
 * Inputs no kernel loads (CastLike's `target_type` gives only a type): hosts feed them zeros of the
 * declared size, so their data may have any shape (the interpreter never reads them either).
 */
import { numel, walkExprs } from '@aic/loop-ir';
import type { Program, ProgramBuffer } from './program.ts';

export function readsInput(prog: Program, b: ProgramBuffer): boolean {
  return prog.steps.some((st) => st.args.some((a, j) => {
    if (a !== b.name) return false;
    const k = prog.kernels.find((x) => x.name === st.kernel);
    if (!k) return true;
    let hit = false;
    walkExprs(k.body, (e) => { if (e.k === 'load' && e.buf === k.params[j]?.name) hit = true; });
    return hit;
  }));
}

/** `bytes` (the input's data), or zeros of the declared size when no kernel reads the input */
export function inputBytes(prog: Program, b: ProgramBuffer, bytes: Uint8Array, elemBytes: number): Uint8Array {
  return readsInput(prog, b) ? bytes : new Uint8Array(numel(b.shape) * elemBytes);
}
