/**
 * aic tune from the command line with a small budget: the log it writes, --resume keeping it,
 * aic compile --tuning-log applying it (and warning about a garbage line), the runner not built
 * (browser for c) as "unsupported" (exit 3), a target without a runner as a usage error.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MODEL = path.join(ROOT, 'tests/fixtures/models/small_cnn.onnx');

function aic(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('aic tune (CLI)', () => {
  it('tunes small_cnn on wasm-simd, resumes, and compile applies the log', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-tune-'));
    const log = path.join(dir, 'tuning.jsonl');
    const r = aic(['tune', MODEL, '--target', 'wasm-simd', '--trials', '4', '--budget', '2m', '--reps', '3', '-o', log]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^kernel +default µs +best µs +speedup +trials +rejected$/m);
    expect(r.out).toMatch(/model \(sum of kernels\): default [\d.]+ ms, tuned [\d.]+ ms/);
    const recs = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.filter((x) => x.trial === 0 && !x.confirmed).length).toBe(7); // small_cnn: 7 kernels, 7 workloads
    for (const x of recs) {
      expect(x.target).toBe('wasm-simd');
      expect(x.median_us).toBeGreaterThan(0);
      expect(Array.isArray(x.schedule) && Array.isArray(x.machine.simd) && typeof x.machine.cpu === 'string').toBe(true);
    }
    const again = aic(['tune', MODEL, '--target', 'wasm-simd', '--trials', '2', '--budget', '2m', '--reps', '3', '-o', log, '--resume']);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(new RegExp(`${recs.length} kept from before`));
    expect(fs.readFileSync(log, 'utf8').trim().split('\n').length).toBeGreaterThan(recs.length);

    const bad = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(bad, '{"garbage": true}\n');
    const c = aic(['compile', MODEL, '--target', 'wasm-simd', '--tuning-log', log, '--tuning-log', bad, '-o', path.join(dir, 'out')]);
    expect(c.code).toBe(0);
    expect(c.err).toMatch(/bad\.jsonl:1: warning AIC0400: tuning log record ignored \(corrupt\): no workload/);
    expect(fs.existsSync(path.join(dir, 'out', 'model.wasm'))).toBe(true);
  }, 240_000);

  it('says what is not built yet (exit 3) and rejects bad options (exit 2)', () => {
    const o = path.join(os.tmpdir(), 'aic-tune-never.jsonl');
    const g = aic(['tune', MODEL, '--target', 'interp', '-o', o]);
    expect(g.code).toBe(2);
    expect(g.err).toMatch(/aic tune measures on c, wasm-simd, wgsl/);
    const b = aic(['tune', MODEL, '--target', 'c', '--runner', 'browser', '-o', o]);
    expect(b.code).toBe(3);
    expect(b.err).toMatch(/AIC0403: unsupported: aic tune --runner browser --target c/);
    expect(aic(['tune', MODEL, '--target', 'c', '--budget', 'soon', '-o', o]).code).toBe(2);
    expect(fs.existsSync(o)).toBe(false);
  });
});
