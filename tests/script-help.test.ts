// Every benchmark and script answers --help with its usage and starts no work (scripts/script-help.ts).
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { leadingDoc } from '../scripts/script-help.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const scripts = ['benchmarks', 'scripts'].flatMap((d) => fs.readdirSync(path.join(ROOT, d))
  .filter((f) => f.endsWith('.ts')).map((f) => `${d}/${f}`))
  .filter((f) => fs.readFileSync(path.join(ROOT, f), 'utf8').includes('process.argv'));

describe('script --help', () => {
  it('leadingDoc strips the comment markers', () => {
    expect(leadingDoc('/**\n * Usage: x [--runs N]\n *   more\n */\nconst a = 1;')).toBe('Usage: x [--runs N]\n  more');
    expect(leadingDoc('const a = 1;')).toBe('');
  });

  it('every script that reads its arguments handles --help', () => {
    expect(scripts.length).toBeGreaterThan(20);
    const missing = scripts.filter((f) => f !== 'scripts/script-help.ts' && f !== 'scripts/fuzz.ts')
      .filter((f) => !/exitOnHelp\(import\.meta\.filename\)/.test(fs.readFileSync(path.join(ROOT, f), 'utf8')));
    expect(missing).toEqual([]);
  });

  it.each(['benchmarks/c-bench.ts', 'scripts/quant-accuracy.ts', 'scripts/node-tests.ts'])('%s --help prints its usage and exits 0', (f) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', f, '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(leadingDoc(fs.readFileSync(path.join(ROOT, f), 'utf8')));
    expect(r.stdout.length).toBeGreaterThan(40);
  }, 130_000);
});
