/** A seeded pseudo-random generator (mulberry32): the tuner's only source of randomness. */
export interface Rng { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T }

export function makeRng(seed: number): Rng {
  let s = (seed >>> 0) || 0x9e3779b9;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: (xs) => xs[int(xs.length)] };
}
