/**
 * Generated C runs clean under AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer):
 * small_cnn and one C-passing node test per op family. The full sweep (every C-passing node test and
 * the shared models) is `npx tsx scripts/sanitize.ts`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE_TEST_DIR } from '../../scripts/conformance.ts';
import { SANITIZE_CFLAGS, cPassingNodeTests, sanitizeModel, sanitizeNodeTest, sanitizerReport } from '../../scripts/sanitizers.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/models');
/** The first C-passing node test starting with each prefix: convolutions, pooling, indexing, recurrences, ... */
const FAMILIES = [
  'test_conv_with_strides', 'test_convtranspose', 'test_averagepool_2d_pads', 'test_maxpool_2d_pads', 'test_gather_',
  'test_gathernd', 'test_scatter_elements', 'test_scatternd', 'test_resize_', 'test_reduce_sum', 'test_argmax',
  'test_softmax', 'test_layer_normalization', 'test_lstm', 'test_gru', 'test_matmul', 'test_gemm', 'test_einsum',
  'test_slice', 'test_edge_pad', 'test_top_k', 'test_nonzero', 'test_cumsum', 'test_onehot', 'test_roialign',
  'test_gridsample', 'test_dft', 'test_prelu_example', 'test_tile', 'test_qlinearconv', 'test_lrn', 'test_mod',
];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-san-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('sanitizers', () => {
  it('are working here: an out-of-bounds read and a signed overflow are reported', () => {
    const src = path.join(work, 'bad.c');
    fs.writeFileSync(src, '#include <stdlib.h>\nint main(int c, char **v) { int *p = malloc(8); int r = p[c + 1]; int m = 2147483647; (void)v; free(p); return r + m + c; }\n');
    const exe = path.join(work, 'bad');
    const b = spawnSync(process.env.CC ?? 'cc', [...SANITIZE_CFLAGS, '-o', exe, src], { encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    const r = spawnSync(exe, { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(sanitizerReport(r.stderr)).toMatch(/AddressSanitizer: heap-buffer-overflow|runtime error/);
  });

  it('small_cnn runs clean', () => {
    const r = sanitizeModel(FIXTURES, 'small_cnn');
    expect(r.status, r.detail).toBe('clean');
  }, 600_000); // ~20 s of CPU (the sanitized build), minutes of wall time on a loaded machine

  const passing = fs.existsSync(NODE_TEST_DIR) ? cPassingNodeTests() : [];
  const picked = FAMILIES.map((p) => passing.find((t) => t.startsWith(p))).filter((t): t is string => !!t);
  it.skipIf(passing.length === 0)(`${FAMILIES.length} node tests, one per op family, run clean`, () => {
    expect(picked.length).toBeGreaterThanOrEqual(FAMILIES.length - 2);
    const bad = picked.map(sanitizeNodeTest).filter((r) => r.status !== 'clean').map((r) => `${r.name}: ${r.status} ${r.detail}`);
    expect(bad).toEqual([]);
  }, 600_000);
});
