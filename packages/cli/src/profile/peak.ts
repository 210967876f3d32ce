/**
 * The machine's measured peak per target, measured once by a small generated kernel (codegen/c/peak.ts,
 * codegen/wasm/peak.ts) and cached under $AIC_CACHE_DIR/peak/ (default ~/.cache/aic), keyed by the
 * target, the CPU model and the compiler + flags (C) or the JavaScript engine version (wasm).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { reportProgress, writeFileAtomic } from '@aic/core';
import { cacheRoot, defaultCFlags, measureCPeak, measureWasmPeak } from '@aic/codegen';
import type { Peak } from './report.ts';

export function peakCacheFile(target: string): string {
  const cpu = os.cpus()[0]?.model ?? 'cpu';
  const tool = target === 'c' ? `${process.env.CC || 'cc'} ${defaultCFlags().join(' ')}` : `v8 ${process.versions.v8}`;
  const key = createHash('sha256').update(`peak-v2\n${target}\n${cpu}\n${tool}`).digest('hex').slice(0, 20);
  return path.join(cacheRoot(), 'peak', `${target}-${key}.json`);
}

function readPeak(file: string): Peak | undefined {
  try {
    const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Peak;
    return p.gflops > 0 && p.gbps > 0 ? p : undefined;
  } catch {
    return undefined; // not measured yet (or unreadable)
  }
}

function measure(target: string): Peak {
  const when = new Date().toISOString().slice(0, 10);
  const cpu = os.cpus()[0]?.model ?? 'cpu';
  if (target === 'c') {
    const m = measureCPeak();
    return { gflops: m.gflops, gbps: m.gbps, how: `generated C FMA loop and 64 MiB streaming sum, ${m.cc} ${m.cflags.join(' ')}, ${cpu}, 1 thread, ${when}` };
  }
  const simd = target === 'wasm-simd';
  const m = measureWasmPeak(simd);
  return { gflops: m.gflops, gbps: m.gbps, how: `generated ${simd ? 'f32x4' : 'f32'} mul+add loop and 64 MiB streaming sum, V8 ${process.versions.v8}, ${cpu}, ${when}` };
}

/**
 * The cached peak for a target, measured now (a second or two) when there is none. `mode`:
 * 'replace' measures again and keeps the new figures; 'raise' (a kernel ran faster than the cached
 * peak, measured while the machine was busy) measures again and keeps the higher of each figure.
 */
export function machinePeak(target: string, onMeasure: (msg: string) => void = () => {}, mode: 'cached' | 'replace' | 'raise' = 'cached'): Peak {
  const file = peakCacheFile(target);
  const old = readPeak(file);
  if (old && mode === 'cached') return old;
  onMeasure(`measuring the peak of target ${target}${mode === 'raise' ? ' again: a kernel ran faster than the cached figure' : ''} (cached in ${file})`);
  reportProgress('measuring the peak', 0, 1, target);
  let peak = measure(target);
  reportProgress('measuring the peak', 1, 1);
  if (old && mode === 'raise') {
    peak = { gflops: Math.max(old.gflops, peak.gflops), gbps: Math.max(old.gbps, peak.gbps), how: peak.gflops >= old.gflops ? peak.how : old.how };
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(peak, null, 2) + '\n'));
  return peak;
}
