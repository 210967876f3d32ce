/**
 * The machine's peak for generated C (`aic profile --target c`): a small C program, built with the
 * same compiler and flags as the models, timing (1) 10 independent chains of vector multiply-adds
 * (GCC/Clang vector extensions at the widest width the flags enable; -ffp-contract=fast makes them
 * FMAs) and (2) a streaming sum over 64 MiB, larger than the caches. Prints "GFLOPS GBPS".
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diag } from '@aic/core';
import { defaultCFlags } from './build.ts';

export const PEAK_C = `#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__AVX512F__)
#define W 64
#elif defined(__AVX__)
#define W 32
#else
#define W 16
#endif
typedef float vf __attribute__((vector_size(W)));
#define LANES (W / 4)
#define ACC 10
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (double)t.tv_sec * 1e9 + (double)t.tv_nsec; }
int main(void) {
  const long iters = 4000000; const size_t n = (size_t)16 << 20; /* floats: 64 MiB */
  volatile float seed = 1.0f; vf acc[ACC], m, c, s[4]; float out = 0; double best = 1e30, bestS = 1e30; int r, k, l; size_t i;
  vf *buf = (vf *)aligned_alloc(64, n * sizeof(float));
  if (!buf) return 1;
  for (i = 0; i < n; i++) ((float *)buf)[i] = 1.0f;
  for (l = 0; l < LANES; l++) { m[l] = 0.999f * seed; c[l] = 0.001f * seed; }
  for (r = 0; r < 5; r++) {
    double t0 = now();
    for (k = 0; k < ACC; k++) for (l = 0; l < LANES; l++) acc[k][l] = seed + (float)k / 64.0f;
    for (i = 0; i < (size_t)iters; i++) {
      acc[0] = acc[0] * m + c; acc[1] = acc[1] * m + c; acc[2] = acc[2] * m + c; acc[3] = acc[3] * m + c; acc[4] = acc[4] * m + c;
      acc[5] = acc[5] * m + c; acc[6] = acc[6] * m + c; acc[7] = acc[7] * m + c; acc[8] = acc[8] * m + c; acc[9] = acc[9] * m + c;
    }
    t0 = now() - t0; if (t0 < best) best = t0;
    for (k = 0; k < ACC; k++) out += acc[k][0];
  }
  for (r = 0; r < 5; r++) {
    double t0 = now();
    for (k = 0; k < 4; k++) s[k] = buf[k] * 0;
    for (i = 0; i < n / LANES; i += 4) { s[0] += buf[i]; s[1] += buf[i + 1]; s[2] += buf[i + 2]; s[3] += buf[i + 3]; }
    t0 = now() - t0; if (t0 < bestS) bestS = t0;
    out += s[0][0] + s[1][0] + s[2][0] + s[3][0];
  }
  free(buf);
  printf("%f %f %f\\n", (double)iters * ACC * LANES * 2 / best, (double)n * sizeof(float) / bestS, (double)out);
  return 0;
}
`;

/** Build and run PEAK_C with the models' compiler and flags. */
export function measureCPeak(env: NodeJS.ProcessEnv = process.env): { gflops: number; gbps: number; cc: string; cflags: string[] } {
  const cc = env.CC || 'cc';
  const cflags = defaultCFlags(env);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-peak-'));
  try {
    fs.writeFileSync(path.join(dir, 'peak.c'), PEAK_C);
    const b = spawnSync(cc, [...cflags, '-std=gnu11', '-o', 'peak', 'peak.c'], { cwd: dir, encoding: 'utf8' });
    if (b.error) throw diag.unsupportedFeature(`target c needs a C compiler: '${cc}' could not be run (${b.error.message}); set CC`);
    if (b.status !== 0) throw diag.toolFailed(cc, 'compiling the peak-measuring kernel', b.stderr ?? '');
    const r = spawnSync(path.join(dir, 'peak'), [], { encoding: 'utf8', timeout: 120_000 });
    const m = /^([\d.]+) ([\d.]+)/.exec(r.stdout ?? '');
    if (r.status !== 0 || !m) throw diag.toolFailed('the peak-measuring kernel', `(exit ${r.status ?? r.signal})`, r.stderr ?? '');
    return { gflops: Number(m[1]), gbps: Number(m[2]), cc, cflags };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
