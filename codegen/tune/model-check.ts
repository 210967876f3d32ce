/**
 * The whole-model check at the end of `aic tune`: per-kernel wins may not carry to the whole model
 * (the cache state the neighbouring kernels leave, code size), so the model is built with every
 * confirmed winner and with none (the defaults), and timed interleaved: default, tuned, default,
 * tuned, tuned, default... PAIRS pairs, the median of the pairs' tuned / default ratios counts. When the tuned model
 * is slower (ratio > 1) winners are dropped: ranked by expected gain (share x (1 - kernel ratio)),
 * the longest prefix of the ranking that is not slower is found by bisection (one more build per
 * step, timed against the same default build); the winner after that prefix is dropped as the
 * culprit and the winners after it are tried again on top of the prefix, the same way, until none
 * is left or MAX_TRIES builds were timed (then the untried ones are dropped too). What is kept was
 * timed as a set and found not slower, so the log written never makes the model slower than its
 * default under this measurement. A model that does not build or run with the winners drops them all
 * (`error` says why).
 */
import type { Directive } from '@aic/loop-ir';
import type { TuneRunner } from './runners.ts';
import { ratioStats } from './confirm.ts';

export const PAIRS = 5, MAX_TRIES = 6;

export interface Winner { key: string; kernels: string[]; dirs: Directive[]; share: number; ratio: number }
export interface ModelCheck {
  /** every timed set of winners: how many, tuned / default, and the pairs' spread */
  tries: { winners: number; ratio: number; spread: number }[];
  kept: Winner[];
  dropped: Winner[];
  /** the model did not build or run */
  error?: string;
}

const gain = (w: Winner) => w.share * (1 - w.ratio);

/** Check `winners` on the whole model (undefined: none, or the runner cannot build the model). */
export function checkModel(runner: TuneRunner, winners: readonly Winner[], onStep?: (what: string) => void): ModelCheck | undefined {
  if (!winners.length || !runner.model) return undefined;
  const ranked = winners.slice().sort((a, b) => gain(b) - gain(a) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const tries: ModelCheck['tries'] = [];
  try {
    const def = runner.model(new Map());
    const time = (set: Winner[]): boolean => {
      const n = set.length;
      onStep?.(`whole model with ${n} of ${ranked.length} winners`);
      const tuned = runner.model!(new Map(set.flatMap((w) => w.kernels.map((k) => [k, w.dirs] as const))));
      const ratios: number[] = [];
      for (let i = 0; i < PAIRS; i++) { // alternating which goes first
        if (i % 2) { const b = tuned.sample(); ratios.push(b / def.sample()); } else { const a = def.sample(); ratios.push(tuned.sample() / a); }
      }
      const s = ratioStats(ratios);
      tries.push({ winners: n, ...s });
      return s.ratio <= 1;
    };
    // bisect for the longest prefix of the rest that, added to what is kept, is not slower; the winner
    // after it is a culprit: dropped, and the search goes on with the winners after it
    let kept: Winner[] = [], rest = ranked.slice();
    const dropped: Winner[] = [];
    while (rest.length && tries.length < MAX_TRIES) {
      const with_ = (n: number) => time([...kept, ...rest.slice(0, n)]);
      if (with_(rest.length)) { kept = [...kept, ...rest]; rest = []; break; }
      let lo = 0, hi = rest.length;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (with_(mid)) lo = mid; else hi = mid;
      }
      kept = [...kept, ...rest.slice(0, lo)];
      dropped.push(rest[lo]);
      rest = rest.slice(lo + 1);
    }
    return { tries, kept, dropped: [...dropped, ...rest] };
  } catch (e) {
    return { tries, kept: [], dropped: ranked, error: (e as Error).message.split('\n')[0] };
  }
}
