/**
 * The C build cache under concurrency (codegen/c/cache.ts): publishing never replaces or removes an
 * entry, a late finisher keeps the first result, corrupt entries are never used; and six
 * `aic run --target c` processes building the same model at once with a cold cache all succeed
 * with identical outputs.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheLookup, cachePublish, cacheTemp, entryComplete } from '../../codegen/c/cache.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-cache-test-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function built(base: string, content: string): string {
  const tmp = cacheTemp(base);
  fs.writeFileSync(path.join(tmp, 'run'), content);
  return tmp;
}

describe('C build cache publishing', () => {
  it('the first finisher wins; a second finisher discards its own build and uses the first', () => {
    const base = path.join(work, 'a', 'key');
    expect(cacheLookup(base)).toBeNull();
    const t1 = built(base, 'first'), t2 = built(base, 'second!');
    expect(cachePublish(base, t1)).toBe(base);
    expect(cachePublish(base, t2)).toBe(base);
    expect(fs.readFileSync(path.join(base, 'run'), 'utf8')).toBe('first');
    expect(fs.existsSync(t1) || fs.existsSync(t2)).toBe(false);
    expect(cacheLookup(base)).toBe(base);
    expect(fs.readdirSync(path.dirname(base))).toEqual(['key']);
  });

  it('an entry without its marker, or whose files disagree with it, is never used: the next build takes a fresh name', () => {
    const base = path.join(work, 'b', 'key');
    fs.mkdirSync(base, { recursive: true });
    fs.writeFileSync(path.join(base, 'run'), 'partial'); // no marker: an interrupted or foreign entry
    expect(entryComplete(base)).toBe(false);
    expect(cacheLookup(base)).toBeNull();
    expect(cachePublish(base, built(base, 'good'))).toBe(`${base}.1`);
    expect(fs.readFileSync(path.join(base, 'run'), 'utf8')).toBe('partial'); // left alone
    expect(cacheLookup(base)).toBe(`${base}.1`);
    // truncation after publishing: the marker's sizes no longer match
    fs.writeFileSync(path.join(`${base}.1`, 'run'), 'go');
    expect(cacheLookup(base)).toBeNull();
    expect(cachePublish(base, built(base, 'rebuilt'))).toBe(`${base}.2`);
    expect(cacheLookup(base)).toBe(`${base}.2`);
  });

  it('a build directory left by a killed process is removed once stale (a day old), a recent one never', () => {
    const base = path.join(work, 'd', 'key');
    const stale = cacheTemp(base), recent = cacheTemp(base);
    const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    fs.utimesSync(stale, old, old);
    const mine = cacheTemp(base);
    expect([fs.existsSync(stale), fs.existsSync(recent), fs.existsSync(mine)]).toEqual([false, true, true]);
  });

  it('an entry published by another process while we built is used; our build is discarded', () => {
    const base = path.join(work, 'c', 'key');
    const mine = built(base, 'mine');
    // another process publishes between our lookup and our rename
    const theirs = built(base, 'theirs');
    fs.writeFileSync(path.join(theirs, 'complete'), JSON.stringify({ files: { run: 6 } }));
    fs.renameSync(theirs, base);
    expect(cachePublish(base, mine)).toBe(base);
    expect(fs.readFileSync(path.join(base, 'run'), 'utf8')).toBe('theirs');
    expect(fs.existsSync(mine)).toBe(false);
  });
});

interface Proc { code: number | null; stderr: string }
function aicAsync(args: string[], env: NodeJS.ProcessEnv): Promise<Proc> {
  return new Promise((resolve) => {
    const p = spawn(path.join(ROOT, 'bin/aic'), args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('concurrent aic run --target c', () => {
  it('6 processes on the same model with a cold cache all exit 0 with identical outputs', async () => {
    const cache = path.join(work, 'cold-cache');
    const fx = path.join(ROOT, 'tests/fixtures/models');
    const env: NodeJS.ProcessEnv = { ...process.env, AIC_CACHE_DIR: cache };
    delete env.CFLAGS;
    const dirs = Array.from({ length: 6 }, (_, i) => path.join(work, `out${i}`));
    const procs = await Promise.all(dirs.map((d) => aicAsync(['run', '--target', 'c', path.join(fx, 'small_cnn.onnx'),
      '--input', path.join(fx, 'small_cnn.input.npy'), '--output-dir', d], env)));
    for (const p of procs) expect(p.code, p.stderr).toBe(0);
    const outs = dirs.map((d) => fs.readdirSync(d).map((f) => fs.readFileSync(path.join(d, f)).toString('base64')).join());
    expect(outs[0].length).toBeGreaterThan(0);
    for (const o of outs) expect(o).toBe(outs[0]);
    // one published entry, no temporary directory left behind
    const entries = fs.readdirSync(path.join(cache, 'c'));
    expect(entries.length, entries.join(' ')).toBe(1);
    expect(entryComplete(path.join(cache, 'c', entries[0]))).toBe(true);
  }, 300_000);
});
