/**
 * Workload keys: the kernels of a lowered program deduplicated by what decides their schedule space
 * and their speed: op, every parameter's role, dtype, shape and layout, and a hash of the compute
 * stages (attributes such as strides and pads live in the index expressions). Two kernels with one
 * key realize the same loop nests under the same directives (loop names come from a per-kernel
 * counter), so a schedule tuned for one applies to the other. Keys are computed on the program as
 * lowered, before kernel algorithms (Winograd, 1x1 gemm) rewrite any source.
 */
import { createHash } from 'node:crypto';
import type { KernelSource, Program } from '../lower/program.ts';

export interface Workload {
  key: string;
  op: string;
  /** `role dtype[shape]layout` per parameter, for tables and logs */
  params: string[];
  /** kernels of the program with this key, in program order */
  kernels: string[];
}

function paramText(p: KernelSource['params'][number]): string {
  return `${p.role} ${p.dtype}[${p.shape.join('x')}]${p.layout ? ` ${JSON.stringify(p.layout)}` : ''}`;
}

export function workloadKey(src: KernelSource): string {
  const h = createHash('sha256').update(JSON.stringify(src.stages)).update(JSON.stringify(src.temps.map((t) => [t.dtype, t.shape]))).digest('hex').slice(0, 12);
  const shapes = src.params.map((p) => `${p.dtype}[${p.shape.join('x')}]`).join(',');
  return `${src.domain ? `${src.domain}.` : ''}${src.op}(${shapes})#${h}`;
}

/** The program's workloads, in order of first appearance. */
export function workloadsOf(prog: Program): Workload[] {
  const byKey = new Map<string, Workload>();
  for (const [name, src] of prog.sources) {
    if (!src.stages.some((s) => s.kind === 'compute')) continue; // extern-only kernels have no schedule space
    const key = workloadKey(src);
    const w = byKey.get(key);
    if (w) w.kernels.push(name);
    else byKey.set(key, { key, op: src.op, params: src.params.map(paramText), kernels: [name] });
  }
  return [...byKey.values()];
}
