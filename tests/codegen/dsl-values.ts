/** Shared by the DSL-graph codegen tests: deterministic constants written as DSL text, and a closeness check. */
import { expect } from 'vitest';
import type { Tensor } from '@aic/core';
import { excess } from '../model-zoo.ts';

/** n deterministic values in [-1, 1) as a DSL constant literal */
export function values(n: number, seed: number): string {
  const out: string[] = [];
  let s = seed;
  for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) % 2147483648; out.push(((s / 2147483648) * 2 - 1).toFixed(4)); }
  return `[${out.join(', ')}]`;
}

/** got equals want within rtol = atol = 1e-4, naming the worst element */
export function check(got: Tensor, want: Tensor, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  const e = excess(got.num, want.num, 1e-4, 1e-4);
  expect(e.worst, `${what}[${e.at}] got ${got.num[e.at]} want ${want.num[e.at]}`).toBeLessThanOrEqual(0);
}
