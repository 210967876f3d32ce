/**
 * Index checks over a loop's whole extent for the default schedules (defaults.ts), which estimate a
 * load's stride from a few small values of the loop variable. A grouped conv's input index holds
 * (oc / g) for g output channels per group: constant for oc in 0..5, so it looks independent of oc,
 * while a vector of 16 output channels spans two groups (a gather per lane, ~2 GFLOP/s). Checked over
 * the extent, such a load is neither independent of nor contiguous in oc; but it is constant on
 * aligned blocks of g, so a register tile can take rows over oc in blocks dividing g, each row
 * reusing the one vector loaded along the output width (the grouped conv micro-kernel: the weight a
 * scalar broadcast per row).
 * An index is given as f(x, base): its value with the loop variable at x and every other at base (0 or 1).
 */
export type IndexAt = (x: number, base: number) => number;

/** the values of x checked: all below 130 (and the last), which covers the group widths of real models */
function samples(extent: number): number[] {
  const n = Math.min(extent, 130);
  const xs = Array.from({ length: n }, (_, i) => i);
  if (extent > n) xs.push(extent - 1);
  return xs;
}

/** f(x) = f(0) + c * x for every sampled x of the extent (both bases)? */
export function affineOver(f: IndexAt, extent: number, c: number): boolean {
  for (const base of [0, 1]) {
    const f0 = f(0, base);
    for (const x of samples(extent)) if (f(x, base) !== f0 + c * x) return false;
  }
  return true;
}

/**
 * Rows over a loop whose vector loads are constant on aligned blocks of P iterations (P >= 2: a
 * group): the largest R <= max dividing both P and the extent (so a block of rows never straddles a
 * group, with no tail), or undefined when some load has no such block.
 */
export function blockRows(fs: IndexAt[], extent: number, max: number): number | undefined {
  let P = 0;
  for (const f of fs) {
    let p = 0;
    for (const base of [0, 1]) {
      const xs = samples(extent);
      const q = xs.find((x) => x > 0 && f(x, base) !== f(0, base)) ?? 0;
      if (q < 2) return undefined; // varies at once: not a block constant
      if (xs.some((x) => f(x, base) !== f(x - (x % q), base))) return undefined;
      p = p ? gcd(p, q) : q;
    }
    P = P ? gcd(P, p) : p;
  }
  if (P < 2) return undefined;
  for (let r = Math.min(max, P); r >= 2; r--) if (P % r === 0 && extent % r === 0) return r;
  return undefined;
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
