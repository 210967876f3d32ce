/**
 * Timing a built C model (benchmarks only): the generated harness runs the model REPS times per
 * process (after one warm-up run) and the per-run time is (t(REPS+1) - t(1)) / REPS, so process
 * start, weight loading and file I/O cancel out. With `cpu` (c-bench --cpu) a sample is the process's
 * user + system CPU time (GNU time, 10 ms resolution) instead of wall time: on a machine shared with
 * other jobs, waiting for a core then counts for nothing.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor, castTensor, tensorToBytes, type RValue } from '@aic/core';
import { dtypeOfScalar, type BuildResult, type CArtifact, type Program } from '@aic/codegen';

export interface HarnessFiles { args: (reps: number) => string[]; dispose: () => void }

/** Weights and inputs written once to a temporary folder, for timed runs of any build of `prog`. */
export function harnessFiles(art: CArtifact, prog: Program, feeds: Map<string, RValue>): HarnessFiles {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-bench-'));
  const wPath = path.join(work, 'model.weights');
  if (art.weights) fs.writeFileSync(wPath, art.weights);
  const inFiles = prog.inputs.map((b, i) => {
    const f = path.join(work, `in${i}.bin`);
    fs.writeFileSync(f, tensorToBytes(castTensor(feeds.get(b.value) as Tensor, dtypeOfScalar(b.dtype))));
    return f;
  });
  const outFiles = prog.outputs.map((_, i) => path.join(work, `out${i}.bin`));
  return {
    args: (reps) => [art.weights ? wPath : '', String(reps), ...inFiles, ...outFiles],
    dispose: () => fs.rmSync(work, { recursive: true, force: true }),
  };
}

/** Wall ms (cpu: user + system CPU ms) of one harness process running the model `reps` times. */
export function timeReps(built: BuildResult, files: HarnessFiles, reps: number, cpu = false): number {
  const t0 = performance.now();
  const p = cpu ? spawnSync('/usr/bin/time', ['-f', 'aic-cpu %U %S', built.exe, ...files.args(reps)], { encoding: 'utf8' }) : spawnSync(built.exe, files.args(reps));
  if (p.status !== 0) throw new Error(`harness failed: ${p.stderr}`);
  if (!cpu) return performance.now() - t0;
  const m = /aic-cpu ([\d.]+) ([\d.]+)/.exec(String(p.stderr));
  if (!m) throw new Error(`no CPU time from /usr/bin/time: ${p.stderr}`);
  return (Number(m[1]) + Number(m[2])) * 1e3;
}

/** Repetitions so that one sample takes about `targetMs` (tiny models need many: start-up jitter). */
export function calibrateReps(built: BuildResult, files: HarnessFiles, targetMs = 300, cpu = false): number {
  const t1 = timeReps(built, files, 1, cpu);
  const diff = (timeReps(built, files, 11, cpu) - t1) / 10;
  // on a busy machine the difference can come out near 0 (noise): one run never takes longer than t1
  const one = Math.max(0.001, diff > t1 / 200 ? diff : t1);
  return Math.max(1, Math.min(100000, Math.round(targetMs / one)));
}

/** One per-run sample (ms). */
export function sampleMs(built: BuildResult, files: HarnessFiles, reps: number, cpu = false): number {
  const base = timeReps(built, files, 1, cpu);
  return Math.max(0, timeReps(built, files, reps + 1, cpu) - base) / reps;
}

export const median = (xs: number[]) => { const s = xs.slice().sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
