/**
 * Building and running generated C: the system `cc` (CC / CFLAGS override the defaults, see
 * defaultCFlags), executables cached by content hash under $AIC_CACHE_DIR/c/ (default ~/.cache/aic;
 * safe under concurrent builds, see cache.ts), and a small harness
 * that reads raw inputs and writes raw outputs (used by `aic run --target c` and the tests).
 * Per-kernel timing: `aic profile` builds with -DAIC_PROFILE (see render.ts) and reads the table
 * aic_model_free() prints to stderr (runC returns it).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor, diag, reportProgress, tensorFromBytes, tensorToBytes, castTensor, type RValue } from '@aic/core';
import { numel } from '@aic/loop-ir';
import { inputBytes } from '../lower/unread.ts';
import type { Program } from '../lower/program.ts';
import { dtypeOfScalar } from '../lower/dtypes.ts';
import { AIC_ERR_CHECK, inPlaceTable, type CArtifact } from './render.ts';
import { checkError } from '../lower/checks.ts';
import { applyExtents } from '../lower/dynamic.ts';
import { batchOf } from '../lower/batch-run.ts';
import { batchHarness } from './batch.ts';
import { extentsHarness } from './extents.ts';
import { extentOf, runShape } from '../extents-run.ts';
import { cacheDiscard, cacheLookup, cachePublish, cacheTemp } from './cache.ts';

/** the harness's exit status for a failed runtime check (its stderr line says which) */
const CHECK_EXIT = 6;

/** -ffp-contract=fast: ISO C modes (-std=c99) otherwise forbid fusing a*b+c into one FMA. */
export const DEFAULT_CFLAGS = ['-O3', '-march=native', '-ffp-contract=fast'];
/**
 * GCC 12.2 (Debian 12) miscompiles vectorized loops whose conditional loads become AVX-512 masked
 * loads in an interleaved group of 3, 5, 6... (the generated PRelu and padding-guard selects: node
 * test test_prelu_example gave max abs diff 2.97; every mask-register form is wrong, AVX2 code is
 * right). The masked loads come from loop if-conversion, and -fno-tree-loop-if-convert removes them.
 * Only the kernels that hold a conditional load are built that way (guarded.ts, AIC_COND_LOADS:
 * `noipa` + a per-function optimize attribute); every other kernel keeps if-conversion, which
 * efficientnet_b0's SiLU-epilogue convs need (63 ms with this flag global, 39 ms without).
 * The flag was global for a while because the Where kernel of a gradient graph still went wrong with
 * the plain optimize attribute: that was a second GCC 12 bug, the call to an IPA-CP clone deleted
 * (tests/fixtures/c/gcc12-optimize-ipa-cp.c, gcc12-ipa-cp-null-tmr.c), which the `noclone` on every
 * kernel avoids (AIC_KERNEL, noclone.ts). This flag set stays for benchmarks/c-flags.ts to compare against.
 * Reproducers: tests/fixtures/c/.
 */
export const GCC_AVX512_CFLAGS = ['-fno-tree-loop-if-convert'];

export interface CompilerInfo { gcc: boolean; avx512: boolean }
const probed = new Map<string, CompilerInfo>();
/** What `cc` is under DEFAULT_CFLAGS (its predefined macros, asked once per process): GCC (not Clang), AVX-512 on. */
export function compilerInfo(cc: string): CompilerInfo {
  let info = probed.get(cc);
  if (!info) {
    const r = spawnSync(cc, [...DEFAULT_CFLAGS, '-dM', '-E', '-x', 'c', '-'], { input: '', encoding: 'utf8' });
    const has = (m: string) => r.status === 0 && new RegExp(`^#define ${m} `, 'm').test(r.stdout ?? '');
    info = { gcc: has('__GNUC__') && !has('__clang__'), avx512: has('__AVX512F__') };
    probed.set(cc, info);
  }
  return info;
}

/**
 * The flags every C build uses unless a caller passes its own: CFLAGS from the environment, else
 * DEFAULT_CFLAGS. `aic run --target c`, the conformance sweep, the model tests and the benchmarks all
 * build with these, so the suite checks what users get.
 */
export function defaultCFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env.CFLAGS ?? '').split(/\s+/).filter(Boolean);
  return fromEnv.length ? fromEnv : [...DEFAULT_CFLAGS];
}
export const WARNING_FLAGS = ['-Wall', '-Wextra', '-std=c99', '-pedantic-errors'];

export function cacheRoot(): string {
  return process.env.AIC_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'aic');
}

export function harnessSource(prog: Program): string {
  if (prog.batch) return batchHarness(prog, CHECK_EXIT);
  if (prog.extents) return extentsHarness(prog, CHECK_EXIT);
  const L: string[] = [];
  L.push('#include "model.h"', '#include <stdio.h>', '#include <stdlib.h>', '');
  L.push('static void *read_all(const char *path, size_t n) {', '  FILE *f = fopen(path, "rb");', '  void *p = malloc(n ? n : 1);', '  if (!f || !p) { fprintf(stderr, "cannot read %s\\n", path); exit(2); }');
  L.push('  if (n && fread(p, 1, n, f) != n) { fprintf(stderr, "short read %s\\n", path); exit(2); }', '  fclose(f);', '  return p;', '}', '');
  L.push('int main(int argc, char **argv) {');
  const nIn = prog.inputs.length, nOut = prog.outputs.length;
  L.push(`  const void *in[${Math.max(1, nIn)}];`, `  void *out[${Math.max(1, nOut)}];`, '  int i, rc;', '  long reps = 1;');
  L.push(`  if (argc < ${3 + nIn + nOut}) { fprintf(stderr, "usage: %s WEIGHTS REPS INPUT... OUTPUT...\\n", argv[0]); return 2; }`);
  L.push('  reps = atol(argv[2]);');
  if (nIn === 0) L.push('  (void)read_all;');
  // exact byte sizes (0 for empty tensors); allocations use at least one byte
  const w = (b: { dtype: string; shape: number[] }) => numel(b.shape) * elemBytes(b);
  prog.inputs.forEach((b, i) => L.push(`  in[${i}] = read_all(argv[${3 + i}], ${w(b)});`));
  // a training step's <X>_next is written over input X where that is safe (updated in place, as a driver would)
  const shared = inPlaceTable(prog);
  prog.outputs.forEach((b, i) => L.push(shared[i]! >= 0 ? `  out[${i}] = (void *)in[${shared[i]}];` : `  out[${i}] = calloc(1, ${Math.max(1, w(b))});`));
  L.push('  rc = aic_model_init(argv[1][0] ? argv[1] : NULL);', '  if (rc) { fprintf(stderr, "aic_model_init failed (%d)\\n", rc); return 3; }');
  L.push('  for (i = 0; i < reps; i++) {', '    rc = aic_model_run(in, out);');
  // a failed runtime check: one machine-readable line for runC (CHECK_EXIT)
  L.push(`    if (rc == ${AIC_ERR_CHECK}) { int step; int64_t v, n; int code = aic_model_error(&step, &v, &n);`,
    `      fprintf(stderr, "aic-check %d %d %lld %lld\\n", step, code, (long long)v, (long long)n); return ${CHECK_EXIT}; }`);
  L.push('    if (rc) { fprintf(stderr, "aic_model_run failed (%d)\\n", rc); return 4; }', '  }');
  prog.outputs.forEach((b, i) => {
    L.push(`  { FILE *f = fopen(argv[${3 + nIn + i}], "wb"); if (!f || fwrite(out[${i}], 1, ${w(b)}, f) != ${w(b)}u) return 5; fclose(f); }`);
  });
  L.push('  aic_model_free();');
  // release everything, so that LeakSanitizer (scripts/sanitize.ts) reports only the model's own leaks
  if (nIn) L.push(`  for (i = 0; i < ${nIn}; i++) free((void *)in[i]);`);
  if (nOut) L.push(`  for (i = 0; i < ${nOut}; i++) if (aic_model_output_in_place[i] < 0) free(out[i]);`);
  L.push('  (void)in;', '  return 0;', '}', '');
  return L.join('\n');
}

const elemBytes = (b: { dtype: string }) => ({ f64: 8, i64: 8, u64: 8, f32: 4, i32: 4, u32: 4, i16: 2, u16: 2, f16: 2, bf16: 2 } as Record<string, number>)[b.dtype] ?? 1;

export interface BuildResult { exe: string; dir: string; cached: boolean; compileMs: number }

/** Compile model.c + harness into an executable, cached by the hash of sources and flags. */
export function buildC(art: CArtifact, prog: Program, opts: { cc?: string; cflags?: string[] } = {}): BuildResult {
  const cc = opts.cc ?? (process.env.CC || 'cc');
  const cflags = opts.cflags ?? defaultCFlags(process.env);
  const harness = harnessSource(prog);
  const key = createHash('sha256').update('cache-v2').update(cc).update(cflags.join(' ')).update(art.c).update(art.h).update(harness).digest('hex').slice(0, 24);
  const base = path.join(cacheRoot(), 'c', key);
  const hit = cacheLookup(base);
  if (hit) return { exe: path.join(hit, 'run'), dir: hit, cached: true, compileMs: 0 };
  const tmp = cacheTemp(base);
  fs.writeFileSync(path.join(tmp, 'model.c'), art.c);
  fs.writeFileSync(path.join(tmp, 'model.h'), art.h);
  fs.writeFileSync(path.join(tmp, 'main.c'), harness);
  const t0 = performance.now();
  reportProgress(`building with ${cc}`, 0, 1, `${(art.c.length / 1e6).toFixed(1)} MB of C`);
  const r = spawnSync(cc, [...cflags, ...WARNING_FLAGS, '-o', 'run', 'model.c', 'main.c', '-lm'], { cwd: tmp, encoding: 'utf8' });
  reportProgress(`building with ${cc}`, 1, 1);
  const compileMs = performance.now() - t0;
  if (r.error || r.status !== 0 || /warning:/.test(r.stderr)) cacheDiscard(tmp);
  if (r.error) throw diag.unsupportedFeature(`target c needs a C compiler: '${cc}' could not be run (${r.error.message}); set CC`);
  if (r.status !== 0 || /warning:/.test(r.stderr)) {
    const msg = (r.stderr || '').split('\n').slice(0, 12).join('\n');
    throw diag.toolFailed(cc, 'compiling the generated C', msg);
  }
  const dir = cachePublish(base, tmp);
  const exe = path.join(dir, 'run');
  return { exe, dir, cached: false, compileMs };
}

/** Run a built model on tensors; returns outputs by graph name. */
export function runC(build: BuildResult, art: CArtifact, prog: Program, feeds: Map<string, RValue>, reps = 1): { outputs: Map<string, Tensor>; ms: number; stderr: string } {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-c-run-'));
  try {
    let weightsPath = '';
    if (art.weights) {
      weightsPath = path.join(work, 'model.weights');
      fs.writeFileSync(weightsPath, art.weights);
    }
    const inFiles = prog.inputs.map((b, i) => {
      const t = feeds.get(b.value);
      if (!(t instanceof Tensor)) throw diag.missingInput(b.value);
      const f = path.join(work, `in${i}.bin`);
      fs.writeFileSync(f, prog.extents ? tensorToBytes(castTensor(t, dtypeOfScalar(b.dtype))) : inputBytes(prog, b, tensorToBytes(castTensor(t, dtypeOfScalar(b.dtype))), elemBytes(b)));
      return f;
    });
    const outFiles = prog.outputs.map((_, i) => path.join(work, `out${i}.bin`));
    const n = batchOf(prog, feeds), v = extentOf(prog, feeds);
    const t0 = performance.now();
    const r = spawnSync(build.exe, [weightsPath, String(reps), ...(prog.batch ? [String(n)] : []), ...(prog.extents ? [String(v)] : []), ...inFiles, ...outFiles], { encoding: 'utf8', timeout: 600_000 });
    const ms = performance.now() - t0;
    const chk = r.status === CHECK_EXIT ? /aic-check (\d+) (\d+) (-?\d+) (-?\d+)/.exec(r.stderr) : null;
    if (chk) throw checkError(prog, Number(chk[1]), { code: Number(chk[2]), value: Number(chk[3]), bound: Number(chk[4]) });
    if (r.status !== 0) throw diag.toolFailed('the compiled model', `(exit ${r.status ?? r.signal})`, r.stderr || '');
    const outputs = new Map<string, Tensor>();
    prog.outputs.forEach((b, i) => {
      const bytes = new Uint8Array(fs.readFileSync(outFiles[i]));
      outputs.set(b.value, tensorFromBytes(dtypeOfScalar(b.dtype), runShape(prog, b, n, v), bytes));
    });
    return { outputs: applyExtents(prog, outputs), ms, stderr: r.stderr ?? '' };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
