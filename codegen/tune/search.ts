/**
 * The tuner: measure the default schedules first (per-kernel times: each workload's share of the
 * model), give every workload trials in proportion to its share (as TVM's task scheduler does), then
 * run rounds: each workload with trials left proposes one candidate (evolution from its fastest
 * measured schedules, the mutations of space.ts ranked by the ridge cost model trained on every
 * measurement so far, one in five drawn at random instead) and the round measures them all in one
 * build. A candidate whose outputs differ from the default's on the same random inputs, or whose
 * schedule does not apply, is rejected: a failing round is split in halves until the culprits are
 * alone. Deterministic for a seed and a sequence of measurements (the clock only decides when to stop).
 */
import { reportProgress, type Tensor } from '@aic/core';
import type { Directive } from '@aic/loop-ir';
import type { Program } from '../lower/program.ts';
import { workloadsOf, type Workload } from './workload.ts';
import { features, kernelSpace, mutate, type KernelSpace } from './space.ts';
import { RidgeModel } from './cost-model.ts';
import { makeRng } from './rng.ts';
import { scheduleOf, scheduleText, type Machine, type TuneRecord } from './log.ts';
import type { Measured, TuneRunner } from './runners.ts';

export interface TuneOptions {
  seed: number;
  /** candidates to measure over all workloads (the default schedules not counted) */
  trials: number;
  /** stop starting rounds after this many ms of `clock` */
  budgetMs: number;
  clock: () => number;
  machine: Machine;
  version: string;
  /** records of earlier runs (--resume): their schedules seed the population and are not measured again */
  previous?: readonly TuneRecord[];
  /** measurements of the defaults and of the bests, alternately, after the search (default 2 each) */
  confirmRounds?: number;
  /** every new record, as it is measured */
  onRecord?: (r: TuneRecord) => void;
  /** after each round: workloads done, total, trials so far, best model speedup so far, ms left */
  onRound?: (s: { done: number; total: number; trials: number; speedup: number; msLeft: number }) => void;
}

export interface WorkloadResult {
  workload: Workload;
  defaultUs: number;
  bestUs: number;
  best: Directive[];
  trials: number;
  rejected: number;
  share: number;
}

interface State {
  w: Workload; space: KernelSpace; defaultUs: number; share: number; left: number; trials: number; rejected: number;
  seen: Set<string>; measured: { dirs: Directive[]; us: number }[];
}

const keyOf = (d: readonly Directive[]) => JSON.stringify(d);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Do two output sets agree (|a - b| <= 1e-3 |b| + 1e-4 max|b|, NaN where NaN)? */
export function outputsAgree(a: Map<string, Tensor>, b: Map<string, Tensor>): boolean {
  for (const [k, ref] of b) {
    const t = a.get(k);
    if (!t || t.num.length !== ref.num.length) return false;
    let scale = 0;
    for (let i = 0; i < ref.num.length; i++) if (Number.isFinite(ref.num[i])) scale = Math.max(scale, Math.abs(ref.num[i]));
    for (let i = 0; i < ref.num.length; i++) {
      const x = Number(t.num[i]), y = Number(ref.num[i]);
      if (Number.isNaN(y) ? !Number.isNaN(x) : !(Math.abs(x - y) <= 1e-3 * Math.abs(y) + 1e-4 * scale)) return false;
    }
  }
  return true;
}

/** Tune every workload of `prog` (freshly lowered: algorithms not applied yet) with `runner`. */
export function tune(prog: Program, runner: TuneRunner, o: TuneOptions): WorkloadResult[] {
  const rng = makeRng(o.seed);
  const model = new RidgeModel(1);
  const t0 = o.clock();
  const base = runner.measure(new Map());
  const total = [...base.kernelUs.values()].reduce((a, b) => a + b, 0) || 1;
  const states: State[] = workloadsOf(prog).map((w) => {
    const us = w.kernels.map((k) => base.kernelUs.get(k) ?? 0);
    return { w, space: kernelSpace(prog, w.kernels[0]), defaultUs: mean(us), share: us.reduce((a, b) => a + b, 0) / total, left: 0, trials: 0, rejected: 0, seen: new Set(), measured: [] };
  });
  const record = (s: State, dirs: Directive[], us: number, trial: number, confirmed?: boolean) => o.onRecord?.({
    workload: s.w.key, op: s.w.op, target: runner.target, machine: o.machine, schedule: scheduleText(dirs), median_us: Math.round(us * 1000) / 1000, aic_version: o.version, trial,
    ...(confirmed ? { confirmed } : {}),
  });
  for (const s of states) {
    const dirs = base.realized.get(s.w.kernels[0]) ?? [];
    s.seen.add(keyOf(dirs));
    s.measured.push({ dirs, us: s.defaultUs });
    record(s, dirs, s.defaultUs, 0);
    for (const r of o.previous ?? []) {
      if (r.workload !== s.w.key || r.target !== runner.target) continue;
      const d = scheduleOf(r);
      if (s.seen.has(keyOf(d))) continue;
      s.seen.add(keyOf(d));
      // earlier timings, rescaled by this run's default: the machine's load changes between runs
      const def = (o.previous ?? []).find((q) => q.workload === r.workload && q.target === r.target && q.trial === 0);
      s.measured.push({ dirs: d, us: def ? r.median_us * s.defaultUs / def.median_us : r.median_us });
      model.add(features(d, s.space), Math.log(s.measured.at(-1)!.us / s.defaultUs));
    }
  }
  // trials in proportion to each workload's share of the model's time (largest remainders)
  const raw = states.map((s) => s.share * o.trials);
  states.forEach((s, i) => { s.left = Math.floor(raw[i]); });
  let rest = o.trials - states.reduce((a, s) => a + s.left, 0);
  for (const i of states.map((_, i) => i).sort((a, b) => (raw[b] - Math.floor(raw[b])) - (raw[a] - Math.floor(raw[a])) || a - b)) { if (rest-- <= 0) break; states[i].left++; }

  const ref = base.outputs;
  let trialsDone = 0;
  const speedup = () => total / states.reduce((a, s) => a + Math.min(...s.measured.map((m) => m.us)) * s.w.kernels.length, 0);
  const propose = (s: State): Directive[] | undefined => {
    const pop = s.measured.slice().sort((a, b) => a.us - b.us).slice(0, 4);
    const kids: Directive[][] = [];
    for (let i = 0; i < 32 && kids.length < 12; i++) {
      let kid = mutate(rng.pick(pop).dirs, s.space, rng);
      if (kid && rng.next() < 0.3) kid = mutate(kid, s.space, rng) ?? kid;
      if (kid && !s.seen.has(keyOf(kid)) && !kids.some((k) => keyOf(k) === keyOf(kid!))) kids.push(kid);
    }
    if (!kids.length) return undefined;
    if (rng.next() < 0.2) return rng.pick(kids);
    const scored = kids.map((k, i) => ({ k, p: model.predict(features(k, s.space)), i }));
    scored.sort((a, b) => a.p - b.p || a.i - b.i);
    return scored[0].k;
  };
  // measure candidates; a failing batch is split until the culprits are alone
  const measureBatch = (batch: { s: State; dirs: Directive[] }[]): void => {
    const scheds = new Map<string, Directive[]>();
    for (const { s, dirs } of batch) for (const k of s.w.kernels) scheds.set(k, dirs);
    let m: Measured | undefined;
    try { m = runner.measure(scheds); } catch { m = undefined; }
    if (!m || !outputsAgree(m.outputs, ref)) {
      if (batch.length === 1) { batch[0].s.rejected++; return; }
      const h = batch.length >> 1;
      measureBatch(batch.slice(0, h));
      measureBatch(batch.slice(h));
      return;
    }
    for (const { s } of batch) {
      const us = mean(s.w.kernels.map((k) => m!.kernelUs.get(k) ?? 0));
      const dirs = m.realized.get(s.w.kernels[0]) ?? [];
      s.seen.add(keyOf(dirs));
      s.measured.push({ dirs, us });
      model.add(features(dirs, s.space), Math.log(us / s.defaultUs));
      record(s, dirs, us, s.trials);
    }
  };
  for (;;) {
    const msLeft = o.budgetMs - (o.clock() - t0);
    const active = states.filter((s) => s.left > 0);
    o.onRound?.({ done: states.length - active.length, total: states.length, trials: trialsDone, speedup: speedup(), msLeft });
    reportProgress('tuning', states.length - active.length, states.length, `${trialsDone} trials, best ${speedup().toFixed(2)}x, ${Math.max(0, msLeft / 1000).toFixed(0)} s left`);
    if (!active.length || msLeft <= 0) break;
    const batch: { s: State; dirs: Directive[] }[] = [];
    for (const s of active) {
      const dirs = propose(s);
      if (!dirs) { // nothing new to try: its trials go to the largest other workload with trials left
        const heir = active.filter((x) => x !== s && x.left > 0).sort((a, b) => b.share - a.share)[0];
        if (heir) heir.left += s.left;
        s.left = 0;
        continue;
      }
      s.seen.add(keyOf(dirs));
      s.left--; s.trials++; trialsDone++;
      batch.push({ s, dirs });
    }
    if (batch.length) measureBatch(batch);
  }
  reportProgress('tuning', states.length, states.length);
  return confirm(states, runner, ref, o.confirmRounds ?? 2, record);
}

/**
 * The machine's load drifts between rounds: the defaults and every workload's best are measured again,
 * alternately, and each keeps its fastest time; a best that is then no faster than the default is
 * dropped for the default.
 */
function confirm(states: State[], runner: TuneRunner, ref: Map<string, Tensor>, rounds: number,
  record: (s: State, dirs: Directive[], us: number, trial: number, confirmed?: boolean) => void): WorkloadResult[] {
  const bestOf = (s: State) => s.measured.reduce((x, y) => (y.us < x.us ? y : x));
  const tuned = states.filter((s) => bestOf(s).dirs !== s.measured[0].dirs);
  const bestUs = new Map(states.map((s) => [s, bestOf(s).us]));
  const defUs = new Map(states.map((s) => [s, s.defaultUs]));
  for (let r = 0; r < rounds && tuned.length; r++) {
    const d = runner.measure(new Map());
    for (const s of states) defUs.set(s, Math.min(defUs.get(s)!, mean(s.w.kernels.map((k) => d.kernelUs.get(k) ?? Infinity))));
    const scheds = new Map<string, Directive[]>();
    for (const s of tuned) for (const k of s.w.kernels) scheds.set(k, bestOf(s).dirs);
    let m: Measured | undefined;
    try { m = runner.measure(scheds); } catch { m = undefined; }
    if (!m || !outputsAgree(m.outputs, ref)) continue;
    for (const s of tuned) bestUs.set(s, Math.min(r === 0 ? Infinity : bestUs.get(s)!, mean(s.w.kernels.map((k) => m!.kernelUs.get(k) ?? Infinity))));
  }
  return states.map((s) => {
    const b = bestOf(s), def = defUs.get(s)!, us = bestUs.get(s)!;
    const win = b.dirs !== s.measured[0].dirs && us < def;
    record(s, s.measured[0].dirs, def, 0, true);
    if (win) record(s, b.dirs, us, s.trials, true);
    return { workload: s.w, defaultUs: def, bestUs: win ? us : def, best: win ? b.dirs : s.measured[0].dirs, trials: s.trials, rejected: s.rejected, share: s.share };
  });
}
