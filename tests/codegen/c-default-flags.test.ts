/**
 * The flags a user gets by default (defaultCFlags) give right answers with this machine's compiler.
 * Regression: Debian's GCC 12.2 miscompiled the PRelu select loop at -O3 -march=native on AVX-512
 * machines (test_prelu_example: max abs diff 2.97). Kernels with conditional loads carry the
 * AIC_COND_LOADS attribute (codegen/c/guarded.ts) instead of a global flag: the standalone
 * reproducers in tests/fixtures/c/, their kernel marked the same way, must run right under the
 * default flags. gcc12-optimize-ipa-cp.c and gcc12-ipa-cp-null-tmr.c are a second GCC 12 bug: the call to
 * an IPA-CP clone whose two pointers are constants into one array is deleted (the clone's store
 * address gets a literal 0 base, ipa-pure-const finds it pure). Every kernel carries AIC_KERNEL
 * (noclone, codegen/c/noclone.ts); the optimize attribute only made the first reproducer's loop scalar.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor, parseNpy, serializeNpy } from '@aic/core';
import { decodeValueFile } from '@aic/onnx';
import { DEFAULT_CFLAGS, WARNING_FLAGS, compilerInfo, defaultCFlags } from '@aic/codegen';
import { COND_LOADS_ATTR, COND_LOADS_DEFINE } from '../../codegen/c/guarded.ts';
import { KERNEL_ATTR, KERNEL_ATTR_DEFINE } from '../../codegen/c/noclone.ts';
import { loadOnnxFile } from '@aic/onnx';
import { pipelineFor, runPipeline } from '@aic/passes';
import { compileC } from '@aic/codegen';
import { excess, zooModel } from '../model-zoo.ts';
import { NODE_TEST_DIR, RUNNERS, runNodeTest } from '../../scripts/conformance.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-cflags-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const PRELU = path.join(NODE_TEST_DIR, 'test_prelu_example');
/** the system compiler is GCC 12 (where gcc12-ipa-cp-null-tmr.c goes wrong unmarked) */
function isGcc12(): boolean {
  const cc = process.env.CC || 'cc';
  const r = spawnSync(cc, ['-dM', '-E', '-x', 'c', '-'], { input: '', encoding: 'utf8' });
  return compilerInfo(cc).gcc && /^#define __GNUC__ 12$/m.test(r.stdout ?? '');
}

describe('default C flags', () => {
  it('are DEFAULT_CFLAGS (no global GCC workaround flag) unless CFLAGS is set', () => {
    const want = ['-O3', '-march=native', '-ffp-contract=fast'];
    expect(DEFAULT_CFLAGS).toEqual(want);
    expect(defaultCFlags({})).toEqual(want);
    expect(defaultCFlags({ CFLAGS: '  ' })).toEqual(want);
    expect(defaultCFlags({ CFLAGS: '-O2 -g' })).toEqual(['-O2', '-g']);
    expect(compilerInfo(process.execPath)).toEqual({ gcc: false, avx512: false }); // not a compiler: no GCC flags
  });

  /** build a reproducer under the default flags, its kernel k marked as the generated C marks it; its stdout */
  const buildRun = (file: string, attrs: string[]) => {
    const exe = path.join(work, `${file.replace(/\.c$/, '')}-${attrs.length}`);
    const src = fs.readFileSync(path.join(ROOT, 'tests/fixtures/c', file), 'utf8');
    const marked = src.replace(/static void k\(/, `static ${attrs.map((a) => `${a} `).join('')}void k(`);
    if (attrs.length) expect(marked).not.toBe(src);
    fs.writeFileSync(`${exe}.c`, [...COND_LOADS_DEFINE, ...KERNEL_ATTR_DEFINE, marked].join('\n'));
    const cc = process.env.CC || 'cc';
    const b = spawnSync(cc, [...defaultCFlags({}), ...WARNING_FLAGS, '-o', exe, `${exe}.c`], { encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    return spawnSync(exe, { encoding: 'utf8' }).stdout.trim();
  };
  // file -> the kernel holds conditional loads (AIC_COND_LOADS); every kernel carries AIC_KERNEL
  const FIXTURES: [string, boolean][] = [['gcc12-avx512-select.c', true], ['gcc12-avx512-select-unrolled.c', true], ['gcc12-optimize-ipa-cp.c', true], ['gcc12-ipa-cp-null-tmr.c', false]];
  for (const [file, cond] of FIXTURES) {
    const attrs = [...(cond ? [COND_LOADS_ATTR] : []), KERNEL_ATTR];
    it(`build the standalone reproducer ${file} right with its kernel marked ${attrs.join(' ')}`, () => {
      expect(buildRun(file, attrs)).toBe('0 wrong');
    });
  }

  it.skipIf(!isGcc12())(`gcc12-ipa-cp-null-tmr.c reproduces the bug on GCC 12 without ${KERNEL_ATTR}`, () => {
    expect(buildRun('gcc12-ipa-cp-null-tmr.c', [])).toBe('255 wrong');
  });

  it.skipIf(!fs.existsSync(PRELU))(`only kernels with conditional loads carry ${COND_LOADS_ATTR}`, () => {
    const kernels = (model: string) => {
      const g = runPipeline(loadOnnxFile(model), pipelineFor(2)).graph;
      const c = compileC(g, { version: 'test', source: 'm', sourceHash: '-' }).art.c;
      expect(c.match(/^static .*void k\w+\(/gm)).toEqual(c.match(/^static (AIC_COND_LOADS )?AIC_KERNEL void k\w+\(/gm));
      return [...c.matchAll(/^static (AIC_COND_LOADS )?AIC_KERNEL void (k\w+)\(/gm)].map((m) => `${m[1] ? 'marked ' : ''}${m[2]}`);
    };
    // PRelu reads the slope only where x < 0
    expect(kernels(path.join(PRELU, 'model.onnx'))).toEqual(['marked k0_prelu']);
    // convolutions (padded copies), pooling and Softmax (NaN selects of loads they read anyway): none
    expect(kernels(zooModel('small_cnn').onnx).filter((k) => k.startsWith('marked'))).toEqual([]);
  }, 60_000);

  it('the Relu backward of a gradient graph (select under a loaded uint8 condition) matches the interpreter on C', () => {
    // GCC 12.2 dropped the call to this kernel when AIC_COND_LOADS was a bare optimize attribute (IPA-CP clone)
    const aic = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), ...args], { encoding: 'utf8' });
    const model = path.join(work, 'grad.onnx');
    const g = aic(['grad', zooModel('small_cnn').onnx, '--loss', 'cross-entropy', '--wrt', '/f/f.9/Gemm_output_0', '-o', model]);
    expect(g.status, g.stderr).toBe(0);
    fs.writeFileSync(path.join(work, 'labels.npy'), serializeNpy(Tensor.fromNumbers('int64', [1], [3])));
    const out = (target: string) => {
      const dir = path.join(work, `grad-${target}`);
      const r = aic(['run', model, '-O0', '--target', target, '--input', `input=${path.join(ROOT, 'tests/fixtures/models/small_cnn.input.npy')}`, '--input', `labels=${path.join(work, 'labels.npy')}`, '--output-dir', dir]);
      expect(r.status, r.stderr).toBe(0);
      return parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, '_f_f.9_Gemm_output_0_grad.npy'))));
    };
    const want = out('interp'), got = out('c');
    expect(want.num.some((v) => v === 0)).toBe(true); // Relu masked some lanes
    expect(excess(got.num, want.num, 1e-4, 1e-6).worst).toBeLessThanOrEqual(0);
  }, 120_000);

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
