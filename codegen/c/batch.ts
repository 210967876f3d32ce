/**
 * The C artifact of a symbolic-batch program (lower/symbolic.ts): aic_model_run_batch(n, ...) runs
 * the one-sample aic_model_run once per sample, the batched inputs and outputs addressed at sample s
 * (the batch loop of every kernel, hoisted around the program; the arena is one sample's). model.h
 * names the symbol and its maximum; the shape tables hold -1 for it. The test harness reads the batch
 * from its command line.
 */
import { numel } from '@aic/loop-ir';
import type { Program, ProgramBuffer } from '../lower/program.ts';
import { describeBatch, isBatched } from '../lower/batch-run.ts';
import { AIC_ERR_CHECK } from './render.ts';
import { sizeC } from './extents.ts';

/** aic_model_run_batch's status for a batch outside [1, AIC_MODEL_MAX_BATCH] */
export const AIC_ERR_BATCH = 9;

const W: Record<string, number> = { f64: 8, i64: 8, u64: 8, f32: 4, i32: 4, u32: 4, i16: 2, u16: 2, f16: 2, bf16: 2 };
/** bytes of one sample of b; with a run-time extent too (lower/batch-extent.ts), a C expression of the extent in `v` */
const sampleBytes = (b: ProgramBuffer, prog?: Program, v = `(int64_t)${prog?.extents?.buffer}[0]`) => (prog?.extents ? sizeC(prog, b, v) : `${numel(b.shape) * (W[b.dtype] ?? 1)}u`);

/** model.c: aic_model_run_batch. */
export function batchC(prog: Program): string[] {
  const bt = prog.batch!;
  const nIn = Math.max(1, prog.inputs.length), nOut = Math.max(1, prog.outputs.length);
  const L = [`/* symbolic batch '${bt.symbol}': run the one-sample program once per sample */`];
  L.push('int aic_model_run_batch(int64_t n, const void *const *inputs, void *const *outputs) {');
  L.push(`  const void *in[${nIn}];`, `  void *out[${nOut}];`, '  int64_t s;', '  int rc;');
  L.push(`  if (n < 1${bt.max !== undefined ? ` || n > ${bt.max}` : ''}) return ${AIC_ERR_BATCH};`);
  L.push('  for (s = 0; s < n; s++) {');
  prog.inputs.forEach((b, i) => L.push(isBatched(prog, b) ? `    in[${i}] = (const unsigned char *)inputs[${i}] + (size_t)s * ${sampleBytes(b, prog)};` : `    in[${i}] = inputs[${i}];`));
  prog.outputs.forEach((b, i) => L.push(isBatched(prog, b) ? `    out[${i}] = (unsigned char *)outputs[${i}] + (size_t)s * ${sampleBytes(b, prog)};` : `    out[${i}] = outputs[${i}];`));
  L.push('    rc = aic_model_run(in, out);', '    if (rc) return rc;', '  }', '  return 0;', '}', '');
  return L;
}

/** model.h: the symbol, its maximum and aic_model_run_batch. */
export function batchH(prog: Program): string[] {
  const bt = prog.batch!;
  return [
    `/* ${describeBatch(bt)}. */`,
    `#define AIC_MODEL_BATCH_SYMBOL "${bt.symbol}"`,
    `#define AIC_MODEL_MAX_BATCH ${bt.max ?? 0} /* 0: no maximum */`,
    `/* Run n samples at once: every input and output whose shape starts with ${bt.symbol} holds n samples (dim 0 of the shape`,
    `   tables is -1 for it); the others are shared. ${AIC_ERR_BATCH} when n is outside [1, AIC_MODEL_MAX_BATCH]. aic_model_run is one sample. */`,
    'int  aic_model_run_batch(int64_t n, const void *const *inputs, void *const *outputs);',
    '',
  ];
}

/** The shape table entry of b: -1 for the batch dim. */
export function shapeTable(prog: Program, b: ProgramBuffer): number[] {
  return isBatched(prog, b) ? [-1, ...b.shape.slice(1)] : b.shape;
}

/** The test harness: WEIGHTS REPS BATCH [VALUE] INPUT... OUTPUT... (build.ts's harness, batched; VALUE: a run-time extent too). */
export function batchHarness(prog: Program, checkExit: number): string {
  const nIn = prog.inputs.length, nOut = prog.outputs.length;
  const x = prog.extents ? 1 : 0; // the extent's argument
  const size = (b: ProgramBuffer) => (isBatched(prog, b) ? `(size_t)n * ${sampleBytes(b, prog, 'xv')}` : `(size_t)${sampleBytes(b, prog, 'xv')}`);
  const L = ['#include "model.h"', '#include <stdio.h>', '#include <stdlib.h>', ''];
  L.push('static void *read_all(const char *path, size_t n) {', '  FILE *f = fopen(path, "rb");', '  void *p = malloc(n ? n : 1);', '  if (!f || !p) { fprintf(stderr, "cannot read %s\\n", path); exit(2); }');
  L.push('  if (n && fread(p, 1, n, f) != n) { fprintf(stderr, "short read %s\\n", path); exit(2); }', '  fclose(f);', '  return p;', '}', '');
  L.push('int main(int argc, char **argv) {', `  const void *in[${Math.max(1, nIn)}];`, `  void *out[${Math.max(1, nOut)}];`, '  int i, rc;', '  long reps, n;', '  long long xv;');
  L.push(`  if (argc < ${4 + x + nIn + nOut}) { fprintf(stderr, "usage: %s WEIGHTS REPS BATCH${x ? ' VALUE' : ''} INPUT... OUTPUT...\\n", argv[0]); return 2; }`);
  L.push('  reps = atol(argv[2]);', '  n = atol(argv[3]);', `  xv = ${x ? 'atoll(argv[4])' : '0'};`, '  (void)xv;');
  if (nIn === 0) L.push('  (void)read_all;');
  prog.inputs.forEach((b, i) => L.push(`  in[${i}] = read_all(argv[${4 + x + i}], ${size(b)});`));
  prog.outputs.forEach((b, i) => L.push(`  out[${i}] = calloc(1, ${size(b)} + 1);`));
  L.push('  rc = aic_model_init(argv[1][0] ? argv[1] : NULL);', '  if (rc) { fprintf(stderr, "aic_model_init failed (%d)\\n", rc); return 3; }');
  L.push('  for (i = 0; i < reps; i++) {', `    rc = ${x ? 'aic_model_run_batch_extent(n, xv, in, out)' : 'aic_model_run_batch(n, in, out)'};`);
  L.push(`    if (rc == ${AIC_ERR_CHECK}) { int step; int64_t v, b; int code = aic_model_error(&step, &v, &b);`,
    `      fprintf(stderr, "aic-check %d %d %lld %lld\\n", step, code, (long long)v, (long long)b); return ${checkExit}; }`);
  L.push('    if (rc) { fprintf(stderr, "aic_model_run_batch failed (%d)\\n", rc); return 4; }', '  }');
  prog.outputs.forEach((b, i) => L.push(`  { FILE *f = fopen(argv[${4 + x + nIn + i}], "wb"); if (!f || fwrite(out[${i}], 1, ${size(b)}, f) != ${size(b)}) return 5; fclose(f); }`));
  L.push('  aic_model_free();');
  if (nIn) L.push(`  for (i = 0; i < ${nIn}; i++) free((void *)in[i]);`);
  if (nOut) L.push(`  for (i = 0; i < ${nOut}; i++) free(out[i]);`);
  L.push('  return 0;', '}', '');
  return L.join('\n');
}
