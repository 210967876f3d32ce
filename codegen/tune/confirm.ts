/**
 * Winners confirmed after the search: a candidate replaces the default (the incumbent) only when,
 * timed interleaved with it, it is faster by MARGIN. A workload's fastest measured candidates (up to
 * CANDIDATES, each faster than the default in the search, where one noisy sample may have flattered
 * it) go into one build: the candidates then a default copy, CYCLES times over (copy 0 is a default
 * too: D C1 C2 C3 D C1 C2 C3 D C1 C2 C3), and that build is timed in ROUNDS runs. Per round a
 * schedule's time is its fastest copy (load only ever adds time) and a candidate's ratio is its time
 * over the default's; over the rounds the median ratio counts and the spread ((max - min) / median)
 * is the noise. A candidate wins with a median ratio <= 1 - MARGIN; of several, the lowest ratio.
 * Deterministic for a sequence of measurements.
 */
import type { Directive } from '@aic/loop-ir';
import type { KernelSource } from '../lower/program.ts';
import type { Batch, TuneRunner } from './runners.ts';

export const MARGIN = 0.03, ROUNDS = 3, CYCLES = 3, CANDIDATES = 3;

export interface Verdict { dirs: Directive[]; ratio: number; spread: number }
export interface Confirmation {
  /** (max - min) / median of the default's per-round times (undefined: nothing was confirmed) */
  defaultSpread?: number;
  /** every candidate timed, in the search's order (fastest first) */
  tried: Verdict[];
  /** the lowest ratio <= 1 - MARGIN, if any */
  winner?: Verdict;
}

const median = (xs: number[]) => { const s = xs.slice().sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/** Median and spread ((max - min) / median) of a list of ratios. */
export function ratioStats(xs: number[]): { ratio: number; spread: number } {
  const m = median(xs);
  return { ratio: m, spread: m > 0 ? (Math.max(...xs) - Math.min(...xs)) / m : 0 };
}

/** The copies after copy 0 of one confirmation build of k candidates: C1..Ck D C1..Ck D ... C1..Ck. */
export function confirmCopies(cands: Directive[][], def: Directive[]): Directive[][] {
  const out: Directive[][] = [];
  for (let c = 0; c < CYCLES; c++) { out.push(...cands); if (c < CYCLES - 1) out.push(def); }
  return out;
}

/** Per round: the default's fastest copy, and each candidate's fastest copy over it. */
export function roundRatios(rounds: { defaultUs: number; us: number[] }[], k: number): { def: number[]; cand: number[][] } {
  const def: number[] = [], cand: number[][] = Array.from({ length: k }, () => []);
  for (const r of rounds) {
    const d = Math.min(r.defaultUs, ...Array.from({ length: CYCLES - 1 }, (_, c) => r.us[c * (k + 1) + k]));
    def.push(d);
    for (let i = 0; i < k; i++) cand[i].push(Math.min(...Array.from({ length: CYCLES }, (_, c) => r.us[c * (k + 1) + i])) / d);
  }
  return { def, cand };
}

const keyOf = (d: readonly Directive[]) => JSON.stringify(d);

/** Confirm the fastest of `measured` (the search's candidates, default excluded) against `def` on `runner`. */
export function confirmWorkload(runner: TuneRunner, src: KernelSource, def: Directive[], measured: readonly { dirs: Directive[]; us: number }[], defaultUs: number): Confirmation {
  const pool: Directive[][] = [];
  for (const m of measured.slice().sort((a, b) => a.us - b.us)) {
    if (pool.length >= CANDIDATES || !(m.us < defaultUs)) break;
    if (keyOf(m.dirs) !== keyOf(def) && !pool.some((p) => keyOf(p) === keyOf(m.dirs))) pool.push(m.dirs);
  }
  if (!pool.length) return { tried: [] };
  let m: Batch;
  try { m = runner.measure(src, confirmCopies(pool, def), ROUNDS); } catch { return { tried: [] }; }
  const k = pool.length;
  const { def: d, cand } = roundRatios(m.rounds ?? [{ defaultUs: m.defaultUs, us: m.us }], k);
  // a candidate any of whose copies disagrees with copy 0 is out (they agreed in the search)
  const agrees = (i: number) => Array.from({ length: CYCLES }, (_, c) => m.agree[c * (k + 1) + i]).every(Boolean);
  const tried = pool.map((dirs, i) => ({ dirs, ...ratioStats(cand[i]) }));
  const ok = tried.filter((v, i) => agrees(i) && v.ratio <= 1 - MARGIN);
  const winner = ok.reduce<Verdict | undefined>((b, v) => (!b || v.ratio < b.ratio ? v : b), undefined);
  return { defaultSpread: ratioStats(d).spread, tried, ...(winner ? { winner } : {}) };
}
