/**
 * GPU schedules for channel-blocked (NC4HW4) stages: the CPU blocked schedule (schedule/blocked.ts:
 * c split by the block of 4, the channel lane vectorized, conv / pooling register tiles of rows x
 * channel blocks, the reduction loops outside the tile) with its outer loops (n, channel blocks, h,
 * w tiles) fused and bound to the GPU grid. Each invocation then computes whole vec4<f32> of output
 * channels: the renderer prints the lane as vec4 loads, FMAs and stores (expr.ts, vec4-views.ts).
 * Directives are data: the loop order inside an invocation, hence every sum's order, is the CPU
 * schedule's, which keeps the reference order of each reduction.
 */
import type { TargetCaps } from '@aic/ir-spec';
import { channelBlock, logicalShape, type Buffer, type ComputeStage, type Directive } from '@aic/loop-ir';
import { blockedStageSchedule } from '../schedule/blocked.ts';
import type { GpuScheduleLimits } from './schedule.ts';

/** The WGSL lane width of a blocked stage (vec4<f32>): blocks of 4 channels of f32 only. */
export const WGSL_BLOCK = 4;

/** Bind loop `f` (extent `ext`) to workgroup.x (and .y past the per-dimension limit) x local.x. */
export function bindFused(f: string, ext: number, lim: GpuScheduleLimits): Directive[] {
  const wg = Math.min(lim.workgroupSize, ext);
  const dirs: Directive[] = [{ d: 'split', axis: f, factor: wg }];
  const groups = Math.ceil(ext / wg);
  if (groups > lim.maxWorkgroupsPerDimension) {
    const y = Math.ceil(groups / lim.maxWorkgroupsPerDimension);
    dirs.push({ d: 'split', axis: `${f}_o`, factor: Math.ceil(groups / y) },
      { d: 'bind', axis: `${f}_o_o`, to: { axis: 'workgroup', dim: 'y' } },
      { d: 'bind', axis: `${f}_o_i`, to: { axis: 'workgroup', dim: 'x' } });
  } else {
    dirs.push({ d: 'bind', axis: `${f}_o`, to: { axis: 'workgroup', dim: 'x' } });
  }
  dirs.push({ d: 'bind', axis: `${f}_i`, to: { axis: 'local', dim: 'x' } });
  return dirs;
}

/** Extents of the loops a directive list leaves (split: outer ceil(ext / factor), inner factor). */
function extents(st: ComputeStage, dirs: Directive[]): Map<string, number> {
  const ext = new Map<string, number>();
  const shape = logicalShape(st.out);
  st.axes.forEach((a, i) => ext.set(a, shape[i]));
  for (const d of dirs) {
    if (d.d !== 'split' || !ext.has(d.axis)) continue;
    const e = ext.get(d.axis)!;
    ext.set(`${d.axis}_o`, Math.ceil(e / d.factor));
    ext.set(`${d.axis}_i`, d.factor);
  }
  return ext;
}

/** Register tile rows per invocation on the GPU (parallelism over registers: at most 4 vec4 accumulators). */
const GPU_ROWS = 4;

/**
 * The CPU tile made GPU-sized: one channel block per invocation (the CPU's pair of blocks split off
 * c_o is dropped) and at most GPU_ROWS rows of w (a clamped tail when W is no multiple).
 */
function forGpu(dirs: Directive[], c: string, w: string, W: number): Directive[] {
  const pair = dirs.some((d) => d.d === 'split' && d.axis === `${c}_o`);
  const rename = (a: string) => (pair && a === `${c}_o_o` ? `${c}_o` : a);
  const out: Directive[] = [];
  for (const d of dirs) {
    if (pair && d.d === 'split' && d.axis === `${c}_o`) continue;
    if (pair && d.d === 'unroll' && d.axis === `${c}_o_i`) continue;
    if (d.d === 'reorder') { out.push({ ...d, order: d.order.filter((a) => !(pair && a === `${c}_o_i`)).map(rename) }); continue; }
    if (d.d === 'split' && d.axis === w && d.factor > GPU_ROWS) {
      const { tail: _, ...rest } = d;
      out.push(W % GPU_ROWS === 0 ? { ...rest, factor: GPU_ROWS } : { ...rest, factor: GPU_ROWS, tail: 'clamp' });
      continue;
    }
    out.push(d);
  }
  return out;
}

/**
 * The GPU schedule of a stage whose output is NC4HW4 f32, or undefined (not blocked by 4, not f32,
 * or no vector lane: the generic GPU schedule runs it).
 */
export function gpuBlockedSchedule(st: ComputeStage, lim: GpuScheduleLimits, caps: TargetCaps, buffers: readonly Buffer[]): Directive[] | undefined {
  if (channelBlock(st.out.layout) !== WGSL_BLOCK || st.out.dtype !== 'f32' || st.axes.length !== 4) return undefined;
  const cpu = blockedStageSchedule(st, caps, buffers);
  if (!cpu || !cpu.some((d) => d.d === 'vectorize')) return undefined;
  const dirs = forGpu(cpu, st.axes[1], st.axes[3], logicalShape(st.out)[3]);
  const order = dirs.find((d): d is Extract<Directive, { d: 'reorder' }> => d.d === 'reorder')?.order;
  if (!order) return undefined;
  // the parallel loops lead the CPU order: n, channel blocks (outer), h, w (tiles)
  const [n, c, h] = st.axes;
  const par = order.slice(0, 4);
  if (par[0] !== n || !par[1].startsWith(`${c}_o`) || par[2] !== h) return undefined;
  const ext = extents(st, dirs);
  const [, cOuter, , wOuter] = par;
  const blocks = ext.get(cOuter) ?? NaN, batch = ext.get(n) ?? NaN, hw = (ext.get(h) ?? NaN) * (ext.get(wOuter) ?? NaN);
  if (!(blocks <= lim.maxWorkgroupsPerDimension && batch <= lim.maxWorkgroupsPerDimension && hw >= 1)) return undefined;
  // pixels (h, w tiles) fused on x, channel blocks on y (plain loop variables there, so the blocked
  // index maps' (co*4 + ci) / 4 fold to co: pack.ts simplifyDivMod), the batch on z
  const f = `${h}_${wOuter}`;
  return [...dirs, { d: 'fuse', axes: [h, wOuter] }, ...bindFused(f, hw, lim),
    { d: 'bind', axis: cOuter, to: { axis: 'workgroup', dim: 'y' } }, { d: 'bind', axis: n, to: { axis: 'workgroup', dim: 'z' } }];
}
