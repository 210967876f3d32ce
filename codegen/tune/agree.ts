/** Do two output sets agree (|a - b| <= 1e-3 |b| + 1e-4 max|b|, NaN where NaN)? Winograd rounds differently from direct. */
import type { Tensor } from '@aic/core';

export function outputsAgree(a: Map<string, Tensor>, b: Map<string, Tensor>): boolean {
  for (const [k, ref] of b) {
    const t = a.get(k);
    if (!t || t.num.length !== ref.num.length) return false;
    let scale = 0;
    for (let i = 0; i < ref.num.length; i++) if (Number.isFinite(Number(ref.num[i]))) scale = Math.max(scale, Math.abs(Number(ref.num[i])));
    for (let i = 0; i < ref.num.length; i++) {
      const x = Number(t.num[i]), y = Number(ref.num[i]);
      if (Number.isNaN(y) ? !Number.isNaN(x) : !(Math.abs(x - y) <= 1e-3 * Math.abs(y) + 1e-4 * scale)) return false;
    }
  }
  return true;
}
