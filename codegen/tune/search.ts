/**
 * The tuner: profile the model under the default schedules first (each workload's share of its
 * time), give every workload trials in proportion to its share (largest remainders; as TVM's task
 * scheduler shares time out), then visit the workloads in turn, largest share first: each proposes a
 * batch of candidates (first every applicable algorithm not measured yet, with its default schedule;
 * then evolution from its fastest measured schedules: the mutations of space.ts, ranked by the ridge
 * cost model trained on every measurement so far, one in five drawn at random instead), measured in one build next to a default copy (runners.ts). A candidate whose outputs
 * differ from the default copy's is rejected; a batch that does not build is split in halves until the
 * culprit is alone. Times are scaled by the default copy of their batch (the machine's load drifts);
 * a candidate that beats the workload's best so far by more than RECHECK is timed again, interleaved
 * with the default (confirm.ts's build, ROUNDS runs), and that median counts: one batch whose default
 * copy ran during a load spike makes all its candidates look fast, and such a false best would lead
 * the population (and the confirmation pool) for the rest of the search.
 * At the end the fastest candidates are confirmed interleaved with the default (confirm.ts: a winner
 * must be 3% faster by the median of several rounds), and the winners are checked on the whole model
 * (model-check.ts: those that make it slower are dropped) before their confirmed records are written.
 * Deterministic for a seed and a sequence of measurements (the clock only decides when to stop).
 */
import { reportProgress } from '@aic/core';
import type { Directive } from '@aic/loop-ir';
import type { KernelSource, Program } from '../lower/program.ts';
import { workloadsOf, type Workload } from './workload.ts';
import { algoOf, algoText, features, kernelSpace, mutate, type KernelSpace } from './space.ts';
import { RidgeModel } from './cost-model.ts';
import { makeRng } from './rng.ts';
import { scheduleOf, scheduleText, type Machine, type TuneRecord } from './log.ts';
import type { TuneRunner } from './runners.ts';
import { ROUNDS, confirmCopies, confirmWorkload, ratioStats, roundRatios, type Confirmation } from './confirm.ts';
import { checkModel, type ModelCheck } from './model-check.ts';

export interface TuneOptions {
  seed: number;
  /** candidates to measure over all workloads (default copies not counted) */
  trials: number;
  /** stop starting batches after this many ms of `clock` */
  budgetMs: number;
  clock: () => number;
  machine: Machine;
  version: string;
  /** candidates per build (default 8) */
  batch?: number;
  /** records of earlier runs (--resume): their schedules seed the population and are not measured again */
  previous?: readonly TuneRecord[];
  /** every new record, as it is measured */
  onRecord?: (r: TuneRecord) => void;
  /** after each batch */
  onBatch?: () => void;
  /** the whole-model check's outcome (not called when there was no winner to check) */
  onModelCheck?: (m: ModelCheck) => void;
}

export interface WorkloadResult {
  workload: Workload;
  defaultUs: number;
  bestUs: number;
  best: Directive[];
  trials: number;
  rejected: number;
  share: number;
  /** false: the kernel cannot run alone (blocked layouts at its boundary...): not tuned */
  alone: boolean;
  /** the confirmed winner's median ratio to the default (confirm.ts), also when the whole-model check dropped it */
  ratio?: number;
  /** the winner was dropped by the whole-model check: best is the default */
  dropped?: boolean;
}

interface State {
  w: Workload; src: KernelSource; space: KernelSpace; defaultUs: number; share: number; left: number; trials: number; rejected: number; alone: boolean;
  seen: Set<string>; measured: { dirs: Directive[]; us: number }[];
}

const keyOf = (d: readonly Directive[]) => JSON.stringify(d);
/** a candidate faster than the best so far by more than this fraction is timed again (file comment) */
export const RECHECK = 0.05;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Tune every workload of `prog` (freshly lowered: algorithms not applied yet) with `runner`. */
export function tune(prog: Program, runner: TuneRunner, o: TuneOptions): WorkloadResult[] {
  const rng = makeRng(o.seed);
  const model = new RidgeModel(1);
  const t0 = o.clock();
  const B = o.batch ?? 8;
  reportProgress('tuning', 0, 1, 'profiling the defaults');
  const prof = runner.profile();
  const machine = runner.machine?.() ?? o.machine;
  const total = sum([...prof.kernelUs.values()]) || 1;
  const states: State[] = workloadsOf(prog).map((w) => {
    const us = w.kernels.map((k) => prof.kernelUs.get(k) ?? 0);
    const src = prog.sources.get(w.kernels[0])!;
    const dirs = prof.dirs.get(w.kernels[0]) ?? [];
    const defaultUs = sum(us) / us.length;
    return {
      w, src, space: kernelSpace(prog, w.kernels[0], !!runner.gpu, runner.caps), defaultUs, share: sum(us) / total, left: 0, trials: 0, rejected: 0,
      alone: runner.alone(src), seen: new Set([keyOf(dirs)]), measured: [{ dirs, us: defaultUs }],
    };
  });
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  // the log's resolution is 1 ns; a kernel timed below it (a browser's JIT can make a trivial kernel's
  // calls nearly free) is logged at 1 ns: a record's median_us is positive (log.ts refuses others)
  const ns = (us: number) => { const v = Math.round(us * 1000) / 1000; return v > 0 ? v : 0.001; };
  const record: Recorder = (s, dirs, us, trial, conf) => o.onRecord?.({
    workload: s.w.key, op: s.w.op, target: runner.target, machine, schedule: scheduleText(dirs), median_us: ns(us), aic_version: o.version, trial,
    ...(conf ? { confirmed: true, ratio: r4(conf.ratio), ...(conf.spread !== undefined ? { spread: r4(conf.spread) } : {}) } : {}),
  });
  const seedPrevious = (s: State) => {
    for (const r of o.previous ?? []) {
      if (r.workload !== s.w.key || r.target !== runner.target) continue;
      const d = scheduleOf(r);
      if (s.seen.has(keyOf(d))) continue;
      s.seen.add(keyOf(d));
      // earlier timings, rescaled by this run's default
      const def = (o.previous ?? []).find((q) => q.workload === r.workload && q.target === r.target && q.trial === 0);
      s.measured.push({ dirs: d, us: def ? r.median_us * s.defaultUs / def.median_us : r.median_us });
      model.add(features(d, s.space), Math.log(s.measured.at(-1)!.us / s.defaultUs));
    }
  };
  for (const s of states) { record(s, s.measured[0].dirs, s.defaultUs, 0); seedPrevious(s); }
  // trials in proportion to each share (largest remainders), over the workloads measurable alone
  const tunable = states.filter((s) => s.alone);
  const shareSum = sum(tunable.map((s) => s.share)) || 1;
  const raw = tunable.map((s) => (s.share / shareSum) * o.trials);
  tunable.forEach((s, i) => { s.left = Math.floor(raw[i]); });
  let rest = o.trials - sum(tunable.map((s) => s.left));
  for (const i of tunable.map((_, i) => i).sort((a, b) => (raw[b] - Math.floor(raw[b])) - (raw[a] - Math.floor(raw[a])) || a - b)) { if (rest-- <= 0) break; tunable[i].left++; }

  const order = tunable.slice().sort((a, b) => b.share - a.share);
  const speedup = () => total / sum(states.map((s) => Math.min(s.defaultUs, ...s.measured.map((m) => m.us)) * s.w.kernels.length));
  const propose = (s: State, n: number): Directive[][] => {
    const pop = s.measured.slice().sort((a, b) => a.us - b.us).slice(0, 4);
    const kids: Directive[][] = [];
    for (let i = 0; i < 48 && kids.length < 3 * n; i++) {
      let kid = mutate(rng.pick(pop).dirs, s.space, rng);
      if (kid && rng.next() < 0.3) kid = mutate(kid, s.space, rng) ?? kid;
      if (kid && !s.seen.has(keyOf(kid)) && !kids.some((k) => keyOf(k) === keyOf(kid!))) kids.push(kid);
    }
    const scored = kids.map((k, i) => ({ k, p: model.predict(features(k, s.space)), i })).sort((a, b) => a.p - b.p || a.i - b.i);
    // the algorithms not measured yet lead (each with its own default schedule): the analytic choice
    // between them is the estimate most often wrong (Winograd vs direct on AVX-512)
    const out: Directive[][] = s.space.algorithms.filter((a) => !s.measured.some((m) => algoText(algoOf(m.dirs)) === algoText(a))).map((a) => [a]).slice(0, n);
    while (out.length < n && scored.length) out.push(scored.splice(rng.next() < 0.2 ? rng.int(scored.length) : 0, 1)[0].k);
    return out;
  };
  const measureBatch = (s: State, cands: Directive[][]): void => {
    let m;
    try { m = runner.measure(s.src, cands); } catch { m = undefined; }
    if (!m) {
      if (cands.length === 1) { s.rejected++; return; }
      const h = cands.length >> 1;
      measureBatch(s, cands.slice(0, h));
      measureBatch(s, cands.slice(h));
      return;
    }
    const scale = m.defaultUs > 0 ? s.defaultUs / m.defaultUs : 1;
    cands.forEach((_, i) => {
      const dirs = m!.realized[i];
      s.seen.add(keyOf(dirs));
      if (!m!.agree[i]) { s.rejected++; return; }
      let us = m!.us[i] * scale;
      if (us < (1 - RECHECK) * Math.min(...s.measured.map((x) => x.us))) {
        const again = recheck(s, dirs, us);
        if (again === undefined) { s.rejected++; return; }
        us = again;
      }
      s.measured.push({ dirs, us });
      model.add(features(dirs, s.space), Math.log(us / s.defaultUs));
      record(s, dirs, us, s.trials);
    });
  };
  /**
   * A surprising candidate (first timed at `us`) timed again, interleaved with the default: µs at the
   * default's scale; `us` when the default timed 0 (no ratio); undefined when it did not build or agree.
   */
  const recheck = (s: State, dirs: Directive[], us: number): number | undefined => {
    try {
      const m = runner.measure(s.src, confirmCopies([dirs], s.measured[0].dirs), ROUNDS);
      if (!m.agree.every(Boolean)) return undefined;
      const r = ratioStats(roundRatios(m.rounds ?? [{ defaultUs: m.defaultUs, us: m.us }], 1).cand[0]).ratio;
      return Number.isFinite(r) ? r * s.defaultUs : us;
    } catch { return undefined; }
  };
  let trialsDone = 0;
  const msLeft = () => o.budgetMs - (o.clock() - t0);
  const progress = () => reportProgress('tuning', order.filter((s) => s.left <= 0).length, order.length,
    `${trialsDone} trials, best ${speedup().toFixed(2)}x, ${Math.max(0, msLeft() / 1000).toFixed(0)} s left`);
  outer: for (;;) {
    const active = order.filter((s) => s.left > 0);
    if (!active.length) break;
    for (const s of active) {
      progress();
      if (msLeft() <= 0) break outer;
      const cands = propose(s, Math.min(B, s.left));
      if (!cands.length) { // nothing new to try: its trials go to the largest other workload
        const heir = active.find((x) => x !== s && x.left > 0);
        if (heir) heir.left += s.left;
        s.left = 0;
        continue;
      }
      s.left -= cands.length; s.trials += cands.length; trialsDone += cands.length;
      measureBatch(s, cands);
      o.onBatch?.();
    }
  }
  progress();
  return finish(states, runner, record, o);
}

type Recorder = (s: State, dirs: Directive[], us: number, trial: number, conf?: { ratio: number; spread?: number }) => void;

/** Winners confirmed (confirm.ts), checked on the whole model (model-check.ts), then logged: every default, and the winners kept. */
function finish(states: State[], runner: TuneRunner, record: Recorder, o: TuneOptions): WorkloadResult[] {
  const verdicts: Confirmation[] = states.map((s, i) => {
    reportProgress('confirming', i, states.length, 'the fastest candidates interleaved with the default');
    return confirmWorkload(runner, s.src, s.measured[0].dirs, s.measured.slice(1), s.defaultUs);
  });
  reportProgress('confirming', states.length, states.length);
  const winners = states.flatMap((s, i) => { const v = verdicts[i].winner; return v ? [{ key: s.w.key, kernels: s.w.kernels, dirs: v.dirs, share: s.share, ratio: v.ratio }] : []; });
  const check = checkModel(runner, winners, (what) => reportProgress('checking', 0, 1, what));
  if (check) o.onModelCheck?.(check);
  return states.map((s, i) => {
    const v = verdicts[i], def = s.measured[0];
    record(s, def.dirs, s.defaultUs, 0, { ratio: 1, spread: v.defaultSpread });
    const dropped = !!check?.dropped.some((d) => d.key === s.w.key);
    const base = { workload: s.w, defaultUs: s.defaultUs, trials: s.trials, rejected: s.rejected, share: s.share, alone: s.alone, ...(v.winner ? { ratio: v.winner.ratio } : {}) };
    if (!v.winner || dropped) return { ...base, bestUs: s.defaultUs, best: def.dirs, ...(dropped ? { dropped } : {}) };
    const us = v.winner.ratio * s.defaultUs;
    record(s, v.winner.dirs, us, s.trials, v.winner);
    return { ...base, bestUs: us, best: v.winner.dirs };
  });
}
