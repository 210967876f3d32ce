/**
 * The timing loop of a WebAssembly model's steps, shared by `aic profile --target wasm-simd`
 * (profile.ts, in this process) and the browser tuning page (codegen/tune/browser-page.ts, which
 * embeds this function's source): `warmup` untimed runs, then `runs` timed ones, each step timed
 * with performance.now(); the median (or, with `stat` 'min', the fastest) ms of every step, in plan order. A browser's clock is coarse
 * (5 µs when cross-origin isolated, 100 µs otherwise): with `minSampleMs` > 0 the first warm-up run
 * finds, per step, how many back-to-back calls take that long, and every sample then times that many
 * calls (divided back). Self-contained on purpose (no imports, no helpers outside its body) so that
 * its source runs as it is in a page.
 */
export function timeSteps(fns: ((...a: number[]) => void)[], args: number[][], runs: number, warmup: number, minSampleMs = 0, stat: 'median' | 'min' = 'median'): number[] {
  const times: number[][] = fns.map(() => []);
  const calls = fns.map(() => 1);
  for (let r = 0; r < runs + warmup; r++) {
    for (let i = 0; i < fns.length; i++) {
      const n = calls[i];
      const t = performance.now();
      for (let k = 0; k < n; k++) fns[i](...args[i]);
      const dt = performance.now() - t;
      if (r >= warmup) times[i].push(dt / n);
      else if (r === 0 && minSampleMs > 0) {
        let m = 1, e = dt;
        while (e < minSampleMs && m < 1 << 20) {
          m *= 2;
          const t1 = performance.now();
          for (let k = 0; k < m; k++) fns[i](...args[i]);
          e = performance.now() - t1;
        }
        calls[i] = m;
      }
    }
  }
  return times.map((xs) => {
    if (stat === 'min') return Math.min(...xs);
    const s = xs.slice().sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  });
}
