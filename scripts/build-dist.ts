/**
 * Builds dist/, what `npm pack` ships (run by the `prepack` script; `npm run build` alone also works):
 * - dist/cli.mjs (the `aic` command, which bin/aic runs when the TypeScript sources are absent) and
 *   dist/index.mjs (the library API, `import ... from 'aic'`): ES modules bundled with esbuild (tsx's
 *   own dependency), every @aic/* workspace package and npm package inside, so the published package
 *   has no dependencies (package.json lists them all as devDependencies);
 * - dist/index.d.ts + dist/types.d.ts: the API's declarations (tsc), self-contained;
 * - the files the code reads next to itself at run time: the DSL grammar (aic.ohm), the WebGPU host
 *   runtime and the GPU child process / worker modules.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'dist');

/** Files read or spawned relative to import.meta.url: they sit next to the bundle. */
const RUNTIME_FILES = [
  'packages/dsl/src/aic.ohm',
  'codegen/wgsl/host-runtime.mjs',
  'codegen/wgsl/gpu-child.mjs',
  'codegen/wgsl/gpu-client.mjs',
  'codegen/wgsl/gpu-worker.mjs',
  'codegen/wgsl/node-gpu.mjs',
];

export async function buildDist(): Promise<string[]> {
  fs.rmSync(DIST, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: { cli: 'packages/cli/src/main.ts', index: 'packages/api/src/index.ts' },
    outdir: DIST,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // everything inside (no run-time dependencies: start-up skips resolving and lexing CommonJS packages);
    // webgpu (Dawn, a native module) is optional: only `run --target wgsl` imports it
    external: ['webgpu'],
    // CommonJS dependencies (protobufjs) call require() for Node built-ins
    banner: { js: "import { createRequire as __aicCreateRequire } from 'node:module'; const require = __aicCreateRequire(import.meta.url);" },
    chunkNames: 'chunk-[hash]',
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const f of RUNTIME_FILES) fs.copyFileSync(path.join(ROOT, f), path.join(DIST, path.basename(f)));
  emitDeclarations();
  return fs.readdirSync(DIST).sort();
}

/** index.d.ts and types.d.ts of packages/api (index.ts's signatures use only types.ts). */
function emitDeclarations(): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-dts-'));
  try {
    const tsc = path.join(ROOT, 'node_modules/.bin/tsc');
    const r = spawnSync(tsc, ['--ignoreConfig', '--declaration', '--emitDeclarationOnly', '--allowImportingTsExtensions', '--strict',
      '--module', 'esnext', '--moduleResolution', 'bundler', '--target', 'es2022', '--skipLibCheck', '--types', 'node',
      '--rootDir', 'packages/api/src', '--outDir', tmp, 'packages/api/src/index.ts'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tsc (declarations) failed:\n${r.stdout}${r.stderr}`);
    for (const f of ['index.d.ts', 'types.d.ts']) {
      const text = fs.readFileSync(path.join(tmp, f), 'utf8');
      if (/from '@aic\//.test(text)) throw new Error(`${f} imports an internal package: the API's signatures must use types.ts only`);
      fs.writeFileSync(path.join(DIST, f), text.replace(/from '\.\/types\.ts'/g, "from './types.js'"));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const files = await buildDist();
  process.stdout.write(`built ${path.relative(process.cwd(), DIST) || DIST}: ${files.join(', ')}\n`);
}
