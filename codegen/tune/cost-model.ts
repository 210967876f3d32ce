/**
 * The tuner's cost model: ridge regression of log(time / the workload's default time) on candidate
 * features (space.ts), refit on every measurement so far; it ranks mutations before any is measured.
 */
export class RidgeModel {
  private X: number[][] = [];
  private y: number[] = [];
  private w: number[] | undefined;
  constructor(private readonly lambda = 1) {}

  add(x: number[], y: number): void { this.X.push(x); this.y.push(y); this.w = undefined; }
  get size(): number { return this.y.length; }

  /** Predicted log relative time (0 until anything was measured). */
  predict(x: number[]): number {
    if (!this.y.length) return 0;
    this.w ??= solveRidge(this.X, this.y, this.lambda);
    return x.reduce((s, v, i) => s + v * (this.w![i] ?? 0), 0);
  }
}

/** (X^T X + lambda I) w = X^T y, by Gaussian elimination with partial pivoting. */
export function solveRidge(X: number[][], y: number[], lambda: number): number[] {
  const n = X[0].length;
  const A = Array.from({ length: n }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (j === n ? 0 : i === j ? lambda : 0)));
  X.forEach((row, r) => {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) A[i][j] += row[i] * row[j];
      A[i][n] += row[i] * y[r];
    }
  });
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    [A[c], A[p]] = [A[p], A[c]];
    const d = A[c][c];
    if (Math.abs(d) < 1e-12) continue;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = A[r][c] / d;
      if (f) for (let j = c; j <= n; j++) A[r][j] -= f * A[c][j];
    }
  }
  return A.map((row, i) => (Math.abs(row[i]) < 1e-12 ? 0 : row[n] / row[i]));
}
