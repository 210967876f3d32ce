/**
 * A fuzz campaign: cases 0..N-1 of a seed spread over --jobs forked workers, each case under a time and memory
 * limit (a worker that hangs, crashes or grows too large is killed and replaced). Every finished case is one line
 * of OUT/results.jsonl, so an interrupted campaign resumes where it stopped; each failure keeps its case folder
 * under OUT/failures/<id>/ with repro.sh (the command) and result.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { PASSING, classKey, judge, knownDefect, type Outcome, type RunResult } from './judge.ts';
import { ROOT, prepareSeeds } from './seeds.ts';
import type { Done, Job, Started } from './worker.ts';
import { makeCase, writeCase } from './cases.ts';

export interface CampaignOptions {
  seed: number; cases: number; jobs: number; out: string;
  timeoutMs?: number; spawnEvery?: number; sample?: number; maxRssMb?: number; cShare?: number;
  /** run the journal's failed cases again (after a fix) */
  retryFailures?: boolean;
  log?: (line: string) => void;
}
export interface CaseRecord {
  id: number; family: string; seedModel: string; command: string; args: string[]; what: string[]; spawn: boolean;
  outcome: Outcome; why: string; exit: number | null; ms: number; known?: number; repro?: string;
}
export interface Summary { total: number; byOutcome: Record<string, number>; failures: CaseRecord[]; ms: number; out: string }

interface Worker { proc: ChildProcess; stderr: string; ready: Promise<void> }

function startWorker(o: Required<Omit<CampaignOptions, 'log'>>, seedsFile: string): Worker {
  const proc = fork(path.join(import.meta.dirname, 'worker.ts'), [], {
    cwd: ROOT, execArgv: ['--import', 'tsx', '--max-old-space-size=2048'], detached: true, stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, AIC_FUZZ_SEEDS: seedsFile, AIC_CACHE_DIR: path.join(o.out, 'cache'), NO_COLOR: '1' },
  });
  const w: Worker = { proc, stderr: '', ready: Promise.resolve() };
  const keep = (d: Buffer) => { w.stderr = (w.stderr + d.toString()).slice(-8000); };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  w.ready = new Promise((res, rej) => {
    proc.once('message', () => res());
    proc.once('exit', (code) => rej(new Error(`fuzz worker exited (${code}) before it was ready:\n${w.stderr}`)));
  });
  return w;
}

function kill(w: Worker): void {
  try { process.kill(-w.proc.pid!, 'SIGKILL'); } catch { w.proc.kill('SIGKILL'); }
}

function rssMb(pid: number): number {
  try { return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024; } catch { return 0; }
}

/** Run one job on a worker; resolves with the case and its result whatever happens to the worker. */
function runOne(w: Worker, job: Job, o: Required<Omit<CampaignOptions, 'log'>>): Promise<{ started?: Started; result: RunResult; ms: number; alive: boolean }> {
  return new Promise((resolve) => {
    let started: Started | undefined;
    const t0 = performance.now();
    const finish = (result: RunResult, alive: boolean) => {
      clearTimeout(timer); clearInterval(poll);
      w.proc.off('message', onMsg); w.proc.off('exit', onExit);
      resolve({ started, result, ms: performance.now() - t0, alive });
    };
    const dead = (killed: 'hang' | 'crash' | 'oom', why: string) => finish({ exit: null, stdout: '', stderr: `${why}\n${w.stderr}`, created: [], killed }, false);
    const onMsg = (m: Started | Done | { type: 'died'; error: string }) => {
      if (m.type === 'started') started = m;
      else if (m.type === 'done') finish(m.result, true);
      else { kill(w); dead('crash', m.error); }
    };
    const onExit = (code: number | null, sig: string | null) => dead('crash', `worker exited (${code ?? sig})`);
    const timer = setTimeout(() => { kill(w); dead('hang', `no result after ${job.timeoutMs / 1000} s`); }, job.timeoutMs + (job.spawn ? 15000 : 0));
    const poll = setInterval(() => {
      const mb = rssMb(w.proc.pid!);
      if (mb > o.maxRssMb) { kill(w); dead('oom', `worker memory ${mb.toFixed(0)} MB > ${o.maxRssMb} MB`); }
    }, 500);
    w.proc.on('message', onMsg);
    w.proc.on('exit', onExit);
    w.proc.send(job);
  });
}

const shq = (s: string) => (/^[\w./=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

type ReproInfo = Pick<CaseRecord, 'id' | 'family' | 'seedModel' | 'what' | 'args'> & { outcome?: string; why?: string };

/** repro.sh in a case folder: the aic command line, run from the folder (extra arguments pass through) */
function writeRepro(dir: string, rec: ReproInfo): string {
  const repro = path.join(dir, 'repro.sh');
  fs.writeFileSync(repro, `#!/bin/sh\n# fuzz case ${rec.id}: ${rec.family} on ${rec.seedModel}; ${rec.what.join('; ')}\n`
    + (rec.outcome ? `# ${rec.outcome}: ${rec.why}\n` : '')
    + `cd "$(dirname "$0")" && exec ${shq(path.join(ROOT, 'bin/aic'))} ${rec.args.map(shq).join(' ')} "$@"\n`, { mode: 0o755 });
  return repro;
}

/** keep a failing case: its folder (outputs removed, so the command can run again), repro.sh and result.json */
function keepFailure(dir: string, out: string, rec: CaseRecord, result: RunResult): string {
  const dest = path.join(out, 'failures', String(rec.id));
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  if (fs.existsSync(dir)) fs.renameSync(dir, dest); else fs.mkdirSync(dest);
  for (const f of result.created) fs.rmSync(path.join(dest, f), { recursive: true, force: true });
  fs.writeFileSync(path.join(dest, 'result.json'), JSON.stringify({ ...rec, stdout: result.stdout, stderr: result.stderr, created: result.created }, null, 1));
  return writeRepro(dest, rec);
}

/** Write case `id` of a campaign into `dir` with its repro.sh, without running it (to look at any case again). */
export function writeCaseFolder(seed: number, id: number, sample: number, out: string, dir: string, cShare = 0.04): string {
  const seeds = prepareSeeds(path.join(path.resolve(out), 'seeds'), sample);
  const c = makeCase(seed, id, seeds, cShare);
  writeCase(c, dir);
  return writeRepro(dir, { id, family: c.family, seedModel: c.seed, what: c.what, args: c.args });
}

export async function runCampaign(opts: CampaignOptions): Promise<Summary> {
  const o = { timeoutMs: 60_000, spawnEvery: 100, sample: 200, maxRssMb: 3000, cShare: 0.04, retryFailures: false, ...opts, out: path.resolve(opts.out) };
  const log = opts.log ?? (() => {});
  fs.mkdirSync(o.out, { recursive: true });
  const seeds = prepareSeeds(path.join(o.out, 'seeds'), o.sample);
  const seedsFile = path.join(o.out, 'seeds', `manifest-${o.sample}.json`);
  const journal = path.join(o.out, 'results.jsonl');
  const records = new Map<number, CaseRecord>();
  if (fs.existsSync(journal)) {
    for (const l of fs.readFileSync(journal, 'utf8').split('\n')) if (l.trim()) { const r = JSON.parse(l) as CaseRecord; if (!o.retryFailures || PASSING.includes(r.outcome)) records.set(r.id, r); else records.delete(r.id); }
  }
  const queue = Array.from({ length: o.cases }, (_, i) => i).filter((i) => !records.has(i));
  log(`fuzz: seed ${o.seed}, ${o.cases} cases (${queue.length} to run, ${records.size} done), ${seeds.length} seed models, ${o.jobs} jobs, out ${o.out}`);
  const t0 = performance.now();
  let lastLog = t0;

  const slot = async (k: number) => {
    let w: Worker | undefined;
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      if (!w) { w = startWorker(o, seedsFile); await w.ready; }
      const job: Job = { id, seed: o.seed, dir: path.join(o.out, 'work', `w${k}`), spawn: o.spawnEvery > 0 && id % o.spawnEvery === 0, timeoutMs: o.timeoutMs, cShare: o.cShare };
      const { started: s, result, ms, alive } = await runOne(w, job, o);
      if (!alive) w = undefined;
      const { outcome, why } = judge(result);
      const rec: CaseRecord = {
        id, family: s?.family ?? '?', seedModel: s?.seedModel ?? '?', command: s?.command ?? '?', args: s?.args ?? [], what: s?.what ?? [],
        spawn: job.spawn, outcome, why, exit: result.exit, ms: Math.round(ms),
      };
      if (!PASSING.includes(outcome)) {
        rec.known = knownDefect(outcome, why, result.stderr, rec.what);
        rec.repro = keepFailure(job.dir, o.out, rec, result);
        log(`FAIL case ${id} ${outcome}${rec.known ? ` (known: defect ${rec.known})` : ''}: ${why} -> ${rec.repro}`);
      }
      records.set(id, rec);
      fs.appendFileSync(journal, JSON.stringify(rec) + '\n');
      if (performance.now() - lastLog > 30_000) { lastLog = performance.now(); log(progress(records, o.cases, t0)); }
    }
    if (w) kill(w);
  };
  await Promise.all(Array.from({ length: Math.max(1, o.jobs) }, (_, k) => slot(k)));
  fs.rmSync(path.join(o.out, 'work'), { recursive: true, force: true });
  const all = [...records.values()].filter((r) => r.id < o.cases);
  const byOutcome: Record<string, number> = {};
  for (const r of all) byOutcome[r.outcome] = (byOutcome[r.outcome] ?? 0) + 1;
  return { total: all.length, byOutcome, failures: all.filter((r) => !PASSING.includes(r.outcome)), ms: performance.now() - t0, out: o.out };
}

function progress(records: Map<number, CaseRecord>, total: number, t0: number): string {
  const counts: Record<string, number> = {};
  for (const r of records.values()) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  const s = (performance.now() - t0) / 1000;
  return `[${records.size}/${total}] ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')} (${s.toFixed(0)} s)`;
}

/** The closing report: cases by outcome, failure classes (with a known defect where one matches) and reproducers. */
export function formatSummary(s: Summary): string {
  const lines = [`fuzz: ${s.total} cases in ${(s.ms / 1000).toFixed(0)} s: ${Object.entries(s.byOutcome).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`];
  const classes = new Map<string, CaseRecord[]>();
  for (const f of s.failures) {
    const k = classKey(f.outcome, f.why);
    classes.set(k, [...(classes.get(k) ?? []), f]);
  }
  lines.push(`failures: ${s.failures.length} (${s.failures.filter((f) => !f.known).length} not known) in ${classes.size} classes`);
  for (const [k, fs_] of [...classes].sort((a, b) => b[1].length - a[1].length)) {
    const f = fs_[0]!;
    lines.push(`  ${fs_.length} x ${f.known ? `known (defect ${f.known}) ` : ''}${k}`, `      e.g. case ${f.id} (${f.family}, ${f.command}, ${f.seedModel}): ${f.repro}`);
  }
  lines.push(`results: ${path.join(s.out, 'results.jsonl')}`);
  return lines.join('\n');
}
