/**
 * What `aic profile` reports: per kernel call (step) its median time, share of the run, GFLOP/s,
 * GB/s and % of the machine's measured peak; printed as a table, written as JSON (`--json FILE`,
 * read by `aic viz --profile`).
 */
import { humanBytes } from '../stats.ts';

export const PROFILE_FORMAT = 'aic-profile-1';

export interface Peak {
  /** single-precision GFLOP/s of a generated multiply-add kernel on this target (one thread) */
  gflops: number;
  /** GB/s of a generated streaming read (sum over a buffer larger than the caches) */
  gbps: number;
  /** what was measured, and when */
  how: string;
}

export interface KernelTime {
  step: number;
  kernel: string;
  /** the graph node the kernel computes (`output NAME` for output copies) */
  node: string;
  op?: string;
  /** median ms per run */
  ms: number;
  /** of the sum of all step medians */
  share: number;
  flops?: number;
  bytes?: number;
  gflops?: number;
  gbps?: number;
  /** % of the peak: FLOP rate for kernels with FLOPs, else bandwidth */
  pctPeak?: number;
}

export interface ProfileReport {
  format: typeof PROFILE_FORMAT;
  model: string;
  target: string;
  pipeline: string;
  runs: number;
  /** sum of the per-step medians, ms */
  totalMs: number;
  peak: Peak;
  kernels: KernelTime[];
}

/** Below this median (ms) a kernel's time is mostly timer resolution and call overhead: no rates. */
export const MIN_RATE_MS = 0.002;

/** Fill share, rates and % of peak from ms, flops and bytes. */
export function finishKernels(ks: Omit<KernelTime, 'share'>[], peak: Peak): { kernels: KernelTime[]; totalMs: number } {
  const totalMs = ks.reduce((a, k) => a + k.ms, 0);
  const kernels = ks.map((k): KernelTime => {
    const out: KernelTime = { ...k, share: totalMs > 0 ? k.ms / totalMs : 0 };
    if (k.ms >= MIN_RATE_MS && k.flops) out.gflops = k.flops / k.ms / 1e6;
    if (k.ms >= MIN_RATE_MS && k.bytes) out.gbps = k.bytes / k.ms / 1e6;
    if (out.gflops !== undefined && peak.gflops > 0) out.pctPeak = 100 * out.gflops / peak.gflops;
    else if (out.gbps !== undefined && peak.gbps > 0) out.pctPeak = 100 * out.gbps / peak.gbps;
    return out;
  });
  return { kernels, totalMs };
}

/** The table: slowest first, `top` rows (all when 0), with totals. */
export function formatProfile(r: ProfileReport, top = 0): string {
  const rows = r.kernels.slice().sort((a, b) => b.ms - a.ms);
  const shown = top > 0 ? rows.slice(0, top) : rows;
  const flops = r.kernels.reduce((a, k) => a + (k.flops ?? 0), 0);
  const bytes = r.kernels.reduce((a, k) => a + (k.bytes ?? 0), 0);
  const f = (x: number | undefined, d = 1) => (x === undefined ? '-' : x.toFixed(d));
  const L: string[] = [];
  L.push(`aic profile: ${r.model}, target ${r.target}, ${r.pipeline}: ${r.kernels.length} kernel calls, ${r.totalMs.toFixed(3)} ms per run (sum of per-kernel medians over ${r.runs} runs)`);
  L.push(`peak (${r.peak.how}): ${r.peak.gflops.toFixed(1)} GFLOP/s, ${r.peak.gbps.toFixed(1)} GB/s`);
  L.push(`whole model: ${(flops / 1e9).toFixed(3)} GFLOP, ${humanBytes(bytes)} moved, ${f(flops / r.totalMs / 1e6, 2)} GFLOP/s, ${f(bytes / r.totalMs / 1e6, 2)} GB/s`);
  L.push(`${'median ms'.padStart(10)} ${'share'.padStart(6)} ${'GFLOP/s'.padStart(8)} ${'GB/s'.padStart(7)} ${'%peak'.padStart(6)}  kernel (node)`);
  for (const k of shown) {
    L.push(`${k.ms.toFixed(4).padStart(10)} ${(100 * k.share).toFixed(1).padStart(5)}% ${f(k.gflops).padStart(8)} ${f(k.gbps).padStart(7)} ${f(k.pctPeak).padStart(6)}  ${k.kernel} (${k.node})`);
  }
  if (shown.length < rows.length) {
    const rest = rows.slice(shown.length);
    L.push(`${rest.reduce((a, k) => a + k.ms, 0).toFixed(4).padStart(10)} ${(100 * rest.reduce((a, k) => a + k.share, 0)).toFixed(1).padStart(5)}%  ... ${rest.length} more (--top 0 lists all)`);
  }
  return L.join('\n') + '\n';
}
