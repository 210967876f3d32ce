/**
 * The flags a user gets by default (defaultCFlags) give right answers with this machine's compiler.
 * Regression: Debian's GCC 12.2 miscompiled the PRelu select loop at -O3 -march=native on AVX-512
 * machines (test_prelu_example: max abs diff 2.97); the standalone reproducer
 * tests/fixtures/c/gcc12-avx512-select.c must run right under the default flags too.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNpy, type Tensor } from '@aic/core';
import { decodeValueFile } from '@aic/onnx';
import { DEFAULT_CFLAGS, GCC_AVX512_CFLAGS, compilerInfo, defaultCFlags } from '@aic/codegen';
import { excess } from '../model-zoo.ts';
import { NODE_TEST_DIR, RUNNERS, runNodeTest } from '../../scripts/conformance.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-cflags-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const PRELU = path.join(NODE_TEST_DIR, 'test_prelu_example');

describe('default C flags', () => {
  it('are DEFAULT_CFLAGS (+ the workaround for GCC emitting AVX-512) unless CFLAGS is set', () => {
    const cc = compilerInfo('cc');
    const want = [...DEFAULT_CFLAGS, ...(cc.gcc && cc.avx512 ? GCC_AVX512_CFLAGS : [])];
    expect(defaultCFlags({})).toEqual(want);
    expect(defaultCFlags({ CFLAGS: '  ' })).toEqual(want);
    expect(defaultCFlags({ CFLAGS: '-O2 -g' })).toEqual(['-O2', '-g']);
    expect(compilerInfo(process.execPath)).toEqual({ gcc: false, avx512: false }); // not a compiler: no GCC flags
  });

  for (const file of ['gcc12-avx512-select.c', 'gcc12-avx512-select-unrolled.c']) {
    it(`build the standalone reproducer ${file} right`, () => {
      const exe = path.join(work, file.replace(/\.c$/, ''));
      const cc = process.env.CC || 'cc';
      const b = spawnSync(cc, [...defaultCFlags({}, cc), '-o', exe, path.join(ROOT, 'tests/fixtures/c', file)], { encoding: 'utf8' });
      expect(b.status, b.stderr).toBe(0);
      const r = spawnSync(exe, { encoding: 'utf8' });
      expect(r.stdout.trim()).toBe('0 wrong');
    });
  }

  it.skipIf(!fs.existsSync(PRELU))('test_prelu_example passes on the C target (conformance runner)', () => {
    const r = runNodeTest('test_prelu_example', RUNNERS.c);
    expect(r.status, r.detail).toBe('pass');
  }, 60_000);

  it.skipIf(!fs.existsSync(PRELU))('aic run --target c on test_prelu_example matches the reference output', () => {
    const env = { ...process.env };
    delete env.CFLAGS;
    const data = path.join(PRELU, 'test_data_set_0');
    const ins = ['x=input_0.pb', 'slope=input_1.pb'].flatMap((s) => ['--input', s.replace('=', `=${data}/`)]);
    const r = spawnSync(path.join(ROOT, 'bin/aic'), ['run', '--target', 'c', path.join(PRELU, 'model.onnx'), ...ins, '--output-dir', work], { encoding: 'utf8', env });
    expect(r.status, r.stderr).toBe(0);
    const got = parseNpy(new Uint8Array(fs.readFileSync(path.join(work, 'y.npy'))));
    const want = decodeValueFile(fs.readFileSync(path.join(data, 'output_0.pb'))) as Tensor;
    expect(got.shape).toEqual(want.shape);
    const e = excess(got.num, want.num, 1e-3, 1e-5);
    expect(e.worst, `y[${e.at}] got ${got.num[e.at]} want ${want.num[e.at]}`).toBeLessThanOrEqual(0);
  }, 60_000);
});
