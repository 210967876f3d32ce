/**
 * GPU default schedules (the CPU ones live in codegen/schedule/defaults.ts). Every compute stage gets
 * one invocation per output element (or per vec4 of them): all output axes fused, split by the
 * workgroup size, inner part bound to local_invocation_id.x, outer part to workgroup_id.x — and to
 * workgroup_id.x/y when the grid exceeds maxComputeWorkgroupsPerDimension. Reductions stay serial
 * loops inside each invocation (results keep the reference order). Chosen from stage shapes and the
 * limits in TargetCaps.gpu, never from the target name.
 */
import type { TargetCaps } from '@aic/ir-spec';
import {
  ScheduleError, applySchedule, mapExpr, numel, realizeStage, reducesOf, walkStmt,
  type Buffer, type ComputeStage, type Directive, type Expr,
} from '@aic/loop-ir';
import type { KernelSource, Program } from '../lower/program.ts';
import { bindFused, gpuBlockedSchedule } from './blocked.ts';

export interface GpuScheduleLimits {
  /** invocations per workgroup the default schedules use */
  workgroupSize: number;
  maxWorkgroupsPerDimension: number;
  /** invocations per workgroup of the 2-D tiles (GEMM / convolution) */
  tileInvocations: number;
  /** bytes of workgroup memory a tiled stage may use */
  workgroupStorage: number;
}

export function gpuScheduleLimits(caps: TargetCaps, maxWorkgroupsPerDimension = 65535,
  dev: { maxComputeInvocationsPerWorkgroup?: number; maxComputeWorkgroupStorageSize?: number; maxComputeWorkgroupSize?: number[] } = {}): GpuScheduleLimits {
  const inv = Math.min(256, caps.gpu?.maxWorkgroupSize ?? 256, dev.maxComputeInvocationsPerWorkgroup ?? 256);
  return {
    workgroupSize: Math.min(64, caps.gpu?.maxWorkgroupSize ?? 64, inv),
    maxWorkgroupsPerDimension,
    tileInvocations: Math.min(inv, dev.maxComputeWorkgroupSize ? dev.maxComputeWorkgroupSize[0] * dev.maxComputeWorkgroupSize[1] : inv),
    workgroupStorage: Math.min(caps.gpu?.maxWorkgroupStorage ?? 16384, dev.maxComputeWorkgroupStorageSize ?? 16384),
  };
}

const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
const stripCasts = (e: Expr): Expr => (e.k === 'cast' ? stripCasts(e.x) : e);
function loadsIn(e: Expr): Map<string, Expr[]> {
  const m = new Map<string, Expr[]>();
  mapExpr(e, (x) => { if (x.k === 'load') m.set(x.buf, [...(m.get(x.buf) ?? []), x.idx]); return x; });
  return m;
}
function varsIn(es: Expr[]): Set<string> {
  const s = new Set<string>();
  for (const e of es) mapExpr(e, (x) => { if (x.k === 'var') s.add(x.name); return x; });
  return s;
}

/**
 * GEMM-like and convolution stages: one sum reduction of a product of two input buffers, each
 * independent of some output axis (so that a tile of outputs reuses its elements). Their output
 * tile is 2-D: q = the innermost output axis, p = an output axis the other operand varies with; the
 * other output axes are fused and bound to workgroup.z. The first reduction axis is split into
 * chunks, and both operands' chunks are staged through workgroup memory (cache ... in shared),
 * chunks halved until the tiles fit in maxComputeWorkgroupStorageSize.
 */
export function gpuTiledSchedule(st: ComputeStage, lim: GpuScheduleLimits, buffers: readonly Buffer[]): Directive[] | undefined {
  const reds = reducesOf(st.body);
  if (reds.length !== 1 || reds[0].op !== 'sum' || st.axes.length < 2) return undefined;
  const R = reds[0];
  const red = R.axes.reduce((a, x) => a * x.extent, 1);
  if (red < 16) return undefined;
  const body = stripCasts(R.body);
  if (body.k !== 'bin' || body.op !== 'mul') return undefined;
  const la = loadsIn(body.a), lb = loadsIn(body.b);
  const inputs = new Set(buffers.filter((b) => b.role !== 'output').map((b) => b.name));
  if (la.size !== 1 || lb.size !== 1) return undefined;
  const [ba] = la.keys(), [bb] = lb.keys();
  if (ba === bb || !inputs.has(ba) || !inputs.has(bb)) return undefined;
  const va = varsIn(la.get(ba)!), vb = varsIn(lb.get(bb)!);
  const r = st.axes.length;
  const q = st.axes[r - 1];
  const onlyA = va.has(q) && !vb.has(q), onlyB = vb.has(q) && !va.has(q);
  if (!onlyA && !onlyB) return undefined;
  const other = onlyA ? vb : va, same = onlyA ? va : vb;
  const cands = st.axes.slice(0, r - 1);
  const p = [...cands].reverse().find((x) => other.has(x) && !same.has(x)) ?? [...cands].reverse().find((x) => same.has(x) && st.out.shape[st.axes.indexOf(x)] > 1);
  if (!p) return undefined;
  const ext = (a: string) => st.out.shape[st.axes.indexOf(a)];
  const inv = lim.tileInvocations;
  const tq = Math.min(16, pow2(ext(q)), inv);
  const tp = Math.min(Math.floor(inv / tq), pow2(ext(p)));
  if (tp * tq < 64 || ext(p) < 2 || ext(q) < 2) return undefined;
  const rest = st.axes.filter((a) => a !== p && a !== q);
  const restExt = rest.reduce((a, x) => a * ext(x), 1);
  if (restExt > lim.maxWorkgroupsPerDimension || Math.ceil(ext(p) / tp) > lim.maxWorkgroupsPerDimension || Math.ceil(ext(q) / tq) > lim.maxWorkgroupsPerDimension) return undefined;
  const base: Directive[] = [];
  const order = [...rest, p, q];
  if (order.some((a, i) => a !== st.axes[i])) base.push({ d: 'reorder', order });
  let z = rest[0];
  for (let k = 1; k < rest.length; k++) { base.push({ d: 'fuse', axes: [z, rest[k]] }); z = `${z}_${rest[k]}`; }
  base.push({ d: 'tile', axes: [p, q], factors: [tp, tq] });
  if (z !== undefined && restExt > 1) base.push({ d: 'bind', axis: z, to: { axis: 'workgroup', dim: 'z' } });
  base.push(
    { d: 'bind', axis: `${p}_o`, to: { axis: 'workgroup', dim: 'y' } }, { d: 'bind', axis: `${q}_o`, to: { axis: 'workgroup', dim: 'x' } },
    { d: 'bind', axis: `${p}_i`, to: { axis: 'local', dim: 'y' } }, { d: 'bind', axis: `${q}_i`, to: { axis: 'local', dim: 'x' } },
  );
  const r0 = R.axes[0];
  const sharedBytes = (dirs: Directive[]): number | undefined => {
    let n = 0, bytes = 0;
    try {
      const nest = realizeStage(st, applySchedule(st, dirs), (x) => `${x}${n++}`, buffers);
      walkStmt(nest, (x) => { if (x.k === 'alloc' && x.buf.scope === 'shared') bytes += 4 * numel(x.buf.shape); });
      return bytes;
    } catch (e) {
      if (e instanceof ScheduleError) return undefined;
      throw e;
    }
  };
  for (const bufs of [[ba, bb], [ba], [bb]]) {
    for (let kc = Math.min(16, r0.extent); kc >= 1; kc = kc > 1 ? Math.floor(kc / 2) : 0) {
      // (a factor equal to the extent gives a one-iteration chunk loop, dropped after caching)
      const dirs: Directive[] = [...base, { d: 'split', axis: r0.name, factor: kc },
        ...bufs.map((b): Directive => ({ d: 'cache', buf: b, at: `${r0.name}_o`, scope: 'shared' }))];
      const bytes = sharedBytes(dirs);
      if (bytes !== undefined && bytes <= lim.workgroupStorage) return dirs;
    }
  }
  return base;
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
  dirs.push(...bindFused(f, ext, lim));
  return dirs;
}

export function gpuDefaultSchedule(src: KernelSource, caps: TargetCaps, lim = gpuScheduleLimits(caps)): Directive[] {
  const dirs: Directive[] = [];
  const buffers = [...src.params, ...src.temps];
  for (const st of src.stages) {
    // NC4HW4 outputs: vec4<f32> channel lanes (blocked.ts)
    if (st.kind === 'compute') dirs.push(...(gpuBlockedSchedule(st, lim, caps, buffers) ?? gpuTiledSchedule(st, lim, buffers) ?? gpuStageSchedule(st, lim, caps)));
  }
  return dirs;
}

/**
 * The generic schedules with a scalar channel lane (one element per invocation, no vec4) for every
 * kernel: what blocked kernels ran as before blocked.ts, kept for comparisons (tests, benchmarks).
 */
export function scalarLaneSchedules(prog: Program, caps: TargetCaps, lim = gpuScheduleLimits(caps)): Map<string, Directive[]> {
  const scalar = { ...caps, vectorLanes: 1 };
  return new Map([...prog.sources].map(([name, src]) => [name, src.stages.flatMap((st) => (st.kind === 'compute' ? gpuStageSchedule(st, lim, scalar) : []))]));
}

export function chooseGpuSchedules(prog: Program, caps: TargetCaps, lim = gpuScheduleLimits(caps)): Map<string, Directive[]> {
  const out = new Map<string, Directive[]>();
  for (const [name, src] of prog.sources) {
    const d = gpuDefaultSchedule(src, caps, lim);
    if (d.length) out.set(name, d);
  }
  return out;
}
