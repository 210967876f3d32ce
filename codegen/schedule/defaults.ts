/**
 * Default schedules, chosen per kernel from its compute stages' shapes and the target's declared
 * capabilities (never its name). Each rule names the op class it serves.
 */
import type { TargetCaps } from '@aic/ir-spec';
import type { ComputeStage, Directive } from '@aic/loop-ir';
import type { KernelSource, Program } from '../lower/program.ts';

function hasReduce(st: ComputeStage): boolean {
  return JSON.stringify(st.body).includes('"k":"reduce"');
}

/** Elementwise: vectorize the innermost output axis when it divides into whole vectors. */
function elementwise(st: ComputeStage, caps: TargetCaps): Directive[] {
  const L = caps.vectorLanes;
  const r = st.axes.length;
  if (L <= 1 || r === 0) return [];
  const inner = st.axes[r - 1];
  const n = st.out.shape[r - 1];
  if (n % L !== 0 || n < L) return [];
  return [{ d: 'split', axis: inner, factor: L }, { d: 'vectorize', axis: `${inner}_i` }];
}

export function defaultSchedule(src: KernelSource, caps: TargetCaps): Directive[] {
  const dirs: Directive[] = [];
  for (const st of src.stages) {
    if (st.kind !== 'compute') continue;
    if (!hasReduce(st)) dirs.push(...elementwise(st, caps));
  }
  return dirs;
}

export function chooseSchedules(prog: Program, caps: TargetCaps): Map<string, Directive[]> {
  const out = new Map<string, Directive[]>();
  for (const [name, src] of prog.sources) {
    const d = defaultSchedule(src, caps);
    if (d.length) out.set(name, d);
  }
  return out;
}
