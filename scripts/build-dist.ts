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
import { exitOnHelp } from './script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { dagreSource } from '../packages/cli/src/viz/page.ts';

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
  // aic viz inlines its page style and script into each HTML file
  'packages/cli/src/viz/page.css',
  'packages/cli/src/viz/client.js',
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
  // aic viz inlines the graph-layout library (@dagrejs/dagre's browser build + license) into each page
  fs.writeFileSync(path.join(DIST, 'dagre.js'), dagreSource());
  checkSiblingFiles();
  emitDeclarations();
  return fs.readdirSync(DIST).sort();
}

/**
 * Every file the bundled code reaches relative to itself (`new URL('./x', import.meta.url)`), and every
 * module a copied runtime file imports, must be in dist/: a source file that starts reading a new
 * sibling fails the build here instead of failing in a user's install (add it to RUNTIME_FILES).
 * Files of npm packages looked up at run time (require.resolve) fail too: import them instead.
 */
function checkSiblingFiles(): void {
  const missing: string[] = [];
  for (const f of fs.readdirSync(DIST).filter((x) => x.endsWith('.mjs'))) {
    const text = fs.readFileSync(path.join(DIST, f), 'utf8');
    const copied = RUNTIME_FILES.some((r) => path.basename(r) === f);
    const refs = [...text.matchAll(/new URL\(\s*["'`]\.\/([^"'`]+)["'`]\s*,\s*import\.meta\.url\s*\)/g)].map((m) => m[1]);
    if (copied) refs.push(...[...text.matchAll(/(?:from|import)\s*\(?\s*["']\.\/([^"']+)["']/g)].map((m) => m[1]));
    for (const r of refs) if (!fs.existsSync(path.join(DIST, r)) && !(copied && r === 'model.weights')) missing.push(`${f} -> ./${r}`);
    // the package has no node_modules of its own: a package file looked up at run time is not there
    for (const m of text.matchAll(/(?:require|import\.meta)\.resolve\(\s*["'`]([^"'`]+)/g)) missing.push(`${f} -> ${m[1]} (resolved at run time)`);
  }
  if (missing.length) throw new Error(`dist/ lacks files the code reads next to itself: ${missing.join(', ')} (add them to RUNTIME_FILES)`);
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
