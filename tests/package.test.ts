/**
 * The package a user installs: `npm pack` (which builds dist/), install the tarball into an empty
 * folder with no registry (the package has no run-time dependencies), then `npx aic compile model.onnx
 * --target wasm-simd`, the README's library example, and its types through the shipped index.d.ts.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '@aic/core';

const ROOT = path.resolve(import.meta.dirname, '..');
const FIX = path.join(ROOT, 'tests/fixtures/models');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

function sh(cmd: string, args: string[], cwd: string) {
  // npm reads npm_config_* from the environment `npm test` sets up; the user's folder has its own
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...env, NO_COLOR: '1' }, timeout: 300_000 });
  return { code: r.status, out: r.stdout ?? '', err: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** The README's library example (the js block of "## Library"). */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /## Library\n[\s\S]*?```js\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md has no js example under "## Library"');
  return m[1];
}

describe('npm pack -> install into an empty folder', () => {
  it('packs, installs offline, and `npx aic compile model.onnx --target wasm-simd` works there', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-pack-'));
    const packed = sh('npm', ['pack', '--pack-destination', work, '--json'], ROOT);
    expect(packed.code, packed.err).toBe(0);
    const info = JSON.parse(packed.out.slice(packed.out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    const files = info[0].files.map((f) => f.path);
    expect(files).toContain('dist/cli.mjs');
    expect(files).toContain('dist/index.d.ts');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]); // no sources
    const tgz = path.join(work, info[0].filename);

    const user = path.join(work, 'user');
    fs.mkdirSync(user);
    fs.writeFileSync(path.join(user, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    const inst = sh('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', tgz], user);
    expect(inst.code, inst.err).toBe(0);
    expect(fs.readdirSync(path.join(user, 'node_modules')).sort()).toEqual(['.bin', '.package-lock.json', 'aic']);

    fs.copyFileSync(path.join(FIX, 'small_cnn.onnx'), path.join(user, 'model.onnx'));
    const v = sh('npx', ['--no', '--', 'aic', '--version'], user);
    expect(v.out.trim(), v.err).toBe(pkg.version);
    const c = sh('npx', ['--no', '--', 'aic', 'compile', 'model.onnx', '--target', 'wasm-simd', '-o', 'out'], user);
    expect(c.code, c.err).toBe(0);
    expect(fs.readdirSync(path.join(user, 'out')).sort()).toEqual(['README.md', 'model.d.ts', 'model.mjs', 'model.wasm', 'model.weights']);

    // the compiled model computes PyTorch's output
    const x = parseNpy(new Uint8Array(fs.readFileSync(path.join(FIX, 'small_cnn.input.npy'))));
    const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(FIX, 'small_cnn.output.npy'))));
    fs.writeFileSync(path.join(user, 'check.mjs'), `const m = await (await import('./out/model.mjs')).load();
const y = await m.run({ input: Float32Array.from(${JSON.stringify(x.toNumbers())}) });
console.log(JSON.stringify(Array.from(y.output)));\n`);
    const r = sh(process.execPath, ['check.mjs'], user);
    expect(r.code, r.err).toBe(0);
    const got = JSON.parse(r.out) as number[];
    want.toNumbers().forEach((w, i) => expect(Math.abs(got[i] - w)).toBeLessThanOrEqual(1e-4 + 1e-3 * Math.abs(w)));

    // the README's library example runs against the installed package, and type-checks with its index.d.ts
    fs.writeFileSync(path.join(user, 'example.mjs'), readmeExample());
    const e = sh(process.execPath, ['example.mjs'], user);
    expect(e.code, e.err).toBe(0);
    expect(e.out).toMatch(/^\d+ FLOPs, 13 nodes\n\[ 1, 10 \] [\d.]+ ms\n$/);
    expect(fs.existsSync(path.join(user, 'out/model.wasm'))).toBe(true);
    const tsc = sh(path.join(ROOT, 'node_modules/.bin/tsc'), ['--ignoreConfig', '--noEmit', '--allowJs', '--checkJs', '--strict', '--module', 'nodenext',
      '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', '--types', '', 'example.mjs'], user);
    expect(tsc.code, tsc.out + tsc.err).toBe(0);
  });
});
