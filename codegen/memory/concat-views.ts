/**
 * Concatenation by placement (as the TFLite and ONNX Runtime arena planners do): a Concat whose inputs
 * are each one contiguous run of its output (the same layout, every physical dim before the axis 1: a
 * channel concat at batch 1, row-major or of whole channel blocks) and are temps it reads for the last time has its inputs placed inside
 * its output (Program.views): their producers write straight into the concatenated buffer, and the
 * Concat step, now a copy onto itself, is dropped. planMemory (plan.ts) gives a view its parent's
 * block at the view's byte offset. CPU targets only (a WGSL binding offset must be 256-byte aligned);
 * not with run-time extents (buffers are compact at the run-time shape, not at the maximum).
 */
import type { Program, ProgramBuffer } from '../lower/program.ts';
import { bytesOf } from './plan.ts';

/** A temp placed inside another: `of`'s bytes from `byteOffset` on. */
export interface View { of: string; byteOffset: number }

/** Does a buffer fill its blocked dims exactly (no padding lanes in a last partial block)? Row-major: yes. */
function wholeBlocks(b: ProgramBuffer): boolean {
  return !b.layout || b.layout.dims.every((d) => d.part !== 'inner' || b.layout!.logical[d.dim]! % d.block! === 0);
}

/** Place the inputs of every such Concat inside its output and drop its step (mutates prog). Returns how many. */
export function elideConcats(prog: Program): number {
  if (prog.extents) return 0;
  const temps = new Map(prog.temps.map((b) => [b.name, b]));
  const kernels = new Map(prog.kernels.map((k) => [k.name, k]));
  const first = new Map<string, number>(), last = new Map<string, number>();
  prog.steps.forEach((st, i) => st.args.forEach((a) => { if (!first.has(a)) first.set(a, i); last.set(a, i); }));
  const views = (prog.views ??= new Map<string, View>());
  const drop = new Set<number>();
  prog.steps.forEach((st, i) => {
    const k = kernels.get(st.kernel);
    if (st.op !== 'Concat' || !k) return;
    const outAt = k.params.flatMap((p, j) => (p.role === 'output' ? [j] : []));
    const O = outAt.length === 1 ? temps.get(st.args[outAt[0]!]!) : undefined;
    if (!O || O.extent || first.get(O.name) !== i) return;
    const ins = k.params.flatMap((p, j) => (p.role === 'output' ? [] : [st.args[j]!]));
    const bufs = ins.map((n) => temps.get(n));
    // physical shapes: a channel-blocked layout ([1, C/x, H, W, x]) concatenates whole blocks the same way
    const form = (b: ProgramBuffer) => JSON.stringify(b.layout ? { ...b.layout, logical: undefined } : null); // the layout, whatever the logical shape
    if (!bufs.length || new Set(ins).size !== ins.length || bufs.some((b) => !b || form(b) !== form(O) || b.extent || b.dtype !== O.dtype || b.shape.length !== O.shape.length)) return;
    const axes = new Set<number>();
    for (const b of bufs) b!.shape.forEach((d, j) => { if (d !== O.shape[j]) axes.add(j); });
    const a = axes.size === 1 ? [...axes][0]! : bufs.length === 1 ? 0 : -1;
    if (a < 0 || O.shape.slice(0, a).some((d) => d !== 1) || bufs.reduce((s, b) => s + b!.shape[a]!, 0) !== O.shape[a]) return;
    // blocked: every part but the last must be whole blocks (58 channels in 16-lane blocks fill 4 blocks,
    // and the next part would start at channel 64 of the output instead of 58: shufflenet on C at -O3)
    if (bufs.slice(0, -1).some((b) => !wholeBlocks(b!))) return;
    // each input: written by an earlier step, read for the last time here, not already placed elsewhere
    if (ins.some((n) => (first.get(n) ?? i) >= i || last.get(n) !== i || views.has(n))) return;
    let off = 0;
    for (const b of bufs) { views.set(b!.name, { of: O.name, byteOffset: off }); off += bytesOf(b!); }
    drop.add(i);
  });
  if (!drop.size) return 0;
  prog.steps = prog.steps.filter((_, i) => !drop.has(i));
  const used = new Set(prog.steps.map((s) => s.kernel));
  prog.kernels = prog.kernels.filter((k) => used.has(k.name));
  // a view of a view (nested concats): placed in the outermost one directly; a temp no step reads any more goes
  const root = (v: View): View => { const p = views.get(v.of); return p ? root({ of: p.of, byteOffset: p.byteOffset + v.byteOffset }) : v; };
  for (const [n, v] of views) views.set(n, root(v));
  const args = new Set(prog.steps.flatMap((s) => s.args));
  for (const b of prog.temps) if (!args.has(b.name)) views.delete(b.name);
  prog.temps = prog.temps.filter((b) => args.has(b.name));
  return drop.size;
}
