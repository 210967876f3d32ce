/**
 * A fuzz worker (a forked process): for each case it writes the files into the case folder, runs aic in-process
 * (packages/cli main(), stdout/stderr captured) or, for the spawn sample, as the real bin/aic process, and sends
 * back the judged result. The pool kills and replaces it on a hang, a crash or runaway memory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { main } from '../../packages/cli/src/main.ts';
import { makeCase, writeCase } from './cases.ts';
import type { RunResult } from './judge.ts';
import { ROOT, type Seed } from './seeds.ts';

export interface Job { id: number; seed: number; dir: string; spawn: boolean; timeoutMs: number; cShare: number }
export interface Started { type: 'started'; id: number; family: string; seedModel: string; command: string; args: string[]; what: string[]; files: string[] }
export interface Done { type: 'done'; id: number; result: RunResult; ms: number }

const LIMIT = 64 * 1024;
const seeds = JSON.parse(fs.readFileSync(process.env.AIC_FUZZ_SEEDS!, 'utf8')) as Seed[];

function listTree(dir: string, base = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, base), { withFileTypes: true })) {
    const rel = path.join(base, e.name);
    out.push(e.isDirectory() ? rel + '/' : rel);
    if (e.isDirectory()) out.push(...listTree(dir, rel));
  }
  return out;
}

/** run main() with process.stdout/stderr captured (first 64 KiB of each) in the case folder */
async function inProcess(args: string[], dir: string): Promise<{ exit: number; stdout: string; stderr: string }> {
  const cap = { stdout: '', stderr: '' };
  const saved = { stdout: process.stdout.write, stderr: process.stderr.write };
  for (const k of ['stdout', 'stderr'] as const) {
    process[k].write = ((chunk: string | Uint8Array, enc?: unknown, cb?: unknown) => {
      if (cap[k].length < LIMIT) cap[k] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      const done = typeof enc === 'function' ? enc : cb;
      if (typeof done === 'function') done();
      return true;
    }) as typeof process.stdout.write;
  }
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const exit = await main(['node', 'aic', ...args]);
    return { exit, ...cap };
  } finally {
    process.chdir(cwd);
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
  }
}

function spawned(args: string[], dir: string, timeoutMs: number): RunResult & { created: string[] } {
  const p = spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), ...args], {
    cwd: dir, timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 << 20, env: { ...process.env, NO_COLOR: '1' },
  });
  const killed = p.error && (p.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? 'hang' as const : p.signal ? 'crash' as const : undefined;
  return { exit: p.status, stdout: (p.stdout ?? '').slice(0, LIMIT), stderr: (p.stderr ?? '').slice(0, LIMIT) + (p.signal ? `\nkilled by ${p.signal}` : ''), created: [], killed };
}

async function runJob(job: Job): Promise<Done> {
  const c = makeCase(job.seed, job.id, seeds, job.cShare);
  writeCase(c, job.dir);
  const before = new Set(listTree(job.dir));
  const started: Started = { type: 'started', id: job.id, family: c.family, seedModel: c.seed, command: c.command, args: c.args, what: c.what, files: [...before] };
  process.send!(started);
  const t0 = performance.now();
  const r = job.spawn ? spawned(c.args, job.dir, job.timeoutMs) : { ...(await inProcess(c.args, job.dir)), created: [] as string[] };
  r.created = listTree(job.dir).filter((f) => !before.has(f));
  return { type: 'done', id: job.id, result: r, ms: performance.now() - t0 };
}

let current: number | undefined;
const die = (e: unknown) => {
  process.send!({ type: 'died', id: current, error: e instanceof Error ? e.stack ?? e.message : String(e) }, () => process.exit(70));
};
process.on('uncaughtException', die);
process.on('unhandledRejection', die);
process.on('message', (job: Job) => {
  current = job.id;
  runJob(job).then((d) => { current = undefined; process.send!(d); }, die);
});
process.send!({ type: 'ready' });
