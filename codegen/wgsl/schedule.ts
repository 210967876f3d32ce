/**
 * GPU default schedules (the CPU ones live in codegen/schedule/defaults.ts). Every compute stage gets
 * one invocation per output element (or per vec4 of them): all output axes fused, split by the
 * workgroup size, inner part bound to local_invocation_id.x, outer part to workgroup_id.x — and to
 * workgroup_id.x/y when the grid exceeds maxComputeWorkgroupsPerDimension. Reductions stay serial
 * loops inside each invocation (results keep the reference order). Chosen from stage shapes and the
 * limits in TargetCaps.gpu, never from the target name.
 */
import type { TargetCaps } from '@aic/ir-spec';
import { numel, type ComputeStage, type Directive } from '@aic/loop-ir';
import type { KernelSource, Program } from '../lower/program.ts';

export interface GpuScheduleLimits {
  /** invocations per workgroup the default schedules use */
  workgroupSize: number;
  maxWorkgroupsPerDimension: number;
}

export function gpuScheduleLimits(caps: TargetCaps, maxWorkgroupsPerDimension = 65535): GpuScheduleLimits {
  return { workgroupSize: Math.min(64, caps.gpu?.maxWorkgroupSize ?? 64), maxWorkgroupsPerDimension };
}

function hasReduce(st: ComputeStage): boolean {
  return JSON.stringify(st.body).includes('"k":"reduce"');
}

/** The directives for one compute stage. */
export function gpuStageSchedule(st: ComputeStage, lim: GpuScheduleLimits, caps: TargetCaps): Directive[] {
  const r = st.axes.length;
  const total = numel(st.out.shape);
  if (r === 0 || total <= 1) return [];
  const dirs: Directive[] = [];
  const names = st.axes.slice();
  let ext = total;
  // elementwise f32 with a contiguous inner dimension of whole vec4s: one invocation per vec4
  const L = Math.min(4, caps.vectorLanes);
  const inner = st.out.shape[r - 1];
  if (L > 1 && !hasReduce(st) && st.out.dtype === 'f32' && inner % L === 0 && total >= L * lim.workgroupSize) {
    dirs.push({ d: 'split', axis: names[r - 1], factor: L }, { d: 'vectorize', axis: `${names[r - 1]}_i` });
    names[r - 1] = `${names[r - 1]}_o`;
    ext = total / L;
  }
  let f = names[0];
  for (let k = 1; k < names.length; k++) {
    dirs.push({ d: 'fuse', axes: [f, names[k]] });
    f = `${f}_${names[k]}`;
  }
  const wg = Math.min(lim.workgroupSize, ext);
  dirs.push({ d: 'split', axis: f, factor: wg });
  const groups = Math.ceil(ext / wg);
  if (groups > lim.maxWorkgroupsPerDimension) {
    const y = Math.ceil(groups / lim.maxWorkgroupsPerDimension);
    const x = Math.ceil(groups / y);
    dirs.push({ d: 'split', axis: `${f}_o`, factor: x });
    dirs.push({ d: 'bind', axis: `${f}_o_o`, to: { axis: 'workgroup', dim: 'y' } });
    dirs.push({ d: 'bind', axis: `${f}_o_i`, to: { axis: 'workgroup', dim: 'x' } });
  } else {
    dirs.push({ d: 'bind', axis: `${f}_o`, to: { axis: 'workgroup', dim: 'x' } });
  }
  dirs.push({ d: 'bind', axis: `${f}_i`, to: { axis: 'local', dim: 'x' } });
  return dirs;
}

export function gpuDefaultSchedule(src: KernelSource, caps: TargetCaps, lim = gpuScheduleLimits(caps)): Directive[] {
  const dirs: Directive[] = [];
  for (const st of src.stages) if (st.kind === 'compute') dirs.push(...gpuStageSchedule(st, lim, caps));
  return dirs;
}

export function chooseGpuSchedules(prog: Program, caps: TargetCaps, lim = gpuScheduleLimits(caps)): Map<string, Directive[]> {
  const out = new Map<string, Directive[]>();
  for (const [name, src] of prog.sources) {
    const d = gpuDefaultSchedule(src, caps, lim);
    if (d.length) out.set(name, d);
  }
  return out;
}
