/**
 * Calibration math: the range statistics of one activation collected over the samples, and the
 * clipping range each method picks from them.
 *  - minmax: the smallest and largest value seen.
 *  - percentile P: clip |x| at the P-th percentile of the |x| histogram.
 *  - entropy: the |x| threshold whose quantized distribution is closest to the observed one in
 *    KL divergence (TensorRT's entropy calibration: 2048 bins, thresholds from `levels` bins up);
 *    min/max when fewer values than bins were seen.
 * The |x| histogram has a fixed bin count over [0, R]; when a sample passes R, R doubles and pairs of
 * bins merge, so one pass over the samples suffices and re-binning is exact.
 */

export const HIST_BINS = 2048;
export type CalibMethod = 'minmax' | 'percentile' | 'entropy';
export const CALIB_METHODS: readonly CalibMethod[] = ['minmax', 'percentile', 'entropy'];
export const DEFAULT_PERCENTILE = 99.999;

export class RangeStats {
  min = Infinity;
  max = -Infinity;
  /** |x| histogram over [0, range) (only when built with histogram = true) */
  hist: Float64Array | undefined;
  range = 0;

  constructor(histogram: boolean, readonly bins = HIST_BINS) {
    if (histogram) this.hist = new Float64Array(bins);
  }

  add(x: ArrayLike<number>): void {
    let mn = this.min, mx = this.max;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    this.min = mn;
    this.max = mx;
    const h = this.hist;
    if (!h) return;
    const amax = Math.max(Math.abs(mn), Math.abs(mx));
    if (!(amax > 0) || !Number.isFinite(amax)) { h[0]! += x.length; return; }
    if (this.range === 0) this.range = amax * (1 + 1e-6);
    while (amax >= this.range) this.grow();
    const k = this.bins / this.range, last = this.bins - 1;
    for (let i = 0; i < x.length; i++) {
      const b = Math.floor(Math.abs(x[i]!) * k);
      h[b > last ? last : b]! += 1;
    }
  }

  /** Double the range: bins 2j and 2j+1 become bin j. */
  private grow(): void {
    const h = this.hist!, n = this.bins;
    for (let j = 0; j < n / 2; j++) h[j] = h[2 * j]! + h[2 * j + 1]!;
    h.fill(0, n / 2);
    this.range *= 2;
  }
}

/** The clipping range [lo, hi] of one activation; always contains 0 (so zero is exact). */
export interface Range { lo: number; hi: number }

export function chooseRange(s: RangeStats, method: CalibMethod, percentile = DEFAULT_PERCENTILE): Range {
  if (!(s.min <= s.max)) return { lo: 0, hi: 0 };
  let lo = Math.min(s.min, 0), hi = Math.max(s.max, 0);
  // entropy on fewer values than bins compares near-empty histograms: keep min/max there
  const sparse = method === 'entropy' && s.hist !== undefined && s.hist.reduce((a, b) => a + b, 0) < s.bins;
  if (method !== 'minmax' && s.hist && s.range > 0 && !sparse) {
    const t = method === 'percentile'
      ? percentileThreshold(s.hist, s.range, percentile)
      : entropyThreshold(s.hist, s.range, s.min >= 0 ? 256 : 128);
    lo = Math.max(lo, -t);
    hi = Math.min(hi, t);
  }
  return { lo, hi };
}

/** The upper edge of the bin where the cumulative count reaches p percent of all. */
export function percentileThreshold(hist: ArrayLike<number>, range: number, p: number): number {
  let total = 0;
  for (let i = 0; i < hist.length; i++) total += hist[i]!;
  const want = total * Math.min(Math.max(p, 0), 100) / 100;
  let acc = 0;
  for (let i = 0; i < hist.length; i++) {
    acc += hist[i]!;
    if (acc >= want) return ((i + 1) * range) / hist.length;
  }
  return range;
}

/**
 * TensorRT's entropy calibration: for every candidate threshold of i bins (i >= levels), P is the
 * histogram up to i with the outliers added to its last bin, Q the same bins merged into `levels`
 * groups and spread back evenly over each group's non-empty bins; the threshold with the smallest
 * KL(P || Q) wins; the threshold is the upper edge of its last bin. The zero bin counts as the next one.
 */
export function entropyThreshold(hist0: ArrayLike<number>, range: number, levels = 128): number {
  const n = hist0.length;
  if (n <= levels) return range;
  // the first bin holds the zeros a Relu makes: as pytorch-quantization does, count it like the second,
  // or its spike decides the threshold alone
  const hist = Float64Array.from(hist0);
  if (n > 1) hist[0] = hist[1]!;
  let best = n, bestKl = Infinity;
  let outliers = 0;
  for (let i = levels; i < n; i++) outliers += hist[i]!;
  const p = new Float64Array(n), q = new Float64Array(n);
  for (let i = levels; i <= n; i++) {
    for (let j = 0; j < i; j++) p[j] = hist[j]!;
    p[i - 1]! += outliers;
    if (i < n) outliers -= hist[i]!;
    // merge hist[0..i) into `levels` groups, then spread each group over its non-empty bins
    q.fill(0, 0, i);
    for (let g = 0; g < levels; g++) {
      const a = Math.floor((g * i) / levels), b = Math.floor(((g + 1) * i) / levels);
      let sum = 0, nz = 0;
      for (let j = a; j < b; j++) { sum += hist[j]!; if (hist[j]! !== 0) nz++; }
      if (nz) for (let j = a; j < b; j++) if (hist[j]! !== 0) q[j] = sum / nz;
    }
    const kl = klDivergence(p, q, i);
    if (kl < bestKl) { bestKl = kl; best = i; }
  }
  return (best * range) / n; // the upper edge of the last bin kept
}

/** KL(P || Q) over the first n bins, both normalized; bins where P > 0 but Q = 0 get a small Q. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>, n: number): number {
  let sp = 0, sq = 0;
  for (let j = 0; j < n; j++) { sp += p[j]!; sq += q[j]!; }
  if (sp === 0) return 0;
  if (sq === 0) return Infinity;
  const eps = 1e-10;
  let kl = 0;
  for (let j = 0; j < n; j++) {
    const pj = p[j]! / sp;
    if (pj === 0) continue;
    const qj = Math.max(q[j]! / sq, eps);
    kl += pj * Math.log(pj / qj);
  }
  return kl;
}
