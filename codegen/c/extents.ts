/**
 * The C artifact of a program with a run-time extent (lower/extents.ts): aic_model_run_extent(v, ...)
 * sets the extent and runs; model.h names the symbol and its maximum, and the shape tables hold -1 for
 * symbolic dims. Buffers are dense row-major at the run-time shape. The test harness reads the extent
 * from its command line.
 */
import type { Program, ProgramBuffer } from '../lower/program.ts';
import { dimText } from '../lower/extents.ts';
import type { Poly } from '../lower/extents-fit.ts';
import { AIC_ERR_CHECK } from './render.ts';

/** aic_model_run_extent's status for a value outside [1, max] */
export const AIC_ERR_EXTENT = 9;

const W: Record<string, number> = { f64: 8, i64: 8, u64: 8, f32: 4, i32: 4, u32: 4, i16: 2, u16: 2, f16: 2, bf16: 2 };

/** A C expression of the byte size of b at the extent held in variable `v` (one sample of a batched buffer). */
export function sizeC(prog: Program, b: ProgramBuffer, v: string): string {
  const d = prog.extents!.dims[b.name] ?? b.shape;
  const term = (x: number | Poly) => (typeof x === 'number' ? `${x}` : `(${x.c.map((c, k) => `${c}LL${k ? `*${Array(k).fill(v).join('*')}` : ''}`).join(' + ')})`);
  return `(size_t)(${[...d.map(term), `${W[b.dtype] ?? 1}`].join(' * ')})`;
}

/** model.c: aic_model_run_extent. */
export function extentsC(prog: Program): string[] {
  const ext = prog.extents!;
  return [
    `/* run-time extent '${ext.symbol}': set it, then run */`,
    'static int aic_set_extent(int64_t value) {',
    `  if (value < 1 || value > ${ext.max}) return ${AIC_ERR_EXTENT};`,
    '  if (!aic_weights_blob) return 1;',
    `  ${ext.buffer}[0] = (int32_t)value;`,
    '  return 0;',
    '}',
    'int aic_model_run_extent(int64_t value, const void *const *inputs, void *const *outputs) {',
    '  int rc = aic_set_extent(value);',
    '  return rc ? rc : aic_model_run(inputs, outputs);',
    '}',
    '',
    ...(prog.batch ? [
      `/* both: set '${ext.symbol}', then run n samples of the batch '${prog.batch.symbol}' */`,
      'int aic_model_run_batch_extent(int64_t n, int64_t value, const void *const *inputs, void *const *outputs) {',
      '  int rc = aic_set_extent(value);',
      '  return rc ? rc : aic_model_run_batch(n, inputs, outputs);',
      '}',
      '',
    ] : []),
  ];
}

/** model.h: the symbol, its maximum and aic_model_run_extent. */
export function extentsH(prog: Program): string[] {
  const ext = prog.extents!;
  return [
    `/* '${ext.symbol}' is known when the model runs: any value from 1 to ${ext.max} (--max-shape). Inputs and outputs are dense`,
    `   row-major at the run-time shape (see the shapes below); the code is compiled once, loops read ${ext.symbol}. */`,
    `#define AIC_MODEL_EXTENT_SYMBOL "${ext.symbol}"`,
    `#define AIC_MODEL_MAX_EXTENT ${ext.max}`,
    `/* Run with ${ext.symbol} = value (the shape tables hold -1 for dims that depend on it). ${AIC_ERR_EXTENT} when value is outside`,
    `   [1, AIC_MODEL_MAX_EXTENT]. aic_model_run alone runs at the last value set (initially the maximum). */`,
    'int  aic_model_run_extent(int64_t value, const void *const *inputs, void *const *outputs);',
    ...(prog.batch ? [
      `/* With the batch '${prog.batch.symbol}' too: aic_model_run_extent and aic_model_run are one sample; aic_model_run_batch runs n samples at the`,
      `   last ${ext.symbol} set, each sample dense at the run-time shape, samples one after another; this sets ${ext.symbol} and runs n samples. */`,
      'int  aic_model_run_batch_extent(int64_t n, int64_t value, const void *const *inputs, void *const *outputs);',
    ] : []),
    '',
  ];
}

/** The shape table entry of b: -1 for a symbolic dim. */
export function extentShapeTable(prog: Program, b: ProgramBuffer): number[] | undefined {
  const d = prog.extents?.dims[b.name];
  const batched = !!prog.batch && (b.role === 'input' ? prog.batch.inputs : prog.batch.outputs).includes(b.value);
  return d?.map((x, k) => (typeof x === 'number' && !(k === 0 && batched) ? x : -1));
}

/** Header comment shape of b: symbolic dims as polynomials of the symbol. */
export function extentShapeText(prog: Program, b: ProgramBuffer): string | undefined {
  const d = prog.extents?.dims[b.name];
  return d ? `[${d.map((x) => dimText(x, prog.extents!.symbol)).join(', ')}]` : undefined;
}

/** The test harness: WEIGHTS REPS VALUE INPUT... OUTPUT... (build.ts's harness with the extent). */
export function extentsHarness(prog: Program, checkExit: number): string {
  const nIn = prog.inputs.length, nOut = prog.outputs.length;
  const L = ['#include "model.h"', '#include <stdio.h>', '#include <stdlib.h>', ''];
  L.push('static void *read_all(const char *path, size_t n) {', '  FILE *f = fopen(path, "rb");', '  void *p = malloc(n ? n : 1);', '  if (!f || !p) { fprintf(stderr, "cannot read %s\\n", path); exit(2); }');
  L.push('  if (n && fread(p, 1, n, f) != n) { fprintf(stderr, "short read %s\\n", path); exit(2); }', '  fclose(f);', '  return p;', '}', '');
  L.push('int main(int argc, char **argv) {', `  const void *in[${Math.max(1, nIn)}];`, `  void *out[${Math.max(1, nOut)}];`, '  int i, rc;', '  long reps;', '  long long v;');
  L.push(`  if (argc < ${4 + nIn + nOut}) { fprintf(stderr, "usage: %s WEIGHTS REPS VALUE INPUT... OUTPUT...\\n", argv[0]); return 2; }`);
  L.push('  reps = atol(argv[2]);', '  v = atoll(argv[3]);');
  if (nIn === 0) L.push('  (void)read_all;');
  prog.inputs.forEach((b, i) => L.push(`  in[${i}] = read_all(argv[${4 + i}], ${sizeC(prog, b, 'v')});`));
  prog.outputs.forEach((b, i) => L.push(`  out[${i}] = calloc(1, ${sizeC(prog, b, 'v')} + 1);`));
  L.push('  rc = aic_model_init(argv[1][0] ? argv[1] : NULL);', '  if (rc) { fprintf(stderr, "aic_model_init failed (%d)\\n", rc); return 3; }');
  L.push('  for (i = 0; i < reps; i++) {', '    rc = aic_model_run_extent(v, in, out);');
  L.push(`    if (rc == ${AIC_ERR_CHECK}) { int step; int64_t x, b; int code = aic_model_error(&step, &x, &b);`,
    `      fprintf(stderr, "aic-check %d %d %lld %lld\\n", step, code, (long long)x, (long long)b); return ${checkExit}; }`);
  L.push('    if (rc) { fprintf(stderr, "aic_model_run_extent failed (%d)\\n", rc); return 4; }', '  }');
  prog.outputs.forEach((b, i) => L.push(`  { FILE *f = fopen(argv[${4 + nIn + i}], "wb"); if (!f || fwrite(out[${i}], 1, ${sizeC(prog, b, 'v')}, f) != ${sizeC(prog, b, 'v')}) return 5; fclose(f); }`));
  L.push('  aic_model_free();');
  if (nIn) L.push(`  for (i = 0; i < ${nIn}; i++) free((void *)in[i]);`);
  if (nOut) L.push(`  for (i = 0; i < ${nOut}; i++) free(out[i]);`);
  L.push('  return 0;', '}', '');
  return L.join('\n');
}
