/**
 * In-place state update (a training step's parameters and optimizer state): an output `<X>_next` may
 * live in input X's memory when no kernel reads X after `<X>_next` is first written. Checked on the
 * lowered program's steps, in order:
 *   - every step that reads X runs before the first step that writes `<X>_next`, or is that step
 *     itself, then its only writer, reading X only at the very index it writes (elementwiseSafe) and
 *     binding X to one parameter;
 *   - X and `<X>_next` have the same element type and size, and `<X>_next`'s size is static.
 * Then each element of X is read (for the last time) no later than it is overwritten, and a step
 * reading X sees its old value. An output that fails the check keeps a buffer of its own (a copy).
 */
import type { Program, ProgramBuffer } from '../lower/program.ts';
import { bytesOf, elementwiseSafe } from './plan.ts';

/** output buffer name -> the input buffer name it may share, for every `<X>_next` that passes the check */
export function stateAliases(prog: Program): Map<string, string> {
  const out = new Map<string, string>();
  const kernels = new Map(prog.kernels.map((k) => [k.name, k]));
  for (const o of prog.outputs) {
    const x = prog.inputs.find((i) => `${i.value}_next` === o.value);
    if (!x || !sameStorage(x, o)) continue;
    // the outputs list may name one buffer twice (two outputs of one value): never alias those
    if (prog.outputs.filter((p) => p.name === o.name).length > 1) continue;
    const writes: number[] = [], reads: number[] = [];
    let safe = true;
    prog.steps.forEach((st, i) => {
      const k = kernels.get(st.kernel);
      st.args.forEach((a, pi) => {
        const role = k?.params[pi]?.role;
        if (a === o.name && role === 'output') writes.push(i);
        if (a === x.name) { if (role === 'output' || !k) safe = false; reads.push(i); }
      });
    });
    if (!safe || !writes.length) continue;
    const w = writes[0]!;
    const late = reads.filter((r) => r >= w);
    if (late.some((r) => r !== w)) continue;
    if (late.length) {
      const st = prog.steps[w]!, k = kernels.get(st.kernel)!;
      if (writes.length > 1 || st.args.filter((a) => a === x.name).length > 1) continue;
      const xp = k.params[st.args.indexOf(x.name)]!, op = k.params[st.args.indexOf(o.name)]!;
      if (!elementwiseSafe(k, xp.name, op.name)) continue;
    }
    out.set(o.name, x.name);
  }
  return out;
}

function sameStorage(x: ProgramBuffer, o: ProgramBuffer): boolean {
  return x.dtype === o.dtype && !o.extent && !x.extent && bytesOf(x) === bytesOf(o) && x.shape.join() === o.shape.join();
}
